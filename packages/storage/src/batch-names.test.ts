import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { AbortError, DecompressionError, PermissionDeniedError, TransientError } from "./errors";
import { FileBackend } from "./file";
import { Storage } from "./storage";
import type { GetResult } from "./types";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ngpipe-names-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/**
 * Routes every read of `backend` (the promise `get` and the callback
 * `getCall` that getMany reads with) through `inject` first: a promise it
 * returns is the read's outcome, undefined lets the read through. These
 * tests are of getMany's per-key path (listings, bare-first reads): the
 * path of backends without `getManyCall` and of the keys the file reader
 * thread does not read, so the reader thread is switched off here
 * (file-batch-reader.test.ts tests that path).
 */
function injectReads(
  backend: FileBackend,
  inject: (key: string) => Promise<GetResult | null> | undefined,
): void {
  Object.defineProperty(backend, "getManyCall", { value: undefined });
  const get = backend.get.bind(backend);
  const getCall = backend.getCall.bind(backend);
  backend.get = (k, o) => inject(k) ?? get(k, o);
  backend.getCall = (k, signal, done) => {
    const p = inject(k);
    if (p === undefined) getCall(k, signal, done);
    else
      p.then(
        (r) => done(true, r === null ? null : r.data),
        (e) => done(false, e),
      );
  };
}

function counted(): { storage: Storage; calls: { get: number; exists: number; list: number } } {
  const backend = new FileBackend(root);
  const calls = { get: 0, exists: 0, list: 0 };
  injectReads(backend, () => {
    calls.get++;
    return undefined;
  });
  const exists = backend.exists.bind(backend);
  backend.exists = (k) => {
    calls.exists++;
    return exists(k);
  };
  const namesIn = backend.namesIn.bind(backend);
  backend.namesIn = (d, l, o) => {
    calls.list++;
    return namesIn(d, l, o);
  };
  return { storage: new Storage(backend), calls };
}

test("getMany finds .gz forms with one directory listing instead of probing each key", async () => {
  const { storage, calls } = counted();
  const keys = Array.from({ length: 100 }, (_, i) => `s/${i}`);
  await storage.putMany(keys.map((key) => ({ key, data: `v${key}`, compress: "gzip" as const })));
  calls.get = calls.exists = calls.list = 0;
  const res = await storage.getMany(keys, { concurrency: 4 });
  expect(res.map((r) => (r.ok ? Buffer.from(r.value!).toString() : r.error))).toEqual(
    keys.map((k) => `v${k}`),
  );
  expect(calls.list).toBe(1);
  // A handful of keys are probed before the listing pays off; the rest cost one read each.
  expect(calls.get).toBeLessThan(keys.length + 10);
  expect(calls.exists).toBeLessThan(10);
});

test("getMany reads bare objects without listing their directory, and lists once a bare key is missing", async () => {
  const { storage, calls } = counted();
  const keys = Array.from({ length: 60 }, (_, i) => `p/${i}`);
  await storage.putMany(keys.map((key) => ({ key, data: `v${key}` })));
  calls.get = calls.exists = calls.list = 0;
  const res = await storage.getMany(keys, { concurrency: 4 });
  expect(res.map((r) => (r.ok ? Buffer.from(r.value!).toString() : r.error))).toEqual(
    keys.map((k) => `v${k}`),
  );
  expect(calls).toEqual({ get: keys.length, exists: 0, list: 0 });
  // A directory with gaps: the first missing key sends the rest of the
  // batch to the listing, which reports the other missing keys unread.
  await storage.deleteMany(keys.filter((_, i) => i % 10 === 5));
  calls.get = calls.exists = calls.list = 0;
  const sparse = await storage.getMany(keys, { concurrency: 1 });
  expect(sparse.map((r) => r.ok && r.value !== null)).toEqual(keys.map((_, i) => i % 10 !== 5));
  expect(calls.list).toBe(1);
  expect(calls.get).toBeLessThan(keys.length);
});

test("a .gz key alone in its directory costs one failed bare read, one probe and its read", async () => {
  const { storage, calls } = counted();
  const keys = Array.from({ length: 5 }, (_, i) => `solo/${i}/k`);
  await storage.putMany(keys.map((key) => ({ key, data: `v${key}`, compress: "gzip" as const })));
  calls.get = calls.exists = calls.list = 0;
  const res = await storage.getMany(keys);
  expect(res.map((r) => (r.ok ? Buffer.from(r.value!).toString() : r.error))).toEqual(
    keys.map((k) => `v${k}`),
  );
  expect(calls).toEqual({ get: 2 * keys.length, exists: keys.length, list: 0 });
});

test("the listing keeps CloudFiles' precedence (bare key before .gz) and reports missing keys", async () => {
  const { storage } = counted();
  const keys = Array.from({ length: 20 }, (_, i) => `d/${i}`);
  mkdirSync(join(root, "d"));
  for (const k of keys.slice(0, 18)) writeFileSync(join(root, `${k}.gz`), gzipSync(`gz ${k}`));
  writeFileSync(join(root, "d/3"), "plain d/3");
  const res = await storage.getMany(keys);
  const text = res.map((r) => (r.ok && r.value !== null ? Buffer.from(r.value).toString() : null));
  expect(text[3]).toBe("plain d/3");
  expect(text[12]).toBe("gz d/12");
  expect(text.slice(18)).toEqual([null, null]);
});

