/**
 * Moving encoded chunks between a sharded and an unsharded scale (or two
 * sharded ones) of the same grid and encoding without decoding them: what
 * `ngpipe image xfer --sharded` / `--unsharded` does when nothing but the
 * sharding changes, so jpeg chunks are not encoded a second time and every
 * voxel stays as it was.
 */
import type { Bbox, ChunkCell, StoredChunk, Volume } from "@ngpipe/precomputed";
import { compressSync, decompressSync } from "@ngpipe/storage";
import type { TaskContext } from "../runtime";

/** `chunk` under the transport compression `want` (gzip of a shard's `data_encoding`, or none). */
function recompressed(chunk: StoredChunk, want: "gzip" | "br" | undefined): StoredChunk {
  if (chunk.compression === want) return chunk;
  const plain =
    chunk.compression === undefined ? chunk.bytes : decompressSync(chunk.bytes, chunk.compression);
  return { bytes: want === undefined ? plain : compressSync(plain, want), compression: want };
}

/**
 * Copies the stored chunks of `box` (voxels of the scales' common grid)
 * from `src` to `dest` through their chunk stores: read as stored (objects,
 * or ranges of shard files), recompressed only when the two stores' transport
 * compressions differ, and written as objects or as whole shard files (one
 * put each; `box` must cover whole shards of `dest`). Missing chunks stay
 * missing. Returns the number of chunks copied.
 */
export async function copyEncodedChunks(
  ctx: TaskContext,
  src: Volume,
  dest: Volume,
  box: Bbox,
): Promise<number> {
  const { chunkSize, voxelOffset } = src.scale;
  const cells = [...box.chunkCells(chunkSize, voxelOffset, src.bounds)];
  const found = new Map<ChunkCell, StoredChunk>();
  const io = { signal: ctx.signal };
  await src.chunks.getMany(
    cells,
    (cell, chunk) => {
      if (chunk !== null) found.set(cell, chunk);
    },
    io,
  );
  const want = dest.chunks.writeCompression;
  await dest.chunks.putMany(
    cells.filter((c) => found.has(c)),
    async (cell) => recompressed(found.get(cell)!, want),
    io,
  );
  return found.size;
}
