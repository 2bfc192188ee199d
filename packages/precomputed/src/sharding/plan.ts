/**
 * Planning the sharding of a scale that a stage writes: the spec (from a
 * target shard size, Igneous' `create_sharded_image_info` rule), the box one
 * shard-aligned task writes, and the memory such a task holds, checked
 * against a memory target before anything is written.
 */
import type { DataType } from "../dtypes";
import { bytesPerVoxel } from "../dtypes";
import type { Vec3 } from "../geometry/vec3";
import { ShardSpecError } from "./errors";
import { computeImageShardingSpec, imageShardShape, shardsAreBoxes } from "./params";
import { type ShardingSpec, validateShardingSpec } from "./spec";

/** Igneous' memory target per task (`MEMORY_TARGET`), also its uncompressed shard size: 3.5 GB. */
export const DEFAULT_SHARD_MEMORY = 3.5e9;

/**
 * Buffers a shard task holds besides the voxels it reads, in units of the
 * shard's uncompressed bytes: the shard's voxels, its encoded chunks, the
 * chunks after `data_encoding` and the assembled shard file (encoded sizes
 * counted at the uncompressed size, their bound for incompressible data).
 */
export const SHARD_TASK_BUFFERS = 4;

/**
 * A sharding plan that cannot work: names the scale and the option or
 * sharding field to change (`shardBytes`, `memoryTarget`, `sharding.hash`, ...).
 */
export class ShardPlanError extends ShardSpecError {
  override name = "ShardPlanError";
  constructor(
    message: string,
    /** Key of the scale planned, e.g. `8_8_40`. */
    readonly scale: string,
    /** The option or info field at fault. */
    readonly field: string,
  ) {
    super(`scale ${scale}: ${field}: ${message}`);
  }
}

/** A shard task that would hold more than the memory target. */
export class ShardMemoryError extends ShardPlanError {
  override name = "ShardMemoryError";
  constructor(
    message: string,
    scale: string,
    field: string,
    /** Bytes one task would hold. */
    readonly needed: number,
    /** The memory target in bytes. */
    readonly target: number,
  ) {
    super(message, scale, field);
  }
}

/** Arguments of {@link planImageSharding}. */
export interface ImageShardingPlanOptions {
  /** Key of the scale, for messages. */
  scale: string;
  /** Scale size in voxels. */
  size: Vec3;
  /** Chunk size of the scale. */
  chunkSize: Vec3;
  dataType: DataType;
  numChannels: number;
  /** Chunk encoding (jpeg and png data is stored with `data_encoding` raw). */
  encoding: string;
  /**
   * Target uncompressed bytes of one shard. Default: the largest shard whose
   * task fits `memoryTarget`, at most Igneous' 3.5 GB.
   */
  shardBytes?: number;
  /** Bytes one shard task may hold. Default {@link DEFAULT_SHARD_MEMORY}. */
  memoryTarget?: number;
  /**
   * Voxels the task reads per voxel it writes: 1 for ingest and transfer,
   * the product of the factor for a downsample (4 for 2x2x1). Default 1.
   */
  readFactor?: number;
  /**
   * A spec to check instead of computing one. A spec whose shards are not
   * boxes of the scale (a murmurhash3 hash, too few bits) is written by one
   * task for the whole scale, so the whole scale must fit the memory target.
   */
  spec?: ShardingSpec;
}

/** What {@link planImageSharding} chose. */
export interface ImageShardingPlan {
  spec: ShardingSpec;
  /**
   * The box one task writes, in voxels, from the scale's voxel offset: one
   * shard for a spatial spec, the whole scale (rounded up to chunks) otherwise.
   */
  taskShape: Vec3;
  /** Whether each shard file holds one box of `taskShape` (identity hash, enough bits). */
  spatial: boolean;
  /** Uncompressed bytes of the voxels of one whole task box. */
  shardBytes: number;
  /** Bytes one task holds: `shardBytes * (readFactor + SHARD_TASK_BUFFERS)`. */
  taskMemory: number;
}

function gridOf(size: Vec3, chunk: Vec3): Vec3 {
  return [
    Math.ceil(size[0] / chunk[0]),
    Math.ceil(size[1] / chunk[1]),
    Math.ceil(size[2] / chunk[2]),
  ];
}

function gb(n: number): string {
  return `${(n / 1e9).toFixed(3)} GB`;
}

