import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliCompressSync, gzipSync } from "node:zlib";
import {
  AbortError,
  DecompressionError,
  DecompressionLimitError,
  InvalidKeyError,
  PermissionDeniedError,
  StorageError,
  TransientError,
} from "./errors";
import { FileBackend } from "./file";
import {
  BatchReader,
  FORM_ELSEWHERE,
  FORM_MISSING,
  SMALL_FILE_BYTES,
  WEDGED_AFTER_MS,
} from "./file-batch-reader";
import { Storage } from "./storage";
import type { BatchRead, BatchResult, StorageOptions } from "./types";

let root: string;
const readers: BatchReader[] = [];
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ngpipe-batch-reader-"));
});
afterEach(() => {
  for (const r of readers.splice(0)) r.stop();
  rmSync(root, { recursive: true, force: true });
});

/** A reader of its own (so that tests can count and break its threads). */
function reader(source?: string, maxThreads?: number): BatchReader {
  const r = new BatchReader(source, maxThreads);
  readers.push(r);
  return r;
}

function storageWith(r: BatchReader, opts: StorageOptions = {}): Storage {
  return new Storage(new FileBackend(root, r), { retryBaseMs: 1, retryMaxMs: 2, ...opts });
}

function read(r: BatchReader, paths: (string | null)[], suffixes: string[]): Promise<BatchRead> {
  return new Promise((resolve, reject) =>
    r.read(paths, suffixes, undefined, (err, res) => (err ? reject(err) : resolve(res!))),
  );
}

/** The error of a failed batch result, as the storage error it is. */
const failure = (r: BatchResult<unknown>) =>
  (r as { ok: false; error: Error }).error as StorageError;
const text = (v: Uint8Array | null | undefined) => (v ? Buffer.from(v).toString() : v);

/** A thread that never answers: what a read stuck in the kernel looks like from outside. */
const SILENT = `require("node:worker_threads").parentPort.on("message", () => {});`;
/** A thread that dies on its first batch. */
const CRASHING = `require("node:worker_threads").parentPort.on("message", () => process.exit(3));`;

test("the thread reads each path in its first stored form, back to back, and marks what it leaves", async () => {
  mkdirSync(join(root, "d"));
  writeFileSync(join(root, "plain"), "plain bytes");
  writeFileSync(join(root, "z.gz"), "gz bytes");
  writeFileSync(join(root, "both"), "bare wins");
  writeFileSync(join(root, "both.gz"), "not read");
  writeFileSync(join(root, "d.gz"), "a directory counts as missing");
  writeFileSync(join(root, "empty"), "");
  writeFileSync(join(root, "big"), Buffer.alloc(SMALL_FILE_BYTES + 1, 7));
  writeFileSync(join(root, "edge"), Buffer.alloc(SMALL_FILE_BYTES, 5));
  symlinkSync(join(root, "loop2"), join(root, "loop1"));
  symlinkSync(join(root, "loop1"), join(root, "loop2"));
  const names = ["plain", "z", "both", "none", "d", "empty", "big", "edge", "loop1", "plain/below"];
  const got = await read(reader(), [...names.map((n) => join(root, n)), null], ["", ".gz", ".br"]);
  expect(Array.from(got.forms)).toEqual([
    0,
    1,
    0,
    FORM_MISSING,
    1,
    0,
    FORM_ELSEWHERE,
    0,
    FORM_ELSEWHERE,
    FORM_MISSING,
    FORM_ELSEWHERE,
  ]);
  const bytes = Buffer.from(got.bytes);
  const at = (i: number) => bytes.subarray(i === 0 ? 0 : got.ends[i - 1], got.ends[i]);
  expect(at(0).toString()).toBe("plain bytes");
  expect(at(1).toString()).toBe("gz bytes");
  expect(at(2).toString()).toBe("bare wins");
  expect(at(3).length).toBe(0);
  expect(at(4).toString()).toBe("a directory counts as missing");
  expect(at(5).length).toBe(0);
  expect(at(6).length).toBe(0);
  expect(at(7)).toEqual(Buffer.alloc(SMALL_FILE_BYTES, 5));
  expect(got.bytes.byteLength).toBe(got.ends[got.ends.length - 1]);
});

