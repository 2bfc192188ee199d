/**
 * The multi-resolution mesh merge stage (`ngpipe mesh merge --multires`)
 * and the legacy-to-multires conversion (`ngpipe mesh convert`).
 *
 * Meshing (`createMeshingTasks(layer, { format: "multires" })`) writes the
 * same per-block fragments `<id>:0:<bbox>` as legacy meshing, under a
 * `neuroglancer_multilod_draco` info. A merge task then takes objects one
 * at a time: it reads an object's fragments, and a kernel in the worker
 * pool fuses them, builds the crack-free levels of detail and encodes them
 * as Draco ({@link multiresMeshFromFragments}). Unsharded, it writes
 * `<id>` and `<id>.index` per object; sharded, each task owns whole shards
 * and holds one shard's objects in memory at a time, writing each shard
 * file with one put. Conversion is the same task reading the objects of a
 * legacy mesh directory through their `<id>:0` manifests.
 */
import {
  MeshDecodeError,
  MeshLayer,
  type MultiresMeshBytes,
  MultiresMeshLayer,
  meshKernelModule,
  multiresMeshInfo,
  parseFragmentName,
} from "@ngpipe/mesh";
import {
  computeHashedShardingSpec,
  InfoNotFoundError,
  type ShardingSpec,
  shardNumberFor,
  Volume,
} from "@ngpipe/precomputed";
import { forEachLimit, type Storage } from "@ngpipe/storage";
import { z } from "zod";
import { createTaskContext, type TaskContext } from "../runtime/context";
import { defineTask } from "../runtime/define";
import { type TaskList, taskList } from "../tiling";
import { manifestPrefixes } from "./stages";

const vec3 = z.tuple([z.number(), z.number(), z.number()]);
type Trio = [number, number, number];

/** How the levels of detail are built (the kernel's options), as a task carries them. */
const lodParams = z.object({
  /** Extent of a lod 0 octree cell, nm. */
  chunkShape: vec3,
  /** Origin of the layer-wide octree grid, nm. */
  gridOrigin: vec3,
  bits: z.union([z.literal(10), z.literal(16)]).default(10),
  maxLods: z.number().int().min(1).default(8),
  lodError: z.number().positive().default(40),
});

/** Merge params: which objects (an id prefix, or whole shards) and how to build them. */
export const multiresMeshMergeTask = defineTask({
  name: "mesh-multires-merge",
  params: lodParams.extend({
    layer: z.string(),
    /** The multi-resolution mesh directory written. */
    meshDir: z.string().default("mesh"),
    /**
     * Where the objects come from: meshing fragments `<id>:0:<bbox>` in
     * `sourceDir`, or the `<id>:0` manifests of a legacy mesh directory.
     */
    source: z.enum(["fragments", "manifests"]).default("fragments"),
    /** Directory read (default: `meshDir`). */
    sourceDir: z.string().optional(),
    /** Unsharded: objects whose ids start with this ("" = all). */
    prefix: z.string().default(""),
    /** Sharded: the shard numbers this task writes whole. */
    shards: z.array(z.number().int().min(0)).optional(),
    /** Objects built at once (each in a pool worker). */
    concurrency: z.number().int().min(1).default(2),
  }),
  async run(p, ctx: TaskContext) {
    const layer = ctx.storage(p.layer);
    const out = await MultiresMeshLayer.open(p.layer, { meshDir: p.meshDir, storage: layer });
    const sourceDir = p.sourceDir ?? p.meshDir;
    const source = await MeshLayer.open(p.layer, { meshDir: sourceDir, storage: layer });
    const objects = await listObjects(source, p.source, p.prefix);
    if (objects.size === 0 && !(await layer.exists("info")))
      throw new InfoNotFoundError(`${layer.url}/info`);
    const options = {
      chunkShape: p.chunkShape as Trio,
      gridOrigin: p.gridOrigin as Trio,
      bits: p.bits,
      maxLods: p.maxLods,
      lodError: p.lodError,
    };
    const build = async (id: string): Promise<MultiresMeshBytes> => {
      const names = await objects.get(id)!();
      const got = await source.storage.getMany(names, { signal: ctx.signal });
      const fragments: Uint8Array[] = [];
      for (const r of got) {
        if (!r.ok) throw r.error;
        if (r.value === null)
          throw new MeshDecodeError(`fragment of segment ${id} vanished`, `${source.url}/${r.key}`);
        fragments.push(r.value);
      }
      return ctx.runKernel<MultiresMeshBytes>(
        meshKernelModule(),
        "multiresMeshFromFragments",
        [fragments, { ...options, keys: names.map((n) => `${source.url}/${n}`) }],
        { transfer: fragments.map((f) => f.buffer as ArrayBuffer), signal: ctx.signal },
      );
    };
    const ids = [...objects.keys()].sort(compareIds);
    let faces = 0;
    const spec = out.info.sharding;
    if (spec === undefined) {
      await forEachLimit(
        ids,
        p.concurrency,
        async (id) => {
          const m = await build(id);
          await out.writeUnsharded(id, m);
          faces += m.facesPerLod[0] ?? 0;
          ctx.progress(1);
        },
        { signal: ctx.signal },
      );
      return { objects: ids.length, shards: 0, faces };
    }
    const wanted = new Set(p.shards ?? []);
    const byShard = new Map<number, string[]>();
    for (const id of ids) {
      const s = shardNumberFor(BigInt(id), spec);
      if (!wanted.has(s)) continue;
      let list = byShard.get(s);
      if (!list) byShard.set(s, (list = []));
      list.push(id);
    }
    let count = 0;
    // One shard's objects in memory at a time.
    for (const shard of [...byShard.keys()].sort((a, b) => a - b)) {
      const members = byShard.get(shard)!;
      const built = new Map<string, MultiresMeshBytes>();
      await forEachLimit(
        members,
        p.concurrency,
        async (id) => {
          const m = await build(id);
          built.set(id, m);
          faces += m.facesPerLod[0] ?? 0;
          ctx.progress(1);
        },
        { signal: ctx.signal },
      );
      await out.writeShard(
        members.map((id) => [id, built.get(id)!]),
        { signal: ctx.signal },
      );
      count += members.length;
    }
    return { objects: count, shards: byShard.size, faces };
  },
});

