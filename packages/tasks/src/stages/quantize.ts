/**
 * The quantize stage: one channel of a float affinity layer as an 8-bit
 * image layer (`trunc(v * 255)`, as Igneous' `QuantizeTask`), written with
 * its downsamples so it can be viewed right away.
 *
 * ```ts
 * const tasks = await createQuantizeTasks("gs://lab/aff", "gs://lab/aff-q", { channel: 2, mips: 3 });
 * for (const payload of tasks) await executeTask(payload);
 * ```
 */
import {
  type BboxLike,
  type InfoJSON,
  readInfo,
  scaleForMip,
  type Vec3,
  writeInfo,
} from "@ngpipe/precomputed";
import { z } from "zod";
import { tasksKernels } from "../kernel-module";
import { defineTask } from "../runtime";
import { resolveBounds, type TaskSet, taskSet } from "../tiling";
import { checkInfoRewrite, readExistingInfo, StageInputError, sameLocation } from "./checks";
import {
  bboxOf,
  bboxSchema,
  type CreateOptionsBase,
  LayerMismatchError,
  openLayer,
  positiveVec3Schema,
  storageFor,
  toBbox,
} from "./common";
import { addDownsampleScales, planTasks } from "./downsample";
import { writeImageBlock } from "./pyramid";

/** Params of {@link quantizeTask}. */
export const quantizeParams = z.object({
  /** URL of the float affinity layer. */
  layer: z.string().min(1),
  /** URL of the uint8 image layer written. */
  dest: z.string().min(1),
  mip: z.number().int().min(0),
  /** Box read and written, voxels of `mip`. */
  bbox: bboxSchema,
  /** Channel quantized. Default 0. */
  channel: z.number().int().min(0).default(0),
  /** Downsampled mips written after it. Default 0. */
  mips: z.number().int().min(0).default(0),
  factor: positiveVec3Schema.default([2, 2, 1]),
  fillMissing: z.boolean().default(false),
});

/**
 * Quantize one box of an affinity layer into the uint8 layer `dest`, then
 * write `mips` average downsamples of it.
 */
export const quantizeTask = defineTask({
  name: "quantize",
  params: quantizeParams,
  async run(p, ctx): Promise<{ voxels: number }> {
    const src = await openLayer(ctx, p.layer, p.mip, { fillMissing: p.fillMissing });
    if (src.dataType !== "float32" && src.dataType !== "float64") {
      throw new LayerMismatchError(
        `quantize reads float32 or float64 affinities; ${p.layer} holds ${src.dataType}`,
      );
    }
    const dest = (await openLayer(ctx, p.dest, 0)).withMip(src.resolution);
    const box = bboxOf(p.bbox).intersect(src.bounds);
    if (box.empty()) return { voxels: 0 };
    const image = await src.read(box, { signal: ctx.signal });
    const data = image.data as Float32Array;
    const q = await ctx.runKernel<Uint8Array>(
      tasksKernels(),
      "quantizeChannel",
      [data, image.shape, p.channel],
      { transfer: [data.buffer as ArrayBuffer], signal: ctx.signal },
    );
    await writeImageBlock(ctx, dest, box, q, {
      factor: p.factor,
      mips: p.mips,
      signal: ctx.signal,
    });
    ctx.progress(box.volume(), box.volume());
    return { voxels: box.volume() };
  },
});

/** Options of {@link createQuantizedInfo}. */
export interface QuantizedInfoOptions {
  /** Highest mip kept (the one quantized). Default 0. */
  mip?: number;
  /** Chunk size at `mip`; default the source's. */
  chunkSize?: Vec3;
  /** Default "raw". */
  encoding?: string;
}

/**
 * The info of the quantized layer made from an affinity layer's info: one
 * uint8 image channel, scales up to `mip` (no sharding), like Igneous'
 * `create_quantized_affinity_info`.
 */
