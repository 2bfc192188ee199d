/**
 * The file reader threads: `worker_threads` Workers shared by the process
 * (one, and a second while the first is busy) that read whole small files
 * for `getMany` on file://, a batch of keys per message.
 *
 * Why a thread of our own and not libuv's pool: a file read through the
 * pool is two or more trips (open, read), and each trip that finds the
 * pool idle pays a futex wake, which on a 2-core machine often takes the
 * main thread's core (perf, bench/RESULTS.md, getmany5). Here the main
 * thread posts one message per batch, the thread makes the system calls
 * back to back (open, read, close; a failed open costs about a
 * microsecond), packs the bytes of the whole batch into one ArrayBuffer
 * and transfers it back: one wake and one message each way per batch, not
 * per key.
 *
 * The thread only does the common cases: a file found (in the first of the
 * given stored forms that exists) and at most {@link SMALL_FILE_BYTES}
 * long, or no form stored at all. Anything else (a larger file, a key it
 * cannot open or read for any reason but a missing path, an invalid key)
 * is marked {@link FORM_ELSEWHERE} and read the ordinary way, which reports
 * the typed error it always did. Decompression stays on the main thread:
 * there it overlaps the thread's reads (measured: moving gunzip into the
 * thread made the thread the bottleneck and gained nothing).
 */

import { Worker } from "node:worker_threads";
import { TransientError } from "./errors";
import type { BackendBatchDone, BatchRead } from "./types";

/** Files up to this size are read by the thread; larger ones are read the ordinary way. */
export const SMALL_FILE_BYTES = 64 * 1024;
/** Most keys in one batch: a batch's bytes stay under 16 x 64 KiB = 1 MiB. */
export const MAX_BATCH_KEYS = 16;
/**
 * Most reader threads at once; a second starts only while the first holds
 * a batch. On files in the page cache one thread is as fast; on files that
 * must come from the disk one thread serializes the reads (1.4-1.7x slower
 * than libuv's pool), two came closer and four did no better
 * (bench/RESULTS.md, getmany6).
 */
export const READER_THREADS = 2;
/** `BatchRead.forms` of a key stored in none of the forms asked for. */
export const FORM_MISSING = -1;
/** `BatchRead.forms` of a key the thread did not read: read it the ordinary way. */
export const FORM_ELSEWHERE = -2;
/**
 * A batch given up on (its attempt timed out or was aborted) that the
 * thread has not answered this long after is taken as a sign the thread
 * is stuck (a hung network file system, a FIFO): it is terminated, not
 * waited for, and the next batch starts a new one.
 */
export const WEDGED_AFTER_MS = 2000;

/**
 * The thread's code, plain JavaScript run with `eval: true`: no module of
 * ours to resolve, so it runs the same from sources (tsx, jest) and from
 * the built package. Per key, each stored form in order (as `get` tries
 * them): open; a missing path (ENOENT, ENOTDIR) tries the next form; read
 * up to one byte past the limit at offset 0 (a short read of a regular
 * file is its end, POSIX), a directory (EISDIR) counts as missing, as for
 * `get`; close. Replies `{ id, bytes, ends, forms }`: the files' bytes
 * back to back, each key's end offset in `bytes`, and the index of the
 * form read (or FORM_MISSING / FORM_ELSEWHERE).
 */
