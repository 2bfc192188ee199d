/**
 * The touch stage: read every chunk of a box to check that it exists and
 * decodes, like Igneous' `TouchTask`. A missing chunk fails the task with
 * `MissingChunkError` naming its key; a corrupt one with `ChunkDecodeError`.
 */
import { type BboxLike, readInfo, scaleForMip, type Vec3 } from "@ngpipe/precomputed";
import { z } from "zod";
import { defineTask } from "../runtime";
import { resolveBounds, type TaskSet, taskSet } from "../tiling";
import {
  bboxOf,
  bboxSchema,
  blockShape,
  type CreateOptionsBase,
  openLayer,
  storageFor,
  toBbox,
} from "./common";

/** Params of {@link touchTask}. */
export const touchParams = z.object({
  layer: z.string().min(1),
  mip: z.number().int().min(0),
  bbox: bboxSchema,
});

/** Read a box (without filling missing chunks); returns the voxels read. */
export const touchTask = defineTask({
  name: "touch",
  params: touchParams,
  async run(p, ctx): Promise<{ voxels: number }> {
    const vol = await openLayer(ctx, p.layer, p.mip);
    const box = bboxOf(p.bbox).intersect(vol.bounds);
    if (box.empty()) return { voxels: 0 };
    await vol.read(box, { signal: ctx.signal });
    ctx.progress(box.volume(), box.volume());
    return { voxels: box.volume() };
  },
});

/** Options of {@link createTouchTasks}. */
export interface TouchTaskOptions extends CreateOptionsBase {
  mip?: number;
  bounds?: BboxLike;
  boundsMip?: number;
  /** Task shape; default 16x16x1 chunks within the memory target. */
  shape?: Vec3;
  memoryTarget?: number;
}

/** The touch tasks covering the layer (or `bounds`) at `mip`, lazily. */
export async function createTouchTasks(
  url: string,
  o: TouchTaskOptions = {},
): Promise<TaskSet<z.input<typeof touchParams>>> {
  const mip = o.mip ?? 0;
  const info = await readInfo(storageFor(url, o));
  const scale = scaleForMip(info, mip);
  const shape =
    o.shape ?? blockShape(scale.chunkSize, info.data_type, info.num_channels, o.memoryTarget);
  const bounds = resolveBounds(info, mip, toBbox(o.bounds), o.boundsMip ?? 0, undefined, {
    ...o,
    url,
  });
  return taskSet(bounds, shape, { origin: scale.voxelOffset, clip: scale.bounds }, (tile) =>
    touchTask.payload({ layer: url, mip, bbox: tile.toChunkName() }),
  );
}