test("getMany through the thread returns what get returns, each object in memory of its own", async () => {
  const r = reader();
  const s = storageWith(r);
  const keys = Array.from({ length: 100 }, (_, i) => `k/${i}`);
  // Every form ngpipe writes, a missing key, a directory, a large file and a key that is only large inflated.
  const forms = [false, "gzip", "br"] as const;
  await s.putMany(
    keys.slice(0, 90).map((key, i) => ({ key, data: `v ${key}`, compress: forms[i % 3] })),
  );
  await s.put(keys[90], Buffer.alloc(3 * SMALL_FILE_BYTES, 9));
  await s.put(keys[91], Buffer.alloc(100 * SMALL_FILE_BYTES, 1), { compress: "gzip" });
  mkdirSync(join(root, keys[92]));
  const got = await s.getMany(keys, { concurrency: 8 });
  // Batches of 4, two in flight: one thread each at most.
  expect(r.started).toBeGreaterThan(0);
  expect(r.started).toBeLessThanOrEqual(2);
  for (const [i, res] of got.entries()) {
    expect(res).toMatchObject({ key: keys[i], ok: true });
    const v = (res as { value: Uint8Array | null }).value;
    const viaGet = await s.get(keys[i]);
    // Buffer.equals: toEqual walks a 6 MiB array element by element.
    if (v === null) expect(viaGet).toBeNull();
    else expect(Buffer.from(v).equals(viaGet!)).toBe(true);
    // Stored uncompressed: a copy out of the batch's bytes, in an ArrayBuffer of its own.
    if (v !== null && (i >= 90 || i % 3 === 0)) {
      expect(v.constructor).toBe(Uint8Array);
      expect(v.buffer.byteLength).toBe(v.byteLength);
    }
  }
  expect(text((got[3] as { value: Uint8Array }).value)).toBe("v k/3");
  expect((got[93] as { value: null }).value).toBeNull();
  expect((got[92] as { value: null }).value).toBeNull();
});

test("keys the thread leaves get their typed errors naming the key; bad .gz bytes and maxBytes too", async () => {
  const s = storageWith(reader(), { retries: 0 });
  await s.put("ok", "fine");
  symlinkSync(join(root, "loop2"), join(root, "loop1"));
  symlinkSync(join(root, "loop1"), join(root, "loop2"));
  writeFileSync(join(root, "bad.gz"), "not gzip");
  writeFileSync(join(root, "bomb.gz"), gzipSync(Buffer.alloc(1 << 20)));
  writeFileSync(join(root, "br.br"), brotliCompressSync(Buffer.from("brotli")));
  const got = await s.getMany(["ok", "loop1", "bad", "bomb", "br", "../up"], { maxBytes: 1000 });
  expect(text((got[0] as { value: Uint8Array }).value)).toBe("fine");
  const error = (i: number) => failure(got[i]);
  expect(error(1)).toBeInstanceOf(StorageError);
  expect(error(1).key).toBe("loop1");
  expect(error(2)).toBeInstanceOf(DecompressionError);
  expect(error(2).key).toBe("bad");
  expect(error(3)).toBeInstanceOf(DecompressionLimitError);
  expect(error(3).key).toBe("bomb");
  expect(text((got[4] as { value: Uint8Array }).value)).toBe("brotli");
  expect(error(5)).toBeInstanceOf(InvalidKeyError);
});

test("an unreadable file is left to the ordinary read and fails with PermissionDeniedError naming the key", async () => {
  if (process.getuid?.() === 0) {
    console.log("skipped: running as root, which reads a mode-000 file anyway");
    return;
  }
  const s = storageWith(reader(), { retries: 0 });
  writeFileSync(join(root, "locked"), "secret");
  chmodSync(join(root, "locked"), 0);
  const [res] = await s.getMany(["locked"]);
  expect(failure(res)).toBeInstanceOf(PermissionDeniedError);
  expect(failure(res).key).toBe("locked");
});