/**
 * Plan the sharding of a scale written by shard-aligned tasks (each task
 * writes whole shards and never reads one back): computes the spec from
 * `shardBytes` as Igneous' `create_sharded_image_info` does (identity hash
 * over compressed Morton codes, preshift bits so a shard is a box of whole
 * chunks, minishards of at most a few thousand chunks, gzip minishard
 * indexes, gzip data except for jpeg/png) and checks that one task fits
 * `memoryTarget`. The memory rule: a task holds the voxels it reads plus
 * {@link SHARD_TASK_BUFFERS} shard-sized buffers.
 *
 * Throws `ShardPlanError` (naming the scale and the field to change) when
 * `shardBytes` is below one chunk, and `ShardMemoryError` when a task would
 * hold more than `memoryTarget`, saying which shard size would fit.
 *
 * @example
 * const { spec, taskShape } = planImageSharding({ scale: "8_8_40", size: [4096, 4096, 512],
 *   chunkSize: [128, 128, 64], dataType: "uint8", numChannels: 1, encoding: "raw" });
 * // spec.hash === "identity"; each task writes one taskShape box
 */
export function planImageSharding(o: ImageShardingPlanOptions): ImageShardingPlan {
  const memory = o.memoryTarget ?? DEFAULT_SHARD_MEMORY;
  const readFactor = o.readFactor ?? 1;
  const perByte = readFactor + SHARD_TASK_BUFFERS;
  const voxelBytes = bytesPerVoxel(o.dataType) * o.numChannels;
  const chunkBytes = o.chunkSize[0] * o.chunkSize[1] * o.chunkSize[2] * voxelBytes;
  if (!(memory > 0))
    throw new ShardPlanError(`must be more than 0 bytes, got ${memory}`, o.scale, "memoryTarget");
  if (o.shardBytes !== undefined && !(o.shardBytes >= chunkBytes)) {
    throw new ShardPlanError(
      `${o.shardBytes} bytes is less than one chunk (${o.chunkSize.join("x")} x ${voxelBytes} bytes = ` +
        `${chunkBytes} bytes); a shard holds whole chunks: ask for at least ${chunkBytes}`,
      o.scale,
      "shardBytes",
    );
  }
  const grid = gridOf(o.size, o.chunkSize);
  const boxBytes = (shape: Vec3) =>
    [0, 1, 2].reduce((a, i) => a * Math.min(shape[i], grid[i] * o.chunkSize[i]), voxelBytes);
  let spec: ShardingSpec;
  if (o.spec) {
    spec = validateShardingSpec(o.spec);
  } else {
    const target = o.shardBytes ?? Math.min(DEFAULT_SHARD_MEMORY, Math.floor(memory / perByte));
    if (target < chunkBytes) {
      const need = chunkBytes * perByte;
      throw new ShardMemoryError(
        `one chunk (${chunkBytes} bytes) per shard needs ${gb(need)} per task ` +
          `(reads ${readFactor}x a shard, holds ${SHARD_TASK_BUFFERS} shard-sized buffers), above the ` +
          `memory target of ${gb(memory)}; raise memoryTarget to at least ${need} or use smaller chunks`,
        o.scale,
        "memoryTarget",
        need,
        memory,
      );
    }
    spec = computeImageShardingSpec({
      size: o.size,
      chunkSize: o.chunkSize,
      bytesPerVoxel: voxelBytes,
      encoding: o.encoding,
      uncompressedShardBytes: target,
    });
  }
  const spatial = shardsAreBoxes(spec, o.size, o.chunkSize);
  const taskShape: Vec3 = spatial
    ? imageShardShape(spec, o.size, o.chunkSize)
    : [grid[0] * o.chunkSize[0], grid[1] * o.chunkSize[1], grid[2] * o.chunkSize[2]];
  const shardBytes = boxBytes(taskShape);
  const taskMemory = shardBytes * perByte;
  if (taskMemory > memory) {
    if (!spatial) {
      throw new ShardMemoryError(
        `a ${spec.hash} spec with preshift ${spec.preshift_bits}, minishard ${spec.minishard_bits} and ` +
          `shard ${spec.shard_bits} bits spreads chunks from across the scale over its shard files, so ` +
          `one task must write the whole scale (${gb(taskMemory)}), above the memory target of ` +
          `${gb(memory)}; use an identity hash with enough bits (leave the spec to the planner) ` +
          `or raise memoryTarget to at least ${taskMemory}`,
        o.scale,
        "sharding.hash",
        taskMemory,
        memory,
      );
    }
    const fit = Math.floor(memory / perByte);
    throw new ShardMemoryError(
      `shards of ${taskShape.join("x")} voxels (${gb(shardBytes)}) need ${gb(taskMemory)} per task ` +
        `(reads ${readFactor}x a shard, holds ${SHARD_TASK_BUFFERS} shard-sized buffers), above the ` +
        `memory target of ${gb(memory)}; ask for shardBytes of at most ${fit} or raise ` +
        `memoryTarget to at least ${taskMemory}`,
      o.scale,
      o.spec ? "sharding" : "shardBytes",
      taskMemory,
      memory,
    );
  }
  return { spec, taskShape, spatial, shardBytes, taskMemory };
}
