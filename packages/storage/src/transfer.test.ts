import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PermissionDeniedError, ReadOnlyStorageError } from "./errors";
import { clearMemoryStores, MemoryBackend } from "./memory";
import { openStorage } from "./open";
import { Storage } from "./storage";
import { copy, transfer } from "./transfer";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ngpipe-xfer-"));
});
afterEach(async () => {
  clearMemoryStores();
  await rm(dir, { recursive: true, force: true });
});

async function seed(s: Storage): Promise<void> {
  await s.put("info", '{"type":"image"}', { contentType: "application/json" });
  await s.put("1_1_1/a", "A".repeat(300), { compress: "gzip" });
  await s.put("1_1_1/b", "B".repeat(300), { compress: "br" });
  await s.put("2_2_2/c", "C");
}

async function files(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.relative(root, path.join(e.parentPath, e.name)));
  }
  return out.sort();
}

test("mem -> file keeps stored bytes and encodings (key.gz / key.br)", async () => {
  const src = openStorage("mem://xfer-src");
  await seed(src);
  const dst = openStorage(dir);
  const progress: number[] = [];
  const r = await transfer(src, dst, { onProgress: (done) => progress.push(done) });
  expect(r.failed).toEqual([]);
  expect(r.copied).toBe(4);
  expect(progress[progress.length - 1]).toBe(4);
  expect(await files(dir)).toEqual(["1_1_1/a.gz", "1_1_1/b.br", "2_2_2/c", "info"]);
  expect(new TextDecoder().decode((await dst.get("1_1_1/a"))!)).toBe("A".repeat(300));
  expect((await dst.getRaw("1_1_1/b"))!.data).toEqual((await src.getRaw("1_1_1/b"))!.data);
});

test("a prefix limits what is copied", async () => {
  const src = openStorage("mem://xfer-prefix");
  await seed(src);
  const r = await copy("mem://xfer-prefix", `file://${dir}`, { prefix: "1_1_1/" });
  expect(r.copied).toBe(2);
  expect(await files(dir)).toEqual(["1_1_1/a.gz", "1_1_1/b.br"]);
});

test("compress re-encodes while copying", async () => {
  const src = openStorage(path.join(dir, "src"));
  await seed(src);
  const dst = openStorage("mem://xfer-recode");
  await transfer(src, dst, { compress: "br" });
  for (const k of ["info", "1_1_1/a", "1_1_1/b", "2_2_2/c"]) {
    expect((await dst.head(k))!.contentEncoding).toBe("br");
    expect(await dst.get(k)).toEqual(await src.get(k));
  }
  const plain = openStorage("mem://xfer-plain");
  await transfer(src, plain, { compress: false });
  expect((await plain.head("1_1_1/a"))!.contentEncoding).toBeUndefined();
  expect(new TextDecoder().decode((await plain.get("1_1_1/a"))!)).toBe("A".repeat(300));
});

test("same-kind backends copy server-side", async () => {
  const srcBackend = new MemoryBackend("xfer-ss-src");
  let serverSide = 0;
  const original = srcBackend.copyWithin.bind(srcBackend);
  srcBackend.copyWithin = (...args) => {
    serverSide++;
    return original(...args);
  };
  const src = new Storage(srcBackend);
  await seed(src);
  const dst = openStorage("mem://xfer-ss-dst/sub");
  const r = await transfer(src, dst);
  expect(r.copied).toBe(4);
  expect(r.bytes).toBe(0);
  expect(serverSide).toBe(4);
  expect((await dst.head("1_1_1/a"))!.contentEncoding).toBe("gzip");
  expect((await dst.head("info"))!.contentType).toBe("application/json");
});

test("one failing object does not stop the transfer", async () => {
  const inner = new MemoryBackend("xfer-fail");
  const src = new Storage(inner);
  await seed(src);
  const original = inner.get.bind(inner);
  inner.get = async (key, opts) => {
    if (key.startsWith("1_1_1/a")) throw new PermissionDeniedError("403", inner.url, key);
    return original(key, opts);
  };
  const r = await transfer(src, openStorage(dir));
  expect(r.copied).toBe(3);
  expect(r.failed.map((f) => f.key)).toEqual(["1_1_1/a"]);
  expect(r.failed[0].error).toBeInstanceOf(PermissionDeniedError);
});

test("a read-only destination is refused before anything is listed", async () => {
  const src = openStorage("mem://xfer-ro");
  await seed(src);
  await expect(transfer(src, openStorage("http://127.0.0.1:9/none"))).rejects.toBeInstanceOf(
    ReadOnlyStorageError,
  );
});
