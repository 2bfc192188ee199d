/**
 * The chunk coder: voxels to stored bytes and back for one scale, in the
 * shared worker pool or on the calling thread. Both ways run the same
 * synchronous functions (`encodeStoredChunk`, `decodeStoredChunk`: codec
 * plus transport compression); a batch of more than one chunk, or one
 * large chunk, of a built-in encoding goes to the pool (as short calls,
 * queued on the threads), anything else runs inline.
 */
import { types } from "node:util";
import { type Compression, DecompressionError } from "@ngpipe/storage";
import type { VoxelArray } from "../array";
import type { ChunkContext } from "../codecs/types";
import type { DataType, TypedArray } from "../dtypes";
import type { Bbox } from "../geometry/bbox";
import { precomputedKernels } from "../kernel-module";
import { runKernel } from "../pool";
import type { StoredChunk } from "./store";
import { type ChunkCompression, decodeStoredChunk, encodeStoredChunk } from "./stored";

/** Encodings whose codecs the pool's workers have (user-registered ones run inline). */
const BUILTIN = new Set(["raw", "compressed_segmentation", "jpeg", "png"]);

/**
 * Decoded bytes from which even a lone chunk is coded in the pool: gzip of
 * 1 MiB takes tens of milliseconds, a hand-off tens of microseconds, and
 * the calling thread (which does the IO of a whole task) stays free.
 */
const POOL_LONE_CHUNK_BYTES = 1024 * 1024;

/** What a {@link ChunkCoder} codes. */
export interface ChunkCoderOptions {
  encoding: string;
  dtype: DataType;
  numChannels: number;
  /** compressed_segmentation block size. */
  blockSize?: readonly [number, number, number];
  /** The layer's URL (for error messages). */
  url: string;
  /** The scale's key: chunks are named `<url>/<scaleKey>/<chunk name>` in messages. */
  scaleKey: string;
  /** Code batches in the worker pool. Default true. */
  workers?: boolean;
  /** Level of the transport compression written (gzip 1..9, brotli 0..11). */
  compressLevel?: number;
  /** Quality of jpeg chunks written. */
  jpegQuality?: number;
}

/** Options of one coding call. */
export interface CodeOptions {
  /** Run in the worker pool (see {@link ChunkCoder.pooled}). */
  pooled: boolean;
  signal?: AbortSignal;
}

/** A copy of `bytes` that owns its whole buffer, so it can be moved to a worker. */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
    ? bytes
    : bytes.slice();
}

/** Encodes and decodes the chunks of one scale. */
export class ChunkCoder {
  constructor(readonly options: ChunkCoderOptions) {}

  /**
   * Whether a batch of `count` chunks of `chunkBytes` decoded bytes each is
   * coded in the worker pool: batches of more than one chunk, and lone
   * chunks of 1 MiB or more.
   */
  pooled(count: number, chunkBytes = 0): boolean {
    return (
      this.options.workers !== false &&
      (count > 1 || (count === 1 && chunkBytes >= POOL_LONE_CHUNK_BYTES)) &&
      BUILTIN.has(this.options.encoding)
    );
  }

  /** The codec context of the chunk with box `bbox`. */
  context(bbox: Bbox): ChunkContext {
    const s = bbox.size();
    const o = this.options;
    return {
      dtype: o.dtype,
      shape: [s[0], s[1], s[2], o.numChannels],
      blockSize: o.blockSize as ChunkContext["blockSize"],
      key: `${o.url}/${o.scaleKey}/${bbox.toChunkName()}`,
      ...(o.jpegQuality !== undefined ? { quality: o.jpegQuality } : {}),
    };
  }

  /**
   * Voxels of a stored chunk. Pooled, the bytes are moved to a worker that
   * decompresses and decodes them in one call: a view owning its whole
   * buffer is detached (the caller gives it up); other views (e.g. a slice
   * of a shard read) are copied first.
   */
  async decode(chunk: StoredChunk, bbox: Bbox, opts: CodeOptions): Promise<TypedArray> {
    const ctx = this.context(bbox);
    const { encoding } = this.options;
    try {
      if (!opts.pooled) return decodeStoredChunk(chunk.bytes, chunk.compression, encoding, ctx);
      const own = ownBuffer(chunk.bytes);
      return await runKernel<TypedArray>(
        precomputedKernels(),
        "decodeStoredChunk",
        [own, chunk.compression, encoding, ctx],
        { transfer: [own.buffer as ArrayBuffer], signal: opts.signal, short: true },
      );
    } catch (e) {
      throw this.namedDecompressionError(e, bbox);
    }
  }

