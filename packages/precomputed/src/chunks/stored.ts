/**
 * Chunks as they are stored: codec bytes wrapped in transport compression.
 * `encodeStoredChunk` and `decodeStoredChunk` do both steps in one
 * synchronous call. The chunk coder calls them inline or, for batches, as
 * kernels of the worker pool, so a worker does all the CPU work of a chunk
 * (encoding and gzip) and hands back bytes ready for `Storage.putRaw`, or
 * voxels from the bytes of `Storage.getRaw` or of a shard file.
 */
import type { Compression } from "@ngpipe/storage";
import { compressSync, decompressInto, decompressSync } from "@ngpipe/storage/compression";
import { copyBox, fromTyped, type Shape4, type VoxelInput } from "../array";
import { decodeChunk, encodeChunk, getCodec } from "../codecs/registry";
import type { ChunkContext } from "../codecs/types";
import { allocTyped, bytesPerVoxel, dataTypeOf, type TypedArray, viewTyped } from "../dtypes";
import { ChunkDecodeError } from "../errors";

/**
 * The most bytes a stored chunk may inflate to before it is decoded: the
 * voxels themselves for raw; for compresso and crackle, whose worst case
 * (every voxel a boundary with its own label) stores several entries per
 * voxel, three times that plus 6 bytes a voxel and 64 KiB; twice the voxels
 * plus 64 KiB for the other codecs (compressed_segmentation's tables and
 * headers, png's filter bytes and stored blocks never come near it). A
 * chunk that inflates further is a decompression bomb or not this chunk,
 * and inflation stops there.
 */
export function storedChunkLimit(encoding: string, ctx: ChunkContext): number {
  const [x, y, z, c] = ctx.shape;
  const raw = x * y * z * c * bytesPerVoxel(ctx.dtype);
  if (encoding === "raw") return raw;
  if (encoding === "compresso" || encoding === "crackle")
    return 3 * raw + 6 * x * y * z * c + 65536;
  return 2 * raw + 65536;
}

/**
 * Transport-decompress a chunk's stored bytes, inflating no further than
 * {@link storedChunkLimit}; past it, a ChunkDecodeError naming the chunk.
 * Other failures throw storage's DecompressionError naming `ctx.key`.
 */
export function inflateChunk(
  bytes: Uint8Array,
  compression: Compression,
  encoding: string,
  ctx: ChunkContext,
): Uint8Array {
  const maxBytes = storedChunkLimit(encoding, ctx);
  try {
    return decompressSync(bytes, compression, { url: ctx.key ?? "chunk", maxBytes });
  } catch (e) {
    throw limitError(e, compression, encoding, ctx, maxBytes);
  }
}

/** A DecompressionLimitError of a chunk as the ChunkDecodeError naming it; others as they are. */
function limitError(
  e: unknown,
  compression: Compression,
  encoding: string,
  ctx: ChunkContext,
  maxBytes: number,
): unknown {
  if ((e as Error).name !== "DecompressionLimitError") return e;
  return new ChunkDecodeError(
    `the ${compression} chunk inflates to more than ${maxBytes} bytes, the most a ${ctx.shape.join("x")} ${ctx.dtype} ${encoding} chunk can take; inflation stopped there`,
    ctx.key,
    { cause: e },
  );
}

/** Chunks whose inflation limit is above this are inflated into memory of their own. */
const MAX_INFLATE_SCRATCH = 64 * 1024 * 1024;

/**
 * One thread's memory for inflated chunk bytes that are consumed before the
 * call returns (decoded or copied into an output array): grown to the
 * largest chunk limit seen and reused, so that inflating a chunk allocates
 * nothing and starts no garbage collection.
 */
let inflateScratch: Uint8Array | undefined;

/**
 * {@link inflateChunk} into this thread's reused scratch memory: the result
 * may be a view of it, valid only until the next call on this thread. Never
 * return it (or a view of it) to a caller.
 */
function inflateChunkTransient(
  bytes: Uint8Array,
  compression: Compression,
  encoding: string,
  ctx: ChunkContext,
): Uint8Array {
  const maxBytes = storedChunkLimit(encoding, ctx);
  if (maxBytes > MAX_INFLATE_SCRATCH) return inflateChunk(bytes, compression, encoding, ctx);
  if (inflateScratch === undefined || inflateScratch.byteLength < maxBytes)
    inflateScratch = new Uint8Array(maxBytes);
  try {
    return decompressInto(bytes, compression, inflateScratch.subarray(0, maxBytes), {
      url: ctx.key ?? "chunk",
    });
  } catch (e) {
    throw limitError(e, compression, encoding, ctx, maxBytes);
  }
}

/** Transport compressions chunks are written with (zstd is read only). */
export type ChunkCompression = "gzip" | "br";

