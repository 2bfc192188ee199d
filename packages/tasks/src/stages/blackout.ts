/**
 * The blackout stage: fill a box with one value, like Igneous'
 * `BlackoutTask` (e.g. to erase a region of bad data).
 */
import {
  type Bbox,
  type BboxLike,
  fillBox,
  NdArray,
  readInfo,
  scaleForMip,
  type Vec3,
} from "@ngpipe/precomputed";
import { z } from "zod";
import { defineTask } from "../runtime";
import { type TaskSet, taskSet } from "../tiling";
import { checkBounds, checkVoxelValue } from "./checks";
import {
  bboxOf,
  bboxSchema,
  blockShape,
  type CreateOptionsBase,
  openLayer,
  storageFor,
  toBbox,
} from "./common";
import { backgroundSchema, backgroundValue } from "./downsample";
import { writeLevel } from "./pyramid";

/** Params of {@link blackoutTask}. */
export const blackoutParams = z.object({
  layer: z.string().min(1),
  mip: z.number().int().min(0),
  bbox: bboxSchema,
  /** The value written (a decimal string for 64-bit labels beyond 2^53). Default 0. */
  value: backgroundSchema.default(0),
});

/**
 * Fill a box (clipped to the dataset) with `value` in every channel. Whole
 * chunks are overwritten; chunks the box covers in part are patched with
 * read-modify-write, so the rest of their voxels survive.
 */
export const blackoutTask = defineTask({
  name: "blackout",
  params: blackoutParams,
  async run(p, ctx): Promise<{ voxels: number }> {
    const vol = await openLayer(ctx, p.layer, p.mip, { fillMissing: true });
    const box = bboxOf(p.bbox).intersect(vol.bounds);
    if (box.empty()) return { voxels: 0 };
    const s = box.size();
    const block = NdArray.zeros(vol.dataType, [s[0], s[1], s[2], vol.numChannels]);
    const value = backgroundValue(p.value, vol.dataType);
    if (value !== 0 && value !== 0n) fillBox(block, [0, 0, 0], s, value);
    await writeLevel(vol, box, block, { signal: ctx.signal });
    ctx.progress(box.volume(), box.volume());
    return { voxels: box.volume() };
  },
});

/** Options of {@link createBlackoutTasks}. */
export interface BlackoutTaskOptions extends CreateOptionsBase {
  mip?: number;
  /** Mip of `bounds`. Default 0. */
  boundsMip?: number;
  /** Default 0. */
  value?: number | string;
  /**
   * Fill exactly `bounds` (read-modify-write at its edges). Default false:
   * `bounds` is grown to the chunk grid, as Igneous does.
   */
  nonAligned?: boolean;
  /** Task shape; default 16x16x1 chunks within the memory target. */
  shape?: Vec3;
  memoryTarget?: number;
}

/** The blackout tasks covering `bounds` at `mip`, lazily. */
export async function createBlackoutTasks(
  url: string,
  bounds: BboxLike,
  o: BlackoutTaskOptions = {},
): Promise<TaskSet<z.input<typeof blackoutParams>>> {
  const mip = o.mip ?? 0;
  const info = await readInfo(storageFor(url, o));
  const scale = scaleForMip(info, mip);
  const boundsMip = o.boundsMip ?? 0;
  const inside = checkBounds(info, toBbox(bounds) as Bbox, boundsMip, url, o);
  checkVoxelValue(o.value ?? 0, info.data_type, "value", url);
  const from = scaleForMip(info, boundsMip).resolution;
  let box: Bbox = inside.toMip(from, scale.resolution);
  if (!o.nonAligned) box = box.expandToChunks(scale.chunkSize, scale.voxelOffset);
  box = box.intersect(scale.bounds);
  const shape =
    o.shape ?? blockShape(scale.chunkSize, info.data_type, info.num_channels, o.memoryTarget);
  return taskSet(box, shape, { origin: scale.voxelOffset, clip: scale.bounds }, (tile) =>
    blackoutTask.payload({ layer: url, mip, bbox: tile.toChunkName(), value: o.value ?? 0 }),
  );
}
