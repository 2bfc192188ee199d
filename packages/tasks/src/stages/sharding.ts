/**
 * Sharded outputs of the stages (ingest, downsample, transfer): the options
 * they share and how the scale they write gets its sharding. Tasks are then
 * tiled by the plan's task shape, so each writes whole shards with one put
 * per shard file and never reads a shard back (Igneous'
 * ImageShardTransferTask / ImageShardDownsampleTask model).
 */
import {
  type DataType,
  type ImageShardingPlan,
  type InfoJSON,
  planImageSharding,
  type ScaleJSON,
  type ShardingSpec,
  ShardPlanError,
  type Vec3,
} from "@ngpipe/precomputed";

/** Options of the stages that can write a sharded scale. */
export interface ShardedOutputOptions {
  /**
   * Write the scale sharded (`neuroglancer_uint64_sharded_v1`), with a spec
   * from {@link planImageSharding}; each task writes whole shards. `false`
   * (transfer only) writes it unsharded. Default: as the scale already is,
   * else unsharded.
   */
  sharded?: boolean;
  /**
   * Target uncompressed bytes of one shard. Default: the largest shard whose
   * task fits the memory target, at most Igneous' 3.5 GB.
   */
  shardBytes?: number;
  /**
   * An explicit sharding spec instead of the planned one (implies
   * `sharded`). A spec whose shards are not boxes (murmurhash3) is written
   * by one task for the whole scale, which must then fit the memory target.
   */
  sharding?: ShardingSpec;
}

/** Whether the options ask for a sharded output. */
export function wantsSharded(o: ShardedOutputOptions): boolean {
  return o.sharded === true || o.sharding !== undefined;
}

/** Arguments of {@link shardScale} beyond the stage options. */
export interface ShardScaleContext {
  /** URL of the layer written, for messages. */
  url: string;
  /** Whether this stage created the scale (false: it was in the layer already). */
  fresh: boolean;
  /** Voxels a task reads per voxel it writes (1, or the downsampling factor's product). */
  readFactor: number;
  /** Bytes one task may hold. */
  memoryTarget?: number;
}

/**
 * Plans the sharding of scale `s` of `info` and sets `s.sharding` (in place).
 * A scale that existed keeps its spec (so a rerun tiles the same shards);
 * one that exists unsharded is refused, since its chunk files would stay
 * beside the new shard files. Throws `ShardPlanError` / `ShardMemoryError`
 * naming the scale and the field to change.
 */
export function shardScale(
  info: InfoJSON,
  s: ScaleJSON,
  o: ShardedOutputOptions,
  c: ShardScaleContext,
): ImageShardingPlan {
  if (!c.fresh && !s.sharding) {
    throw new ShardPlanError(
      `exists unsharded in ${c.url}; writing it sharded would leave its chunk files beside the ` +
        "new shard files. Write the sharded scale to another layer (dest), or delete the scale first",
      s.key,
      "sharding",
    );
  }
  if (!c.fresh && o.sharding && JSON.stringify(o.sharding) !== JSON.stringify(s.sharding)) {
    throw new ShardPlanError(
      `exists in ${c.url} with sharding ${JSON.stringify(s.sharding)}, not the one asked for; ` +
        "shards of another spec would not replace its shard files. Delete the scale first",
      s.key,
      "sharding",
    );
  }
  const plan = planImageSharding({
    scale: s.key,
    size: s.size as Vec3,
    chunkSize: s.chunk_sizes[0] as Vec3,
    dataType: info.data_type as DataType,
    numChannels: info.num_channels,
    encoding: s.encoding,
    shardBytes: o.shardBytes,
    memoryTarget: c.memoryTarget,
    readFactor: c.readFactor,
    spec: o.sharding ?? (c.fresh ? undefined : s.sharding),
  });
  s.sharding = plan.spec;
  return plan;
}

/**
 * Refuses to drop the sharding of a scale that exists sharded (its shard
 * files would stay beside the new chunk files), then removes it.
 */
export function unshardScale(s: ScaleJSON, c: { url: string; fresh: boolean }): void {
  if (!c.fresh && s.sharding) {
    throw new ShardPlanError(
      `exists sharded in ${c.url}; writing it unsharded would leave its shard files beside the ` +
        "new chunk files. Write to another layer, or delete the scale first",
      s.key,
      "sharding",
    );
  }
  delete s.sharding;
}
