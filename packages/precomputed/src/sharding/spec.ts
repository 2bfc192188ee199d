/**
 * The sharding specification of sharded.md: the `"sharding"` member of a
 * scale (or of a mesh/skeleton info), its validation, and where a chunk id
 * goes (shard number, minishard number, shard file name).
 */
import { ShardSpecError } from "./errors";
import { murmurHash3X86_128Low64 } from "./murmurhash";

/** Hash functions allowed by the spec. */
export type ShardingHash = "identity" | "murmurhash3_x86_128";

/** Encodings of minishard indexes and chunk data inside a shard. */
export type ShardEncoding = "raw" | "gzip";

/** The `neuroglancer_uint64_sharded_v1` sharding specification, as JSON. */
export interface ShardingSpec {
  "@type": "neuroglancer_uint64_sharded_v1";
  preshift_bits: number;
  hash: ShardingHash;
  minishard_bits: number;
  shard_bits: number;
  /** Default "raw". */
  minishard_index_encoding?: ShardEncoding;
  /** Default "raw". */
  data_encoding?: ShardEncoding;
  [extra: string]: unknown;
}

function isBits(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 64;
}

/**
 * Every way `json` breaks the sharding spec, as `{path, rule}` with paths
 * relative to `at` (e.g. `scales[0].sharding`).
 */
export function shardingSpecProblems(
  json: unknown,
  at = "sharding",
): { path: string; rule: string }[] {
  const out: { path: string; rule: string }[] = [];
  if (!json || typeof json !== "object" || Array.isArray(json)) {
    out.push({ path: at, rule: "must be an object (a sharding specification)" });
    return out;
  }
  const s = json as Record<string, unknown>;
  if (s["@type"] !== "neuroglancer_uint64_sharded_v1")
    out.push({ path: `${at}["@type"]`, rule: 'must be "neuroglancer_uint64_sharded_v1"' });
  for (const k of ["preshift_bits", "minishard_bits", "shard_bits"])
    if (!isBits(s[k]))
      out.push({
        path: `${at}.${k}`,
        rule: `must be an integer in [0, 64], got ${JSON.stringify(s[k])}`,
      });
  if (isBits(s.minishard_bits) && isBits(s.shard_bits) && s.minishard_bits + s.shard_bits > 64)
    out.push({ path: `${at}.shard_bits`, rule: "minishard_bits + shard_bits must be <= 64" });
  if (s.hash !== "identity" && s.hash !== "murmurhash3_x86_128")
    out.push({
      path: `${at}.hash`,
      rule: `must be "identity" or "murmurhash3_x86_128", got ${JSON.stringify(s.hash)}`,
    });
  for (const k of ["minishard_index_encoding", "data_encoding"])
    if (s[k] !== undefined && s[k] !== "raw" && s[k] !== "gzip")
      out.push({
        path: `${at}.${k}`,
        rule: `must be "raw" or "gzip", got ${JSON.stringify(s[k])}`,
      });
  return out;
}

/** Throws `ShardSpecError` unless `json` is a valid sharding specification. */
export function validateShardingSpec(json: unknown): ShardingSpec {
  const problems = shardingSpecProblems(json);
  if (problems.length)
    throw new ShardSpecError(problems.map((p) => `${p.path}: ${p.rule}`).join("; "));
  return json as ShardingSpec;
}

/** Builds a spec with the usual defaults (identity hash, raw encodings, no preshift). */
export function shardingSpec(
  p: Partial<Omit<ShardingSpec, "@type">> & { minishard_bits: number; shard_bits: number },
): ShardingSpec {
  return validateShardingSpec({
    "@type": "neuroglancer_uint64_sharded_v1",
    preshift_bits: 0,
    hash: "identity",
    minishard_index_encoding: "raw",
    data_encoding: "raw",
    ...p,
  });
}

