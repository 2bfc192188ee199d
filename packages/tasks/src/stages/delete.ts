/**
 * The delete stage: remove the chunks of a box at one mip and the matching
 * boxes of the mips above it, like Igneous' `DeleteTask`.
 *
 * ```ts
 * const tasks = await createDeleteTasks("gs://lab/seg", { bounds: "0-1024_0-1024_0-64", mips: 3 });
 * for (const payload of tasks) await executeTask(payload);
 * ```
 */
import { type BboxLike, readInfo, scaleForMip, type Vec3, type Volume } from "@ngpipe/precomputed";
import { z } from "zod";
import { defineTask } from "../runtime";
import { resolveBounds, type TaskSet, taskSet } from "../tiling";
import {
  type BboxParam,
  bboxOf,
  bboxSchema,
  blockShape,
  type CreateOptionsBase,
  openLayer,
  storageFor,
  toBbox,
} from "./common";

/** Params of {@link deleteTask}. */
export const deleteParams = z.object({
  layer: z.string().min(1),
  mip: z.number().int().min(0),
  /** Box at `mip`. */
  bbox: bboxSchema,
  /** Also delete the matching boxes of the next `mips` scales. Default 0. */
  mips: z.number().int().min(0).default(0),
});

/** Keys of the chunks of `vol` lying wholly inside `box` (clipped to the dataset). */
function chunksInside(vol: Volume, box: ReturnType<typeof bboxOf>): string[] {
  const inside = box.intersect(vol.bounds);
  if (inside.empty()) return [];
  const { chunkSize, voxelOffset } = vol.scale;
  const keys: string[] = [];
  for (const chunk of inside.chunks(chunkSize, voxelOffset, vol.bounds)) {
    if (inside.contains(chunk)) keys.push(vol.chunkKey(chunk));
  }
  return keys;
}

/**
 * Delete the chunks inside a box at `mip`, and at each of the next `mips`
 * scales the chunks inside the same region (scaled by the resolutions).
 * Chunks only partly inside are kept, so neighbouring data survives.
 * Deleting what is already gone is not an error. Temporary files that
 * killed writes of the deleted chunks left (file://) are removed too.
 */
export const deleteTask = defineTask({
  name: "delete",
  params: deleteParams,
  async run(p, ctx): Promise<{ deleted: number; temporaries: number }> {
    const base = await openLayer(ctx, p.layer, p.mip);
    const box = bboxOf(p.bbox as BboxParam);
    let deleted = 0;
    let temporaries = 0;
    const last = Math.min(p.mip + p.mips, base.mipCount - 1);
    for (let m = p.mip; m <= last; m++) {
      const vol = base.withMip(m);
      const keys = chunksInside(vol, box.toMip(base.resolution, vol.resolution));
      if (vol.scale.sharding) continue;
      const results = await vol.storage.deleteMany(keys, { signal: ctx.signal });
      for (const r of results) if (!r.ok) throw r.error;
      deleted += keys.length;
      // What killed writes of these chunks left beside them (file:// only).
      temporaries += await vol.storage.removeTemporaries(keys, { signal: ctx.signal });
    }
    ctx.progress(1, 1);
    return { deleted, temporaries };
  },
});

/** Options of {@link createDeleteTasks}. */
export interface DeleteTaskOptions extends CreateOptionsBase {
  /** Default 0. */
  mip?: number;
  /** Scales above `mip` to clear too. Default 0. */
  mips?: number;
  /** Only this box (voxels of `boundsMip`, default 0); default the whole layer. */
  bounds?: BboxLike;
  boundsMip?: number;
  /** Task shape at `mip`; default the chunk grown to 16x16x1 chunks (times the top mip's ratio). */
  shape?: Vec3;
}

/**
 * The delete tasks covering the layer (or `bounds`) at `mip`, lazily. The
 * info is not changed.
 */
export async function createDeleteTasks(
  url: string,
  o: DeleteTaskOptions = {},
): Promise<TaskSet<z.input<typeof deleteParams>>> {
  const mip = o.mip ?? 0;
  const mips = o.mips ?? 0;
  const info = await readInfo(storageFor(url, o));
  const scale = scaleForMip(info, mip);
  const top = scaleForMip(info, Math.min(mip + mips, info.scales.length - 1));
  // A task box that holds whole chunks of the highest mip it clears.
  const grid: Vec3 = [0, 1, 2].map((i) =>
    Math.max(scale.chunkSize[i], (top.chunkSize[i] * top.resolution[i]) / scale.resolution[i]),
  ) as unknown as Vec3;
  const block = blockShape(scale.chunkSize, "uint8", 1);
  const shape =
    o.shape ?? ([0, 1, 2].map((i) => Math.ceil(block[i] / grid[i]) * grid[i]) as unknown as Vec3);
  const bounds = resolveBounds(info, mip, toBbox(o.bounds), o.boundsMip ?? 0, undefined, {
    ...o,
    url,
  });
  return taskSet(bounds, shape, { origin: scale.voxelOffset, clip: scale.bounds }, (tile) =>
    deleteTask.payload({ layer: url, mip, bbox: tile.toChunkName(), mips }),
  );
}
