/**
 * file://: a directory tree on a local or shared file system. Writes are
 * atomic (temporary file in the same directory, then rename); conditional
 * writes use hard links and lock files so that they also hold between
 * processes on one machine.
 */

import { type BigIntStats, type Dir, type Dirent, promises as fsp, statSync } from "node:fs";
import * as path from "node:path";
import { AbortError, InvalidKeyError, PreconditionFailedError, StorageError } from "./errors";
import { type BatchReader, sharedBatchReader } from "./file-batch-reader";
import { fileError, STALE_TEMP_MS, TEMP_NAME } from "./file-common";
import { readWholeFile, readWholeFileCall } from "./file-read";
import type {
  Backend,
  BackendBatchDone,
  BackendReadDone,
  Compression,
  GetOptions,
  GetResult,
  IoOptions,
  ListOptions,
  ObjectInfo,
  PutOptions,
  PutResult,
  TemporaryFile,
} from "./types";

export { STALE_TEMP_MS };

/** Temporary and lock files of in-flight writes ({@link TEMP_NAME}, `.<name>.ngpipe-lock`); never listed. */
const INTERNAL_NAME = /^\.((?:.*\.)?ngpipe-\d+-\d+\.tmp|.*\.ngpipe-lock)$/;
/** Directories this process has swept of stale temporaries (once each). */
const swept = new Set<string>();
/** A lock older than this is left over from a crashed writer and is broken. */
const STALE_LOCK_MS = 30_000;

let tmpCounter = 0;

/**
 * Directories up to this size (`st_size`: about 50 bytes an entry on ext4,
 * 20 on tmpfs) are listed in one `readdir` call by `namesIn`.
 */
const ONE_CALL_DIR_BYTES = 4 * 1024 * 1024;

/** A fresh temporary name beside `p`, naming the object it is for. */
function tempName(p: string): string {
  return `${path.dirname(p)}/.${path.basename(p)}.ngpipe-${process.pid}-${tmpCounter++}.tmp`;
}

function errCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** A whole file's bytes as a read result, always a plain Uint8Array (an `alloc` may give a Buffer). */
function wholeFile(buf: Uint8Array): GetResult {
  return {
    data: Buffer.isBuffer(buf) ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) : buf,
    info: { size: buf.byteLength },
  };
}

function isMissing(err: unknown): boolean {
  const c = errCode(err);
  return c === "ENOENT" || c === "ENOTDIR" || c === "EISDIR";
}

