/**
 * The skeleton merge (Igneous' UnshardedSkeletonMergeTask and
 * ShardedSkeletonMergeTask, with bounded memory): each task owns whole
 * buckets of fragments — one bucket unsharded, the buckets of one shard
 * sharded — and reads them one bucket at a time: list the bucket's files,
 * group the fragments by object, merge each object (weld on shared faces,
 * spanning forest, dust, ticks) in the worker pool, and write. A sharded
 * task keeps only the merged skeletons of its shard until it writes the
 * shard file whole. The spec is chosen from the fragments' census so one
 * task fits the memory target, and the shard of an id is a function of its
 * bucket, so no task reads another's fragments.
 */
import {
  Bbox,
  computeHashedShardingSpec,
  type EncodedSkeleton,
  joinU64,
  type ShardingSpec,
  SkeletonLayer,
  skeletonInfo,
  Volume,
} from "@ngpipe/precomputed";
import type { SkeletonGraph } from "@ngpipe/segmentation";
import { forEachLimit, type Storage } from "@ngpipe/storage";
import { z } from "zod";
import { labelsKernels } from "../labels-kernel-module";
import { createTaskContext, type TaskContext } from "../runtime/context";
import { defineTask } from "../runtime/define";
import { StageInputError } from "../stages/checks";
import { formatBytes } from "../stages/common";
import { type TaskList, taskList, tileBox } from "../tiling";
import { requireSegmentation, skeletonDirOf } from "./forge";
import {
  censusKey,
  FRAGMENT_MANIFEST,
  type FragmentCensus,
  type FragmentManifest,
  fragmentManifestSchema,
  isTileOf,
  SkeletonFragmentsError,
  unpackFragments,
} from "./fragments";

/** A sharding (given or planned) that cannot hold the layer's skeletons; `field` names what to change. */
export class SkeletonShardingError extends StageInputError {
  override name = "SkeletonShardingError";
}

/**
 * Bytes a merge task holds per byte of fragments it reads at once: the
 * packed files, the fragments grouped by object, their copy in the worker
 * and the merged result.
 */
export const MERGE_BUCKET_FACTOR = 4;

/**
 * Bytes a sharded merge task holds per byte of fragments of its shard: the
 * merged skeletons it keeps until the end, their encoding and the shard
 * file built from them (merged skeletons are at most the size of their
 * fragments). Measured: 10^4 objects, 412 MB of fragments in one shard,
 * peaked at 1.09 GB (bench/RESULTS.md).
 */
export const MERGE_SHARD_FACTOR = 3;

/** The merge's task: the buckets it owns, merged and written. */
export const skeletonMergeTask = defineTask({
  name: "skeleton-merge",
  params: z.object({
    layer: z.string(),
    skeletonDir: z.string().default("skeletons"),
    /** The buckets this task owns. */
    buckets: z.array(z.number().int().min(0)),
    /** Pieces with less cable (nm) are dropped. */
    dustThreshold: z.number().min(0).default(1000),
    /** Terminal branches shorter than this (nm) are pruned. */
    tickThreshold: z.number().min(0).default(3500),
    /** Set when the output is sharded: the task's buckets make whole shards. */
    sharded: z.boolean().default(false),
  }),
  async run(p, ctx: TaskContext) {
    const dirUrl = `${p.layer}/${p.skeletonDir}`;
    const store = ctx.storage(dirUrl);
    const manifest = await readManifest(store);
    const layer = await SkeletonLayer.open(dirUrl, { storage: store });
    const held: [bigint, EncodedSkeleton][] = [];
    let objects = 0;
    for (const bucket of p.buckets) {
      const merged = await mergeBucket(store, manifest, bucket, p, ctx);
      objects += merged.length;
      if (p.sharded) held.push(...merged);
      else await layer.putMany(merged, { signal: ctx.signal });
      ctx.progress(1);
    }
    if (p.sharded && held.length > 0) await layer.putMany(held, { signal: ctx.signal });
    return { objects };
  },
});

async function readManifest(store: Storage): Promise<FragmentManifest> {
  const json = await store.getJson(FRAGMENT_MANIFEST);
  if (json === null)
    throw new SkeletonFragmentsError(
      `${store.url}/${FRAGMENT_MANIFEST} is missing: run the skeleton forge on the layer first`,
    );
  const r = fragmentManifestSchema.safeParse(json);
  if (!r.success)
    throw new SkeletonFragmentsError(
      `${store.url}/${FRAGMENT_MANIFEST} is not a forge manifest: ${r.error.issues[0].message}`,
    );
  return r.data;
}

