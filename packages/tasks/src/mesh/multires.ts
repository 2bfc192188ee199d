/**
 * The multi-resolution mesh merge stage (`ngpipe mesh merge --multires`)
 * and the legacy-to-multires conversion (`ngpipe mesh convert`).
 *
 * Meshing (`createMeshingTasks(layer, { format: "multires" })`) writes the
 * same per-block fragments `<id>:0:<bbox>` as legacy meshing, under a
 * `neuroglancer_multilod_draco` info, but in bucket directories
 * `fragments/<bucket>/` (the skeleton forge's bucketing: low bits of the
 * id's murmurhash, so the shard of an id follows from its bucket) and a
 * forge manifest `fragments/manifest.json`. A merge task lists only the
 * buckets its objects can be in, then takes objects one at a time: it reads an object's fragments, and a kernel in the worker
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
  splitU64,
  Volume,
} from "@ngpipe/precomputed";
import { forEachLimit, type Storage } from "@ngpipe/storage";
import { z } from "zod";
import { createTaskContext, type TaskContext } from "../runtime/context";
import { defineTask } from "../runtime/define";
import {
  bucketOf,
  FRAGMENT_MANIFEST,
  type FragmentManifest,
  fragmentKey,
  fragmentManifestSchema,
} from "../skeletons/fragments";
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
    /** Unsharded, flat fragment layout: objects whose ids start with this ("" = all). */
    prefix: z.string().default(""),
    /**
     * Bucketed fragment layout (the multiresolution forge's): the buckets
     * `fragments/<bucket>/` this task lists, and log2 of the forge's bucket count.
     */
    buckets: z.array(z.number().int().min(0)).optional(),
    bucketBits: z.number().int().min(0).max(16).optional(),
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
    const objects =
      p.buckets !== undefined && p.bucketBits !== undefined
        ? fragmentGetters(await listBuckets(source, p.buckets, p.bucketBits, ctx.signal))
        : await listObjects(source, p.source, p.prefix);
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
  if (kind === "fragments") return fragmentGetters(await source.listFragments(prefix));
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

function fragmentGetters(byId: Map<string, string[]>): Map<string, () => Promise<string[]>> {
  return new Map([...byId].map(([id, names]) => [id, async () => names]));
}

/**
 * The lod 0 fragments in some buckets of the forge's layout, by object id
 * (keys sorted). A fragment that a forge with another bucket count left in
 * a bucket directory is not that bucket's, and is skipped.
 */
async function listBuckets(
  source: MeshLayer,
  buckets: readonly number[],
  bits: number,
  signal?: AbortSignal,
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const scratch = new Uint32Array(2);
  for (const bucket of buckets) {
    const prefix = fragmentKey(bucket, "");
    for await (const key of source.storage.list(prefix, { signal })) {
      const f = parseFragmentName(key.slice(prefix.length));
      if (f === null || f.lod !== 0) continue;
      if (bucketOf(...splitU64(BigInt(f.id)), bits, scratch) !== bucket) continue;
      let list = out.get(f.id);
      if (!list) out.set(f.id, (list = []));
      list.push(key);
    }
  }
  for (const list of out.values()) list.sort();
  return out;
}

/**
 * The forge's bucketing (`fragments/manifest.json` in the fragment
 * directory), or null for the flat layout older forges wrote (`<id>:0:<bbox>`
 * at the top, listed whole by every task).
 */
async function readForgeManifest(source: MeshLayer): Promise<FragmentManifest | null> {
  const json = await source.storage.getJson(FRAGMENT_MANIFEST);
  if (json === null) return null;
  const r = fragmentManifestSchema.safeParse(json);
  if (!r.success)
    throw new MeshDecodeError(
      `not a forge manifest: ${r.error.issues[0].message}`,
      `${source.url}/${FRAGMENT_MANIFEST}`,
    );
  return r.data;
}

/**
 * The buckets (of `2^bits`) that can hold objects of `shard`: those whose
 * hash bits agree with the shard number's where the two overlap. Every
 * bucket when the spec does not hash ids with murmurhash3 unshifted, or
 * when its shard bits lie above the bucket bits.
 */
