/**
 * The skeleton forge (Igneous' SkeletonTask): one task per block reads its
 * box plus one voxel on the high faces, so that neighbouring blocks share a
 * face plane, skeletonizes every object with TEASAR and `fixBorders` (a
 * vertex at the centre of each cross-section on a block face, the same
 * point in both blocks), and writes the fragments, in nm, bucketed by the
 * hash of their ids (see `./fragments`).
 */
import { type Bbox, channel, splitU64, type Vec3, Volume } from "@ngpipe/precomputed";
import type { Skeleton } from "@ngpipe/segmentation";
import { z } from "zod";
import { labelsKernels } from "../labels-kernel-module";
import { createTaskContext, type TaskContext } from "../runtime/context";
import { defineTask } from "../runtime/define";
import { type BoundsCheckOptions, checkBounds, StageInputError } from "../stages/checks";
import { LayerMismatchError, readBlockWithOverlap } from "../stages/common";
import { type TaskSet, taskSet, tileCount } from "../tiling";
import {
  bucketOf,
  censusKey,
  FRAGMENT_MANIFEST,
  type FragmentManifest,
  forgeBucketBits,
  fragmentKey,
  type IdFragment,
  packFragments,
} from "./fragments";

const teasarSchema = z.object({
  scale: z.number().positive(),
  const: z.number().min(0),
  pdrfScale: z.number().positive(),
  pdrfExponent: z.number().positive(),
});

/** The forge's task: one block's fragments. */
export const skeletonTask = defineTask({
  name: "skeleton",
  params: z.object({
    layer: z.string(),
    mip: z.number().int().min(0).default(0),
    /** The block without overlap, `x0-x1_y0-y1_z0-z1` (voxels of `mip`). */
    bbox: z.string(),
    skeletonDir: z.string().default("skeletons"),
    bucketBits: z.number().int().min(0).max(16),
    teasar: teasarSchema,
    /** Objects with fewer voxels in the block are skipped. */
    dust: z.number().int().min(0).default(1000),
    fixBranching: z.boolean().default(true),
    objectIds: z.array(z.string().regex(/^\d+$/, "an id is a decimal uint64")).optional(),
    fillMissing: z.boolean().default(false),
  }),
  async run(p, ctx: TaskContext) {
    const { vol, cutout, data } = await readBlockWithOverlap(p, ctx);
    const labels = channel(data, 0).data;
    const res = vol.resolution;
    const skeletons = await ctx.runKernel<Skeleton[]>(
      labelsKernels(),
      "skeletonize",
      [
        labels,
        cutout.size(),
        {
          anisotropy: [...res],
          teasar: p.teasar,
          dust: p.dust,
          objectIds: p.objectIds?.map((id) => BigInt(id)),
          fixBranching: p.fixBranching,
          fixBorders: true,
        },
      ],
      { transfer: [labels.buffer as ArrayBuffer], signal: ctx.signal },
    );
    // Block coordinates to the layer's physical space (voxel index * resolution).
    const buckets = new Map<number, IdFragment[]>();
    const scratch = new Uint32Array(2);
    for (const s of skeletons) {
      for (let v = 0; v < s.radii.length; v++)
        for (let a = 0; a < 3; a++) s.vertices[3 * v + a] += cutout.min[a] * res[a];
      const [lo, hi] = splitU64(BigInt(s.id));
      const bucket = bucketOf(lo, hi, p.bucketBits, scratch);
      let list = buckets.get(bucket);
      if (!list) buckets.set(bucket, (list = []));
      list.push({ lo, hi, skeleton: s });
    }
    const store = ctx.storage(`${vol.url}/${p.skeletonDir}`);
    let bytes = 0;
    for (const [bucket, list] of buckets) {
      const packed = packFragments(list);
      bytes += packed.length;
      await store.put(fragmentKey(bucket, p.bbox), packed, {
        contentType: "application/octet-stream",
        signal: ctx.signal,
      });
    }
    await store.putJson(censusKey(p.bbox), { fragments: skeletons.length, bytes });
    ctx.progress(1);
    return { fragments: skeletons.length, bytes };
  },
});

/** TEASAR parameters as the forge takes them. */
export interface SkeletonTeasarOptions {
  /** Coverage ball radius multiplier of the DBF (default 4). */
  scale?: number;
  /** Coverage ball radius addend in nm (default 500). */
  const?: number;
  /** Boundary penalty scale (default 100000). */
  pdrfScale?: number;
  /** Boundary penalty exponent (default 8). */
  pdrfExponent?: number;
}