/** Where a chunk lives: shard and minishard numbers of its hashed id. */
export interface ShardLocation {
  /** Shard number, < 2^shard_bits. */
  shard: number;
  /** Minishard number inside the shard, < 2^minishard_bits. */
  minishard: number;
}

const MASK64 = (1n << 64n) - 1n;

/** Low and high uint32 words of a uint64 given as bigint. */
export function splitU64(id: bigint): [number, number] {
  const v = id & MASK64;
  return [Number(v & 0xffffffffn), Number(v >> 32n)];
}

/** The uint64 whose words are `lo`, `hi`. */
export function joinU64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** (lo, hi) >> n for 0 <= n <= 64, written into `out`. */
function shiftRight(lo: number, hi: number, n: number, out: Uint32Array): void {
  if (n === 0) {
    out[0] = lo;
    out[1] = hi;
  } else if (n < 32) {
    out[0] = (lo >>> n) | (hi << (32 - n));
    out[1] = hi >>> n;
  } else if (n < 64) {
    out[0] = hi >>> (n - 32);
    out[1] = 0;
  } else {
    out[0] = 0;
    out[1] = 0;
  }
}

/** Bits [start, start + count) of (lo, hi) as a number; count <= 32. */
function bitField(lo: number, hi: number, start: number, count: number): number {
  if (count === 0 || start >= 64) return 0;
  let v: number;
  if (start === 0) v = lo;
  else if (start < 32) v = (lo >>> start) | (hi << (32 - start));
  else v = hi >>> (start - 32);
  if (count < 32) v &= (1 << count) - 1;
  return v >>> 0;
}

const scratch = new Uint32Array(2);

/**
 * The hashed chunk id `hash(id >> preshift_bits)` of sharded.md, on uint32
 * words (no BigInt), written into `out` as [lo, hi].
 */
export function hashedChunkId(
  spec: ShardingSpec,
  lo: number,
  hi: number,
  out: Uint32Array = new Uint32Array(2),
): Uint32Array {
  shiftRight(lo >>> 0, hi >>> 0, spec.preshift_bits, out);
  if (spec.hash === "murmurhash3_x86_128") murmurHash3X86_128Low64(out[0], out[1], 0, out);
  return out;
}

/**
 * Shard and minishard of the chunk id (lo, hi). Shard numbers wider than 32
 * bits are not supported (they would mean 2^32 shard files).
 */
export function shardLocationOf(spec: ShardingSpec, lo: number, hi: number): ShardLocation {
  if (spec.shard_bits > 32 || spec.minishard_bits > 32)
    throw new ShardSpecError(
      `shard_bits (${spec.shard_bits}) and minishard_bits (${spec.minishard_bits}) above 32 are not supported`,
    );
  const h = hashedChunkId(spec, lo, hi, scratch);
  return {
    minishard: bitField(h[0], h[1], 0, spec.minishard_bits),
    shard: bitField(h[0], h[1], spec.minishard_bits, spec.shard_bits),
  };
}

/** Shard and minishard of a chunk id given as bigint. */
export function shardLocation(spec: ShardingSpec, id: bigint): ShardLocation {
  const [lo, hi] = splitU64(id);
  return shardLocationOf(spec, lo, hi);
}

/** Shard number of a chunk id (the `<shard>` of its `<shard>.shard` file). */
export function shardNumberFor(id: bigint, spec: ShardingSpec): number {
  return shardLocation(spec, id).shard;
}

/** File name of a shard: lowercase hex zero-padded to ceil(shard_bits / 4) digits, plus `.shard`. */
export function shardFileName(shard: number, spec: ShardingSpec): string {
  return `${shard.toString(16).padStart(Math.ceil(spec.shard_bits / 4), "0")}.shard`;
}

/** Byte length of the shard index at the start of every shard file: 16 * 2^minishard_bits. */
export function shardIndexBytes(spec: ShardingSpec): number {
  return 16 * 2 ** spec.minishard_bits;
}