/** One bucket's objects merged: [id, skeleton] for each object that survives dust. */
async function mergeBucket(
  store: Storage,
  manifest: FragmentManifest,
  bucket: number,
  p: { dustThreshold: number; tickThreshold: number },
  ctx: TaskContext,
): Promise<[bigint, EncodedSkeleton][]> {
  const prefix = `fragments/${bucket}/`;
  const keys: string[] = [];
  for await (const key of store.list(prefix, { signal: ctx.signal }))
    if (isTileOf(manifest, key.slice(prefix.length))) keys.push(key);
  keys.sort();
  const byId = new Map<bigint, SkeletonGraph[]>();
  const files: { key: string; bytes: Uint8Array }[] = [];
  await forEachLimit(keys, 16, async (key) => {
    const bytes = await store.get(key, { signal: ctx.signal });
    if (bytes === null) throw new SkeletonFragmentsError(`${store.url}/${key} vanished while read`);
    files.push({ key, bytes });
  });
  // Fragments in key order, whatever order the reads finished in: the merge is then deterministic.
  files.sort((a, b) => (a.key < b.key ? -1 : 1));
  for (const { key, bytes } of files) {
    for (const f of unpackFragments(bytes, `${store.url}/${key}`)) {
      const id = joinU64(f.lo, f.hi);
      let list = byId.get(id);
      if (!list) byId.set(id, (list = []));
      list.push(f.skeleton);
    }
  }
  files.length = 0;
  const ids = [...byId.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const merged = await ctx.runKernel<SkeletonGraph[]>(
    labelsKernels(),
    "mergeSkeletonBatch",
    [
      ids.map((id) => byId.get(id) as SkeletonGraph[]),
      {
        resolution: manifest.resolution,
        dust: p.dustThreshold,
        tickThreshold: p.tickThreshold,
      },
    ],
    { signal: ctx.signal },
  );
  const out: [bigint, EncodedSkeleton][] = [];
  merged.forEach((s, i) => {
    if (s.radii.length === 0) return;
    out.push([ids[i], { vertices: s.vertices, edges: s.edges, attributes: { radius: s.radii } }]);
  });
  return out;
}

/** Options of {@link createSkeletonMergeTasks}. */
export interface SkeletonMergeOptions {
  /** Skeleton directory (default: the info's `skeletons`, else "skeletons"). */
  skeletonDir?: string;
  /** Write sharded skeletons (a spec planned from the fragments' census). */
  sharded?: boolean;
  /** Use this sharding spec instead of planning one (implies sharded). */
  sharding?: ShardingSpec;
  /** Pieces with less cable (nm) are dropped (default 1000). */
  dustThreshold?: number;
  /** Terminal branches shorter than this (nm) are pruned (default 3500). */
  tickThreshold?: number;
  /** Bytes one merge task may hold (default 1e9). */
  memory?: number;
}

/** What the census of the fragments found. */
interface Census {
  fragments: number;
  bytes: number;
}

async function readCensus(store: Storage, manifest: FragmentManifest, signal?: AbortSignal) {
  const total: Census = { fragments: 0, bytes: 0 };
  const region = Bbox.parseChunkName(manifest.bounds);
  await forEachLimit(
    tileBox(region, manifest.shape as [number, number, number], {
      origin: manifest.origin as [number, number, number],
    }),
    32,
    async (box) => {
      const key = censusKey(box.toChunkName());
      const c = (await store.getJson(key, { signal })) as FragmentCensus | null;
      if (c === null)
        throw new SkeletonFragmentsError(
          `${store.url}/${key} is missing: the forge has not finished block ${box.toChunkName()} (run its tasks to the end first)`,
        );
      total.fragments += c.fragments;
      total.bytes += c.bytes;
    },
    { signal },
  );
  return total;
}

/**
 * The shard plan: shard bits so one shard's merged skeletons plus one
 * bucket's fragments fit `memory`, no fewer shards than the count of ids
 * asks for, and minishard bits so that minishard + shard bits stay within
 * the buckets' bits (every shard is a set of whole buckets).
 */
export function planSkeletonSharding(
  census: Census,
  bucketBits: number,
  memory: number,
): ShardingSpec {
  const byCount = computeHashedShardingSpec(census.fragments);
  const bucketBytes = (MERGE_BUCKET_FACTOR * census.bytes) / 2 ** bucketBits;
  let shardBits = byCount.shard_bits;
  while (
    (MERGE_SHARD_FACTOR * census.bytes) / 2 ** shardBits + bucketBytes > memory &&
    shardBits < 64
  )
    shardBits++;
  if (shardBits > bucketBits)
    throw new SkeletonShardingError(
      `${formatBytes(census.bytes)} of fragments need 2^${shardBits} shards to merge within ${formatBytes(memory)}, but the forge made only 2^${bucketBits} buckets; forge again with --buckets ${2 ** shardBits} or more, or raise --memory`,
      "memory",
    );
  return {
    ...byCount,
    shard_bits: shardBits,
    minishard_bits: Math.min(byCount.minishard_bits, bucketBits - shardBits),
  };
}

/** Refuse a given spec the buckets cannot feed, or whose shards would not fit `memory`. */
function checkSharding(spec: ShardingSpec, census: Census, bucketBits: number, memory: number) {
  if (spec.hash !== "murmurhash3_x86_128" || spec.preshift_bits !== 0)
    throw new SkeletonShardingError(
      `sharding: skeletons are keyed by segment id with hash murmurhash3_x86_128 and preshift_bits 0, got ${spec.hash} and ${spec.preshift_bits}`,
      "sharding.hash",
    );
  if (spec.minishard_bits + spec.shard_bits > bucketBits)
    throw new SkeletonShardingError(
      `sharding: minishard_bits + shard_bits = ${spec.minishard_bits + spec.shard_bits} exceeds the forge's 2^${bucketBits} buckets; forge again with --buckets ${2 ** (spec.minishard_bits + spec.shard_bits)} or more`,
      "sharding.shard_bits",
    );
  const needed =
    (MERGE_SHARD_FACTOR * census.bytes) / 2 ** spec.shard_bits +
    (MERGE_BUCKET_FACTOR * census.bytes) / 2 ** bucketBits;
  if (needed > memory)
    throw new SkeletonShardingError(
      `sharding: one of 2^${spec.shard_bits} shards of ${formatBytes(census.bytes)} of fragments needs about ${formatBytes(needed)}, more than the memory target ${formatBytes(memory)}; raise shard_bits or --memory`,
      "sharding.shard_bits",
    );
}

/**
 * Check the forge's fragments (every block done), write the skeleton info
 * (sharded or not) and the layer info's `skeletons`, and return the merge
 * tasks: one per bucket unsharded, one per shard sharded.
 *
 * ```ts
 * const tasks = await createSkeletonMergeTasks("gs://lab/seg", { sharded: true, memory: 1e9 });
 * ```
 */
export async function createSkeletonMergeTasks(
  layer: string,
  options: SkeletonMergeOptions = {},
  ctx: TaskContext = createTaskContext(),
): Promise<TaskList<z.output<typeof skeletonMergeTask.schema>>> {
  const vol = await Volume.open(layer, { storage: ctx.storage(layer) });
  requireSegmentation(vol);
  const skeletonDir = skeletonDirOf(vol.info as Record<string, unknown>, options.skeletonDir);
  const dirUrl = `${vol.url}/${skeletonDir}`;
  const store = ctx.storage(dirUrl);
  const manifest = await readManifest(store);
  const memory = options.memory ?? 1e9;
  const census = await readCensus(store, manifest, ctx.signal);
  const bits = manifest.bucketBits;
  const sharded = options.sharded || options.sharding !== undefined;
  let groups: number[][];
  let sharding: ShardingSpec | undefined;
  if (sharded) {
    sharding = options.sharding ?? planSkeletonSharding(census, bits, memory);
    checkSharding(sharding, census, bits, memory);
    const m = sharding.minishard_bits;
    const mask = 2 ** sharding.shard_bits - 1;
    groups = Array.from({ length: 2 ** sharding.shard_bits }, () => []);
    for (let b = 0; b < 2 ** bits; b++) groups[Math.floor(b / 2 ** m) & mask].push(b);
  } else {
    const needed = (MERGE_BUCKET_FACTOR * census.bytes) / 2 ** bits;
    if (needed > memory)
      throw new SkeletonShardingError(
        `one of 2^${bits} buckets of ${formatBytes(census.bytes)} of fragments needs about ${formatBytes(needed)}, more than the memory target ${formatBytes(memory)}; forge again with more --buckets, or raise --memory`,
        "memory",
      );
    groups = Array.from({ length: 2 ** bits }, (_, b) => [b]);
  }
  // The skeleton info keeps keys it does not know (e.g. segment_properties).
  const old = (await store.getJson("info")) as Record<string, unknown> | null;
  const info = skeletonInfo({ sharding });
  const extra = old && typeof old === "object" ? old : {};
  delete extra.sharding;
  await SkeletonLayer.create(dirUrl, { ...extra, ...info }, { storage: store });
  if (vol.info.skeletons !== skeletonDir) {
    vol.info.skeletons = skeletonDir;
    await vol.commitInfo();
  }
  return taskList(groups, (buckets) =>
    skeletonMergeTask.payload({
      layer: vol.url,
      skeletonDir,
      buckets,
      dustThreshold: options.dustThreshold ?? 1000,
      tickThreshold: options.tickThreshold ?? 3500,
      sharded,
    }),
  );
}
