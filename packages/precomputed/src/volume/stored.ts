/**
 * Chunks as they are stored: codec bytes wrapped in transport compression.
 * `encodeStoredChunk` and `decodeStoredChunk` do both steps in one
 * synchronous call, so that a worker of the pool does all the CPU work of a
 * chunk (encoding and gzip) and hands back bytes ready for
 * `Storage.putRaw`, or voxels from the bytes of `Storage.getRaw`.
 */
import {
  brotliCompressSync,
  brotliDecompressSync,
  gunzipSync,
  gzipSync,
  constants as zlibConstants,
} from "node:zlib";
import { decodeChunk, encodeChunk } from "../codecs/registry";
import type { ChunkContext } from "../codecs/types";
import type { TypedArray } from "../dtypes";

/** Transport compressions a worker applies itself (zstd is read on the main thread). */
export type ChunkCompression = "gzip" | "br";

/** gzip level 6 (zlib's default) and brotli quality 5, as `Storage.put` compresses. */
export const DEFAULT_COMPRESS_LEVEL: Readonly<Record<ChunkCompression, number>> = {
  gzip: 6,
  br: 5,
};

const INFLATE_CHUNK = 256 * 1024;

/** `bytes` as a view owning its whole ArrayBuffer (zlib may return a slice of a shared pool). */
function owned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? new Uint8Array(bytes.buffer, 0, bytes.byteLength)
    : new Uint8Array(bytes);
}

/**
 * Encode one chunk with `encoding` and compress the bytes with
 * `compression` (gzip level 1..9, brotli quality 0..11; default
 * {@link DEFAULT_COMPRESS_LEVEL}). Without a compression, the codec bytes.
 */
export function encodeStoredChunk(
  data: TypedArray,
  encoding: string,
  ctx: ChunkContext,
  compression?: ChunkCompression,
  level?: number,
): Uint8Array {
  const bytes = encodeChunk(data, encoding, ctx);
  if (compression === undefined) return bytes;
  const lv = level ?? DEFAULT_COMPRESS_LEVEL[compression];
  if (compression === "gzip") return owned(gzipSync(bytes, { level: lv }));
  return owned(
    brotliCompressSync(bytes, {
      params: {
        [zlibConstants.BROTLI_PARAM_QUALITY]: lv,
        [zlibConstants.BROTLI_PARAM_SIZE_HINT]: bytes.byteLength,
      },
    }),
  );
}

/**
 * Voxels of one stored chunk: decompress `bytes` (when `compression` is
 * set), then decode them with `encoding`. A decompression failure throws an Error
 * named "DecompressionError" (the caller turns it into the storage layer's
 * class, which names the URL); codec failures throw `ChunkDecodeError` as
 * {@link decodeChunk} does.
 */
export function decodeStoredChunk(
  bytes: Uint8Array,
  compression: ChunkCompression | undefined,
  encoding: string,
  ctx: ChunkContext,
): TypedArray {
  let plain = bytes;
  if (compression !== undefined) {
    try {
      // Output pieces of 256 KiB instead of zlib's 16 KiB: a quarter less
      // time for a megabyte-sized chunk.
      const opts = { chunkSize: INFLATE_CHUNK };
      plain = owned(
        compression === "gzip" ? gunzipSync(bytes, opts) : brotliDecompressSync(bytes, opts),
      );
    } catch (e) {
      const err = new Error(
        `${ctx.key ?? "chunk"} is stored with ${compression} but does not decompress: ${(e as Error).message}`,
      );
      err.name = "DecompressionError";
      throw err;
    }
  }
  return decodeChunk(plain, encoding, ctx);
}
