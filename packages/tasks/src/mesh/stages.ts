/**
 * The Mesh and MeshManifest stages, Igneous-style: one meshing task per
 * block (any shape) reads its box plus one voxel on the high faces, meshes
 * every label, simplifies, drops dust, closes meshes where the block touches
 * the dataset edge and writes one fragment `<id>:0:<bbox>` per label; then
 * manifest tasks gather each segment's fragments into its `<id>:0` manifest.
 */
import {
  legacyMeshInfo,
  type MeshBlockResult,
  type MeshLabelArray,
  MeshLayer,
  meshKernelModule,
  multiresMeshInfo,
  withMeshDir,
} from "@ngpipe/mesh";
import {
  type Bbox,
  channel,
  InfoNotFoundError,
  splitU64,
  type Vec3,
  Volume,
} from "@ngpipe/precomputed";
import { z } from "zod";
import { createTaskContext, type TaskContext } from "../runtime/context";
import { defineTask } from "../runtime/define";
import {
  bucketOf,
  FRAGMENT_MANIFEST,
  type FragmentManifest,
  fragmentKey,
} from "../skeletons/fragments";
import { type BoundsCheckOptions, checkBounds, StageInputError } from "../stages/checks";
import { readBlockWithOverlap } from "../stages/common";
import { type TaskList, type TaskSet, taskList, taskSet, tileCount } from "../tiling";

/** Meshing params, as Igneous' MeshTask takes them. */
export const meshTask = defineTask({
  name: "mesh",
  params: z.object({
    layer: z.string(),
    mip: z.number().int().min(0).default(0),
    /** The block without overlap, `x0-x1_y0-y1_z0-z1` (voxels of `mip`). */
    bbox: z.string(),
    meshDir: z.string().default("mesh"),
    simplification: z.number().min(0).default(100),
    maxError: z.number().min(0).default(40),
    dust: z.number().int().min(0).default(0),
    labels: z.array(z.string().regex(/^\d+$/, "a label is a decimal uint64")).optional(),
    excludeLabels: z.array(z.string().regex(/^\d+$/, "a label is a decimal uint64")).optional(),
    fillMissing: z.boolean().default(false),
    /** Close meshes where the block touches the dataset edge. */
    closeEdges: z.boolean().default(true),
    /** Fragment compression: gzip (Igneous' default), brotli, or none. */
    compress: z.union([z.enum(["gzip", "br"]), z.literal(false)]).default("gzip"),
    /**
     * Set by the multiresolution forge: fragments go under
     * `fragments/<bucket>/`, the bucket being the low `bucketBits` bits of
     * the id's murmurhash (as the skeleton forge buckets them).
     */
    bucketBits: z.number().int().min(0).max(16).optional(),
  }),
  async run(p, ctx: TaskContext) {
    const { vol, box, cutout, data } = await readBlockWithOverlap(p, ctx);
    // Close where the block itself reaches the dataset edge. (Not where only
    // the cutout does: when the dataset's extent is one voxel more than a
    // multiple of the block shape, the next-to-last block's overlap reaches
    // the edge too, and closing there would double the last block's cap.)
    const b = vol.bounds;
    const close = [
      p.closeEdges && box.min[0] <= b.min[0],
      p.closeEdges && box.max[0] >= b.max[0],
      p.closeEdges && box.min[1] <= b.min[1],
      p.closeEdges && box.max[1] >= b.max[1],
      p.closeEdges && box.min[2] <= b.min[2],
      p.closeEdges && box.max[2] >= b.max[2],
    ] as [boolean, boolean, boolean, boolean, boolean, boolean];
    const res = vol.resolution;
    const labels = channel(data, 0).data as MeshLabelArray;
    const result = await ctx.runKernel<MeshBlockResult>(
      meshKernelModule(),
      "meshBlock",
      [
        labels,
        cutout.size(),
        {
          resolution: [...res],
          origin: [cutout.min[0], cutout.min[1], cutout.min[2]],
          close,
          reductionFactor: p.simplification,
          maxError: p.maxError,
          dust: p.dust,
          labels: p.labels,
          exclude: p.excludeLabels,
        },
      ],
      { transfer: [labels.buffer as ArrayBuffer], signal: ctx.signal },
    );
    const meshes = await MeshLayer.open(p.layer, {
      meshDir: p.meshDir,
      storage: ctx.storage(p.layer),
      compress: p.compress,
    });
    const bits = p.bucketBits;
    const scratch = new Uint32Array(2);
    await meshes.writeBlockFragments(box.toJSON(), result.ids, result.fragments, {
      signal: ctx.signal,
      keyOf:
        bits === undefined
          ? undefined
          : (name, id) => fragmentKey(bucketOf(...splitU64(BigInt(id)), bits, scratch), name),
    });
    ctx.progress(1);
    return { fragments: result.ids.length, triangles: result.triangles };
  },
});

