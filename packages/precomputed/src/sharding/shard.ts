/**
 * Shard file bytes (sharded.md): building whole shard files, and decoding
 * the shard index and minishard indexes. Pure functions, no IO.
 *
 * Layout written here (as CloudVolume writes it):
 * `[shard index][chunk data, by minishard then id][minishard indexes, by minishard]`.
 */
import { compressSync, decompressSync } from "@ngpipe/storage/compression";
import { ShardError, ShardSpecError } from "./errors";
import {
  joinU64,
  type ShardingSpec,
  shardFileName,
  shardIndexBytes,
  shardLocationOf,
  splitU64,
} from "./spec";

/** One chunk to put in a shard. */
export interface ShardEntry {
  id: bigint;
  data: Uint8Array;
  /**
   * Bytes stored immediately before `data` and not covered by the minishard
   * index (raw, never `data_encoding`d): a multi-resolution mesh's fragment
   * data, which sharded.md places right before its manifest.
   */
  prefix?: Uint8Array;
}

const TWO32 = 2 ** 32;

/** Encodes a minishard index: 3 x n uint64le rows (ids, offsets, sizes), delta-encoded. */
export function encodeMinishardIndex(
  ids: readonly bigint[],
  starts: readonly number[],
  sizes: readonly number[],
): Uint8Array {
  const n = ids.length;
  const out = new Uint32Array(6 * n);
  let prevLo = 0;
  let prevHi = 0;
  let prevEnd = 0;
  for (let i = 0; i < n; i++) {
    const [lo, hi] = splitU64(ids[i]);
    // id delta modulo 2^64 on uint32 words.
    const dlo = (lo - prevLo) >>> 0;
    const borrow = lo >>> 0 < prevLo >>> 0 ? 1 : 0;
    out[2 * i] = dlo;
    out[2 * i + 1] = (hi - prevHi - borrow) >>> 0;
    prevLo = lo;
    prevHi = hi;
    const off = i === 0 ? starts[0] : starts[i] - prevEnd;
    if (off < 0) throw new ShardSpecError("chunk data must be written in minishard index order");
    out[2 * (n + i)] = off % TWO32;
    out[2 * (n + i) + 1] = Math.floor(off / TWO32);
    out[2 * (2 * n + i)] = sizes[i] % TWO32;
    out[2 * (2 * n + i) + 1] = Math.floor(sizes[i] / TWO32);
    prevEnd = starts[i] + sizes[i];
  }
  return new Uint8Array(out.buffer);
}

/** A decoded minishard index: chunk ids and absolute byte ranges in the shard file. */
export interface MinishardIndex {
  /** Chunk ids as [lo, hi] word pairs. */
  readonly idWords: Uint32Array;
  /** Absolute start offset of each chunk in the shard file. */
  readonly starts: Float64Array;
  /** Stored size of each chunk. */
  readonly sizes: Float64Array;
  /** Number of chunks. */
  readonly length: number;
}

function readU64(w: Uint32Array, i: number, file: string): number {
  const hi = w[2 * i + 1];
  if (hi >= 2 ** 21) throw new ShardError("offset or size above 2^53 bytes", file);
  return hi * TWO32 + w[2 * i];
}

/** Reads little-endian uint32 words from bytes at any alignment. */
function words(bytes: Uint8Array): Uint32Array {
  if (bytes.byteOffset % 4 === 0)
    return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  return new Uint32Array(bytes.slice().buffer, 0, bytes.length >>> 2);
}

/**
 * Decodes the (already decompressed) minishard index bytes. `dataStart` is
 * where offsets are relative to: the end of the shard index. Throws
 * `ShardError` naming `file` on a malformed index.
 */
export function decodeMinishardIndex(
  bytes: Uint8Array,
  dataStart: number,
  file = "shard",
): MinishardIndex {
  if (bytes.length % 24 !== 0)
    throw new ShardError(`minishard index is ${bytes.length} bytes, not a multiple of 24`, file);
  const n = bytes.length / 24;
  const w = words(bytes);
  const idWords = new Uint32Array(2 * n);
  const starts = new Float64Array(n);
  const sizes = new Float64Array(n);
  let lo = 0;
  let hi = 0;
  let end = dataStart;
  for (let i = 0; i < n; i++) {
    const s = lo + w[2 * i];
    lo = s >>> 0;
    hi = (hi + w[2 * i + 1] + (s >= TWO32 ? 1 : 0)) >>> 0;
    idWords[2 * i] = lo;
    idWords[2 * i + 1] = hi;
    const start = end + readU64(w, n + i, file);
    const size = readU64(w, 2 * n + i, file);
    if (start + size > Number.MAX_SAFE_INTEGER)
      throw new ShardError("chunk byte range above 2^53", file);
    starts[i] = start;
    sizes[i] = size;
    end = start + size;
  }
  return { idWords, starts, sizes, length: n };
}

/**
 * Decodes the shard index (16 bytes per minishard at the start of the file)
 * into absolute [start, end) byte ranges of each minishard index.
 */
export function decodeShardIndex(
  bytes: Uint8Array,
  spec: ShardingSpec,
  file = "shard",
): Float64Array {
  const expected = shardIndexBytes(spec);
  if (bytes.length !== expected)
    throw new ShardError(`shard index is ${bytes.length} bytes, expected ${expected}`, file);
  const w = words(bytes);
  const n = expected / 16;
  const out = new Float64Array(2 * n);
  for (let m = 0; m < n; m++) {
    const start = readU64(w, 2 * m, file) + expected;
    const end = readU64(w, 2 * m + 1, file) + expected;
    if (end < start)
      throw new ShardError(
        `minishard ${m} index range ends (${end}) before it starts (${start})`,
        file,
      );
    out[2 * m] = start;
    out[2 * m + 1] = end;
  }
  return out;
}