test("a key replaced by another form after the listing is still found", async () => {
  const { storage } = counted();
  const keys = Array.from({ length: 20 }, (_, i) => `r/${i}`);
  mkdirSync(join(root, "r"));
  for (const k of keys) writeFileSync(join(root, `${k}.gz`), gzipSync(`gz ${k}`));
  const names = storage.batchNames()!;
  // Ask for enough keys that the directory is listed, then swap one key's form.
  await Promise.all(keys.slice(0, 10).map((k) => storage.get(k, { names })));
  rmSync(join(root, "r/15.gz"));
  writeFileSync(join(root, "r/15.br"), "not read");
  writeFileSync(join(root, "r/15"), "plain now");
  expect(Buffer.from((await storage.get("r/15", { names }))!).toString()).toBe("plain now");
});

test("a listed key's read that fails transiently is retried; a permanent failure is its typed error", async () => {
  const backend = new FileBackend(root);
  const storage = new Storage(backend, { retryBaseMs: 1, retryMaxMs: 2 });
  const keys = Array.from({ length: 40 }, (_, i) => `t/${i}`);
  await storage.putMany(keys.map((key) => ({ key, data: `v${key}` })));
  let flaky = 0;
  injectReads(backend, (k) => {
    if (k === "t/30" && flaky++ < 2)
      return Promise.reject(new TransientError("busy", backend.url, k, undefined));
    if (k === "t/31") return Promise.reject(new PermissionDeniedError("no", backend.url, k));
    return undefined;
  });
  const res = await storage.getMany(keys, { concurrency: 4 });
  expect(flaky).toBe(3);
  expect(res[30]).toMatchObject({ ok: true });
  expect(Buffer.from((res[30] as { value: Uint8Array }).value).toString()).toBe("vt/30");
  const failed = res[31] as { ok: false; error: Error };
  expect(failed.ok).toBe(false);
  expect(failed.error).toBeInstanceOf(PermissionDeniedError);
  expect((failed.error as PermissionDeniedError).key).toBe("t/31");
  expect(res.filter((r) => r.ok).length).toBe(39);
});

test("aborting a listed batch stops new reads and rejects with AbortError", async () => {
  const { storage, calls } = counted();
  const keys = Array.from({ length: 400 }, (_, i) => `a/${i}`);
  await storage.putMany(keys.map((key) => ({ key, data: "x", compress: "gzip" as const })));
  calls.get = 0;
  const ac = new AbortController();
  injectReads(storage.backend as FileBackend, () => {
    if (calls.get === 100) ac.abort();
    return undefined;
  });
  await expect(storage.getMany(keys, { concurrency: 4, signal: ac.signal })).rejects.toBeInstanceOf(
    AbortError,
  );
  expect(calls.get).toBeLessThan(120);
});

test("namesIn lists a directory's names, gives up past the limit, and sees a missing directory as empty", async () => {
  const backend = new FileBackend(root);
  mkdirSync(join(root, "n/sub"), { recursive: true });
  for (let i = 0; i < 30; i++) writeFileSync(join(root, `n/${i}.gz`), "x");
  const names = await backend.namesIn("n", 100);
  expect(names?.size).toBe(31);
  expect(names?.has("7.gz")).toBe(true);
  expect(names?.has("sub")).toBe(true);
  expect(await backend.namesIn("n", 30)).toBeNull();
  expect((await backend.namesIn("missing", 100))?.size).toBe(0);
  expect((await backend.namesIn("n/3.gz", 100))?.size).toBe(0);
});

test("a listed key's read that hangs is timed out and retried, and a corrupt .gz is a typed error naming the key", async () => {
  const backend = new FileBackend(root);
  const storage = new Storage(backend, { retryBaseMs: 1, retryMaxMs: 2, timeoutMs: 50 });
  const keys = Array.from({ length: 30 }, (_, i) => `h/${i}`);
  await storage.putMany(keys.map((key) => ({ key, data: `v${key}`, compress: "gzip" as const })));
  writeFileSync(join(root, "h/29.gz"), "not gzip");
  let hung = 0;
  injectReads(backend, (k) => {
    // The first read of h/20.gz never settles and ignores its signal.
    if (k === "h/20.gz" && hung++ === 0) return new Promise(() => {});
    return undefined;
  });
  const res = await storage.getMany(keys, { concurrency: 4 });
  expect(hung).toBe(2);
  expect(Buffer.from((res[20] as { value: Uint8Array }).value).toString()).toBe("vh/20");
  const bad = res[29] as { ok: false; error: Error };
  expect(bad.ok).toBe(false);
  expect(bad.error).toBeInstanceOf(DecompressionError);
  expect((bad.error as DecompressionError).key).toBe("h/29");
  expect(res.filter((r) => r.ok).length).toBe(29);
});