  /**
   * The arguments the pool's `...Into` decoders take after the chunk's
   * bytes: encoding, codec context, the output array and its shape, and the
   * part of the chunk `bbox` inside `outBox` (where it starts in the chunk,
   * where in the output, its size).
   */
  paintArgs(bbox: Bbox, out: VoxelArray, outBox: Bbox): unknown[] {
    const part = bbox.intersect(outBox);
    return [
      this.options.encoding,
      this.context(bbox),
      out.data,
      out.shape,
      [0, 1, 2].map((i) => part.min[i] - bbox.min[i]),
      [0, 1, 2].map((i) => part.min[i] - outBox.min[i]),
      part.size(),
    ];
  }

  /**
   * {@link decode} in the pool, the worker then copying the part of the
   * chunk inside `outBox` into `out` (an array on a SharedArrayBuffer
   * covering `outBox`) itself: the chunk's voxels never come back.
   */
  async decodeInto(
    chunk: StoredChunk,
    bbox: Bbox,
    out: VoxelArray,
    outBox: Bbox,
    opts: { signal?: AbortSignal },
  ): Promise<void> {
    // Bytes on shared memory (read into a lease) are shared with the worker, not copied.
    const onShared = chunk.bytes.buffer instanceof SharedArrayBuffer;
    const own = onShared ? chunk.bytes : ownBuffer(chunk.bytes);
    try {
      await runKernel<void>(
        precomputedKernels(),
        "decodeStoredChunkInto",
        [own, chunk.compression, ...this.paintArgs(bbox, out, outBox)],
        {
          transfer: onShared ? undefined : [own.buffer as ArrayBuffer],
          signal: opts.signal,
          short: true,
        },
      );
    } catch (e) {
      throw this.namedDecompressionError(e, bbox);
    }
  }

  /**
   * The stored bytes of a chunk: encoded, then compressed with
   * `compression`. Pooled, `data` (which the caller gives up) is moved to
   * the worker.
   */
  async encode(
    data: TypedArray,
    bbox: Bbox,
    compression: ChunkCompression | undefined,
    opts: CodeOptions,
  ): Promise<StoredChunk> {
    const ctx = this.context(bbox);
    const { encoding, compressLevel } = this.options;
    const bytes = opts.pooled
      ? await runKernel<Uint8Array>(
          precomputedKernels(),
          "encodeStoredChunk",
          [data, encoding, ctx, compression, compressLevel],
          { transfer: [data.buffer as ArrayBuffer], signal: opts.signal, short: true },
        )
      : encodeStoredChunk(data, encoding, ctx, compression, compressLevel);
    return { bytes, compression: compression as Compression | undefined };
  }

  /**
   * {@link encode} in the pool of the part `bbox` of `source` (an array on
   * a SharedArrayBuffer covering `sourceBox`, any strides): the worker cuts
   * the chunk out of the shared memory itself, so neither a chunk copy on
   * this thread nor one crossing threads is made. With `into` (a view of a
   * SharedArrayBuffer), stored bytes that fit are written there and the
   * result's bytes are a view of it; longer ones come back in new memory.
   */
  async encodeFrom(
    source: VoxelArray,
    sourceBox: Bbox,
    bbox: Bbox,
    compression: ChunkCompression | undefined,
    opts: { signal?: AbortSignal; into?: Uint8Array },
  ): Promise<StoredChunk> {
    const { encoding, compressLevel } = this.options;
    const view = {
      data: source.data,
      shape: source.shape,
      stride: source.stride,
      offset: source.offset,
    };
    const bytes = await runKernel<Uint8Array>(
      precomputedKernels(),
      "encodeStoredChunkFrom",
      [
        view,
        [0, 1, 2].map((i) => bbox.min[i] - sourceBox.min[i]),
        encoding,
        this.context(bbox),
        compression,
        compressLevel,
        opts.into,
      ],
      { signal: opts.signal, short: true },
    );
    const { into } = opts;
    // Only `into` is shared memory among the possible results. It comes back
    // as a clone over the same memory: the view returned is of `into` itself,
    // so that its owner recognises the memory it gave.
    // (Not `instanceof`: the clone is made in the main realm, which under a
    // test runner's sandbox is not the caller's.)
    const inInto = into !== undefined && types.isSharedArrayBuffer(bytes.buffer);
    return {
      bytes: inInto ? into.subarray(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) : bytes,
      compression: compression as Compression | undefined,
    };
  }

  /**
   * A DecompressionError names the layer URL and the chunk's key (one from a
   * worker arrives as a plain Error of that name, one from inline coding
   * knows only the chunk's URL). Anything else is returned as it is.
   */
  namedDecompressionError(e: unknown, bbox: Bbox): unknown {
    if (!(e instanceof Error) || e.name !== "DecompressionError") return e;
    const key = `${this.options.scaleKey}/${bbox.toChunkName()}`;
    return new DecompressionError(e.message, this.options.url, key, { cause: e });
  }
}
