/**
 * Writing a cutout: the box is checked against the chunk grid (and, for a
 * sharded scale, split into the groups of chunks that make whole shard
 * files); chunks the array covers whole are cropped,
 * encoded (in the pool for batches; from an array on a SharedArrayBuffer
 * the workers crop them) and stored in one batch; chunks it
 * covers in part are read, patched and written back with the store's
 * conditional update, so a concurrent writer's voxels are never lost.
 */
import { forEachLimit } from "@ngpipe/storage";
import type { Voxel } from "../array";
import type { ChunkCoder } from "../chunks/coder";
import { writeChunkFiles } from "../chunks/files";
import { shardWriteBoxes } from "../chunks/sharded";
import { leaseChunkBytes, returnAfterFailure, returnChunkBytes } from "../chunks/shared-bytes";
import type { ChunkCell, ChunkStore, StoredChunk } from "../chunks/store";
import type { ChunkCompression } from "../chunks/stored";
import type { Bbox } from "../geometry/bbox";
import type { Scale } from "../info/info";
import { poolSize } from "../pool";
import type { ChunkCache } from "./cache";
import { cropArray, patchChunk, type VolumeArray } from "./edge";
import { AlignmentError } from "./errors";
import type { VolumeIoOptions, WriteOptions } from "./options";

/** Bytes of chunk copies one write keeps in flight for encoding. */
const CROP_BUDGET = 64 * 1024 * 1024;

/** Stored bytes leased for a chunk before any chunk of the write has come back. */
const FIRST_STORED_GUESS = 1024 * 1024;

/**
 * The stored bytes of the chunks of one write, encoded by the workers into
 * reused shared memory (`leaseChunkBytes`) and given back once the store is
 * done with them. Fresh memory for every chunk, moved from the worker,
 * counts as V8 external memory on this thread: 15 MB of it per uint8
 * downsample task started about 1.5 full collections per task, whose
 * marking ran on helper threads (bench/RESULTS.md, dstask4). Each lease is
 * sized from the largest chunk so far; a chunk that does not fit comes back
 * in new memory.
 */
class StoredBytesLeases {
  private largest = 0;

  /** `coder.encodeFrom` of the chunk `bbox` of `array` (at `box`), into a lease. */
  async encode(
    coder: ChunkCoder,
    array: VolumeArray,
    box: Bbox,
    bbox: Bbox,
    compression: ChunkCompression | undefined,
    signal: AbortSignal | undefined,
  ): Promise<StoredChunk> {
    const guess = this.largest === 0 ? FIRST_STORED_GUESS : this.largest + (this.largest >>> 3);
    const lease = leaseChunkBytes(guess);
    // Past the largest lease class, the memory would be copied to the worker, not shared.
    if (!(lease.buffer instanceof SharedArrayBuffer))
      return coder.encodeFrom(array, box, bbox, compression, { signal });
    const into = new Uint8Array(lease.buffer);
    let chunk: StoredChunk;
    try {
      chunk = await coder.encodeFrom(array, box, bbox, compression, { signal, into });
    } catch (e) {
      returnAfterFailure(into, signal);
      throw e;
    }
    this.largest = Math.max(this.largest, chunk.bytes.byteLength);
    if (chunk.bytes.buffer !== into.buffer) returnChunkBytes(into);
    return chunk;
  }
}

/** What {@link writeChunks} writes through. */
export interface ChunkWriter {
  chunks: ChunkStore;
  coder: ChunkCoder;
  /** Decoded chunks to forget once rewritten. */
  cache?: ChunkCache;
  /** Value of the voxels of a new partial chunk outside the array. */
  background: Voxel;
  /** Chunk requests in flight. */
  concurrency: number;
  /** Bytes of one whole decoded chunk. */
  chunkBytes: number;
}