/** Options of {@link createMeshingTasks}. */
export interface MeshingOptions extends BoundsCheckOptions {
  mip?: number;
  /** Block shape in voxels (default 448^3 like Igneous); need not be chunk aligned. */
  shape?: Vec3;
  /** Reduction factor (default 100; 0 disables). */
  simplification?: number;
  /** Max simplification error in nm (default 40). */
  maxError?: number;
  /** Labels with fewer voxels in a block are skipped (default 0). */
  dust?: number;
  labels?: Array<number | bigint | string>;
  excludeLabels?: Array<number | bigint | string>;
  /** Mesh directory (default: the info's `mesh`, else "mesh"). */
  meshDir?: string;
  fillMissing?: boolean;
  /** Only this box (voxels of `mip`). */
  bounds?: Bbox;
  /** Fragment compression (default "gzip", as Igneous writes them; false = none). */
  compress?: "gzip" | "br" | false;
  /**
   * `"legacy"` (default): the directory gets a `neuroglancer_legacy_mesh`
   * info and manifest tasks list fragments. `"multires"`: it gets a
   * `neuroglancer_multilod_draco` info, and `createMultiresMeshMergeTasks`
   * turns the fragments into multi-resolution meshes.
   */
  format?: "legacy" | "multires";
  /**
   * Multiresolution only: fragment buckets, a power of two up to 65536
   * (default: the block count rounded up to a power of two, at most 1024).
   * A merge task lists only the buckets of its objects.
   */
  buckets?: number;
}

/**
 * Write the mesh info (and `mesh` in the layer info), then return the
 * meshing tasks, one per block of the dataset (x fastest), made lazily as
 * the set is iterated.
 *
 * ```ts
 * const tasks = await createMeshingTasks("gs://lab/seg", { shape: [448, 448, 448] });
 * console.log(`${tasks.count} meshing tasks`);
 * await queue.insert(tasks);
 * ```
 */
export async function createMeshingTasks(
  layer: string,
  options: MeshingOptions = {},
  ctx: TaskContext = createTaskContext(),
): Promise<TaskSet<z.output<typeof meshTask.schema>>> {
  const mip = options.mip ?? 0;
  const vol = await Volume.open(layer, { mip, storage: ctx.storage(layer) });
  if (vol.layerType !== "segmentation") {
    throw new TypeError(`${vol.url} is an ${vol.layerType} layer; meshing needs a segmentation`);
  }
  const region = options.bounds
    ? checkBounds(vol.info, options.bounds, mip, vol.url, options)
    : vol.bounds;
  const shape = options.shape ?? [448, 448, 448];
  const bucketBits =
    options.format === "multires"
      ? forgeBucketBits(
          tileCount(region, shape, { origin: vol.scale.voxelOffset }),
          options.buckets,
        )
      : undefined;
  const meshDir = options.meshDir ?? (typeof vol.info.mesh === "string" ? vol.info.mesh : "mesh");
  if (vol.info.mesh !== meshDir) {
    vol.info.mesh = withMeshDir(vol.info, meshDir).mesh;
    await vol.commitInfo();
  }
  // Like Igneous, update an existing mesh info (keeping keys we do not
  // set) and write it only when it changes.
  const meshes = await MeshLayer.open(layer, { meshDir, storage: ctx.storage(layer) });
  const old = await meshes.storage.get("info");
  let existing: Record<string, unknown> = {};
  if (old !== null) {
    try {
      const parsed = JSON.parse(new TextDecoder().decode(old));
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) existing = parsed;
    } catch {
      // Not JSON: replaced below.
    }
  }
  const merged =
    options.format === "multires"
      ? { ...multiresMeshInfo({}), mip, chunk_size: [...shape] }
      : {
          ...existing,
          ...legacyMeshInfo({
            mip,
            chunkSize: [...shape],
            resolution: [...vol.resolution],
            spatialIndex: false,
          }),
        };
  if (old === null || JSON.stringify(merged) !== JSON.stringify(existing))
    await meshes.storage.put("info", JSON.stringify(merged), {
      contentType: "application/json",
      cacheControl: "no-cache",
    });
  if (bucketBits !== undefined) {
    const origin = vol.scale.voxelOffset;
    const manifest: FragmentManifest = {
      mip,
      shape: [...shape],
      bounds: region.toChunkName(),
      origin: [origin[0], origin[1], origin[2]],
      resolution: [vol.resolution[0], vol.resolution[1], vol.resolution[2]],
      bucketBits,
    };
    await meshes.storage.putJson(FRAGMENT_MANIFEST, manifest);
  }
  return taskSet(region, shape, { origin: vol.scale.voxelOffset }, (box) =>
    meshTask.payload({
      layer: vol.url,
      mip,
      bbox: box.toChunkName(),
      meshDir,
      simplification: options.simplification ?? 100,
      maxError: options.maxError ?? 40,
      dust: options.dust ?? 0,
      labels: options.labels?.map(String),
      excludeLabels: options.excludeLabels?.map(String),
      fillMissing: options.fillMissing ?? false,
      closeEdges: true,
      compress: options.compress ?? "gzip",
      bucketBits,
    }),
  );
}