export function createQuantizedInfo(src: InfoJSON, o: QuantizedInfoOptions = {}): InfoJSON {
  const mip = o.mip ?? 0;
  scaleForMip(src, mip);
  const info: InfoJSON = {
    ...structuredClone(src),
    type: "image",
    data_type: "uint8",
    num_channels: 1,
    scales: structuredClone(src.scales.slice(0, mip + 1)),
  };
  delete info.mesh;
  delete info.skeletons;
  delete info.segment_properties;
  for (const s of info.scales) {
    s.encoding = o.encoding ?? "raw";
    delete s.compressed_segmentation_block_size;
    delete s.sharding;
  }
  if (o.chunkSize) info.scales[mip].chunk_sizes = [[...o.chunkSize]];
  return info;
}

/** Options of {@link createQuantizeTasks}. */
export interface QuantizeTaskOptions extends CreateOptionsBase, QuantizedInfoOptions {
  /** Channel quantized. Default 0. */
  channel?: number;
  /** Downsampled mips. Default 0. */
  mips?: number;
  /** Default [2, 2, 1]. */
  factor?: Vec3;
  fillMissing?: boolean;
  /** Only this box (voxels of `boundsMip`, default 0). */
  bounds?: BboxLike;
  boundsMip?: number;
  /** Bytes one task may hold. Default 3.5 GB. */
  memoryTarget?: number;
}

/**
 * Write the quantized layer's info (with the downsampled scales), then return
 * the quantize tasks covering the layer (or `bounds`), lazily.
 */
export async function createQuantizeTasks(
  src: string,
  dest: string,
  o: QuantizeTaskOptions = {},
): Promise<TaskSet<z.input<typeof quantizeParams>>> {
  const mip = o.mip ?? 0;
  const factor = o.factor ?? [2, 2, 1];
  const srcInfo = await readInfo(storageFor(src, o));
  if (srcInfo.data_type !== "float32" && srcInfo.data_type !== "float64") {
    throw new LayerMismatchError(
      `quantize reads float32 or float64 affinities; ${src} holds ${srcInfo.data_type}`,
    );
  }
  const channel = o.channel ?? 0;
  if (channel >= srcInfo.num_channels) {
    throw new LayerMismatchError(
      `channel ${channel} does not exist: ${src} has ${srcInfo.num_channels} channel(s)`,
    );
  }
  const info = createQuantizedInfo(srcInfo, o);
  const scale = scaleForMip(info, mip);
  const { mips, shape, grid } = planTasks({
    what: `quantizing ${src} at mip ${mip}`,
    chunkSize: scale.chunkSize,
    size: scale.size,
    // The task holds the float block of every channel; the uint8 pyramid is small beside it.
    dtype: srcInfo.data_type,
    channels: srcInfo.num_channels,
    factor,
    memoryTarget: o.memoryTarget,
    mips: o.mips ?? 0,
    minMips: 0,
  });
  const bounds = resolveBounds(info, mip, toBbox(o.bounds), o.boundsMip ?? 0, grid, {
    ...o,
    url: src,
  });
  const destStorage = storageFor(dest, o);
  if (sameLocation(storageFor(src, o), destStorage))
    throw new StageInputError(
      `${dest} is the source layer ${src}: quantizing it onto itself would replace the affinities it reads; nothing was written`,
      "dest",
    );
  const existing = await readExistingInfo(destStorage);
  addDownsampleScales(info, mip, mips, factor, scale.chunkSize);
  checkInfoRewrite(existing, info, dest, () => o.bounds === undefined);
  await writeInfo(destStorage, info);
  return taskSet(bounds, shape, { origin: scale.voxelOffset, clip: scale.bounds }, (tile) =>
    quantizeTask.payload({
      layer: src,
      dest,
      mip,
      bbox: tile.toChunkName(),
      channel,
      mips,
      factor: [...factor] as [number, number, number],
      fillMissing: o.fillMissing ?? false,
    }),
  );
}
