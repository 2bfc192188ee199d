import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PermissionDeniedError, StorageError, TransientError } from "./errors";
import { FileBackend } from "./file";
import {
  type FileSyncFailure,
  fileSyncError,
  isFileSyncFailure,
  readStoredFileSync,
  withSyncRetries,
  writeStoredFileSync,
} from "./file-sync";
import { Storage } from "./storage";

let root: string;
let storage: Storage;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "ngpipe-filesync-"));
  storage = new Storage(new FileBackend(root));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const bytes = (s: string) => new Uint8Array(Buffer.from(s));
const text = (b: Uint8Array) => Buffer.from(b).toString();

test("reads find the form Storage.getRaw finds, bare first, and missing keys read as null", async () => {
  await storage.putRaw("r/a", bytes("plain"));
  await storage.putRaw("r/b", bytes("gz-bytes"), { contentEncoding: "gzip" });
  await storage.putRaw("r/c", bytes("br-bytes"), { contentEncoding: "br" });
  // Two forms at once (another tool wrote them): the bare one wins, as for getRaw.
  writeFileSync(join(root, "r/d"), "bare");
  writeFileSync(join(root, "r/d.gz"), "gz");
  writeFileSync(join(root, "r/e.zstd"), "zstd-bytes");
  mkdirSync(join(root, "r/dir"));
  for (const key of ["a", "b", "c", "d", "e", "missing", "dir"]) {
    const viaStorage = await storage.getRaw(`r/${key}`);
    const got = readStoredFileSync(join(root, "r", key));
    if (viaStorage === null) {
      expect(got).toBeNull();
      continue;
    }
    if (got === null || isFileSyncFailure(got)) throw new Error(`r/${key}: ${JSON.stringify(got)}`);
    expect(text(got.bytes)).toBe(text(viaStorage.data));
    expect(got.compression).toBe(viaStorage.info.contentEncoding);
  }
});

test("a read uses the scratch memory when the file fits, new memory when it does not", () => {
  writeFileSync(join(root, "s1"), "0123456789");
  const scratch = new Uint8Array(16);
  const small = readStoredFileSync(join(root, "s1"), scratch);
  if (small === null || isFileSyncFailure(small)) throw new Error("not read");
  expect(small.bytes.buffer).toBe(scratch.buffer);
  expect(text(small.bytes)).toBe("0123456789");
  const tiny = new Uint8Array(4);
  const large = readStoredFileSync(join(root, "s1"), tiny);
  if (large === null || isFileSyncFailure(large)) throw new Error("not read");
  expect(large.bytes.buffer).not.toBe(tiny.buffer);
  expect(text(large.bytes)).toBe("0123456789");
});

test("writes store the names and bytes Storage.putRaw stores, and remove the other forms", async () => {
  for (const [i, compression] of [undefined, "gzip", "br"].entries()) {
    const c = compression as "gzip" | "br" | undefined;
    await storage.putRaw(`w/via-storage${i}`, bytes(`data ${i}`), { contentEncoding: c });
    expect(writeStoredFileSync(join(root, `w/via-sync${i}`), bytes(`data ${i}`), c)).toBe(true);
  }
  const names = readdirSync(join(root, "w")).sort();
  expect(names.filter((n) => n.includes("via-sync"))).toEqual(
    names.filter((n) => n.includes("via-storage")).map((n) => n.replace("via-storage", "via-sync")),
  );
  expect(names.some((n) => n.endsWith(".tmp"))).toBe(false);
  // Rewriting in another form leaves exactly that form.
  expect(writeStoredFileSync(join(root, "w/via-sync1"), bytes("again"), "br")).toBe(true);
  expect(readdirSync(join(root, "w")).filter((n) => n.startsWith("via-sync1"))).toEqual([
    "via-sync1.br",
  ]);
  const back = await storage.getRaw("w/via-sync1");
  expect(back?.info.contentEncoding).toBe("br");
  expect(text(back?.data ?? new Uint8Array())).toBe("again");
});