/** log2 of the forge's bucket count: `buckets` checked, or one per block up to 1024. */
function forgeBucketBits(blocks: number, buckets?: number): number {
  if (buckets === undefined) return Math.min(10, Math.ceil(Math.log2(Math.max(1, blocks))));
  const bits = Math.log2(buckets);
  if (!Number.isInteger(bits) || bits < 0 || bits > 16)
    throw new StageInputError(
      `buckets must be a power of two from 1 to 65536, got ${buckets}`,
      "buckets",
    );
  return bits;
}

/** Manifest task: every segment whose fragments start with `prefix` gets its `<id>:0`. */
export const meshManifestTask = defineTask({
  name: "mesh-manifest",
  params: z.object({
    layer: z.string(),
    meshDir: z.string().default("mesh"),
    /** Key prefix of the fragments this task owns ("" = all, for one-listing runs). */
    prefix: z.string().default(""),
  }),
  async run(p, ctx: TaskContext) {
    const layer = ctx.storage(p.layer);
    const meshes = await MeshLayer.open(p.layer, { meshDir: p.meshDir, storage: layer });
    const groups = await meshes.listFragments(p.prefix);
    // Nothing found: a mistyped layer must fail, not write zero manifests
    // (checked only then, so a prefix task costs no extra request).
    if (groups.size === 0 && !(await layer.exists("info")))
      throw new InfoNotFoundError(`${layer.url}/info`);
    await meshes.writeManifests(groups, { signal: ctx.signal });
    ctx.progress(groups.size);
    return { manifests: groups.size };
  },
});

/**
 * The key prefixes that split segment ids `1..` into disjoint groups by
 * their leading digits: ids shorter than `magnitude` digits are matched
 * exactly (`"7:"`), longer ones by their first `magnitude` digits.
 */
export function manifestPrefixes(magnitude: number): string[] {
  const out: string[] = [];
  for (let digits = 1; digits < magnitude; digits++) {
    for (let n = 10 ** (digits - 1); n < 10 ** digits; n++) out.push(`${n}:`);
  }
  for (let n = 10 ** (magnitude - 1); n < 10 ** magnitude; n++) out.push(String(n));
  return out;
}

/** Options of {@link createMeshManifestTasks}. */
export interface MeshManifestOptions {
  meshDir?: string;
  /**
   * Split the work by id prefix with this many leading digits (a task per
   * prefix, for cloud storage at scale). 0 = one task that lists the whole
   * directory once (fast on file://). Default 0.
   */
  magnitude?: number;
}

/** The manifest tasks of a layer's mesh directory (one, or one per id prefix). */
export async function createMeshManifestTasks(
  layer: string,
  options: MeshManifestOptions = {},
  ctx: TaskContext = createTaskContext(),
): Promise<TaskList<z.output<typeof meshManifestTask.schema>>> {
  let meshDir = options.meshDir;
  const storage = ctx.storage(layer);
  if (!(await storage.exists("info"))) throw new InfoNotFoundError(`${storage.url}/info`);
  if (meshDir === undefined) {
    const vol = await Volume.open(layer, { storage: ctx.storage(layer) });
    meshDir = typeof vol.info.mesh === "string" ? vol.info.mesh : "mesh";
  }
  const magnitude = options.magnitude ?? 0;
  const prefixes = magnitude > 0 ? manifestPrefixes(magnitude) : [""];
  return taskList(prefixes, (prefix) => meshManifestTask.payload({ layer, meshDir, prefix }));
}
