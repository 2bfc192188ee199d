/**
 * Synchronous file:// object IO for worker threads: a pool thread that
 * decodes a chunk reads its file itself, and one that encodes a chunk
 * writes it, without the bytes crossing to the main thread or through
 * libuv's pool (bench/RESULTS.md, dstask5). The names and forms are those
 * of `Storage` over a `FileBackend`: a read finds `key`, `key.gz`,
 * `key.br`, `key.zstd` or `key.zst` (in that order), a write puts
 * `key<suffix>` through a temporary file and a rename and removes the
 * other forms, so either path writes and reads the same files.
 *
 * Failures are not thrown across threads: a worker returns a
 * {@link FileSyncFailure} and the caller's thread turns it into the typed
 * `StorageError` that `FileBackend` would throw ({@link fileSyncError}).
 * Transient ones (out of file descriptors, EAGAIN, EBUSY) are retried here
 * first, with the backoff of `Storage`'s retry policy.
 *
 * It loads node:fs and storage's modules of forms, codecs and errors,
 * nothing of the backends.
 */
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import * as path from "node:path";
import { threadId } from "node:worker_threads";
import { SUFFIX_OF } from "./compression";
import type { StorageError } from "./errors";
import { fileError, STALE_TEMP_MS, TEMP_NAME, TRANSIENT_FILE_CODES } from "./file-common";
import { FORMS } from "./forms";
import type { Compression } from "./types";

/** A failed synchronous file operation, as plain data that crosses threads. */
export interface FileSyncFailure {
  /** The operation, as `FileBackend` names it in messages. */
  op: "get" | "put";
  /** The file's path. */
  path: string;
  /** The system error code (`ENOSPC`, ...), when there is one. */
  code?: string;
  message: string;
}

/** Bounded retries of transient failures: `Storage`'s retry options. */
export interface FileSyncRetry {
  /** Retries after the first attempt. Default 6. */
  retries?: number;
  /** Base of the exponential backoff, ms. Default 100. */
  retryBaseMs?: number;
  /** Cap of one backoff delay, ms. Default 10_000. */
  retryMaxMs?: number;
}

/** A stored object read into scratch memory. */
export interface StoredFile {
  /** The file's bytes: a view of the caller's scratch memory when it fits, else new memory. */
  bytes: Uint8Array;
  /** How the bytes are compressed (undefined: stored bare). */
  compression: Compression | undefined;
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function isMissing(code: string | undefined): boolean {
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
}

/** The file at `p`, or undefined when there is none (no exception for a missing one). */
function probe(p: string): { isDirectory(): boolean } | undefined {
  try {
    return statSync(p, { throwIfNoEntry: false });
  } catch (err) {
    if (isMissing(codeOf(err))) return undefined;
    throw err;
  }
}

function failure(op: "get" | "put", p: string, err: unknown): FileSyncFailure {
  return { op, path: p, code: codeOf(err), message: (err as Error)?.message ?? String(err) };
}

/** Memory to block on between attempts (a worker has no event loop to wait with). */
let sleeper: Int32Array | undefined;

/** Sleeps `ms` on this thread, or until `abort[0]` becomes non-zero (and is notified). */
function pause(ms: number, abort: Int32Array | undefined): void {
  if (abort !== undefined) {
    Atomics.wait(abort, 0, 0, ms);
    return;
  }
  sleeper ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleeper, 0, 0, ms);
}

/**
 * `fn`, retried while it throws a transient error code (EMFILE, ENFILE,
 * EAGAIN, EBUSY), at most `retry.retries` times, sleeping a full-jitter
 * exponential backoff between attempts (the thread blocks: for workers).
 * Any other error, the last attempt's error, or an error once `abort[0]`
 * is set, is thrown at once; a set flag also ends a backoff early.
 */
export function withSyncRetries<T>(
  fn: () => T,
  retry: FileSyncRetry | undefined,
  abort: Int32Array | undefined,
): T {
  const retries = retry?.retries ?? 6;
  const base = retry?.retryBaseMs ?? 100;
  const max = retry?.retryMaxMs ?? 10_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (err) {
      const aborted = abort !== undefined && Atomics.load(abort, 0) !== 0;
      if (attempt >= retries || aborted || !TRANSIENT_FILE_CODES.has(codeOf(err) ?? "")) throw err;
      pause(Math.random() * Math.min(max, base * 2 ** attempt), abort);
    }
  }
}

/** Reads the whole open file `fd` into `scratch` when it fits, else into new memory. */
function readOpen(fd: number, scratch: Uint8Array | undefined): Uint8Array {
  const size = fstatSync(fd).size;
  const out = scratch !== undefined && size <= scratch.byteLength ? scratch : new Uint8Array(size);
  let off = 0;
  while (off < size) {
    const n = readSync(fd, out, off, size - off, off);
    if (n === 0) break;
    off += n;
  }
  return out.subarray(0, off);
}

/** One read of the stored forms of `p`, bare first; null when none exists. */
function readForms(p: string, scratch: Uint8Array | undefined): StoredFile | null {
  for (const [suffix, compression] of FORMS) {
    // A probe that does not throw: most chunks are stored in one form only,
    // and an exception per missing form costs more than the stat.
    const st = probe(p + suffix);
    if (st === undefined || st.isDirectory()) continue;
    let fd: number;
    try {
      fd = openSync(p + suffix, "r");
    } catch (err) {
      // Removed since the probe.
      if (isMissing(codeOf(err))) continue;
      throw err;
    }
    try {
      return { bytes: readOpen(fd, scratch), compression };
    } catch (err) {
      // A directory opens, then fails to read: not an object, as for `get`.
      if (isMissing(codeOf(err))) continue;
      throw err;
    } finally {
      closeSync(fd);
    }
  }
  return null;
}