/** The opaque version of a file: mtime (ns), size and inode. Survives rename and link. */
function fingerprint(st: BigIntStats): string {
  return `${st.mtimeNs.toString(36)}.${st.size.toString(36)}.${st.ino.toString(36)}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A backend over a directory. Keys map to paths below the root and can never
 * leave it. Objects carry no metadata (content type, cache control): only
 * bytes, size, mtime and a version fingerprint.
 *
 * @example
 * const s = new Storage(new FileBackend("/data/volume"));
 */
export class FileBackend implements Backend {
  readonly url: string;
  readonly encodingInMetadata = false;
  readonly readOnly = false;
  readonly acceptsSharedBytes = true;
  /** Absolute root directory, without a trailing separator. */
  readonly root: string;

  /** Reads the small files of `getMany` batches (see `getManyCall`). */
  private readonly batchReader: BatchReader;

  /**
   * @param root directory of the store; relative paths resolve against the working directory.
   * @param batchReader the reader thread of `getManyCall` (default: the process's shared one; tests pass their own).
   */
  constructor(root: string, batchReader: BatchReader = sharedBatchReader()) {
    this.batchReader = batchReader;
    const abs = path.resolve(root);
    this.root = abs.length > 1 && abs.endsWith(path.sep) ? abs.slice(0, -1) : abs;
    this.url = `file://${this.root}`;
  }

  /** The path of `key`; refuses keys that could leave the root. */
  pathOf(key: string): string {
    if (
      key.length === 0 ||
      key.charCodeAt(0) === 47 ||
      key.includes("\\") ||
      key.includes("\0") ||
      (key.includes("..") && key.split("/").includes(".."))
    ) {
      throw new InvalidKeyError(
        `key "${key}" is not a safe relative key under ${this.url}`,
        this.url,
        key,
      );
    }
    return this.root === "/" ? `/${key}` : `${this.root}/${key}`;
  }

  private fail(err: unknown, op: string, key: string | undefined): never {
    if ((err as { name?: string } | null)?.name === "AbortError") throw err;
    if (err instanceof StorageError) throw err;
    const where = key === undefined ? this.url : `${this.url}/${key}`;
    const msg = `${op} ${where} failed: ${(err as Error).message}`;
    throw fileError(msg, this.url, key, errCode(err), err);
  }

  private checkSignal(signal: AbortSignal | undefined, key?: string): void {
    if (signal?.aborted) {
      throw new AbortError(`aborted: ${this.url}${key ? `/${key}` : ""}`, this.url, key, {
        cause: signal.reason,
      });
    }
  }

  get(key: string, opts?: GetOptions): Promise<GetResult | null> {
    // Not an async function: a whole small file is read per call in batch
    // reads, and the async frame and its extra promise cost as much as a trip
    // through libuv's pool.
    let p: string;
    try {
      p = this.pathOf(key);
    } catch (err) {
      return Promise.reject(err);
    }
    if (opts?.range)
      return this.getRange(p, key, opts.range.start, opts.range.end, opts).catch((err) =>
        this.missingOrFail(err, key),
      );
    return readWholeFile(p, opts?.signal, opts?.alloc).then(wholeFile, (err) =>
      this.missingOrFail(err, key),
    );
  }

  /**
   * `get` of a whole file by callback (see `Backend.getCall`): two trips
   * through libuv's pool for a small file and no promise, for `getMany`.
   */
  getCall(key: string, signal: AbortSignal | undefined, done: BackendReadDone): void {
    let p: string;
    try {
      p = this.pathOf(key);
    } catch (err) {
      queueMicrotask(() => done(false, err));
      return;
    }
    readWholeFileCall(p, signal, undefined, this.readReporter(key, done));
  }

  /**
   * Many whole small files at once, on the process's file reader thread
   * (see file-batch-reader.ts and `Backend.getManyCall`): one message each
   * way per batch instead of two trips through libuv's pool per key. A key
   * that cannot leave the root is not read (marked for `get`, which throws
   * its `InvalidKeyError`).
   */
  getManyCall(
    keys: readonly string[],
    suffixes: readonly string[],
    signal: AbortSignal | undefined,
    done: BackendBatchDone,
  ): void {
    const paths = new Array<string | null>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      try {
        paths[i] = this.pathOf(keys[i]);
      } catch {
        paths[i] = null;
      }
    }
    this.batchReader.read(paths, suffixes, signal, done);
  }

  /**
   * The callback {@link getCall} gives the file read: bytes as they are,
   * a missing file as null, anything else as `get`'s typed error. Returned,
   * not assigned, so that esbuild's keepNames renames no function per read.
   */
  private readReporter(
    key: string,
    done: BackendReadDone,
  ): (error: unknown, data?: Uint8Array) => void {
    return (error, data) => {
      if (!error) done(true, data);
      else if (isMissing(error)) done(true, null);
      else {
        let typed: unknown;
        try {
          this.fail(error, "get", key);
        } catch (e) {
          typed = e;
        }
        done(false, typed);
      }
    };
  }

  /** null for a read that found no file at `key`, else the typed error of `err`. */
  private missingOrFail(err: unknown, key: string): null {
    if (isMissing(err)) return null;
    this.fail(err, "get", key);
  }

  private async getRange(
    p: string,
    key: string,
    start: number,
    end: number | undefined,
    opts: IoOptions,
  ): Promise<GetResult> {
    this.checkSignal(opts.signal, key);
    const fh = await fsp.open(p, "r");
    try {
      const st = await fh.stat({ bigint: true });
      if (st.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
      const size = Number(st.size);
      const from = Math.min(start, size);
      const to = Math.max(from, Math.min(end ?? size, size));
      const data = new Uint8Array(to - from);
      let off = 0;
      while (off < data.length) {
        const { bytesRead } = await fh.read(data, off, data.length - off, from + off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      return {
        data: off === data.length ? data : data.subarray(0, off),
        info: { size, version: fingerprint(st), lastModified: st.mtime },
      };
    } finally {
      await fh.close();
    }
  }

  /** Writes `data` to a fresh temporary file next to `p` (creating directories) and returns its name. */
  private async writeTemp(p: string, data: Uint8Array, signal?: AbortSignal): Promise<string> {
    const dir = path.dirname(p);
    if (!swept.has(dir)) {
      swept.add(dir);
      await this.sweep(dir);
    }
    const tmp = tempName(p);
    const opts = signal ? { signal, flag: "wx" } : { flag: "wx" };
    try {
      await fsp.writeFile(tmp, data, opts);
    } catch (err) {
      if (errCode(err) !== "ENOENT") {
        await fsp.unlink(tmp).catch(() => {});
        throw err;
      }
      await fsp.mkdir(dir, { recursive: true });
      await fsp.writeFile(tmp, data, opts);
    }
    return tmp;
  }

  async put(
    key: string,
    data: Uint8Array,
    opts: PutOptions & { contentEncoding?: Compression },
  ): Promise<PutResult> {
    const p = this.pathOf(key);
    this.checkSignal(opts.signal, key);
    if (opts.ifVersion !== undefined) return this.putIfVersion(p, key, data, opts.ifVersion, opts);
    let tmp: string | undefined;
    try {
      tmp = await this.writeTemp(p, data, opts.signal);
      // An attempt given up on (timed out, then retried) while its bytes were
      // written must not put them in place: the caller may already reuse
      // their memory (acceptsSharedBytes) once a later attempt succeeded.
      this.checkSignal(opts.signal, key);
      if (!opts.ifAbsent) {
        await fsp.rename(tmp, p);
        return {};
      }
      const version = fingerprint(await fsp.lstat(tmp, { bigint: true }));
      try {
        // link() fails with EEXIST when the key exists: exactly one writer wins.
        await fsp.link(tmp, p);
      } catch (err) {
        if (errCode(err) === "EEXIST") {
          throw new PreconditionFailedError(
            `${key} already exists under ${this.url} (ifAbsent)`,
            this.url,
            key,
          );
        }
        throw err;
      }
      await fsp.unlink(tmp);
      return { version };
    } catch (err) {
      if (tmp !== undefined) await fsp.unlink(tmp).catch(() => {});
      this.fail(err, "put", key);
    }
  }

  private async putIfVersion(
    p: string,
    key: string,
    data: Uint8Array,
    ifVersion: string,
    opts: IoOptions,
  ): Promise<PutResult> {
    const lock = `${path.dirname(p)}/.${path.basename(p)}.ngpipe-lock`;
    const stale = () =>
      new PreconditionFailedError(
        `${key} under ${this.url} is not at version ${ifVersion} (ifVersion)`,
        this.url,
        key,
      );
    try {
      await this.acquireLock(lock, key, opts.signal);
    } catch (err) {
      if (isMissing(err)) throw stale();
      this.fail(err, "put", key);
    }
    let tmp: string | undefined;
    try {
      let current: string | undefined;
      try {
        current = fingerprint(await fsp.stat(p, { bigint: true }));
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
      if (current !== ifVersion) throw stale();
      tmp = await this.writeTemp(p, data, opts.signal);
      const version = fingerprint(await fsp.lstat(tmp, { bigint: true }));
      await fsp.rename(tmp, p);
      tmp = undefined;
      return { version };
    } catch (err) {
      if (tmp !== undefined) await fsp.unlink(tmp).catch(() => {});
      this.fail(err, "put", key);
    } finally {
      await fsp.unlink(lock).catch(() => {});
    }
  }

  /** Creates the lock file exclusively, waiting for a holder to finish and breaking stale locks. */
  private async acquireLock(lock: string, key: string, signal?: AbortSignal): Promise<void> {
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      this.checkSignal(signal, key);
      try {
        const fh = await fsp.open(lock, "wx");
        await fh.close();
        return;
      } catch (err) {
        if (errCode(err) !== "EEXIST") throw err;
      }
      try {
        const st = await fsp.stat(lock);
        if (Date.now() - st.mtimeMs > STALE_LOCK_MS) await fsp.unlink(lock);
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
      await sleep(wait * (0.5 + Math.random()));
    }
  }

  async delete(key: string, opts?: IoOptions): Promise<void> {
    const p = this.pathOf(key);
    this.checkSignal(opts?.signal, key);
    try {
      await fsp.unlink(p);
    } catch (err) {
      if (isMissing(err)) return;
      this.fail(err, "delete", key);
    }
  }

  /**
   * Synchronous probe: a local `stat` costs about a microsecond, far less than
   * a trip through libuv's thread pool, and most probes find nothing.
   */
  exists(key: string): boolean {
    try {
      const st = statSync(this.pathOf(key), { throwIfNoEntry: false });
      return st !== undefined && !st.isDirectory();
    } catch (err) {
      // Let the real request report anything but a missing path.
      return !isMissing(err);
    }
  }

  /**
   * The names in directory `dir`, or null when it holds more than `limit`.
   * A directory whose size (bytes of entries, on most file systems) says it
   * is small is read in one `readdir` call, about a tenth of the CPU of
   * walking it entry by entry; a larger one is walked and given up at
   * `limit`, so a flat scale directory of millions of chunks is never
   * loaded whole.
   */
  async namesIn(dir: string, limit: number, opts?: IoOptions): Promise<Set<string> | null> {
    this.checkSignal(opts?.signal, dir);
    const p = dir === "" ? this.root : this.pathOf(dir);
    const names = new Set<string>();
    let d: Dir;
    try {
      const st = await fsp.stat(p);
      if (!st.isDirectory()) return names;
      if (st.size <= ONE_CALL_DIR_BYTES) {
        const all = await fsp.readdir(p);
        return all.length > limit ? null : new Set(all);
      }
      d = await fsp.opendir(p, { bufferSize: 256 });
    } catch (err) {
      if (isMissing(err)) return names;
      this.fail(err, "list", dir);
    }
    // Leaving the loop, by its end or early, closes the directory.
    for await (const entry of d) {
      if (names.size >= limit) return null;
      names.add(entry.name);
    }
    return names;
  }

  async head(key: string, opts?: IoOptions): Promise<ObjectInfo | null> {
    const p = this.pathOf(key);
    this.checkSignal(opts?.signal, key);
    try {
      const st = await fsp.stat(p, { bigint: true });
      if (!st.isFile()) return null;
      return { size: Number(st.size), version: fingerprint(st), lastModified: st.mtime };
    } catch (err) {
      if (isMissing(err)) return null;
      this.fail(err, "head", key);
    }
  }

  async *list(prefix: string, opts?: ListOptions): AsyncIterable<string> {
    if (prefix !== "") this.pathOf(prefix.endsWith("/") ? `${prefix}x` : prefix);
    const slash = prefix.lastIndexOf("/");
    yield* this.walk(
      prefix.slice(0, slash + 1),
      prefix.slice(slash + 1),
      !!opts?.recursive,
      opts?.signal,
    );
  }

  /** The path and entries of directory `dirKey` (relative, "" or ending in "/"); none when it is missing. */
  private async entries(
    dirKey: string,
    signal: AbortSignal | undefined,
  ): Promise<{ dir: string; entries: Dirent[] }> {
    this.checkSignal(signal);
    const dir = dirKey === "" ? this.root : `${this.root}/${dirKey.slice(0, -1)}`;
    try {
      return { dir, entries: await fsp.readdir(dir, { withFileTypes: true }) };
    } catch (err) {
      if (isMissing(err)) return { dir, entries: [] };
      this.fail(err, "list", dirKey);
    }
  }

  /** Lists directory `dirKey` (relative, "" or ending in "/"), entries starting with `partial`, in key order. */
  private async *walk(
    dirKey: string,
    partial: string,
    recursive: boolean,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<string> {
    const { dir, entries } = await this.entries(dirKey, signal);
    const names: string[] = [];
    for (const e of entries) {
      const name = e.name;
      if (!name.startsWith(partial) || INTERNAL_NAME.test(name)) continue;
      let isDir = e.isDirectory();
      if (e.isSymbolicLink()) {
        try {
          isDir = (await fsp.stat(`${dir}/${name}`)).isDirectory();
        } catch {
          continue;
        }
      }
      names.push(isDir ? `${name}/` : name);
    }
    names.sort();
    for (const name of names) {
      if (!name.endsWith("/")) yield dirKey + name;
      else if (recursive) yield* this.walk(dirKey + name, "", true, signal);
      else yield dirKey + name;
    }
  }

  /** Removes the temporaries in `dir` older than {@link STALE_TEMP_MS}; failures are ignored (a later write retries nothing, a later sweep in another process may). */
  private async sweep(dir: string): Promise<void> {
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      return;
    }
    const now = Date.now();
    for (const name of names) {
      if (!TEMP_NAME.test(name)) continue;
      const p = `${dir}/${name}`;
      try {
        if (now - (await fsp.stat(p)).mtimeMs > STALE_TEMP_MS) await fsp.unlink(p);
      } catch {
        // Gone already, or not ours to remove: either way nothing to do.
      }
    }
  }

  /**
   * The temporary files under `prefix` (recursively): what killed writers
   * left. `ngpipe du` counts them; the first write into a directory removes
   * those older than {@link STALE_TEMP_MS}.
   */
  async *temporaries(prefix: string, opts?: IoOptions): AsyncGenerator<TemporaryFile> {
    const base = prefix === "" ? "" : prefix.endsWith("/") ? prefix : `${prefix}/`;
    if (base !== "") this.pathOf(`${base}x`);
    yield* this.walkTemporaries(base, opts?.signal);
  }

  private async *walkTemporaries(
    dirKey: string,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<TemporaryFile> {
    const { dir, entries } = await this.entries(dirKey, signal);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.isDirectory()) {
        yield* this.walkTemporaries(`${dirKey}${e.name}/`, signal);
        continue;
      }
      const m = TEMP_NAME.exec(e.name);
      if (!m) continue;
      try {
        const st = await fsp.stat(`${dir}/${e.name}`);
        yield {
          key: dirKey + e.name,
          ...(m[1] ? { of: dirKey + m[1] } : {}),
          size: st.size,
          mtimeMs: st.mtimeMs,
        };
      } catch {
        // Renamed into place or removed since the listing.
      }
    }
  }

  /**
   * Removes the temporaries written for `keys` (whatever their age: the
   * objects themselves are being deleted), one directory listing per
   * directory. Resolves to how many were removed.
   */
  async removeTemporaries(keys: readonly string[], opts?: IoOptions): Promise<number> {
    const byDir = new Map<string, Set<string>>();
    for (const key of keys) {
      const p = this.pathOf(key);
      const dir = path.dirname(p);
      let names = byDir.get(dir);
      if (!names) byDir.set(dir, (names = new Set()));
      names.add(path.basename(p));
    }
    let removed = 0;
    for (const [dir, names] of byDir) {
      this.checkSignal(opts?.signal);
      let entries: string[];
      try {
        entries = await fsp.readdir(dir);
      } catch (err) {
        if (isMissing(err)) continue;
        this.fail(err, "list", dir);
      }
      for (const name of entries) {
        const of = TEMP_NAME.exec(name)?.[1];
        if (of === undefined || !names.has(of)) continue;
        await fsp.unlink(`${dir}/${name}`).then(
          () => removed++,
          () => {},
        );
      }
    }
    return removed;
  }

  async copyWithin(srcKey: string, dst: Backend, dstKey: string, opts?: IoOptions): Promise<void> {
    if (!(dst instanceof FileBackend)) {
      throw new TypeError(`copyWithin from ${this.url} needs a file:// destination`);
    }
    const src = this.pathOf(srcKey);
    const target = dst.pathOf(dstKey);
    this.checkSignal(opts?.signal, srcKey);
    const tmp = tempName(target);
    try {
      try {
        await fsp.copyFile(src, tmp);
      } catch (err) {
        if (errCode(err) !== "ENOENT") throw err;
        await fsp.mkdir(path.dirname(target), { recursive: true });
        await fsp.copyFile(src, tmp);
      }
      await fsp.rename(tmp, target);
    } catch (err) {
      await fsp.unlink(tmp).catch(() => {});
      this.fail(err, "copy", srcKey);
    }
  }
}
