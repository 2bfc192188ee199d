/**
 * The contrast-normalization stage (Igneous' ContrastNormalizationTask): a
 * copy of an image layer in which each z slice is stretched linearly between
 * two percentiles of its histogram (written by the histogram stage,
 * luminance.ts) over the whole uint8 or uint16 range, written with its
 * average downsamples. A slice without a histogram object, or whose limits
 * are equal (an all-black or one-valued slice), is copied unchanged.
 *
 * ```ts
 * const tasks = await createContrastNormalizationTasks("gs://lab/em", "gs://lab/em-cn", { clipFraction: 0.01 });
 * for (const payload of tasks) await executeTask(payload);
 * ```
 */
import {
  type BboxLike,
  contrastLimits,
  type InfoJSON,
  precomputedKernels,
  readInfo,
  scaleForMip,
  type TypedArray,
  type Vec3,
  writeInfo,
} from "@ngpipe/precomputed";
import type { Storage } from "@ngpipe/storage";
import { z } from "zod";
import { defineTask } from "../runtime";
import { resolveBounds, type TaskSet, taskSet } from "../tiling";
import { checkInfoRewrite, readExistingInfo, StageInputError, sameLocation } from "./checks";
import {
  bboxOf,
  bboxSchema,
  type CreateOptionsBase,
  openLayer,
  positiveVec3Schema,
  storageFor,
  toBbox,
} from "./common";
import { addDownsampleScales, planTasks } from "./downsample";
import { decodeLevels, LuminanceLevelsError, luminanceBins, sliceLevelsKey } from "./luminance";
import { writeImageBlock } from "./pyramid";

/** Params of {@link contrastNormalizationTask}. */
export const contrastNormalizationParams = z.object({
  src: z.string().min(1),
  dest: z.string().min(1),
  /** Location of the `levels/` objects. */
  levels: z.string().min(1),
  mip: z.number().int().min(0),
  bbox: bboxSchema,
  /** Fractions clipped at the dark and the bright end. */
  clip: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]),
  mips: z.number().int().min(0).default(0),
  factor: positiveVec3Schema.default([2, 2, 1]),
  fillMissing: z.boolean().default(false),
});

/**
 * `[lower, upper]` per slice of `[z0, z1)`; `[0, 0]` (copy) where no
 * histogram exists. Read by every task rather than cached across tasks: a
 * worker outlives one run of the histogram stage, and a rerun changes them.
 */
async function sliceLimits(
  store: Storage,
  p: { mip: number; clip: [number, number] },
  z0: number,
  z1: number,
  bins: number,
  signal: AbortSignal,
): Promise<Float64Array> {
  const limits = new Float64Array(2 * (z1 - z0));
  const keys = Array.from({ length: z1 - z0 }, (_, k) => sliceLevelsKey(p.mip, z0 + k));
  (await store.getMany(keys, { signal })).forEach((r, k) => {
    if (!r.ok) throw r.error;
    if (r.value === null) return;
    const { levels } = decodeLevels(r.value, `${store.url}/${r.key}`, bins);
    limits.set(contrastLimits(levels, p.clip[0], p.clip[1]), 2 * k);
  });
  return limits;
}

/** Stretch the slices of one box of `src` into `dest`, then write its downsamples. */
export const contrastNormalizationTask = defineTask({
  name: "contrast-normalization",
  params: contrastNormalizationParams,
  async run(p, ctx): Promise<{ voxels: number }> {
    const src = await openLayer(ctx, p.src, p.mip, { fillMissing: p.fillMissing });
    const bins = luminanceBins(p.src, { data_type: src.dataType, num_channels: src.numChannels });
    const dest = (await openLayer(ctx, p.dest, 0)).withMip(src.resolution);
    const box = bboxOf(p.bbox).intersect(src.bounds);
    if (box.empty()) return { voxels: 0 };
    const clip = p.clip as [number, number];
    const limits = await sliceLimits(
      ctx.storage(p.levels),
      { mip: p.mip, clip },
      box.min[2],
      box.max[2],
      bins,
      ctx.signal,
    );
    const image = await src.read(box, { signal: ctx.signal });
    const data = image.data;
    const out = await ctx.runKernel<TypedArray>(
      precomputedKernels(),
      "stretchContrast",
      [data, box.size(), limits],
      { transfer: [data.buffer as ArrayBuffer], signal: ctx.signal },
    );
    await writeImageBlock(ctx, dest, box, out, {
      factor: p.factor,
      mips: p.mips,
      signal: ctx.signal,
    });
    ctx.progress(box.volume(), box.volume());
    return { voxels: box.volume() };
  },
});

