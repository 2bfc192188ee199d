/**
 * Reading the chunks of a cutout: cached chunks first, the others fetched
 * by the store in one batch and decoded as their bytes arrive (in the pool
 * for batches), each handed on as it is ready. With a shared output array
 * and no cache, the workers paint the voxels into it themselves.
 */
import type { VoxelArray } from "../array";
import type { ChunkCoder } from "../chunks/coder";
import { readChunkFilesInto } from "../chunks/files";
import { leaseChunkBytes, returnAfterFailure, returnChunkBytes } from "../chunks/shared-bytes";
import type { ChunkCell, ChunkStore } from "../chunks/store";
import { bytesPerVoxel, type TypedArray } from "../dtypes";
import type { Bbox } from "../geometry/bbox";
import type { ChunkCache } from "./cache";
import { MissingChunkError } from "./errors";
import type { VolumeIoOptions } from "./options";

/** What {@link readChunks} reads through. */
export interface ChunkReader {
  chunks: ChunkStore;
  coder: ChunkCoder;
  /** Decoded chunks by storage key. */
  cache?: ChunkCache;
  /** Hand missing chunks on as null (else `MissingChunkError`). */
  fillMissing: boolean;
}

/**
 * Fetches and decodes the chunks `cells` and calls `paint` with each (null:
 * missing). With `shared` (the cutout array on a SharedArrayBuffer and its
 * box), pooled decodes write straight into it and `paint` is not called for
 * those chunks.
 */
export async function readChunks(
  r: ChunkReader,
  cells: readonly ChunkCell[],
  paint: (chunk: Bbox, data: TypedArray | null) => void,
  opts: VolumeIoOptions,
  shared?: { out: VoxelArray; box: Bbox },
): Promise<void> {
  const { url, scaleKey } = r.coder.options;
  const keyOf = (chunk: Bbox) => `${scaleKey}/${chunk.toChunkName()}`;
  let done = 0;
  const finish = (chunk: Bbox, data: TypedArray | null, painted = false) => {
    if (data === null && !r.fillMissing) throw new MissingChunkError(keyOf(chunk), url);
    if (!painted) paint(chunk, data);
    opts.onProgress?.(++done, cells.length);
  };
  const cache = r.cache;
  const wanted: ChunkCell[] = [];
  for (const cell of cells) {
    const hit = cache?.get(keyOf(cell.bbox));
    if (hit !== undefined) finish(cell.bbox, hit);
    else wanted.push(cell);
  }
  const { dtype, numChannels } = r.coder.options;
  const chunkBytes = (wanted[0]?.bbox.volume() ?? 0) * bytesPerVoxel(dtype) * numChannels;
  const pooled = r.coder.pooled(wanted.length, chunkBytes);
  // Workers decoding into the shared array are done with a chunk's bytes
  // when their call returns: the bytes are read into reused shared memory.
  const into = shared !== undefined && pooled && !cache;
  // Chunk files (file://, unsharded) are read by the workers that decode them.
  const files = into ? r.chunks.files : undefined;
  if (files !== undefined && shared !== undefined)
    return readChunkFilesInto(
      files,
      r.coder,
      wanted,
      shared.out,
      shared.box,
      (bbox, found) => finish(bbox, found ? shared.out.data : null, found),
      opts,
    );
  await r.chunks.getMany(
    wanted,
    async ({ bbox }, stored) => {
      if (stored === null) return finish(bbox, null);
      if (into) {
        await r.coder.decodeInto(stored, bbox, shared.out, shared.box, opts).then(
          () => returnChunkBytes(stored.bytes),
          (e) => {
            returnAfterFailure(stored.bytes, opts.signal);
            throw e;
          },
        );
        return finish(bbox, shared.out.data, true);
      }
      const data = await r.coder.decode(stored, bbox, { pooled, signal: opts.signal });
      cache?.set(keyOf(bbox), data);
      finish(bbox, data);
    },
    { signal: opts.signal, alloc: into ? leaseChunkBytes : undefined },
  );
}