/** Options of {@link createSkeletonTasks}. */
export interface SkeletonTaskOptions extends BoundsCheckOptions {
  mip?: number;
  /** Block shape in voxels (default 512,512,512). */
  shape?: Vec3;
  teasar?: SkeletonTeasarOptions;
  /** Objects with fewer voxels in a block are skipped there (default 1000). */
  dust?: number;
  /** Trace paths from the whole tree so far (default true). */
  fixBranching?: boolean;
  /** Only these objects. */
  objectIds?: Array<number | bigint | string>;
  /**
   * The voxel size (nm) the caller expects; refused when it is not the
   * layer's resolution at `mip` (skeletons are always made in the layer's units).
   */
  anisotropy?: Vec3;
  /** Skeleton directory (default: the info's `skeletons`, else "skeletons"). */
  skeletonDir?: string;
  /**
   * Number of fragment buckets, a power of two up to 65536 (default: the
   * number of blocks rounded up to a power of two, at most 1024). A merge
   * task reads one bucket at a time; sharded output needs at least as many
   * buckets as shards.
   */
  buckets?: number;
  fillMissing?: boolean;
  /** Only this box (voxels of `mip`). */
  bounds?: Bbox;
}

/** The skeleton directory of a layer: an explicit one, else the info's `skeletons`, else "skeletons". */
export function skeletonDirOf(info: Record<string, unknown>, explicit?: string): string {
  return explicit ?? (typeof info.skeletons === "string" ? info.skeletons : "skeletons");
}

/** Refuse a layer that is not a segmentation, with the stage's typed error. */
export function requireSegmentation(vol: Volume): void {
  if (vol.layerType !== "segmentation")
    throw new LayerMismatchError(
      `${vol.url} is an ${vol.layerType} layer; skeletons are made from segmentation layers`,
    );
}

/**
 * Write the forge's manifest, then return the skeleton tasks, one per block
 * (x fastest), made lazily as the set is iterated.
 *
 * ```ts
 * const tasks = await createSkeletonTasks("gs://lab/seg", { shape: [512, 512, 512] });
 * await queue.insert(tasks);
 * ```
 */
export async function createSkeletonTasks(
  layer: string,
  options: SkeletonTaskOptions = {},
  ctx: TaskContext = createTaskContext(),
): Promise<TaskSet<z.output<typeof skeletonTask.schema>>> {
  const mip = options.mip ?? 0;
  const vol = await Volume.open(layer, { mip, storage: ctx.storage(layer) });
  requireSegmentation(vol);
  const res = vol.resolution;
  if (
    options.anisotropy &&
    !options.anisotropy.every((w, a) => Math.abs(w - res[a]) <= 1e-6 * res[a])
  )
    throw new StageInputError(
      `anisotropy [${options.anisotropy}] is not the resolution [${res}] of ${vol.url} at mip ${mip}; skeletons are made in the layer's voxel size`,
      "anisotropy",
    );
  const region = options.bounds
    ? checkBounds(vol.info, options.bounds, mip, vol.url, options)
    : vol.bounds;
  const shape = options.shape ?? [512, 512, 512];
  const origin = vol.scale.voxelOffset;
  const blocks = tileCount(region, shape, { origin });
  const bucketBits = forgeBucketBits(blocks, options.buckets);
  const skeletonDir = skeletonDirOf(vol.info as Record<string, unknown>, options.skeletonDir);
  const manifest: FragmentManifest = {
    mip,
    shape: [...shape],
    bounds: region.toChunkName(),
    origin: [...origin],
    resolution: [...res],
    bucketBits,
  };
  await ctx.storage(`${vol.url}/${skeletonDir}`).putJson(FRAGMENT_MANIFEST, manifest);
  const teasar = {
    scale: options.teasar?.scale ?? 4,
    const: options.teasar?.const ?? 500,
    pdrfScale: options.teasar?.pdrfScale ?? 100000,
    pdrfExponent: options.teasar?.pdrfExponent ?? 8,
  };
  return taskSet(region, shape, { origin }, (box) =>
    skeletonTask.payload({
      layer: vol.url,
      mip,
      bbox: box.toChunkName(),
      skeletonDir,
      bucketBits,
      teasar,
      dust: options.dust ?? 1000,
      fixBranching: options.fixBranching ?? true,
      objectIds: options.objectIds?.map(String),
      fillMissing: options.fillMissing ?? false,
    }),
  );
}