function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The objects of a source directory: id to a function giving its fragment
 * names (from a listing of meshing fragments, or by reading the object's
 * legacy manifest when asked).
 */
async function listObjects(
  source: MeshLayer,
  kind: "fragments" | "manifests",
  prefix: string,
): Promise<Map<string, () => Promise<string[]>>> {
  const out = new Map<string, () => Promise<string[]>>();
  if (kind === "fragments") {
    for (const [id, names] of await source.listFragments(prefix)) out.set(id, async () => names);
    return out;
  }
  for await (const key of source.storage.list(prefix, { recursive: false })) {
    const m = /^(\d+):0$/.exec(key);
    if (m)
      out.set(m[1], async () => {
        const names = await source.manifest(BigInt(m[1]) < 2n ** 53n ? Number(m[1]) : BigInt(m[1]));
        return names ?? [];
      });
  }
  return out;
}

/** Options of {@link createMultiresMeshMergeTasks}. */
export interface MultiresMeshMergeOptions {
  /** The multi-resolution mesh directory (default: the info's `mesh`, else "mesh"). */
  meshDir?: string;
  /** Write shard files (`neuroglancer_uint64_sharded_v1`, murmurhash3 of the id). Default false. */
  sharded?: boolean;
  /** An explicit sharding spec (implies `sharded`); its `data_encoding` must be raw. */
  sharding?: ShardingSpec;
  /**
   * Target bytes of one shard file (default 256 MiB): a sharded merge task
   * holds one shard in memory, so this bounds a task's memory too.
   */
  shardBytes?: number;
  /** Shards written by one task (default 1). */
  shardsPerTask?: number;
  /** Unsharded: split by id prefix with this many leading digits (0 = one task). Default 0. */
  magnitude?: number;
  /**
   * Lod 0 cell shape in voxels of the meshing mip. Default: about 64 voxels
   * of the finest axis in every axis (e.g. 64x64x6 for 4x4x40 nm).
   */
  cellShape?: readonly [number, number, number];
  /** vertex_quantization_bits, 10 or 16 (default 10). */
  bits?: 10 | 16;
  /** At most this many lods (default 8). */
  maxLods?: number;
  /** Error scale of lod 0 in nm; lod L is simplified to lodError * 2^L (default 40). */
  lodError?: number;
  /** Convert this legacy mesh directory (its `<id>:0` manifests) instead of merging fragments. */
  convertFrom?: string;
}

/** Bytes of a sample of the objects to merge, scaled to all of them (a shard size estimate). */
async function estimateBytes(storage: Storage, names: string[]): Promise<number> {
  if (names.length === 0) return 0;
  const step = Math.max(1, Math.floor(names.length / 64));
  let bytes = 0;
  let n = 0;
  for (let i = 0; i < names.length; i += step) {
    bytes += (await storage.size(names[i])) ?? 0;
    n++;
  }
  return (bytes / n) * names.length;
}

/**
 * Sharding for `objects` meshes of about `bytes` in all: sized by object
 * count like CloudVolume's `compute_shard_params_for_hashed`, with at
 * least enough shards that none passes `shardBytes`. Manifests are raw (so
 * fragment data can be read by range right before them); minishard indexes
 * gzip.
 */
export function multiresShardingSpec(
  objects: number,
  bytes: number,
  shardBytes = 2 ** 28,
): ShardingSpec {
  // A power of two, so that rounding inside the object-count sizing keeps it.
  const minShards = 2 ** Math.max(0, Math.ceil(Math.log2(Math.max(1, bytes / shardBytes))));
  return {
    ...computeHashedShardingSpec(objects, {
      minShards,
      dataEncoding: "raw",
      minishardIndexEncoding: "gzip",
    }),
  };
}