/**
 * Encode one chunk with `encoding` and compress the bytes with
 * `compression` (gzip level 1..9, brotli quality 0..11; default gzip 6,
 * brotli 5). Without a compression, the codec bytes.
 */
export function encodeStoredChunk(
  data: TypedArray,
  encoding: string,
  ctx: ChunkContext,
  compression?: ChunkCompression,
  level?: number,
): Uint8Array {
  const bytes = encodeChunk(data, encoding, ctx);
  return compression === undefined ? bytes : compressSync(bytes, compression, level);
}

/**
 * One thread's chunk-sized scratch memory for {@link encodeStoredChunkFrom}:
 * grown to the largest chunk seen and reused, so that cutting a chunk
 * allocates (and page-faults) nothing after the first.
 */
let scratch: ArrayBuffer | undefined;

function scratchArray(like: TypedArray, length: number): TypedArray {
  const bytes = length * like.BYTES_PER_ELEMENT;
  if (scratch === undefined || scratch.byteLength < bytes)
    scratch = allocTyped("uint8", bytes).buffer as ArrayBuffer;
  return viewTyped(dataTypeOf(like), scratch, 0, length);
}

/**
 * {@link encodeStoredChunk} of the chunk-sized box at `srcMin` of `source`
 * (any [x, y, z, c] view, normally of an array on a SharedArrayBuffer that
 * the caller's thread wrote): the chunk is cut into this thread's scratch
 * memory and encoded from there, so a pool worker cuts the chunks it
 * encodes and no chunk copy crosses threads. The box's size is
 * `ctx.shape`.
 *
 * With `into` (memory the caller reuses, normally a view of a
 * SharedArrayBuffer lease), stored bytes that fit are written there and
 * the view of them returned, so no new memory crosses back to the caller;
 * longer ones come back in new memory.
 */
export function encodeStoredChunkFrom(
  source: VoxelInput,
  srcMin: readonly number[],
  encoding: string,
  ctx: ChunkContext,
  compression?: ChunkCompression,
  level?: number,
  into?: Uint8Array,
): Uint8Array {
  const [x, y, z, c] = ctx.shape;
  const voxels = scratchArray(source.data, x * y * z * c);
  copyBox(source, srcMin, fromTyped(voxels, ctx.shape), [0, 0, 0], [x, y, z]);
  const encoded = encodeChunk(voxels, encoding, ctx);
  if (compression !== undefined) return compressSync(encoded, compression, level, into);
  if (into !== undefined && encoded.byteLength <= into.byteLength) {
    into.set(encoded);
    return into.subarray(0, encoded.byteLength);
  }
  // Raw bytes without compression are the scratch memory itself.
  return encoded.buffer === voxels.buffer ? encoded.slice() : encoded;
}

/**
 * Voxels of one stored chunk: decompress `bytes` (when `compression` is
 * set: gzip, br or zstd; see {@link inflateChunk}), then decode them with
 * `encoding`. Decompression failures throw storage's `DecompressionError`
 * naming `ctx.key`; inflating past the chunk's limit and codec failures
 * throw `ChunkDecodeError`.
 */
export function decodeStoredChunk(
  bytes: Uint8Array,
  compression: Compression | undefined,
  encoding: string,
  ctx: ChunkContext,
): TypedArray {
  const plain = compression === undefined ? bytes : inflateChunk(bytes, compression, encoding, ctx);
  return decodeChunk(plain, encoding, ctx);
}

/**
 * {@link decodeStoredChunk}, then copy the box `size` at `srcMin` of the
 * chunk to `dstMin` of `out` (an array of shape `outShape`, normally on a
 * SharedArrayBuffer, so that a worker of the pool paints the chunk into the
 * reader's array itself and the chunk's voxels never travel back). A whole
 * chunk of a codec with `decodeInto` (compressed_segmentation) is decoded
 * in place, without the chunk-sized array.
 */
export function decodeStoredChunkInto(
  bytes: Uint8Array,
  compression: Compression | undefined,
  encoding: string,
  ctx: ChunkContext,
  out: TypedArray,
  outShape: Shape4,
  srcMin: readonly number[],
  dstMin: readonly number[],
  size: readonly number[],
): void {
  const codec = getCodec(encoding);
  const whole = [0, 1, 2].every((i) => srcMin[i] === 0 && size[i] === ctx.shape[i]);
  // The inflated bytes are used up below, before the call returns: they go
  // into this thread's reused memory.
  const plain =
    compression === undefined ? bytes : inflateChunkTransient(bytes, compression, encoding, ctx);
  if (whole && codec.decodeInto) {
    // The codec writes the voxels in place: no chunk-sized array, no copy.
    codec.decodeInto(plain, ctx, out, outShape, dstMin);
    return;
  }
  const data = decodeChunk(plain, encoding, ctx);
  const chunk = fromTyped(data, [...ctx.shape]);
  copyBox(chunk, srcMin, fromTyped(out, outShape), dstMin, size);
}