export function bucketsOfShard(shard: number, spec: ShardingSpec, bits: number): number[] {
  const all = Array.from({ length: 2 ** bits }, (_, b) => b);
  if (spec.hash !== "murmurhash3_x86_128" || spec.preshift_bits !== 0) return all;
  const lo = spec.minishard_bits;
  const hi = Math.min(bits, lo + spec.shard_bits);
  if (hi <= lo) return all;
  const mask = 2 ** (hi - lo) - 1;
  return all.filter((b) => (Math.floor(b / 2 ** lo) & mask) === (shard & mask));
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
  /**
   * Unsharded, flat fragment layout or conversion: split by id prefix with
   * this many leading digits (0 = one task). Default 0. (Bucketed fragments
   * get one task per bucket.)
   */
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

/** Bytes of `names`, from the sizes of a sample of them scaled to all. */
async function estimateBytes(storage: Storage, names: readonly string[]): Promise<number> {
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

/** Buckets listed to estimate the objects of a bucketed forge. */
const SAMPLE_BUCKETS = 8;
/** Legacy objects whose manifests are read to estimate the bytes of a conversion. */
const SAMPLE_OBJECTS = 16;

/**
 * How many objects a merge will write and about how many bytes of
 * fragments they have (what the shard spec is sized from):
 *
 * - bucketed forge: a sample of the buckets listed (ids hash uniformly
 *   into them), scaled to all of them;
 * - flat forge: the whole directory listed;
 * - conversion: the legacy manifests listed, and the fragments of a
 *   sample of them sized, scaled to all objects.
 */
async function estimateObjects(
  source: MeshLayer,
  forge: FragmentManifest | null,
  convert: boolean,
): Promise<{ objects: number; bytes: number }> {
  const storage = source.storage;
  if (forge) {
    const n = 2 ** forge.bucketBits;
    const count = Math.min(n, SAMPLE_BUCKETS);
    const sample = Array.from({ length: count }, (_, i) => Math.floor((i * n) / count));
    const byId = await listBuckets(source, sample, forge.bucketBits);
    const names = [...byId.values()].flat();
    return {
      objects: Math.round((byId.size * n) / count),
      bytes: ((await estimateBytes(storage, names)) * n) / count,
    };
  }
  if (!convert) {
    const byId = await source.listFragments("");
    return {
      objects: byId.size,
      bytes: await estimateBytes(storage, [...byId.values()].flat()),
    };
  }
  const ids: string[] = [];
  for await (const key of storage.list("", { recursive: false })) {
    const m = /^(\d+):0$/.exec(key);
    if (m) ids.push(m[1]);
  }
  if (ids.length === 0) return { objects: 0, bytes: 0 };
  const step = Math.max(1, Math.floor(ids.length / SAMPLE_OBJECTS));
  let bytes = 0;
  let n = 0;
  for (let i = 0; i < ids.length; i += step) {
    const names = (await source.manifest(BigInt(ids[i]))) ?? [];
    bytes += await estimateBytes(storage, names);
    n++;
  }
  return { objects: ids.length, bytes: (bytes / n) * ids.length };
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
 * and the layer info's `mesh`, then returns the merge tasks: one per group
 * of shards (sharded), else one per fragment bucket (or, for the flat
 * layout of older forges and for conversions, one per id prefix). With
 * `convertFrom`, the objects are read from a legacy mesh directory's
 * manifests.
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
  const forge = options.convertFrom ? null : await readForgeManifest(source);
  let sharding: ShardingSpec | undefined = options.sharding;
  if (sharded && sharding === undefined) {
    const { objects, bytes } = await estimateObjects(
      source,
      forge,
      options.convertFrom !== undefined,
    );
    sharding = multiresShardingSpec(objects, bytes, options.shardBytes);
    // Each shard a set of whole buckets where the buckets allow it, so that
    // a task lists only its shard's buckets.
    if (forge)
      sharding.minishard_bits = Math.min(
        sharding.minishard_bits,
        Math.max(0, forge.bucketBits - sharding.shard_bits),
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
    const spec = sharding;
    const per = Math.max(1, options.shardsPerTask ?? 1);
    const groups: number[][] = [];
    for (let s = 0; s < 2 ** spec.shard_bits; s += per)
      groups.push(Array.from({ length: Math.min(per, 2 ** spec.shard_bits - s) }, (_, i) => s + i));
    return taskList(groups, (shards) =>
      multiresMeshMergeTask.payload({
        ...base,
        shards,
        ...(forge && {
          bucketBits: forge.bucketBits,
          buckets: [
            ...new Set(shards.flatMap((s) => bucketsOfShard(s, spec, forge.bucketBits))),
          ].sort((a, b) => a - b),
        }),
      }),
    );
  }
  if (forge) {
    const buckets = Array.from({ length: 2 ** forge.bucketBits }, (_, b) => b);
    return taskList(buckets, (bucket) =>
      multiresMeshMergeTask.payload({ ...base, bucketBits: forge.bucketBits, buckets: [bucket] }),
    );
  }
  const magnitude = options.magnitude ?? 0;
  const prefixes = magnitude > 0 ? manifestPrefixes(magnitude) : [""];
  return taskList(prefixes, (prefix) => multiresMeshMergeTask.payload({ ...base, prefix }));
}