/**
 * Writes the multi-resolution mesh `info` (with its sharding when asked)
 * and the layer info's `mesh`, then returns the merge tasks: one per id
 * prefix (unsharded) or per group of shards (sharded). With `convertFrom`,
 * the objects are read from a legacy mesh directory's manifests.
 *
 * ```ts
 * await runAll(await createMeshingTasks(layer, { format: "multires" }));
 * await runAll(await createMultiresMeshMergeTasks(layer, { sharded: true }));
 * ```
 */
export async function createMultiresMeshMergeTasks(
  layer: string,
  options: MultiresMeshMergeOptions = {},
  ctx: TaskContext = createTaskContext(),
): Promise<TaskList<z.output<typeof multiresMeshMergeTask.schema>>> {
  const storage = ctx.storage(layer);
  if (!(await storage.exists("info"))) throw new InfoNotFoundError(`${storage.url}/info`);
  const vol0 = await Volume.open(layer, { storage });
  const meshDir =
    options.meshDir ??
    (typeof vol0.info.mesh === "string" && !options.convertFrom ? vol0.info.mesh : "mesh");
  const sourceDir = options.convertFrom ?? meshDir;
  const source = await MeshLayer.open(layer, { meshDir: sourceDir, storage });
  const existing = await source.storage.getJson<Record<string, unknown>>("info").catch(() => null);
  const mip = typeof existing?.mip === "number" ? existing.mip : 0;
  const vol = mip === 0 ? vol0 : await Volume.open(layer, { mip, storage });
  const res: Trio = [vol.resolution[0], vol.resolution[1], vol.resolution[2]];
  const minRes = Math.min(...res);
  const cells: Trio = options.cellShape
    ? [...options.cellShape]
    : (res.map((r) => Math.max(1, Math.round((64 * minRes) / r))) as Trio);
  const chunkShape = cells.map((c, a) => c * res[a]) as Trio;
  // One cell below the dataset corner: closed meshes reach past the edge
  // (half a voxel, plus what simplification moves them).
  const gridOrigin = vol.scale.voxelOffset.map((o, a) => o * res[a] - chunkShape[a]) as Trio;
  const sharded = options.sharded === true || options.sharding !== undefined;
  let sharding: ShardingSpec | undefined = options.sharding;
  if (sharded && sharding === undefined) {
    const names: string[] = [];
    const ids = new Set<string>();
    for await (const key of source.storage.list("", { recursive: false })) {
      if (options.convertFrom) {
        const m = /^(\d+):0$/.exec(key);
        if (m) ids.add(m[1]);
      } else {
        const f = parseFragmentName(key);
        if (f !== null && f.lod === 0) {
          ids.add(f.id);
          names.push(key);
        }
      }
    }
    sharding = multiresShardingSpec(
      ids.size,
      await estimateBytes(source.storage, names),
      options.shardBytes,
    );
  }
  if (sharding && (sharding.data_encoding ?? "raw") !== "raw")
    throw new TypeError(
      `multiresolution mesh shards need data_encoding "raw" (fragments are read by byte range), got "${sharding.data_encoding}"`,
    );
  const bits = options.bits ?? 10;
  const info = {
    ...multiresMeshInfo({ bits, sharding }),
    mip,
  };
  const out = ctx.storage(layer).child(meshDir);
  await out.put("info", JSON.stringify(info), {
    contentType: "application/json",
    cacheControl: "no-cache",
  });
  if (vol0.info.mesh !== meshDir) {
    vol0.info.mesh = meshDir;
    await vol0.commitInfo();
  }
  const base = {
    layer,
    meshDir,
    sourceDir: sourceDir === meshDir ? undefined : sourceDir,
    source: options.convertFrom ? ("manifests" as const) : ("fragments" as const),
    chunkShape,
    gridOrigin,
    bits,
    maxLods: options.maxLods ?? 8,
    lodError: options.lodError ?? 40,
    concurrency: 2,
    prefix: "",
  };
  if (sharding) {
    const per = Math.max(1, options.shardsPerTask ?? 1);
    const groups: number[][] = [];
    for (let s = 0; s < 2 ** sharding.shard_bits; s += per)
      groups.push(
        Array.from({ length: Math.min(per, 2 ** sharding.shard_bits - s) }, (_, i) => s + i),
      );
    return taskList(groups, (shards) => multiresMeshMergeTask.payload({ ...base, shards }));
  }
  const magnitude = options.magnitude ?? 0;
  const prefixes = magnitude > 0 ? manifestPrefixes(magnitude) : [""];
  return taskList(prefixes, (prefix) => multiresMeshMergeTask.payload({ ...base, prefix }));
}
