/**
 * Reuse of the SharedArrayBuffers behind shared cutouts (`read(box, {
 * shared: true })`). A task that reads a large block, hands it to a kernel
 * and is done with it gives the buffer back; the next shared read of the
 * same byte size takes it instead of a fresh one. A fresh buffer of
 * hundreds of megabytes is paid for again on first touch, one page fault
 * per 4 KiB page (a 512 MiB uint64 block: ~130,000 faults, more CPU than
 * decoding its chunks), so a worker running task after task keeps its block.
 */
import type { VoxelArray } from "../array";

/** Buffers given back, oldest first. */
const free: SharedArrayBuffer[] = [];

/** Buffers held at most: one per task in flight in a two-task worker. */
const MAX_HELD = 2;

/** A shared buffer of `bytes` bytes: one given back (its old contents kept), or a new zeroed one. */
export function takeSharedBuffer(bytes: number): { buffer: SharedArrayBuffer; reused: boolean } {
  for (let i = free.length - 1; i >= 0; i--) {
    if (free[i].byteLength === bytes) {
      const [buffer] = free.splice(i, 1);
      return { buffer, reused: true };
    }
  }
  return { buffer: new SharedArrayBuffer(bytes), reused: false };
}

/**
 * Gives back the buffer of a cutout read with `{ shared: true }`, for a
 * later shared read of the same size to reuse (at most two are held; the
 * oldest is dropped). The caller must be done with the array, and with
 * every kernel that was handed it: its voxels will be overwritten. Arrays
 * not on a SharedArrayBuffer are ignored.
 *
 * @example
 * const block = await vol.read(box, { shared: true });
 * await runKernel(module, "pool", [block.data]);
 * releaseSharedCutout(block);
 */
export function releaseSharedCutout(array: VoxelArray): void {
  const buffer = array.data.buffer;
  if (!(buffer instanceof SharedArrayBuffer) || free.includes(buffer)) return;
  free.push(buffer);
  if (free.length > MAX_HELD) free.shift();
}

/** Drops the buffers held for reuse (their memory is freed once unreferenced). */
export function clearSharedCutouts(): void {
  free.length = 0;
}
