/**
 * Reuse of the SharedArrayBuffers behind shared cutouts (`read(box, {
 * shared: true })`). A task that reads a large block, hands it to a kernel
 * and is done with it gives the buffer back; the next shared read of the
 * same byte size takes it instead of a fresh one. A fresh buffer of
 * hundreds of megabytes is paid for again on first touch, one page fault
 * per 4 KiB page (a 512 MiB uint64 block: ~130,000 faults, more CPU than
 * decoding its chunks), so a worker running task after task keeps its block.
 * Other large arrays that pool threads share (a task's downsampled levels:
 * {@link takeSharedArray}) are given back and reused the same way.
 */
import { fromTyped, type TypedArrayOf, type VoxelArray } from "../array";
import { bytesPerVoxel, type DataType, viewTyped } from "../dtypes";

/** Buffers given back, oldest first. */
const free: SharedArrayBuffer[] = [];

/**
 * Buffers held at most: for each of two tasks in flight, its block and the
 * levels it downsamples.
 */
const MAX_HELD = 16;

/**
 * Bytes held at most, in units of the largest buffer held: two tasks'
 * blocks, each with its 2x2x1 pyramid (a third of the block more).
 */
const MAX_HELD_BLOCKS = 8 / 3;

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
 * An [x, y, z, c] array (a 3-element shape: one channel) on a
 * SharedArrayBuffer, for a kernel of the pool to fill and other workers to
 * read: a buffer given back by {@link releaseSharedCutout} when there is one
 * of the size (its old contents kept: the caller must write every voxel),
 * else a new zeroed one. Give it back with `releaseSharedCutout` when done.
 *
 * @example
 * const level = takeSharedArray("uint8", [512, 512, 64]);
 * await runKernel(module, "downsampleInto", [..., [level.data]]);
 * releaseSharedCutout(level);
 */
export function takeSharedArray<D extends DataType>(
  dtype: D,
  shape: readonly number[],
): VoxelArray<TypedArrayOf[D]> {
  const n = shape.reduce((a, b) => a * b, 1);
  const { buffer } = takeSharedBuffer(n * bytesPerVoxel(dtype));
  return fromTyped(viewTyped(dtype, buffer) as TypedArrayOf[D], shape);
}

/**
 * Gives back the buffer of a cutout read with `{ shared: true }` (or of a
 * {@link takeSharedArray}), for a
 * later shared read of the same size to reuse (at most 16 are held, of
 * at most 8/3 times the largest one's bytes in all: the oldest are dropped). The caller must be done with the array, and with
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
  let held = 0;
  let largest = 0;
  for (const b of free) {
    held += b.byteLength;
    largest = Math.max(largest, b.byteLength);
  }
  while (free.length > MAX_HELD || held > MAX_HELD_BLOCKS * largest) {
    held -= (free.shift() as SharedArrayBuffer).byteLength;
  }
}

/** Drops the buffers held for reuse (their memory is freed once unreferenced). */
export function clearSharedCutouts(): void {
  free.length = 0;
}