test("a write creates missing directories and sweeps stale temporaries once", () => {
  const dir = join(root, "deep/er/dir");
  const p = join(dir, "x");
  expect(writeStoredFileSync(p, bytes("first"), "gzip")).toBe(true);
  expect(readFileSync(`${p}.gz`).toString()).toBe("first");
  // A stale temporary left by a killed writer, in a directory not yet written by this thread.
  const other = join(root, "stale");
  mkdirSync(other);
  const tmp = join(other, ".y.gz.ngpipe-1-5.tmp");
  writeFileSync(tmp, "junk");
  const old = (Date.now() - 11 * 60_000) / 1000;
  utimesSync(tmp, old, old);
  expect(writeStoredFileSync(join(other, "y"), bytes("y"), "gzip")).toBe(true);
  expect(readdirSync(other)).toEqual(["y.gz"]);
});

test("a write whose abort flag is set before the rename puts nothing in place", () => {
  const p = join(root, "aborted");
  writeFileSync(`${p}.gz`, "old");
  const abort = new Int32Array(new SharedArrayBuffer(4));
  Atomics.store(abort, 0, 1);
  expect(writeStoredFileSync(p, bytes("new"), "gzip", abort)).toBe(false);
  expect(readFileSync(`${p}.gz`).toString()).toBe("old");
  expect(readdirSync(root).some((n) => n.startsWith(".aborted"))).toBe(false);
});

test("failures come back as values and become the typed errors FileBackend throws", () => {
  if (process.getuid?.() === 0) {
    // root ignores file modes: use a path under a regular file instead (ENOTDIR on write).
    writeFileSync(join(root, "afile"), "x");
    const f = writeStoredFileSync(join(root, "afile/sub/k"), bytes("v"), "gzip");
    expect(isFileSyncFailure(f)).toBe(true);
    const err = fileSyncError(f as FileSyncFailure, storage.url, "afile/sub/k");
    expect(err).toBeInstanceOf(StorageError);
    expect(err.key).toBe("afile/sub/k");
    expect(err.url).toBe(storage.url);
    expect(err.message).toContain("put");
  } else {
    const ro = join(root, "ro");
    mkdirSync(ro);
    chmodSync(ro, 0o500);
    const f = writeStoredFileSync(join(ro, "k"), bytes("v"), "gzip");
    chmodSync(ro, 0o700);
    expect(fileSyncError(f as FileSyncFailure, storage.url, "ro/k")).toBeInstanceOf(
      PermissionDeniedError,
    );
  }
  const mapped = (code: string) =>
    fileSyncError({ op: "get", path: "/x", code, message: code }, "file:///r", "k");
  expect(mapped("EACCES")).toBeInstanceOf(PermissionDeniedError);
  expect(mapped("EROFS")).toBeInstanceOf(PermissionDeniedError);
  expect(mapped("EMFILE")).toBeInstanceOf(TransientError);
  expect(mapped("EIO")).not.toBeInstanceOf(TransientError);
  expect(mapped("EIO")).toBeInstanceOf(StorageError);
  expect(mapped("EIO").message).toBe("get file:///r/k failed: EIO");
});

test("transient failures are retried a bounded number of times, others and aborted ones are not", () => {
  const failing = (codes: string[]) => {
    let calls = 0;
    const fn = () => {
      const code = codes[calls++];
      if (code !== undefined) throw Object.assign(new Error(code), { code });
      return calls;
    };
    return { fn, calls: () => calls };
  };
  const fast = { retries: 3, retryBaseMs: 1, retryMaxMs: 2 };
  // Two transient failures, then success.
  const a = failing(["EMFILE", "EAGAIN"]);
  expect(withSyncRetries(a.fn, fast, undefined)).toBe(3);
  // More transient failures than retries: the last one is thrown after 1 + 3 attempts.
  const b = failing(["EBUSY", "EBUSY", "EBUSY", "EBUSY", "EBUSY"]);
  expect(() => withSyncRetries(b.fn, fast, undefined)).toThrow("EBUSY");
  expect(b.calls()).toBe(4);
  // A permanent failure is not retried.
  const c = failing(["EIO"]);
  expect(() => withSyncRetries(c.fn, fast, undefined)).toThrow("EIO");
  expect(c.calls()).toBe(1);
  // Once the abort flag is set, a transient failure is not retried either.
  const abort = new Int32Array(new SharedArrayBuffer(4));
  Atomics.store(abort, 0, 1);
  const d = failing(["EMFILE"]);
  expect(() => withSyncRetries(d.fn, fast, abort)).toThrow("EMFILE");
  expect(d.calls()).toBe(1);
});
