/**
 * Reading chunks out of shard files with byte-range requests: the shard
 * index (first 16 * 2^minishard_bits bytes), then one minishard index, then
 * the chunk. Both index levels are cached (bounded LRU) and concurrent
 * requests for the same index share one fetch.
 */
import { forEachLimit, type IoOptions } from "@ngpipe/storage";
import { bytesOf, joinUrl, type StorageReader } from "../info/store";
import { ShardError } from "./errors";
import { Lru } from "./lru";
import {
  decodeMinishardIndex,
  decodeShardBytes,
  decodeShardIndex,
  type MinishardIndex,
} from "./shard";
import {
  type ShardingSpec,
  shardFileName,
  shardIndexBytes,
  shardLocationOf,
  splitU64,
  validateShardingSpec,
} from "./spec";

/** Options of {@link ShardReader}. */
export interface ShardReaderOptions {
  /** Key prefix of the shard files inside the storage, e.g. the scale key `8_8_40`. */
  prefix?: string;
  /** Shard indexes kept (default 256). */
  shardIndexCacheSize?: number;
  /** Decoded minishard indexes kept (default 512). */
  minishardCacheSize?: number;
  /** Requests in flight for {@link ShardReader.getMany} (default 16). */
  concurrency?: number;
  /**
   * Chunks at most this many bytes apart in a file are fetched with one
   * range request (the gap is read and dropped). Default 32 KiB.
   */
  maxGapBytes?: number;
  /**
   * A coalesced range request stops growing at this size. Default
   * {@link localRangeBytes} (256 KiB) on file:// and mem://, where reads of
   * a few chunks overlap their decoding better than one large read, and
   * {@link remoteRangeBytes} (8 MiB) elsewhere, where every request pays a
   * round trip (and, on object stores, a request fee): AWS advises byte-range
   * GETs of 8-16 MB.
   */
  maxRangeBytes?: number;
  /**
   * The most bytes one chunk's gzip data may inflate to (a Volume sets its
   * chunk's limit); default {@link MAX_MINISHARD_INDEX_BYTES}.
   */
  maxChunkBytes?: number;
}

/**
 * The most bytes a gzip minishard index may inflate to: 64 MiB, 2.8 million
 * chunks (24 bytes each) in one minishard, far beyond any real shard.
 */
export const MAX_MINISHARD_INDEX_BYTES = 64 * 2 ** 20;

/** Default {@link ShardReaderOptions.maxRangeBytes} on file:// and mem://. */
export const localRangeBytes = 256 * 1024;

/** Default {@link ShardReaderOptions.maxRangeBytes} on remote storage (s3, gs, http). */
export const remoteRangeBytes = 8 * 1024 * 1024;

/** Whether a storage URL is local (file:// or mem://): reads cost no round trip. */
function isLocal(url: string | undefined): boolean {
  return url === undefined || /^(file|mem):/.test(url);
}

/** Options of one read. */
export interface ShardReadOptions extends IoOptions {
  /** Overrides the reader's concurrency for this batch. */
  concurrency?: number;
}

/** null = the shard file or minishard holds nothing. */
type ShardIndex = Float64Array | null;

interface Located {
  id: bigint;
  lo: number;
  hi: number;
  file: string;
  minishard: number;
}

/**
 * Reads chunks (or meshes, skeletons: anything keyed by uint64) from the
 * shard files of one sharding spec.
 *
 * @example
 * const reader = new ShardReader(storage, scale.sharding!, { prefix: scale.key });
 * const bytes = await reader.get(mortonChunkId(plan, [3, 1, 0])); // null if absent
 */
export class ShardReader {
  readonly spec: ShardingSpec;
  private readonly prefix: string;
  private readonly shardIndexes: Lru<string, ShardIndex>;
  private readonly minishards: Lru<string, MinishardIndex | null>;
  private readonly pending = new Map<string, Promise<unknown>>();
  private readonly concurrency: number;
  private readonly maxChunkBytes: number;
  private readonly maxGap: number;
  private readonly maxRange: number;

  constructor(
    readonly storage: StorageReader,
    spec: ShardingSpec,
    opts: ShardReaderOptions = {},
  ) {
    this.spec = validateShardingSpec(spec);
    const p = opts.prefix ?? "";
    this.prefix = p === "" || p.endsWith("/") ? p : `${p}/`;
    this.shardIndexes = new Lru(opts.shardIndexCacheSize ?? 256);
    this.minishards = new Lru(opts.minishardCacheSize ?? 512);
    this.concurrency = opts.concurrency ?? 16;
    this.maxChunkBytes = opts.maxChunkBytes ?? MAX_MINISHARD_INDEX_BYTES;
    this.maxGap = opts.maxGapBytes ?? 32 * 1024;
    this.maxRange =
      opts.maxRangeBytes ?? (isLocal(storage.url) ? localRangeBytes : remoteRangeBytes);
  }

