/**
 * Whole-file reads for file://, in as few trips through libuv's thread pool
 * as the file's size allows.
 *
 * The callback `fs.readFile` makes four trips for every file: open, fstat
 * (for the size), read, close. Chunks are mostly small, so this reads up to
 * {@link SCRATCH_BYTES} into a reused scratch buffer right after the open: a
 * read of a regular file that returns less than it asked for has hit the
 * end (POSIX), and the object is those bytes, copied out. Only a file that
 * fills the scratch costs the fstat, then one read of the rest straight into
 * the result. The descriptor is closed on the calling thread: closing a
 * read-only descriptor writes nothing back and waits for no device, and a
 * trip through the pool costs more than the call. A small object thus
 * takes two trips instead of four.
 */

import { closeSync, fstat, open, read } from "node:fs";

/** Bytes read before the size of a file is asked for: files smaller than this take two trips. */
export const SCRATCH_BYTES = 64 * 1024;

/** Scratch buffers not in use; at most {@link MAX_SPARE} are kept. */
const spare: Buffer[] = [];
const MAX_SPARE = 64;

/** Keeps a scratch buffer for the next read, up to {@link MAX_SPARE} of them. */
function giveBack(scratch: Buffer): void {
  if (spare.length < MAX_SPARE) spare.push(scratch);
}

function abortReason(signal: AbortSignal): Error {
  const r = signal.reason;
  return r instanceof Error ? r : new DOMException("This operation was aborted", "AbortError");
}

/** Memory for `n` bytes of a file. */
type Alloc = (n: number) => Uint8Array;

/**
 * Without an `alloc`, a file's bytes get an ArrayBuffer of their own, viewed
 * as a plain Uint8Array (the storage layer hands out plain views), in
 * memory not zeroed first.
 */
function allocOwn(n: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

/**
 * Receives the outcome of {@link readWholeFileCall}, exactly once: an error
 * (Node's, or the abort reason), or null and the bytes.
 */
export type ReadDone = (error: unknown, data?: Uint8Array) => void;

/**
 * The bytes of the file at `p`, in memory of their exact size: from
 * `alloc` when given (called once, with the size, unless the file shrinks
 * while read), else a Uint8Array owning its whole ArrayBuffer. Errors are
 * Node's (`ENOENT`, `EISDIR`, ...), an abort of `signal` between two steps
 * rejects with its reason (a step already in the thread pool runs to its
 * end; the file is always closed).
 */
export function readWholeFile(p: string, signal?: AbortSignal, alloc?: Alloc): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    readWholeFileCall(p, signal, alloc, (error, data) =>
      error ? reject(error) : resolve(data as Uint8Array),
    ),
  );
}

/**
 * {@link readWholeFile} reporting to `done` instead of through a promise
 * (`done` is never called before this returns): a batch of small reads
 * spends as much main-thread time on the promise, its reactions and the
 * microtask turns between them as on handing the two steps to libuv's
 * thread pool.
 */
export function readWholeFileCall(
  p: string,
  signal: AbortSignal | undefined,
  alloc: Alloc | undefined,
  done: ReadDone,
): void {
  if (signal?.aborted) {
    const reason = abortReason(signal);
    queueMicrotask(() => done(reason));
    return;
  }
  open(p, "r", (err, fd) => {
    if (err) {
      done(err);
      return;
    }
    const finish = finisher(fd, done);
    if (signal?.aborted) {
      finish(abortReason(signal));
      return;
    }
    const scratch = spare.pop() ?? Buffer.allocUnsafeSlow(SCRATCH_BYTES);
    read(fd, scratch, 0, SCRATCH_BYTES, 0, (readErr, n) => {
      if (readErr) {
        giveBack(scratch);
        finish(readErr);
      } else if (n < SCRATCH_BYTES) {
        const data = copyOut(scratch, n, alloc);
        giveBack(scratch);
        finish(null, data);
      } else if (signal?.aborted) {
        giveBack(scratch);
        finish(abortReason(signal));
      } else readRest(fd, scratch, alloc ?? allocOwn, signal, finish);
    });
  });
}

/**
 * Closes `fd`, then reports `error` (or the close's) or `data` to `done`.
 * Returned, not assigned, so that esbuild's keepNames (what tsx runs
 * sources with) renames no function per file.
 */
function finisher(fd: number, done: ReadDone): (error: unknown, data?: Uint8Array) => void {
  return (error, data) => {
    try {
      closeSync(fd);
    } catch (closeErr) {
      error ??= closeErr;
    }
    if (error) done(error);
    else done(null, data);
  };
}

/**
 * The rest of a file whose first `head.length` bytes are read (into the
 * scratch buffer `head`, given back to the spares here): fstat, then reads
 * up to the size it gives (as `fs.readFile` does) or an earlier end.
 */
function readRest(
  fd: number,
  head: Buffer,
  alloc: Alloc,
  signal: AbortSignal | undefined,
  finish: (error: unknown, data?: Uint8Array) => void,
): void {
  fstat(fd, (statErr, st) => {
    if (statErr) {
      giveBack(head);
      finish(statErr);
      return;
    }
    const out = alloc(Math.max(st.size, head.length));
    out.set(head);
    giveBack(head);
    let pos = head.length;
    const step = () => {
      if (pos === out.length) finish(null, out);
      else if (signal?.aborted) finish(abortReason(signal));
      else
        read(fd, out, pos, out.length - pos, pos, (err, n) => {
          if (err) finish(err);
          else if (n === 0) finish(null, copyOut(out, pos, alloc));
          else {
            pos += n;
            step();
          }
        });
    };
    step();
  });
}

/**
 * The first `n` bytes of `buf` in memory from `alloc`, or without one in an
 * ArrayBuffer of their own (`slice` copies into memory it does not zero
 * first; zeroing 4 KiB per small file showed in profiles of batch reads).
 */
function copyOut(buf: Uint8Array, n: number, alloc: Alloc | undefined): Uint8Array {
  if (alloc === undefined)
    return new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + n));
  const out = alloc(n);
  out.set(buf.subarray(0, n));
  return out;
}
