/**
 * The chunk codec contract. A codec turns the voxels of one chunk into the
 * bytes stored under the chunk's key, and back. Codecs are pure and
 * synchronous (they run in the worker pool), know nothing of storage, and are
 * looked up by the `encoding` name of the info file in a registry.
 *
 * Voxel layout is always x fastest, then y, z, channel (planar channels): the
 * element (x, y, z, c) is at `x + sx * (y + sy * (z + sz * c))`.
 */
import type { DataType, TypedArray } from "../dtypes";

/** Shape of a chunk as [x, y, z, channels]. Edge chunks are smaller than the scale's chunk size. */
export type ChunkShape = readonly [number, number, number, number];

/** What a codec needs to know besides the voxels. */
export interface ChunkContext {
  dtype: DataType;
  shape: ChunkShape;
  /** compressed_segmentation block size (default [8, 8, 8]). */
  blockSize?: readonly [number, number, number];
  /** jpeg quality 1..100 (default 85); png compression level 0..9. */
  quality?: number;
  /** Names the chunk in errors, e.g. `gs://b/layer/8_8_8/0-64_0-64_0-64`. */
  key?: string;
}

/** A chunk codec. `encoding` is the info file's name for it. */
export interface ChunkCodec {
  readonly encoding: string;
  /** Data types this codec can store. */
  readonly dataTypes: readonly DataType[];
  /** Voxels (x fastest, planar channels) to stored bytes. */
  encode(data: TypedArray, ctx: ChunkContext): Uint8Array;
  /** Stored bytes to voxels; throws `ChunkDecodeError` naming `ctx.key` on bad input. */
  decode(bytes: Uint8Array, ctx: ChunkContext): TypedArray;
  /**
   * Optional: {@link decode} straight into `out`, an [x, y, z, c] array of
   * shape `outShape` (x fastest, planar channels) of the same dtype, with
   * the chunk's first voxel at `at` (x, y, z); the chunk must lie inside.
   * Saves a chunk-sized array and its copy when a reader paints whole
   * chunks into a larger cutout.
   */
  decodeInto?(
    bytes: Uint8Array,
    ctx: ChunkContext,
    out: TypedArray,
    outShape: readonly [number, number, number, number],
    at: readonly number[],
  ): void;
}
