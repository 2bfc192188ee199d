import { existsSync, promises as fsPromises } from "node:fs";
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { InvalidKeyError, PreconditionFailedError, StorageError } from "./errors";
import { FileBackend } from "./file";
import { openStorage } from "./open";
import { Storage } from "./storage";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ngpipe-file-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function walk(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.relative(root, path.join(e.parentPath, e.name)));
  }
  return out.sort();
}

test("objects are plain files at root/key, compressed ones at key.gz / key.br", async () => {
  const s = openStorage(dir);
  await s.put("a/b/plain", "p");
  await s.put("a/gz", "g".repeat(50), { compress: "gzip" });
  await s.put("br", "b".repeat(50), { compress: "br" });
  expect(await walk(dir)).toEqual(["a/b/plain", "a/gz.gz", "br.br"]);
  expect(await readFile(path.join(dir, "a/b/plain"), "utf8")).toBe("p");
});

test("files written by other tools in the CloudFiles layout are read", async () => {
  const { gzipSync } = await import("node:zlib");
  await mkdir(path.join(dir, "1_1_1"), { recursive: true });
  await writeFile(path.join(dir, "1_1_1", "0-64_0-64_0-64.gz"), gzipSync("chunk bytes"));
  await writeFile(path.join(dir, "info"), "{}");
  const s = openStorage(`file://${dir}`);
  expect(new TextDecoder().decode((await s.get("1_1_1/0-64_0-64_0-64"))!)).toBe("chunk bytes");
  expect(await s.exists("1_1_1/0-64_0-64_0-64")).toBe(true);
});

test("no key can reach outside the root, even through the backend directly", async () => {
  const b = new FileBackend(path.join(dir, "root"));
  await writeFile(path.join(dir, "secret"), "top secret");
  for (const key of ["../secret", "a/../../secret", "/etc/passwd", "..\\secret"]) {
    await expect(b.get(key)).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(b.put(key, new Uint8Array(1), {})).rejects.toBeInstanceOf(InvalidKeyError);
  }
  const s = new Storage(b);
  await expect(s.get("x/../../secret")).rejects.toBeInstanceOf(InvalidKeyError);
  await expect(s.delete("../secret")).rejects.toBeInstanceOf(InvalidKeyError);
  expect(await readFile(path.join(dir, "secret"), "utf8")).toBe("top secret");
});

test("concurrent plain writers leave one complete object and no temporary files", async () => {
  const s = openStorage(dir);
  const payloads = Array.from({ length: 12 }, (_, i) => new Uint8Array(64 * 1024).fill(i + 1));
  await Promise.all(payloads.map((p) => s.put("deep/dir/obj", p)));
  const got = (await s.get("deep/dir/obj"))!;
  expect(got.length).toBe(64 * 1024);
  // Every byte from the same writer: no interleaving of two writes.
  expect(got.every((b) => b === got[0])).toBe(true);
  expect(await walk(dir)).toEqual(["deep/dir/obj"]);
});

test("ifAbsent losers leave no temporary files behind", async () => {
  const s = openStorage(dir);
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) => s.put("k", `w${i}`, { ifAbsent: true })),
  );
  expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  expect(await walk(dir)).toEqual(["k"]);
});

test("concurrent ifVersion writers from one version: exactly one wins", async () => {
  const s = openStorage(dir);
  await s.put("cas", "0");
  const v = (await s.head("cas"))!.version!;
  const results = await Promise.allSettled(
    Array.from({ length: 10 }, (_, i) => s.put("cas", `w${i}`, { ifVersion: v })),
  );
  const won = results.filter((r) => r.status === "fulfilled");
  expect(won).toHaveLength(1);
  for (const r of results) {
    if (r.status === "rejected") expect(r.reason).toBeInstanceOf(PreconditionFailedError);
  }
  expect(await walk(dir)).toEqual(["cas"]);
});

test("a stale lock left by a crashed writer is broken", async () => {
  const s = openStorage(dir);
  await s.put("locked", "0");
  const v = (await s.head("locked"))!.version!;
  const lock = path.join(dir, ".locked.ngpipe-lock");
  await writeFile(lock, "");
  const old = new Date(Date.now() - 120_000);
  await utimes(lock, old, old);
  await s.put("locked", "1", { ifVersion: v });
  expect(new TextDecoder().decode((await s.get("locked"))!)).toBe("1");
  expect(existsSync(lock)).toBe(false);
});

test("listing skips in-flight temporary and lock files and follows symlinked dirs", async () => {
  const s = openStorage(dir);
  await s.put("real/a", "a");
  await writeFile(path.join(dir, "real", ".ngpipe-123-4.tmp"), "partial");
  await writeFile(path.join(dir, "real", ".a.ngpipe-lock"), "");
  await symlink(path.join(dir, "real"), path.join(dir, "link"));
  expect(await collect(s.list("", { recursive: true }))).toEqual(["link/a", "real/a"]);
  expect(await collect(s.list(""))).toEqual(["link/", "real/"]);
});

test("a key that names a directory is not an object", async () => {
  const s = openStorage(dir);
  await s.put("d/inner", "x");
  expect(await s.get("d")).toBeNull();
  expect(await s.head("d")).toBeNull();
  expect(await s.exists("d")).toBe(false);
  await s.delete("d");
  expect(await s.exists("d/inner")).toBe(true);
});

