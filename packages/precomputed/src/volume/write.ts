/**
 * Writing the chunks of a cutout: chunks the array covers whole are cropped,
 * encoded (in the pool for batches) and stored in one batch; chunks it
 * covers in part are read, patched and written back with the store's
 * conditional update, so a concurrent writer's voxels are never lost.
 */
import { forEachLimit } from "@ngpipe/storage";
import type { Voxel } from "../array";
import type { ChunkCoder } from "../chunks/coder";
import type { ChunkCell, ChunkStore } from "../chunks/store";
import type { Bbox } from "../geometry/bbox";
import { poolSize } from "../pool";
import type { ChunkCache } from "./cache";
import { cropArray, patchChunk, type VolumeArray } from "./edge";
import { AlignmentError } from "./errors";
import type { VolumeIoOptions } from "./options";

/** Bytes of chunk copies one write keeps in flight for encoding. */
const CROP_BUDGET = 64 * 1024 * 1024;

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
  const pooled = w.coder.pooled(full.length);
  const compression = w.chunks.writeCompression;
  // Chunk copies waiting for a worker are capped at CROP_BUDGET bytes (and
  // at least two per thread): enough queued work to keep the workers busy
  // without one copy per request in flight when chunks are large.
  const inFlight = Math.max(2 * poolSize(), Math.floor(CROP_BUDGET / w.chunkBytes));
  await w.chunks.putMany(
    full,
    ({ bbox }) =>
      w.coder.encode(cropArray(array, box, bbox), bbox, compression, { pooled, signal }),
    {
      signal,
      concurrency: Math.min(w.concurrency, inFlight),
      onProgress: (n) => opts.onProgress?.(n, cells.length),
    },
  );
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