export const READER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { openSync, readSync, closeSync } = require("node:fs");
let scratch = Buffer.alloc(0);
parentPort.on("message", (m) => {
  const { id, paths, suffixes, limit } = m;
  const n = paths.length;
  if (scratch.length < n * (limit + 1)) scratch = Buffer.allocUnsafeSlow(n * (limit + 1));
  const ends = new Int32Array(n);
  const forms = new Int8Array(n);
  let used = 0;
  for (let i = 0; i < n; i++) {
    let form = ${FORM_MISSING};
    const p = paths[i];
    for (let f = 0; typeof p === "string" && f < suffixes.length; f++) {
      let fd;
      try {
        fd = openSync(p + suffixes[f], "r");
      } catch (e) {
        if (e.code === "ENOENT" || e.code === "ENOTDIR") continue;
        form = ${FORM_ELSEWHERE};
        break;
      }
      let got = -1;
      let dir = false;
      try {
        got = readSync(fd, scratch, used, limit + 1, 0);
      } catch (e) {
        if (e.code === "EISDIR") dir = true;
        else form = ${FORM_ELSEWHERE};
      }
      try {
        closeSync(fd);
      } catch {
        form = ${FORM_ELSEWHERE};
      }
      if (form === ${FORM_ELSEWHERE}) break;
      if (dir) continue;
      if (got > limit) form = ${FORM_ELSEWHERE};
      else {
        used += got;
        form = f;
      }
      break;
    }
    if (typeof p !== "string") form = ${FORM_ELSEWHERE};
    forms[i] = form;
    ends[i] = used;
  }
  const bytes = scratch.buffer.slice(scratch.byteOffset, scratch.byteOffset + used);
  parentPort.postMessage({ id, bytes, ends, forms }, [bytes]);
});
`;

/** A batch posted to a thread and not yet answered. */
interface Pending {
  done: BackendBatchDone;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** One started thread and the batches it holds. */
class ReaderThread {
  readonly pending = new Map<number, Pending>();
  stopped = false;
  constructor(readonly worker: Worker) {}
}

/**
 * Reads batches of small files on threads of its own (see the module
 * comment): a batch goes to the thread holding the fewest, and a new thread
 * starts (up to `maxThreads`) only when every thread holds one. A thread is
 * started by a batch, does not keep the process alive while it holds none,
 * and is replaced when it exits, throws, or is stuck
 * ({@link WEDGED_AFTER_MS}); the batches it held then fail with a
 * {@link TransientError}, which the storage layer retries the ordinary way.
 */
export class BatchReader {
  private readonly threads: ReaderThread[] = [];
  private nextId = 0;
  /** Threads started so far (for tests of the dispatch and the replacement). */
  started = 0;

  /**
   * @param source the thread's code (default {@link READER_SOURCE}; tests pass faulty ones).
   * @param maxThreads most threads at once (default {@link READER_THREADS}).
   */
  constructor(
    private readonly source: string = READER_SOURCE,
    private readonly maxThreads: number = READER_THREADS,
  ) {}

  /**
   * Reads each of `paths` (absolute; null: do not read, FORM_ELSEWHERE) in
   * the first of `suffixes` stored, and reports to `done` once, never
   * before returning: null and the batch's bytes, or the error that ended
   * it (the thread stopped). When `signal` fires first the batch is given
   * up: `done` is still called, and the thread is replaced if it does not
   * answer within {@link WEDGED_AFTER_MS}.
   */
  read(
    paths: readonly (string | null)[],
    suffixes: readonly string[],
    signal: AbortSignal | undefined,
    done: BackendBatchDone,
  ): void {
    const t = this.live();
    const id = this.nextId++;
    const p: Pending = { done, signal, onAbort: undefined };
    if (signal !== undefined) {
      p.onAbort = this.watchdog(t, id);
      signal.addEventListener("abort", p.onAbort, { once: true });
    }
    if (t.pending.size === 0) t.worker.ref();
    t.pending.set(id, p);
    t.worker.postMessage({ id, paths, suffixes, limit: SMALL_FILE_BYTES });
  }

  /** Stops the threads and fails the batches they hold; the next batch starts a new one. */
  stop(reason = "stopped"): void {
    for (const t of [...this.threads]) this.retire(t, reason);
  }

  /**
   * The thread for the next batch: the one holding the fewest batches, or a
   * new one when every thread holds some and fewer than `maxThreads` run.
   */
  private live(): ReaderThread {
    let best: ReaderThread | undefined;
    for (const t of this.threads)
      if (best === undefined || t.pending.size < best.pending.size) best = t;
    if (best !== undefined && (best.pending.size === 0 || this.threads.length >= this.maxThreads))
      return best;
    // No execArgv: the thread's plain JavaScript needs none of the loader
    // hooks (tsx, jest) the main thread may run with, and starts faster without.
    const worker = new Worker(this.source, { eval: true, execArgv: [] });
    this.started++;
    worker.unref();
    const t = new ReaderThread(worker);
    this.threads.push(t);
    worker.on("message", (m: BatchRead & { id: number }) => this.answer(t, m));
    worker.on("error", (err) => this.retire(t, `failed: ${err.message}`));
    worker.on("exit", (code) => this.retire(t, `exited with code ${code}`));
    return t;
  }

  private answer(t: ReaderThread, m: BatchRead & { id: number }): void {
    const p = t.pending.get(m.id);
    if (p === undefined) return;
    t.pending.delete(m.id);
    if (t.pending.size === 0) t.worker.unref();
    if (p.onAbort !== undefined) p.signal?.removeEventListener("abort", p.onAbort);
    p.done(null, m);
  }

  /**
   * The abort listener of batch `id`: once given up on, the batch must be
   * answered within {@link WEDGED_AFTER_MS} or the thread is replaced.
   * Returned, not assigned: see keepNames in pool.ts.
   */
  private watchdog(t: ReaderThread, id: number): () => void {
    return () => {
      const timer = setTimeout(() => {
        if (t.pending.has(id)) this.retire(t, `did not answer within ${WEDGED_AFTER_MS} ms`);
      }, WEDGED_AFTER_MS);
      timer.unref();
    };
  }

  /** Marks `t` stopped, terminates it without waiting, and fails every batch it held. */
  private retire(t: ReaderThread, why: string): void {
    if (t.stopped) return;
    t.stopped = true;
    const at = this.threads.indexOf(t);
    if (at >= 0) this.threads.splice(at, 1);
    t.worker.terminate().catch(() => {});
    const error = new TransientError(`file reader thread ${why}`, "file://", undefined, undefined);
    const held = [...t.pending.values()];
    t.pending.clear();
    for (const p of held) {
      if (p.onAbort !== undefined) p.signal?.removeEventListener("abort", p.onAbort);
      p.done(error);
    }
  }
}

let shared: BatchReader | undefined;

/** The process's one {@link BatchReader}, created on first use. */
export function sharedBatchReader(): BatchReader {
  shared ??= new BatchReader();
  return shared;
}