test("server-side copy within file:// keeps the stored form", async () => {
  const src = openStorage(path.join(dir, "src"));
  const dst = openStorage(path.join(dir, "dst"));
  await src.put("x/y", "z".repeat(100), { compress: "gzip" });
  await dst.put("x/y", "stale");
  expect(await src.copyWithinTo("x/y", dst, "x/y")).toBe(true);
  expect(await walk(path.join(dir, "dst"))).toEqual(["x/y.gz"]);
  expect(new TextDecoder().decode((await dst.get("x/y"))!)).toBe("z".repeat(100));
  expect(await src.copyWithinTo("missing", dst, "m")).toBe(false);
});

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of it) out.push(k);
  return out;
}

test("a put whose signal aborts while its bytes are written leaves the old object and no temporary file", async () => {
  const b = new FileBackend(dir);
  await b.put("k", new TextEncoder().encode("old"), {});
  const ac = new AbortController();
  // The signal fires once the temporary file is written, before it is put in place.
  const write = fsPromises.writeFile;
  const spy = jest.spyOn(fsPromises, "writeFile").mockImplementation(async (...args) => {
    await write(...args);
    ac.abort();
  });
  try {
    await expect(
      b.put("k", new TextEncoder().encode("new"), { signal: ac.signal }),
    ).rejects.toMatchObject({ name: "AbortError" });
  } finally {
    spy.mockRestore();
  }
  expect(await readFile(path.join(dir, "k"), "utf8")).toBe("old");
  expect(await readdir(dir)).toEqual(["k"]);
});

test("getRaw with alloc reads each stored form (plain, .gz found by listing or probe) into the memory given", async () => {
  const s = openStorage(dir);
  const plain = Uint8Array.from({ length: 70_000 }, (_, i) => i % 241);
  await s.put("a/plain", plain);
  await s.put("a/packed", plain, { compress: "gzip" });
  const names = s.batchNames();
  for (const opts of [{}, { names }])
    for (const key of ["a/plain", "a/packed"]) {
      const asked: number[] = [];
      const slab = new SharedArrayBuffer(1 << 17);
      const got = await s.getRaw(key, {
        ...opts,
        alloc: (n) => {
          asked.push(n);
          return new Uint8Array(slab, 0, n);
        },
      });
      expect(got?.data.buffer).toBe(slab);
      expect(asked).toEqual([got?.data.byteLength]);
      expect(got?.info.contentEncoding).toBe(key === "a/packed" ? "gzip" : undefined);
    }
  expect(await s.getRaw("a/none", { alloc: () => new Uint8Array(0) })).toBeNull();
});

test("get of a plain key its batch listing knows reads into the memory alloc gives", async () => {
  const s = openStorage(dir);
  const plain = Uint8Array.from({ length: 5_000 }, (_, i) => i % 251);
  await s.put("b/plain", plain);
  const names = s.batchNames();
  // A directory is listed once enough of its keys are asked for; after
  // that, reads find their form known without waiting.
  for (let i = 0; i < 10; i++) expect(await s.get("b/plain", { names })).toEqual(plain);
  const slab = new SharedArrayBuffer(8192);
  const got = await s.get("b/plain", {
    names,
    alloc: (n) => new Uint8Array(slab, 0, n),
  });
  expect(got?.buffer).toBe(slab);
  expect(got).toEqual(plain);
});

test("getCall reads whole files by callback: bytes, null for missing keys and directories, typed errors", async () => {
  const backend = new FileBackend(dir);
  await mkdir(path.join(dir, "d"));
  await writeFile(path.join(dir, "d/a"), "alpha");
  await symlink(path.join(dir, "loop2"), path.join(dir, "loop1"));
  await symlink(path.join(dir, "loop1"), path.join(dir, "loop2"));
  const read = (key: string, signal?: AbortSignal) =>
    new Promise<{ ok: boolean; v: unknown; sync: boolean }>((resolve) => {
      let returned = false;
      backend.getCall(key, signal, (ok, v) => resolve({ ok, v, sync: !returned }));
      returned = true;
    });
  const a = await read("d/a");
  expect(a.ok).toBe(true);
  expect((a.v as Uint8Array).constructor).toBe(Uint8Array);
  expect(Buffer.from(a.v as Uint8Array).toString()).toBe("alpha");
  expect(await read("d/none")).toMatchObject({ ok: true, v: null });
  expect(await read("d")).toMatchObject({ ok: true, v: null });
  const loop = await read("loop1");
  expect(loop.ok).toBe(false);
  expect(loop.v).toBeInstanceOf(StorageError);
  expect((loop.v as StorageError).key).toBe("loop1");
  const bad = await read("../out");
  expect(bad).toMatchObject({ ok: false, sync: false });
  expect(bad.v).toBeInstanceOf(InvalidKeyError);
  const ac = new AbortController();
  ac.abort(new Error("stop"));
  const aborted = await read("d/a", ac.signal);
  expect(aborted).toMatchObject({ ok: false, sync: false });
  // The error get rejects with for the same read.
  const viaGet = await backend.get("d/a", { signal: ac.signal }).catch((e: Error) => e);
  expect((aborted.v as Error).message).toBe((viaGet as Error).message);
  expect((aborted.v as Error).message).toMatch(/stop/);
});