  /** Storage key of the shard file with number `shard`. */
  shardKey(shard: number): string {
    return this.prefix + shardFileName(shard, this.spec);
  }

  /** Drops the cached indexes (e.g. after shards were rewritten). */
  clearCache(): void {
    this.shardIndexes.clear();
    this.minishards.clear();
  }

  private url(key: string): string {
    return joinUrl(this.storage.url, key);
  }

  private once<T>(key: string, make: () => Promise<T>): Promise<T> {
    const p = this.pending.get(key);
    if (p) return p as Promise<T>;
    const q = make().finally(() => this.pending.delete(key));
    this.pending.set(key, q);
    return q;
  }

  private async range(
    key: string,
    start: number,
    end: number,
    opts: IoOptions,
    chunkId?: bigint,
  ): Promise<Uint8Array | null> {
    const r = bytesOf(await this.storage.get(key, { range: { start, end }, signal: opts.signal }));
    if (r !== null && r.length !== end - start)
      throw new ShardError(
        `asked for bytes [${start}, ${end}) but got ${r.length} bytes: truncated shard file`,
        this.url(key),
        chunkId,
      );
    return r;
  }

  private async shardIndex(key: string, opts: IoOptions): Promise<ShardIndex> {
    const hit = this.shardIndexes.get(key);
    if (hit !== undefined) return hit;
    return this.once(`s:${key}`, async () => {
      const n = shardIndexBytes(this.spec);
      const bytes = bytesOf(
        await this.storage.get(key, { range: { start: 0, end: n }, signal: opts.signal }),
      );
      const idx = bytes === null ? null : decodeShardIndex(bytes, this.spec, this.url(key));
      this.shardIndexes.set(key, idx);
      return idx;
    });
  }

  private async minishardIndex(
    key: string,
    minishard: number,
    opts: IoOptions,
  ): Promise<MinishardIndex | null> {
    const ck = `${key}#${minishard}`;
    const hit = this.minishards.get(ck);
    if (hit !== undefined) return hit;
    const idx = await this.shardIndex(key, opts);
    if (idx === null) return null;
    const start = idx[2 * minishard];
    const end = idx[2 * minishard + 1];
    if (start === end) {
      this.minishards.set(ck, null);
      return null;
    }
    return this.once(`m:${ck}`, async () => {
      const raw = await this.range(key, start, end, opts);
      if (raw === null) throw new ShardError("shard file vanished while reading", this.url(key));
      const bytes = decodeShardBytes(
        raw,
        this.spec.minishard_index_encoding,
        this.url(key),
        undefined,
        MAX_MINISHARD_INDEX_BYTES,
      );
      const mi = decodeMinishardIndex(bytes, shardIndexBytes(this.spec), this.url(key));
      this.minishards.set(ck, mi);
      return mi;
    });
  }

  private locate(id: bigint): Located {
    const [lo, hi] = splitU64(id);
    const loc = shardLocationOf(this.spec, lo, hi);
    return { id, lo, hi, file: this.shardKey(loc.shard), minishard: loc.minishard };
  }

  /** Position of chunk (lo, hi) in a minishard index, or -1. */
  private static find(mi: MinishardIndex, lo: number, hi: number): number {
    const w = mi.idWords;
    for (let i = 0; i < mi.length; i++) if (w[2 * i] === lo && w[2 * i + 1] === hi) return i;
    return -1;
  }

  /**
   * Where chunk `id` is stored: the shard file key and the byte range of its
   * (still encoded) data, or null when it is not stored. Multi-resolution
   * meshes use this to fetch fragment data, which `data_encoding` does not cover.
   */
  async locateChunk(
    id: bigint,
    opts: IoOptions = {},
  ): Promise<{ key: string; start: number; end: number } | null> {
    const loc = this.locate(id);
    const mi = await this.minishardIndex(loc.file, loc.minishard, opts);
    if (mi === null) return null;
    const i = ShardReader.find(mi, loc.lo, loc.hi);
    if (i < 0) return null;
    return { key: loc.file, start: mi.starts[i], end: mi.starts[i] + mi.sizes[i] };
  }

  /**
   * Every chunk id stored in shard number `shard` (reads its shard index and
   * all of its minishard indexes). An absent shard file has none.
   */
  async listChunkIds(shard: number, opts: IoOptions = {}): Promise<bigint[]> {
    const key = this.shardKey(shard);
    const idx = await this.shardIndex(key, opts);
    if (idx === null) return [];
    const out: bigint[] = [];
    for (let m = 0; m < idx.length / 2; m++) {
      const mi = await this.minishardIndex(key, m, opts);
      if (mi === null) continue;
      for (let i = 0; i < mi.length; i++)
        out.push((BigInt(mi.idWords[2 * i + 1]) << 32n) | BigInt(mi.idWords[2 * i]));
    }
    return out;
  }

