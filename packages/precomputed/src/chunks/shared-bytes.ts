/**
 * Reused SharedArrayBuffer memory for stored chunk bytes on their way from
 * a file to a pool worker that decodes them into a shared block.
 *
 * Why: a chunk read into a fresh ArrayBuffer and moved to a worker is
 * counted by V8 as external memory on both threads, and every 64 MiB of it
 * starts a full garbage collection; a 1024x1024x64 uint8 task reads ~45 MB
 * of chunks. A SharedArrayBuffer is not counted (bench/RESULTS.md, dstask2),
 * is handed to a worker without a copy, and kept here for the next read it
 * costs no page faults either. Memory is leased in power-of-two classes and
 * given back once the worker is done with it.
 */

/** Objects larger than this are read into memory of their own. */
const MAX_LEASE = 16 * 1024 * 1024;
/** The smallest class: smaller objects share its size. */
const MIN_CLASS = 4096;
/** Free memory kept at most, over all classes. */
const MAX_FREE_BYTES = 96 * 1024 * 1024;

/** Free buffers by byte length (a power of two). */
const free = new Map<number, SharedArrayBuffer[]>();
let freeBytes = 0;
/**
 * Buffers leased and not given back: only these are taken back (weakly
 * held: a lease never given back, e.g. of a read that failed, is freed).
 */
const leased = new WeakSet<SharedArrayBuffer>();

function classOf(bytes: number): number {
  let c = MIN_CLASS;
  while (c < bytes) c *= 2;
  return c;
}

/**
 * `bytes` bytes of memory for a stored chunk: a view of a leased
 * SharedArrayBuffer (old contents kept: the caller writes all of it), or,
 * for objects over 16 MiB, a plain new array. Give it back with
 * {@link returnChunkBytes} once nothing reads it any more.
 */
export function leaseChunkBytes(bytes: number): Uint8Array {
  if (bytes > MAX_LEASE) return new Uint8Array(bytes);
  const c = classOf(bytes);
  let buffer = free.get(c)?.pop();
  if (buffer === undefined) buffer = new SharedArrayBuffer(c);
  else freeBytes -= c;
  leased.add(buffer);
  return new Uint8Array(buffer, 0, bytes);
}

/**
 * Gives back memory from {@link leaseChunkBytes}: its bytes will be
 * overwritten by a later lease. Anything else (a plain array, memory
 * already given back) is ignored. Beyond 96 MiB of free memory, the
 * buffer is dropped instead of kept.
 */
export function returnChunkBytes(bytes: Uint8Array): void {
  const buffer = bytes.buffer;
  if (!(buffer instanceof SharedArrayBuffer) || !leased.delete(buffer)) return;
  if (freeBytes + buffer.byteLength > MAX_FREE_BYTES) return;
  const list = free.get(buffer.byteLength);
  if (list === undefined) free.set(buffer.byteLength, [buffer]);
  else list.push(buffer);
  freeBytes += buffer.byteLength;
}

/**
 * {@link returnChunkBytes} after a worker call on `bytes` failed, unless
 * `signal` aborted it: an aborted call may still be running in its worker,
 * so its memory is left to the garbage collector rather than leased again.
 */
export function returnAfterFailure(bytes: Uint8Array, signal: AbortSignal | undefined): void {
  if (!signal?.aborted) returnChunkBytes(bytes);
}
