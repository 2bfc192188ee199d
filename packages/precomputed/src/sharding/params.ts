/**
 * Choosing sharding parameters the way CloudVolume/Igneous do:
 * `compute_shard_params_for_hashed` (meshes, skeletons: ids spread by
 * murmurhash) and `compute_shard_params_for_image` (image chunks keyed by
 * compressed Morton code, identity hash, so a shard is a rectangular block of
 * chunks).
 */
import type { Vec3 } from "../geometry/vec3";
import { ShardSpecError } from "./errors";
import { mortonPlan } from "./morton";
import type { ShardEncoding, ShardingSpec } from "./spec";
import { validateShardingSpec } from "./spec";

/** Options of {@link computeHashedShardingSpec}. */
export interface HashedShardingOptions {
  /** Target shard index size (default 2^13 bytes). */
  shardIndexBytes?: number;
  /** Target minishard index size (default 2^15 bytes). */
  minishardIndexBytes?: number;
  /** At least this many shard files (default 1). */
  minShards?: number;
  /** Default "gzip". */
  minishardIndexEncoding?: ShardEncoding;
  /** Default "gzip". */
  dataEncoding?: ShardEncoding;
}

/**
 * Sharding for `numLabels` objects whose ids are hashed (murmurhash3_x86_128),
 * sized so that shard indexes stay near `shardIndexBytes` and minishard
 * indexes near `minishardIndexBytes` (CloudVolume's
 * `compute_shard_params_for_hashed`, preshift 0).
 */
export function computeHashedShardingSpec(
  numLabels: number,
  opts: HashedShardingOptions = {},
): ShardingSpec {
  const shardIndexBytes = opts.shardIndexBytes ?? 2 ** 13;
  const minishardIndexBytes = opts.minishardIndexBytes ?? 2 ** 15;
  const minShards = opts.minShards ?? 1;
  if (!(minShards >= 1)) throw new ShardSpecError(`minShards must be >= 1, got ${minShards}`);
  let shardBits = 0;
  let minishardBits = 0;
  if (numLabels > 0) {
    const minishardsPerShard = shardIndexBytes / 16;
    const labelsPerMinishard = minishardIndexBytes / 24;
    const labelsPerShard = minishardsPerShard * labelsPerMinishard;
    if (numLabels >= labelsPerShard) {
      minishardBits = Math.ceil(Math.log2(minishardsPerShard));
      shardBits = Math.ceil(Math.log2(numLabels / (labelsPerMinishard * 2 ** minishardBits)));
    } else if (numLabels >= labelsPerMinishard) {
      minishardBits = Math.ceil(Math.log2(numLabels / labelsPerMinishard));
    }
    // Pack shards towards capacity: allow them to run about 10% over.
    if (numLabels / (labelsPerShard * 2 ** shardBits) <= 0.55) shardBits -= 1;
    shardBits = Math.max(shardBits, 0);
    const minShardBits = Math.round(Math.log2(minShards));
    const delta = Math.max(minShardBits - shardBits, 0);
    shardBits = Math.max(shardBits + delta, minShardBits);
    minishardBits = Math.max(minishardBits - delta, 0);
  }
  return validateShardingSpec({
    "@type": "neuroglancer_uint64_sharded_v1",
    preshift_bits: 0,
    hash: "murmurhash3_x86_128",
    minishard_bits: minishardBits,
    shard_bits: shardBits,
    minishard_index_encoding: opts.minishardIndexEncoding ?? "gzip",
    data_encoding: opts.dataEncoding ?? "gzip",
  });
}

/** Options of {@link computeImageShardingSpec}. */
export interface ImageShardingOptions {
  /** Scale size in voxels. */
  size: Vec3;
  /** Chunk size in voxels. */
  chunkSize: Vec3;
  /** Bytes per voxel (all channels), e.g. 1 for uint8, 8 for uint64. */
  bytesPerVoxel: number;
  /** Chunk encoding; jpeg/png/fpzip/... data is not gzipped again. */
  encoding?: string;
  /** Target uncompressed bytes per shard (default 3.5e9). */
  uncompressedShardBytes?: number;
  /** Default 8192. */
  maxShardIndexBytes?: number;
  /** Default 40000. */
  maxMinishardIndexBytes?: number;
  /** Default 4000. */
  maxLabelsPerMinishard?: number;
  /** Default "gzip". */
  minishardIndexEncoding?: ShardEncoding;
  /** Default "gzip" (forced to "raw" for already compressed image encodings). */
  dataEncoding?: ShardEncoding;
}

const PRECOMPRESSED = new Set(["jpeg", "png", "kempressed", "fpzip", "zfpc", "jxl"]);

/**
 * Sharding for an image or segmentation scale, following CloudVolume's
 * `compute_shard_params_for_image`: identity hash over compressed Morton
 * codes, `preshift_bits + minishard_bits` low bits per shard (so a shard is
 * a block of chunks, see {@link imageShardShape}), about
 * `uncompressedShardBytes` of voxels per shard, and indexes kept small.
 */
