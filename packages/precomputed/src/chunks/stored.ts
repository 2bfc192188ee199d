/**
 * Chunks as they are stored: codec bytes wrapped in transport compression.
 * `encodeStoredChunk` and `decodeStoredChunk` do both steps in one
 * synchronous call. The chunk coder calls them inline or, for batches, as
 * kernels of the worker pool, so a worker does all the CPU work of a chunk
 * (encoding and gzip) and hands back bytes ready for `Storage.putRaw`, or
 * voxels from the bytes of `Storage.getRaw` or of a shard file.
 */
import type { Compression } from "@ngpipe/storage";
import { compressSync, decompressSync } from "@ngpipe/storage/compression";
import { decodeChunk, encodeChunk } from "../codecs/registry";
import type { ChunkContext } from "../codecs/types";
import type { TypedArray } from "../dtypes";

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
 * Voxels of one stored chunk: decompress `bytes` (when `compression` is
 * set: gzip, br or zstd), then decode them with `encoding`. Decompression
 * failures throw storage's `DecompressionError` naming `ctx.key`; codec
 * failures throw `ChunkDecodeError` as {@link decodeChunk} does.
 */
export function decodeStoredChunk(
  bytes: Uint8Array,
  compression: Compression | undefined,
  encoding: string,
  ctx: ChunkContext,
): TypedArray {
  const plain =
    compression === undefined
      ? bytes
      : decompressSync(bytes, compression, { url: ctx.key ?? "chunk" });
  return decodeChunk(plain, encoding, ctx);
}
