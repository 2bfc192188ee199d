/**
 * Moving encoded chunks between a sharded and an unsharded scale (or two
 * sharded ones) of the same grid and encoding without decoding them: what
 * `ngpipe image xfer --sharded` / `--unsharded` does when nothing but the
 * sharding changes, so jpeg chunks are not encoded a second time and every
 * voxel stays as it was.
 */
import {
  type Bbox,
  mortonChunkId,
  mortonPlan,
  ShardReader,
  type Volume,
  writeShards,
} from "@ngpipe/precomputed";
import { forEachLimit } from "@ngpipe/storage";
import type { TaskContext } from "../runtime";

/** One chunk of the box: its key and Morton id in the scale's grid. */
interface Cell {
  key: string;
  id: bigint;
}

/**
 * Copies the encoded chunks of `box` (voxels of the scales' common grid)
 * from `src` to `dest`, reading shard files with ranged reads or chunk
 * objects, and writing whole shard files (one put each; `box` must cover
 * whole shards of `dest`) or chunk objects (gzip for raw and
 * compressed_segmentation, as `Volume` writes them). Missing chunks stay
 * missing. Returns the number of chunks copied.
 */
export async function copyEncodedChunks(
  ctx: TaskContext,
  src: Volume,
  dest: Volume,
  box: Bbox,
): Promise<number> {
  const { chunkSize, voxelOffset, gridSize } = src.scale;
  const plan = mortonPlan(gridSize);
  const cells: Cell[] = [];
  for (const c of box.chunkCells(chunkSize, voxelOffset, src.bounds))
    cells.push({ key: c.bbox.toChunkName(), id: mortonChunkId(plan, c.grid) });
  const io = { signal: ctx.signal };

  const found = new Map<bigint, Uint8Array>();
  if (src.scale.sharding) {
    const reader = new ShardReader(src.storage, src.scale.sharding, { prefix: src.scale.key });
    const got = await reader.getMany(
      cells.map((c) => c.id),
      io,
    );
    for (const [id, bytes] of got) if (bytes !== null) found.set(id, bytes);
  } else {
    await forEachLimit(
      cells,
      16,
      async (c) => {
        const bytes = await src.storage.get(`${src.scale.key}/${c.key}`, io);
        if (bytes !== null) found.set(c.id, bytes);
      },
      io,
    );
  }

  if (dest.scale.sharding) {
    const entries = cells.flatMap((c) => {
      const data = found.get(c.id);
      return data ? [{ id: c.id, data }] : [];
    });
    await writeShards(dest.storage, entries, dest.scale.sharding, {
      prefix: dest.scale.key,
      signal: ctx.signal,
    });
  } else {
    const enc = dest.scale.encoding;
    const compress = enc === "raw" || enc === "compressed_segmentation" ? "gzip" : false;
    await forEachLimit(
      cells,
      16,
      async (c) => {
        const data = found.get(c.id);
        if (!data) return;
        await dest.storage.put(`${dest.scale.key}/${c.key}`, data, {
          compress,
          contentType: "application/octet-stream",
          signal: ctx.signal,
        });
      },
      io,
    );
  }
  return found.size;
}