  /** The bytes of chunk `id` (after `data_encoding`), or null when it is not stored. */
  async get(id: bigint, opts: IoOptions = {}): Promise<Uint8Array | null> {
    const loc = this.locate(id);
    const mi = await this.minishardIndex(loc.file, loc.minishard, opts);
    if (mi === null) return null;
    const i = ShardReader.find(mi, loc.lo, loc.hi);
    if (i < 0) return null;
    const raw = await this.range(loc.file, mi.starts[i], mi.starts[i] + mi.sizes[i], opts, id);
    if (raw === null)
      throw new ShardError("shard file vanished while reading", this.url(loc.file), id);
    return decodeShardBytes(
      raw,
      this.spec.data_encoding,
      this.url(loc.file),
      id,
      this.maxChunkBytes,
    );
  }

  /**
   * Reads many chunks at once: ids are grouped by shard file and minishard so
   * each index is fetched once, and chunks lying close together in a file
   * are fetched with one range request. Returns a map from id to bytes (after
   * `data_encoding`) or null.
   */
  async getMany(
    ids: Iterable<bigint>,
    opts: ShardReadOptions = {},
  ): Promise<Map<bigint, Uint8Array | null>> {
    const out = new Map<bigint, Uint8Array | null>();
    await this.readMany(
      ids,
      (id, raw, file) => {
        out.set(
          id,
          raw === null
            ? null
            : decodeShardBytes(
                raw,
                this.spec.data_encoding,
                this.url(file),
                id,
                this.maxChunkBytes,
              ),
        );
      },
      opts,
    );
    return out;
  }

  /**
   * The streaming form of {@link getMany}: calls `each` with every distinct
   * id's bytes as stored in the shard file (still under `data_encoding`,
   * so the caller may decompress them elsewhere, e.g. in a worker), or null
   * when it is not stored. Calls for the chunks of one range request run
   * `concurrency` at a time while other requests continue.
   */
  async readMany(
    ids: Iterable<bigint>,
    each: (id: bigint, raw: Uint8Array | null, file: string) => Promise<void> | void,
    opts: ShardReadOptions = {},
  ): Promise<void> {
    const seen = new Set<bigint>();
    const groups = new Map<string, Located[]>();
    for (const id of ids) {
      if (seen.has(id)) continue;
      seen.add(id);
      const loc = this.locate(id);
      const k = `${loc.file}#${loc.minishard}`;
      let g = groups.get(k);
      if (!g) groups.set(k, (g = []));
      g.push(loc);
    }
    const limit = opts.concurrency ?? this.concurrency;

    // Resolve the minishard indexes, then list the byte ranges to fetch.
    type Want = { loc: Located; start: number; size: number };
    const wants: Want[] = [];
    const absent: Located[] = [];
    await forEachLimit(
      groups.values(),
      limit,
      async (locs) => {
        const mi = await this.minishardIndex(locs[0].file, locs[0].minishard, opts);
        for (const loc of locs) {
          const i = mi === null ? -1 : ShardReader.find(mi, loc.lo, loc.hi);
          if (i >= 0) wants.push({ loc, start: mi!.starts[i], size: mi!.sizes[i] });
          else absent.push(loc);
        }
      },
      opts,
    );
    await forEachLimit(absent, limit, (loc) => each(loc.id, null, loc.file), opts);

    // Coalesce chunks that lie close together in the same file.
    wants.sort((a, b) =>
      a.loc.file < b.loc.file ? -1 : a.loc.file > b.loc.file ? 1 : a.start - b.start,
    );
    const runs: Want[][] = [];
    for (const w of wants) {
      const last = runs[runs.length - 1];
      const first = last?.[0];
      const prev = last?.[last.length - 1];
      if (
        prev !== undefined &&
        prev.loc.file === w.loc.file &&
        w.start >= prev.start + prev.size &&
        w.start - (prev.start + prev.size) <= this.maxGap &&
        w.start + w.size - first!.start <= this.maxRange
      )
        last.push(w);
      else runs.push([w]);
    }
    await forEachLimit(
      runs,
      limit,
      async (run) => {
        const file = run[0].loc.file;
        const start = run[0].start;
        const end = run[run.length - 1].start + run[run.length - 1].size;
        const bytes = await this.range(file, start, end, opts, run[0].loc.id);
        if (bytes === null)
          throw new ShardError("shard file vanished while reading", this.url(file), run[0].loc.id);
        await forEachLimit(
          run,
          limit,
          (w) => each(w.loc.id, bytes.subarray(w.start - start, w.start - start + w.size), file),
          opts,
        );
      },
      opts,
    );
  }
}
