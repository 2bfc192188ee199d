/**
 * The chunk-store seam: chunks of one scale addressed by grid position,
 * read and written in batches, whatever the layout underneath (one object
 * per chunk, or shard files). `Volume` does cutout geometry over a
 * ChunkStore and a {@link ChunkCoder}; the store does the IO, its
 * concurrency and its layout, and never decodes voxels.
 */
import type { Compression } from "@ngpipe/storage";
import type { Bbox } from "../geometry/bbox";
import type { Vec3 } from "../geometry/vec3";
import type { ChunkFiles } from "./files";

/** A chunk's place in its scale: grid position and dataset-clipped box (as `Bbox.chunkCells` yields them). */
export interface ChunkCell {
  /** Integer grid coordinates: `(min - voxel_offset) / chunk_size`. */
  readonly grid: Vec3;
  /** The chunk's box in voxels, clipped to the dataset. */
  readonly bbox: Bbox;
}

/**
 * A chunk's bytes as stored: the encoding's bytes, possibly under a
 * transport compression (Content-Encoding, a `.gz` key, or a shard's
 * `data_encoding`) that the coder undoes, in a worker when it can.
 */
export interface StoredChunk {
  readonly bytes: Uint8Array;
  readonly compression?: Compression;
}

/** Options of a batch of chunk IO. */
export interface ChunkIoOptions {
  signal?: AbortSignal;
  /** Requests in flight; default the store's. */
  concurrency?: number;
  /** Called as chunks of a write are stored, with (done, total). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Memory for the bytes of each chunk read (storage's `GetOptions.alloc`;
   * stores whose chunks are parts of larger reads, the sharded one, ignore it).
   */
  alloc?: (bytes: number) => Uint8Array;
  /**
   * Called by a write with the bytes of each chunk `bytesOf` gave once the
   * store reads them no more (after they are stored, or copied into a
   * shard file), so that the caller can reuse their memory. Not called for
   * chunks of a write that failed or was aborted.
   */
  release?: (bytes: Uint8Array) => void;
}

/**
 * Chunks of one scale, by grid position, in batches.
 *
 * Reads hand each chunk to a callback as its bytes arrive, so decoding
 * overlaps the IO of the others; writes ask a callback for each chunk's
 * bytes, so encoding overlaps the writes. Every batch stops at the first
 * failure, after the work in flight has settled, and stops handing out
 * work when the signal aborts.
 */
export interface ChunkStore {
  /** Whether chunks live in shard files (whose writes must cover whole shards). */
  readonly sharded: boolean;
  /** The transport compression chunks are written with (undefined: none). */
  readonly writeCompression: "gzip" | "br" | undefined;
  /**
   * Whether {@link putMany} may be given chunk bytes on a SharedArrayBuffer
   * that the caller reuses once `release` hands them back (absent: no).
   */
  readonly acceptsSharedBytes?: boolean;
  /**
   * Present when every chunk is a file of its own (an unsharded scale on
   * file://): pool workers that decode into (or encode from) a shared
   * array then read (or write) the files themselves (see files.ts).
   */
  readonly files?: ChunkFiles;

  /**
   * Fetches every cell's stored bytes and calls `each` with them (null when
   * the chunk does not exist). At most `concurrency` calls of `each` run at
   * once; IO for other chunks continues meanwhile.
   */
  getMany(
    cells: readonly ChunkCell[],
    each: (cell: ChunkCell, chunk: StoredChunk | null) => Promise<void> | void,
    opts?: ChunkIoOptions,
  ): Promise<void>;

  /**
   * Writes every cell, asking `bytesOf` for its stored bytes (compressed
   * with {@link writeCompression}). A sharded store needs the cells of
   * whole shard files and writes each file with one put.
   */
  putMany(
    cells: readonly ChunkCell[],
    bytesOf: (cell: ChunkCell) => Promise<StoredChunk>,
    opts?: ChunkIoOptions,
  ): Promise<void>;

  /** Whether each cell's chunk exists, in the order given. */
  existsMany(cells: readonly ChunkCell[], opts?: ChunkIoOptions): Promise<boolean[]>;

  /** Deletes the cells' chunks (absent ones are fine). */
  deleteMany(cells: readonly ChunkCell[], opts?: ChunkIoOptions): Promise<void>;

  /**
   * Read-modify-write of one chunk without losing a concurrent writer's
   * change: reads it, calls `modify` with its bytes (null: absent) and
   * writes the result only if the chunk did not change meanwhile, retrying
   * otherwise. Only stores that can write single chunks have it.
   */
  update?(
    cell: ChunkCell,
    modify: (chunk: StoredChunk | null) => Promise<StoredChunk>,
    opts?: ChunkIoOptions,
  ): Promise<void>;

  /** Forgets cached indexes (e.g. after another writer replaced shard files). */
  clearCache(): void;
}
