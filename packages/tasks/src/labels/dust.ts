/**
 * The dust stage: remove (set to 0) every label whose voxel count over the
 * whole dataset is below `minSize` — not per block, so an object cut by
 * task boundaries keeps all of its pieces. Phases: the voxel counts (into a
 * scratch table), then one task per block, then the downsamples.
 */
import { fromTyped, readInfo, scaleForMip, type TypedArray, writeInfo } from "@ngpipe/precomputed";
import type { VoxelCounts } from "@ngpipe/segmentation";
import { z } from "zod";
import { labelsKernels } from "../labels-kernel-module";
import type { TaskPhase } from "../registry/stage";
import { defineTask } from "../runtime";
import {
  bboxOf,
  bboxSchema,
  blockShape,
  type CreateOptionsBase,
  openLayer,
  storageFor,
} from "../stages/common";
import { taskSet } from "../tiling";
import { cclCleanupTask } from "./ccl";
import { modeDownsamplePhase, singleScaleInfo } from "./dest-layer";
import { createVoxelCountTasks, lookupVoxelCounts } from "./voxel-counts";

/** Params of {@link dustTask}. */
export const dustParams = z.object({
  src: z.string().min(1),
  dest: z.string().min(1),
  counts: z.string().min(1),
  mip: z.number().int().min(0),
  bbox: bboxSchema,
  minSize: z.number().min(0),
});

/** Zero the labels of one block whose dataset-wide count is below minSize. */
export const dustTask = defineTask({
  name: "dust",
  params: dustParams,
  async run(p, ctx): Promise<{ removed: number }> {
    const src = await openLayer(ctx, p.src, p.mip);
    const dest = (await openLayer(ctx, p.dest, 0)).withMip(src.resolution);
    const box = bboxOf(p.bbox).intersect(src.bounds);
    if (box.empty()) return { removed: 0 };
    const cut = await src.read(box, { signal: ctx.signal });
    const ids = (
      await ctx.runKernel<VoxelCounts>(labelsKernels(), "countVoxels", [cut.data.slice()], {})
    ).ids as TypedArray;
    const n = ids.length;
    const wide = ids.BYTES_PER_ELEMENT === 8;
    const w = wide ? new Uint32Array(ids.buffer, ids.byteOffset, 2 * n) : undefined;
    const lo = Uint32Array.from({ length: n }, (_, i) => (w ? w[2 * i] : Number(ids[i]) >>> 0));
    const hi = Uint32Array.from({ length: n }, (_, i) => (w ? w[2 * i + 1] : 0));
    const counts = await lookupVoxelCounts(p.counts, lo, hi, ctx.storage(p.counts));
    const small: number[] = [];
    for (let i = 0; i < n; i++) if (counts[i] < p.minSize) small.push(i);
    const from = new (ids.constructor as new (n: number) => TypedArray)(small.length);
    small.forEach((i, k) => {
      (from as unknown as (number | bigint)[])[k] = ids[i];
    });
    const to = new (ids.constructor as new (n: number) => TypedArray)(small.length);
    const data = cut.data;
    const out = await ctx.runKernel<TypedArray>(
      labelsKernels(),
      "remap",
      [data, { from, to }, { preserveMissing: true, context: `${p.src} ${box}` }],
      { transfer: [data.buffer as ArrayBuffer], signal: ctx.signal },
    );
    // A typed array of this realm over the worker's buffer (a large remap
    // output's buffer goes on past the array: keep its offset and length).
    const Ctor = data.constructor as new (
      b: ArrayBufferLike,
      offset: number,
      length: number,
    ) => TypedArray;
    await dest.write(box, fromTyped(new Ctor(out.buffer, out.byteOffset, out.length), cut.shape), {
      signal: ctx.signal,
    });
    return { removed: small.length };
  },
});

/** Options of {@link createDustTasks}. */
export interface DustTaskOptions extends CreateOptionsBase {
  /** Labels with fewer voxels than this in the whole dataset become 0. */
  minSize: number;
  mip?: number;
  /** Task shape. Default as the maintenance stages. */
  shape?: [number, number, number];
  /** Downsampled mips of the result (mode). Default 0. */
  mips?: number;
  /** Where the counts table goes. Default `<dest>/dust-counts` (deleted at the end). */
  counts?: string;
  /** Keep the counts table. */
  keepCounts?: boolean;
}

/** The dust stage as phases: counts, dust per block, downsample, cleanup. */
export async function createDustTasks(
  src: string,
  dest: string,
  o: DustTaskOptions,
): Promise<TaskPhase[]> {
  const mip = o.mip ?? 0;
  if (!(o.minSize >= 0))
    throw new RangeError(`dust: minSize must be a number >= 0; got ${o.minSize}`);
  const info = await readInfo(storageFor(src, o));
  const scale = scaleForMip(info, mip);
  const shape =
    o.shape ?? (blockShape(scale.chunkSize, info.data_type, 1) as [number, number, number]);
  const counts = o.counts ?? `${dest.replace(/\/+$/, "")}/dust-counts`;
  const countPhases = await createVoxelCountTasks(src, { ...o, mip, shape, dest: counts });
  const phases: TaskPhase[] = [
    ...countPhases,
    {
      name: "dust",
      tasks: async () => {
        await writeInfo(storageFor(dest, o), singleScaleInfo(info, mip));
        return taskSet(
          scale.bounds,
          shape,
          { origin: scale.voxelOffset, clip: scale.bounds },
          (tile) =>
            dustTask.payload({
              src,
              dest,
              counts,
              mip,
              bbox: tile.toChunkName(),
              minSize: o.minSize,
            }),
        );
      },
    },
  ];
  if ((o.mips ?? 0) > 0) phases.push(modeDownsamplePhase("dust downsample", dest, o.mips ?? 0, o));
  if (!o.keepCounts)
    phases.push({
      name: "dust cleanup",
      tasks: async () => [cclCleanupTask.payload({ scratch: counts })],
    });
  return phases;
}