function encode(bytes: Uint8Array, enc: string | undefined): Uint8Array {
  return enc === "gzip" ? compressSync(bytes, "gzip") : bytes;
}

/**
 * Undoes `minishard_index_encoding` / `data_encoding`, inflating no further
 * than `maxBytes`; throws `ShardError` on bad gzip and as soon as the data
 * inflates past the limit.
 */
export function decodeShardBytes(
  bytes: Uint8Array,
  enc: string | undefined,
  file: string,
  chunkId?: bigint,
  maxBytes?: number,
): Uint8Array {
  if (enc !== "gzip") return bytes;
  try {
    return decompressSync(bytes, "gzip", { url: file, maxBytes });
  } catch (e) {
    if ((e as Error).name === "DecompressionLimitError")
      throw new ShardError(
        `gzip data inflates to more than ${maxBytes} bytes, the most expected there; inflation stopped there`,
        file,
        chunkId,
        { cause: e },
      );
    throw new ShardError("gzip data does not decompress", file, chunkId, { cause: e });
  }
}

/** Options of {@link buildShard} and {@link buildShards}. */
export interface BuildShardOptions {
  /** The entries' bytes already carry `data_encoding` (default false: it is applied here). */
  dataEncoded?: boolean;
}

function compareIds(a: ShardEntry, b: ShardEntry): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Builds one whole shard file from chunks that all hash to the same shard.
 * Chunks are sorted by minishard, then id; `data_encoding` and
 * `minishard_index_encoding` are applied (`data_encoding` not when
 * `opts.dataEncoded` says the chunks' bytes already have it, e.g. gzipped in
 * a worker). Throws `ShardSpecError` for chunks of different shards or a
 * repeated id.
 *
 * @example
 * const bytes = buildShard([{ id: 5n, data }, { id: 9n, data: other }], spec);
 * await storage.put(`8_8_40/${shardFileName(shardNumberFor(5n, spec), spec)}`, bytes);
 */
export function buildShard(
  entries: Iterable<ShardEntry>,
  spec: ShardingSpec,
  opts: BuildShardOptions = {},
): Uint8Array {
  const byMinishard = new Map<number, ShardEntry[]>();
  let shard = -1;
  for (const e of entries) {
    const [lo, hi] = splitU64(e.id);
    const loc = shardLocationOf(spec, lo, hi);
    if (shard === -1) shard = loc.shard;
    else if (loc.shard !== shard)
      throw new ShardSpecError(
        `chunk ${e.id} belongs to shard ${shardFileName(loc.shard, spec)}, not ${shardFileName(shard, spec)}`,
      );
    let list = byMinishard.get(loc.minishard);
    if (!list) byMinishard.set(loc.minishard, (list = []));
    list.push(e);
  }
  const indexBytes = shardIndexBytes(spec);
  const minishards = [...byMinishard.keys()].sort((a, b) => a - b);
  const dataParts: Uint8Array[] = [];
  const indexParts: Uint8Array[] = [];
  let pos = 0;
  for (const m of minishards) {
    const list = byMinishard.get(m)!.sort(compareIds);
    const starts: number[] = [];
    const sizes: number[] = [];
    for (let i = 0; i < list.length; i++) {
      if (i > 0 && list[i].id === list[i - 1].id)
        throw new ShardSpecError(`chunk ${list[i].id} appears twice`);
      const prefix = list[i].prefix;
      if (prefix !== undefined && prefix.length > 0) {
        dataParts.push(prefix);
        pos += prefix.length;
      }
      const bytes = opts.dataEncoded ? list[i].data : encode(list[i].data, spec.data_encoding);
      starts.push(pos);
      sizes.push(bytes.length);
      dataParts.push(bytes);
      pos += bytes.length;
    }
    indexParts.push(
      encode(
        encodeMinishardIndex(
          list.map((e) => e.id),
          starts,
          sizes,
        ),
        spec.minishard_index_encoding,
      ),
    );
  }
  const total = indexBytes + pos + indexParts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  const head = new DataView(out.buffer);
  let at = indexBytes;
  for (const p of dataParts) {
    out.set(p, at);
    at += p.length;
  }
  let rel = pos;
  minishards.forEach((m, k) => {
    const p = indexParts[k];
    head.setBigUint64(16 * m, BigInt(rel), true);
    head.setBigUint64(16 * m + 8, BigInt(rel + p.length), true);
    out.set(p, at);
    at += p.length;
    rel += p.length;
  });
  // Empty minishards keep the all-zero (zero-length) range.
  return out;
}

/**
 * Groups chunks by shard and builds every shard file: a map from file name
 * (`<hex>.shard`) to bytes. Chunks need not be ordered.
 */
export function buildShards(
  entries: Iterable<ShardEntry>,
  spec: ShardingSpec,
  opts: BuildShardOptions = {},
): Map<string, Uint8Array> {
  const groups = new Map<number, ShardEntry[]>();
  for (const e of entries) {
    const [lo, hi] = splitU64(e.id);
    const { shard } = shardLocationOf(spec, lo, hi);
    let g = groups.get(shard);
    if (!g) groups.set(shard, (g = []));
    g.push(e);
  }
  const out = new Map<string, Uint8Array>();
  for (const [shard, list] of [...groups].sort((a, b) => a[0] - b[0]))
    out.set(shardFileName(shard, spec), buildShard(list, spec, opts));
  return out;
}

/** The chunk id at position `i` of a decoded minishard index, as bigint. */
export function minishardIdAt(index: MinishardIndex, i: number): bigint {
  return joinU64(index.idWords[2 * i], index.idWords[2 * i + 1]);
}