/** Encodes and stores the chunks `cells` of `array` (written at `box`), patching partial ones. */
export async function writeChunks(
  w: ChunkWriter,
  cells: readonly ChunkCell[],
  box: Bbox,
  array: VolumeArray,
  opts: VolumeIoOptions,
): Promise<void> {
  const { signal } = opts;
  const whole = (c: ChunkCell) => c.bbox.intersect(box).equals(c.bbox);
  const full = cells.filter(whole);
  const partial = cells.filter((c) => !whole(c));
  for (const c of cells) w.cache?.delete(`${w.coder.options.scaleKey}/${c.bbox.toChunkName()}`);
  const pooled = w.coder.pooled(full.length, w.chunkBytes);
  const compression = w.chunks.writeCompression;
  // Chunk copies waiting for a worker are capped at CROP_BUDGET bytes (and
  // at least two per thread): enough queued work to keep the workers busy
  // without one copy per request in flight when chunks are large.
  const inFlight = Math.max(2 * poolSize(), Math.floor(CROP_BUDGET / w.chunkBytes));
  // An array on a SharedArrayBuffer is cut into chunks by the workers that encode them.
  const shared = pooled && array.data.buffer instanceof SharedArrayBuffer;
  // Chunk files (file://, unsharded) are written by the workers that encode them.
  const files = shared ? w.chunks.files : undefined;
  if (files !== undefined) {
    const progress = (n: number) => opts.onProgress?.(n, cells.length);
    await writeChunkFiles(files, w.coder, full, array, box, compression, progress, { signal });
  } else {
    const leases =
      shared && w.chunks.acceptsSharedBytes === true ? new StoredBytesLeases() : undefined;
    await w.chunks.putMany(
      full,
      ({ bbox }) =>
        leases
          ? leases.encode(w.coder, array, box, bbox, compression, signal)
          : shared
            ? w.coder.encodeFrom(array, box, bbox, compression, { signal })
            : w.coder.encode(cropArray(array, box, bbox), bbox, compression, { pooled, signal }),
      {
        signal,
        concurrency: Math.min(w.concurrency, inFlight),
        onProgress: (n) => opts.onProgress?.(n, cells.length),
        release: leases ? returnChunkBytes : undefined,
      },
    );
  }
  if (partial.length === 0) return;
  const update = w.chunks.update?.bind(w.chunks);
  if (update === undefined)
    throw new AlignmentError(
      `${w.coder.options.url} scale ${w.coder.options.scaleKey} cannot patch partial chunks`,
    );
  let done = full.length;
  const inline = { pooled: false, signal };
  await forEachLimit(
    partial,
    w.concurrency,
    async (cell) => {
      await update(
        cell,
        async (stored) => {
          const data = stored === null ? null : await w.coder.decode(stored, cell.bbox, inline);
          const voxels = patchChunk(data, cell.bbox, array, box, w.background);
          return w.coder.encode(voxels, cell.bbox, compression, inline);
        },
        { signal },
      );
      opts.onProgress?.(++done, cells.length);
    },
    { signal },
  );
}

/**
 * Writes `array` at `bbox` of `scale` (checked to be inside it): refuses a
 * box off the chunk grid unless `readModifyWrite`, and writes a sharded
 * scale one group of whole shard files at a time.
 */
export async function writeBox(
  w: ChunkWriter,
  scale: Scale,
  bbox: Bbox,
  array: VolumeArray,
  opts: WriteOptions,
): Promise<void> {
  const { chunkSize, voxelOffset, bounds } = scale;
  const url = w.coder.options.url;
  if (!bbox.isAlignedTo(chunkSize, voxelOffset, bounds) && !opts.readModifyWrite) {
    throw new AlignmentError(
      `write of ${bbox} to ${url} mip ${scale.mip} is not aligned to the chunk grid ` +
        `(chunk size ${chunkSize.join("x")}, offset ${voxelOffset.join(",")}); ` +
        `the aligned box would be ${bbox.expandToChunks(chunkSize, voxelOffset).intersect(bounds)}. ` +
        "Pass { readModifyWrite: true } to patch partial chunks.",
    );
  }
  const cellsOf = (box: Bbox) => [...box.chunkCells(chunkSize, voxelOffset, bounds)];
  // Shard files are built whole, one group of them at a time.
  const groups = w.chunks.sharded ? shardWriteBoxes(scale, bbox, url) : [bbox];
  const total = groups.length === 1 ? undefined : cellsOf(bbox).length;
  let before = 0;
  for (const group of groups) {
    const cells = cellsOf(group);
    const at = before;
    await writeChunks(w, cells, bbox, array, {
      signal: opts.signal,
      onProgress: (n, all) => opts.onProgress?.(at + n, total ?? all),
    });
    before += cells.length;
  }
}