test("a thread that crashes mid-batch loses no key: its keys are retried the ordinary way, and the thread is replaced", async () => {
  const r = reader(CRASHING);
  const s = storageWith(r);
  const keys = Array.from({ length: 40 }, (_, i) => `c/${i}`);
  await s.putMany(
    keys.map((key, i) => ({ key, data: `v ${key}`, compress: i % 2 ? "gzip" : false })),
  );
  const got = await s.getMany(keys, { concurrency: 8 });
  expect(got.map((g) => (g.ok ? text(g.value) : g.error))).toEqual(keys.map((k) => `v ${k}`));
  expect(r.started).toBeGreaterThan(1);
});

test("a crash is a TransientError to the batch, and the next batch gets a new thread", async () => {
  const r = reader(CRASHING);
  const err = await read(r, [join(root, "x")], [""]).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TransientError);
  expect((err as Error).message).toMatch(/exited with code 3/);
  await read(r, [join(root, "x")], [""]).catch(() => {});
  expect(r.started).toBe(2);
});

test("a batch goes to an idle thread, a new one starts only while all are busy, up to the most", async () => {
  const r = reader(SILENT, 2);
  const outcomes = [0, 1, 2].map((i) =>
    read(r, [join(root, `${i}`)], [""]).catch((e: unknown) => e),
  );
  expect(r.started).toBe(2);
  r.stop();
  for (const e of await Promise.all(outcomes)) expect(e).toBeInstanceOf(TransientError);
  const one = reader();
  writeFileSync(join(root, "x"), "x");
  for (let i = 0; i < 3; i++) await read(one, [join(root, "x")], [""]);
  expect(one.started).toBe(1);
});

test("a batch that does not come back in time fails its keys with the timeout error, or they are retried", async () => {
  const silent = reader(SILENT);
  const keys = ["t/0", "t/1", "t/2"];
  const once = storageWith(silent, { retries: 0, timeoutMs: 100 });
  await once.putMany(keys.map((key) => ({ key, data: `v ${key}` })));
  const failed = await once.getMany(keys);
  for (const [i, res] of failed.entries()) {
    const e = failure(res);
    expect(e).toBeInstanceOf(TransientError);
    expect(e.message).toMatch(/timed out after 100 ms/);
    expect(e.key).toBe(keys[i]);
  }
  // A longer timeout here: the retries are ordinary reads, and the machine may be busy.
  const retried = await storageWith(silent, { retries: 3, timeoutMs: 400 }).getMany(keys);
  expect(retried.map((g) => (g.ok ? text(g.value) : g.error))).toEqual(keys.map((k) => `v ${k}`));
});

test("a thread that never answers a given-up batch is replaced, not waited on", async () => {
  const r = reader(SILENT);
  const s = storageWith(r, { retries: 3, timeoutMs: 400 });
  await s.put("w", "value");
  // Timed out on the thread, then read again the ordinary way.
  const [first] = await s.getMany(["w"]);
  expect(text((first as { value: Uint8Array }).value)).toBe("value");
  expect(r.started).toBe(1);
  await new Promise((done) => setTimeout(done, WEDGED_AFTER_MS + 500));
  const [second] = await s.getMany(["w"]);
  expect(text((second as { value: Uint8Array }).value)).toBe("value");
  expect(r.started).toBe(2);
}, 20_000);

test("aborting mid-batch rejects at once with AbortError, the thread still busy", async () => {
  const s = storageWith(reader(SILENT), { timeoutMs: 60_000 });
  const keys = Array.from({ length: 20 }, (_, i) => `a/${i}`);
  await s.putMany(keys.map((key) => ({ key, data: "x" })));
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error("stop")), 50);
  // The attempt timeout is a minute: the test would time out if anything waited for the thread.
  await expect(s.getMany(keys, { signal: ac.signal })).rejects.toBeInstanceOf(AbortError);
});