/**
 * The stored object at path `p` (a `FileBackend` key's path, without a
 * suffix) in the form `Storage.getRaw` would find: `p`, else `p.gz`,
 * `p.br`, `p.zstd`, `p.zst`. Its bytes are read into `scratch` when they
 * fit (the result then views it: valid until the caller reuses it), else
 * into new memory. Null when no form exists; a {@link FileSyncFailure}
 * when reading failed after the retries.
 */
export function readStoredFileSync(
  p: string,
  scratch?: Uint8Array,
  retry?: FileSyncRetry,
): StoredFile | null | FileSyncFailure {
  try {
    return withSyncRetries(() => readForms(p, scratch), retry, undefined);
  } catch (err) {
    return failure("get", p, err);
  }
}

let tempCounter = 0;

/**
 * A fresh temporary name beside `p`: `FileBackend`'s pattern, unique among
 * this process's threads. The counter is per thread, so the thread id
 * leads it, one above the id so that none of these numbers is one
 * `FileBackend`'s own counter (from 0, on the main thread) reaches.
 */
function tempName(p: string): string {
  const n = (threadId + 1) * 1_000_000_000 + (tempCounter++ % 1_000_000_000);
  return `${path.dirname(p)}/.${path.basename(p)}.ngpipe-${process.pid}-${n}.tmp`;
}

/** Directories this thread has swept of stale temporaries (once each, as `FileBackend`). */
const swept = new Set<string>();

/** Removes the temporaries in `dir` left by killed writers; failures are ignored. */
function sweep(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const name of names) {
    if (!TEMP_NAME.test(name)) continue;
    try {
      const p = `${dir}/${name}`;
      if (now - statSync(p).mtimeMs > STALE_TEMP_MS) unlinkSync(p);
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}

/** Writes all of `data` to a new file `tmp` (exclusive create). */
function writeNew(tmp: string, data: Uint8Array): void {
  const fd = openSync(tmp, "wx");
  try {
    let off = 0;
    while (off < data.byteLength) off += writeSync(fd, data, off, data.byteLength - off);
  } finally {
    closeSync(fd);
  }
}

function unlinkQuietly(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    // Already gone (or never written).
  }
}

/** Removes the stored forms of `p` other than the one with `keep`'s suffix. */
function removeOtherForms(p: string, keep: string): void {
  for (const [suffix] of FORMS) {
    if (suffix === keep || probe(p + suffix) === undefined) continue;
    try {
      unlinkSync(p + suffix);
    } catch (err) {
      if (!isMissing(codeOf(err))) throw err;
    }
  }
}

/** One attempt of {@link writeStoredFileSync}. */
function writeOnce(p: string, data: Uint8Array, suffix: string, abort?: Int32Array): boolean {
  const target = p + suffix;
  const dir = path.dirname(target);
  if (!swept.has(dir)) {
    swept.add(dir);
    sweep(dir);
  }
  const tmp = tempName(target);
  try {
    try {
      writeNew(tmp, data);
    } catch (err) {
      if (codeOf(err) !== "ENOENT") throw err;
      mkdirSync(dir, { recursive: true });
      writeNew(tmp, data);
    }
    // A write given up on while its bytes were written is not put in place.
    if (abort !== undefined && Atomics.load(abort, 0) !== 0) {
      unlinkQuietly(tmp);
      return false;
    }
    renameSync(tmp, target);
  } catch (err) {
    unlinkQuietly(tmp);
    throw err;
  }
  removeOtherForms(p, suffix);
  return true;
}

/**
 * Stores `data` (already compressed with `compression`, or bare) at path
 * `p` as `Storage.putRaw` does on a `FileBackend`: `p` plus the codec's
 * suffix is written through a temporary file beside it and renamed into
 * place, so readers never see part of it, then the other stored forms of
 * `p` are removed. With `abort` (a flag the caller's thread sets to 1 and
 * notifies when it gives up), a write whose flag is set before the rename
 * removes its temporary and returns false. True when stored; a
 * {@link FileSyncFailure} after the retries.
 */
export function writeStoredFileSync(
  p: string,
  data: Uint8Array,
  compression: Compression | undefined,
  abort?: Int32Array,
  retry?: FileSyncRetry,
): boolean | FileSyncFailure {
  const suffix = compression === undefined ? "" : SUFFIX_OF[compression];
  try {
    return withSyncRetries(() => writeOnce(p, data, suffix, abort), retry, abort);
  } catch (err) {
    return failure("put", p, err);
  }
}

/** Whether a result of this module is a {@link FileSyncFailure}. */
export function isFileSyncFailure(x: unknown): x is FileSyncFailure {
  return (
    x !== null &&
    typeof x === "object" &&
    typeof (x as FileSyncFailure).op === "string" &&
    typeof (x as FileSyncFailure).message === "string" &&
    typeof (x as FileSyncFailure).path === "string"
  );
}

/**
 * The typed error `FileBackend` (through `Storage`) throws for the same
 * failure: `PermissionDeniedError` for EACCES/EPERM/EROFS,
 * `TransientError` for running out of descriptors, EAGAIN and EBUSY (after
 * the retries), `StorageError` otherwise; named by the storage's `url` and
 * the caller's `key`.
 */
export function fileSyncError(f: FileSyncFailure, url: string, key: string): StorageError {
  const msg = `${f.op} ${url}/${key} failed: ${f.message}`;
  const cause = Object.assign(new Error(f.message), { code: f.code, path: f.path });
  return fileError(msg, url, key, f.code, cause);
}