export function computeImageShardingSpec(o: ImageShardingOptions): ShardingSpec {
  const uncompressed = o.uncompressedShardBytes ?? 3.5e9;
  const maxShardIndexBytes = o.maxShardIndexBytes ?? 8192;
  const maxMinishardIndexBytes = o.maxMinishardIndexBytes ?? 40000;
  const maxLabelsPerMinishard = o.maxLabelsPerMinishard ?? 4000;
  const grid: Vec3 = [
    Math.ceil(o.size[0] / o.chunkSize[0]),
    Math.ceil(o.size[1] / o.chunkSize[1]),
    Math.ceil(o.size[2] / o.chunkSize[2]),
  ];
  const numChunks = grid[0] * grid[1] * grid[2];
  let maxBits = mortonPlan(grid).bits;
  const chunkBytes = o.chunkSize[0] * o.chunkSize[1] * o.chunkSize[2] * o.bytesPerVoxel;

  let chunksPerShard = 2 ** Math.floor(Math.log2(Math.ceil(uncompressed / chunkBytes)));
  if (numChunks < chunksPerShard) chunksPerShard = 2 ** Math.ceil(Math.log2(numChunks));
  let numShards = numChunks / chunksPerShard;

  let shardBits = 0;
  let preshiftBits = 0;
  const updateBits = () => {
    shardBits = Math.ceil(Math.log2(numShards));
    preshiftBits = Math.min(Math.ceil(Math.log2(chunksPerShard)), maxBits - shardBits);
  };
  updateBits();

  // Each chunk is one id: split the chunks of a shard into minishards until
  // each holds few enough, without letting the indexes grow too large.
  let labelsPerMinishard = chunksPerShard;
  let minishardBits = 0;
  while (labelsPerMinishard > maxLabelsPerMinishard) {
    labelsPerMinishard /= 2;
    minishardBits += 1;
    const minishardSize = 24 * labelsPerMinishard;
    const shardIndexSize = 16 * 2 ** minishardBits;
    const tooBig = minishardSize > maxMinishardIndexBytes && minishardBits > preshiftBits;
    if (tooBig || shardIndexSize > maxShardIndexBytes) {
      minishardBits -= 1;
      numShards *= 2;
      updateBits();
    }
  }

  // preshift + minishard bits index the chunks of one shard; the minishard
  // bits are taken from the preshift bits, and what is left of the Morton
  // code's information goes to the shard bits.
  preshiftBits -= minishardBits;
  if (o.size[2] === o.chunkSize[2]) {
    // A single chunk along z (CloudVolume's adjustment for 2-D-like layers).
    const additional = Math.floor(preshiftBits / 3);
    let i = 0;
    while (i < additional) {
      maxBits += 1;
      preshiftBits += 1;
      if (preshiftBits % 3 !== 0) i += 1;
    }
  }
  shardBits = Math.max(maxBits - preshiftBits - minishardBits, 0);
  if (maxBits > 64)
    throw new ShardSpecError(
      `${maxBits} bits would be needed to address the chunks of size [${o.size.join(", ")}] with chunk size [${o.chunkSize.join(", ")}]; use larger chunks`,
    );
  if (preshiftBits < 0)
    throw new ShardSpecError(
      `preshift_bits would be negative (shard ${shardBits}, minishard ${minishardBits}, preshift ${preshiftBits})`,
    );

  const enc = o.encoding?.toLowerCase();
  return validateShardingSpec({
    "@type": "neuroglancer_uint64_sharded_v1",
    preshift_bits: preshiftBits,
    hash: "identity",
    minishard_bits: minishardBits,
    shard_bits: shardBits,
    minishard_index_encoding: o.minishardIndexEncoding ?? "gzip",
    data_encoding: enc && PRECOMPRESSED.has(enc) ? "raw" : (o.dataEncoding ?? "gzip"),
  });
}

/**
 * The block of voxels one shard covers in an image scale with an identity
 * hash: the low `preshift_bits + minishard_bits` bits of the compressed
 * Morton code span 2^a x 2^b x 2^c chunks (bits given to x, y, z in turn
 * while each axis has bits left). Shards start at multiples of this shape
 * from the scale's voxel offset.
 */
export function imageShardShape(spec: ShardingSpec, size: Vec3, chunkSize: Vec3): Vec3 {
  const grid: Vec3 = [
    Math.ceil(size[0] / chunkSize[0]),
    Math.ceil(size[1] / chunkSize[1]),
    Math.ceil(size[2] / chunkSize[2]),
  ];
  const plan = mortonPlan(grid);
  const n = Math.min(spec.preshift_bits + spec.minishard_bits, plan.bits);
  const bits = [0, 0, 0];
  for (let j = 0; j < n; j++) bits[plan.axis[j]]++;
  return [chunkSize[0] * 2 ** bits[0], chunkSize[1] * 2 ** bits[1], chunkSize[2] * 2 ** bits[2]];
}

/**
 * Whether every shard file of `spec` holds exactly the chunks of one
 * aligned box of the scale (see {@link imageShardShape}): an identity hash
 * whose preshift, minishard and shard bits cover the chunk ids' bits.
 */
export function shardsAreBoxes(spec: ShardingSpec, size: Vec3, chunkSize: Vec3): boolean {
  const grid: Vec3 = [
    Math.ceil(size[0] / chunkSize[0]),
    Math.ceil(size[1] / chunkSize[1]),
    Math.ceil(size[2] / chunkSize[2]),
  ];
  const bits = mortonPlan(grid).bits;
  return (
    spec.hash === "identity" && spec.preshift_bits + spec.minishard_bits + spec.shard_bits >= bits
  );
}