/** Options of {@link createContrastNormalizationTasks}. */
export interface ContrastNormalizationOptions extends CreateOptionsBase {
  /** Where the histogram stage wrote `levels/`. Default: the source layer. */
  levels?: string;
  mip?: number;
  /**
   * Fraction of each slice's (non-black) voxels clipped at the dark and the
   * bright end; one number for both. Default 0.01 (Igneous' default).
   */
  clipFraction?: number | [number, number];
  /** Downsampled mips (average). Default: as many as the memory target allows, down to one chunk. */
  mips?: number;
  /** Default [2, 2, 1]. */
  factor?: Vec3;
  /** Read missing source chunks as zeros. */
  fillMissing?: boolean;
  /** Only this box (voxels of `boundsMip`, default 0). */
  bounds?: BboxLike;
  boundsMip?: number;
  /** Bytes one task may hold. Default 3.5 GB. */
  memoryTarget?: number;
}

/** The destination's info: the source's scales up to `mip`, unsharded, plus the downsamples. */
function contrastInfo(src: InfoJSON, mip: number): InfoJSON {
  const info: InfoJSON = {
    ...structuredClone(src),
    scales: structuredClone(src.scales.slice(0, mip + 1)),
  };
  for (const s of info.scales) delete s.sharding;
  return info;
}

/**
 * Write the destination's info (the source's, with its downsampled scales),
 * then return the contrast tasks covering the source (or `bounds`), lazily.
 * Checks first that the histogram stage has written levels for `mip`.
 */
export async function createContrastNormalizationTasks(
  src: string,
  dest: string,
  o: ContrastNormalizationOptions = {},
): Promise<TaskSet<z.input<typeof contrastNormalizationParams>>> {
  const mip = o.mip ?? 0;
  const factor = o.factor ?? [2, 2, 1];
  const c = o.clipFraction ?? 0.01;
  const clip: [number, number] = typeof c === "number" ? [c, c] : [c[0], c[1]];
  if (!clip.every((f) => Number.isFinite(f) && f >= 0 && f <= 1) || clip[0] + clip[1] > 1)
    throw new StageInputError(
      `clipFraction: each fraction must lie in [0, 1] and both add up to at most 1; got ${clip.join(", ")}`,
      "clipFraction",
    );
  const srcInfo = await readInfo(storageFor(src, o));
  luminanceBins(src, srcInfo);
  const levels = o.levels ?? src;
  const levelsStore = storageFor(levels, o);
  let any = false;
  for await (const _ of levelsStore.list(`levels/${mip}/`)) {
    any = true;
    break;
  }
  if (!any)
    throw new LuminanceLevelsError(
      `no luminance levels under ${levelsStore.url}/levels/${mip}/: run the histogram stage (ngpipe image histogram) first`,
      `${levelsStore.url}/levels/${mip}/`,
    );
  const destStorage = storageFor(dest, o);
  if (sameLocation(storageFor(src, o), destStorage))
    throw new StageInputError(
      `${dest} is the source layer ${src}: normalizing it onto itself would replace the voxels it reads; nothing was written`,
      "dest",
    );
  const info = contrastInfo(srcInfo, mip);
  const scale = scaleForMip(info, mip);
  const { mips, shape, grid } = planTasks({
    what: `contrast-normalizing ${src} at mip ${mip}`,
    chunkSize: scale.chunkSize,
    size: scale.size,
    dtype: srcInfo.data_type,
    channels: 1,
    factor,
    memoryTarget: o.memoryTarget,
    mips: o.mips,
    minMips: 0,
  });
  const bounds = resolveBounds(info, mip, toBbox(o.bounds), o.boundsMip ?? 0, grid, {
    ...o,
    url: src,
  });
  const existing = await readExistingInfo(destStorage);
  addDownsampleScales(info, mip, mips, factor, scale.chunkSize);
  checkInfoRewrite(existing, info, dest, () => o.bounds === undefined);
  await writeInfo(destStorage, info);
  return taskSet(bounds, shape, { origin: scale.voxelOffset, clip: scale.bounds }, (tile) =>
    contrastNormalizationTask.payload({
      src,
      dest,
      levels,
      mip,
      bbox: tile.toChunkName(),
      clip,
      mips,
      factor: [...factor] as [number, number, number],
      fillMissing: o.fillMissing ?? false,
    }),
  );
}
