/**
 * `SkeletonLayer`: a skeleton directory of a segmentation layer on any
 * storage, unsharded (one object per segment id, named by the id in base 10)
 * or sharded (the segment id is the shard key).
 */
import { openStorage, type Storage, type StorageOptions } from "@ngpipe/storage";
import { ShardReader } from "../sharding/reader";
import { writeShards } from "../sharding/writer";
import {
  decodeSkeleton,
  type EncodedSkeleton,
  encodeSkeleton,
  parseSkeletonInfo,
  type SkeletonInfo,
  SkeletonInfoError,
} from "./format";

/** Where a skeleton layer's bytes live. */
export interface SkeletonLayerOptions {
  /** Use this storage (rooted at the skeleton directory) instead of opening the URL. */
  storage?: Storage;
  storageOptions?: StorageOptions;
}

/** A segment id: a number (below 2^53) or a bigint. */
export type SegmentId = number | bigint;

function idText(id: SegmentId): string {
  if (typeof id === "number" && !(Number.isSafeInteger(id) && id >= 0)) {
    throw new SkeletonInfoError(`segment id ${id} is not a whole number in [0, 2^53)`);
  }
  if (typeof id === "bigint" && (id < 0n || id >= 1n << 64n)) {
    throw new SkeletonInfoError(`segment id ${id} is outside uint64`);
  }
  return String(id);
}

/**
 * Reads and writes the skeletons of one skeleton directory.
 *
 * ```ts
 * const layer = await SkeletonLayer.create("file:///data/seg/skeletons", skeletonInfo());
 * await layer.putMany([[7n, { vertices, edges, attributes: { radius } }]]);
 * const skel = await layer.get(7n);
 * ```
 */
export class SkeletonLayer {
  private reader?: ShardReader;

  private constructor(
    /** Storage rooted at the skeleton directory. */
    readonly storage: Storage,
    /** The directory's info, validated. */
    readonly info: SkeletonInfo,
  ) {}

  /** Opens the skeleton directory at `url` (its `info` must exist and follow the spec). */
  static async open(url: string, options: SkeletonLayerOptions = {}): Promise<SkeletonLayer> {
    const storage = options.storage ?? openStorage(url, options.storageOptions);
    const json = await storage.getJson("info");
    if (json === null) {
      throw new SkeletonInfoError(`no skeleton info at ${storage.url}/info (check the URL)`);
    }
    return new SkeletonLayer(storage, parseSkeletonInfo(json, `${storage.url}/info`));
  }

  /** Writes `info` at `url` (replacing one that is there) and opens the directory. */
  static async create(
    url: string,
    info: SkeletonInfo,
    options: SkeletonLayerOptions = {},
  ): Promise<SkeletonLayer> {
    const storage = options.storage ?? openStorage(url, options.storageOptions);
    const valid = parseSkeletonInfo(info, `${storage.url}/info`);
    await storage.putJson("info", valid);
    return new SkeletonLayer(storage, valid);
  }

  /** The directory's URL. */
  get url(): string {
    return this.storage.url;
  }

  /** Whether skeletons are stored in shard files. */
  get sharded(): boolean {
    return this.info.sharding !== undefined;
  }

  private shardReader(): ShardReader {
    this.reader ??= new ShardReader(this.storage, this.info.sharding!);
    return this.reader;
  }

  /** The skeleton of `id`, or null when the layer has none. */
  async get(id: SegmentId, opts: { signal?: AbortSignal } = {}): Promise<EncodedSkeleton | null> {
    const key = idText(id);
    const bytes = this.sharded
      ? await this.shardReader().get(BigInt(key), opts)
      : await this.storage.get(key, opts);
    return bytes === null ? null : decodeSkeleton(bytes, this.info, `${this.url}/${key}`);
  }

  /** Skeletons of many ids (null where absent), in the order asked. */
  async getMany(
    ids: readonly SegmentId[],
    opts: { signal?: AbortSignal } = {},
  ): Promise<(EncodedSkeleton | null)[]> {
    const keys = ids.map(idText);
    if (this.sharded) {
      const found = await this.shardReader().getMany(
        keys.map((k) => BigInt(k)),
        opts,
      );
      return keys.map((k) => {
        const bytes = found.get(BigInt(k)) ?? null;
        return bytes === null ? null : decodeSkeleton(bytes, this.info, `${this.url}/${k}`);
      });
    }
    const results = await this.storage.getMany(keys, opts);
    return results.map((r, i) => {
      if (!r.ok) throw r.error;
      return r.value === null ? null : decodeSkeleton(r.value, this.info, `${this.url}/${keys[i]}`);
    });
  }

  /**
   * Writes skeletons. Unsharded: one object per id. Sharded: the shard files
   * the ids hash to are built and written whole, one put each, so `entries`
   * must hold every skeleton of those shards (a merge task owns its shards).
   * Returns the keys written.
   */
  async putMany(
    entries: Iterable<readonly [SegmentId, EncodedSkeleton]>,
    opts: { signal?: AbortSignal } = {},
  ): Promise<string[]> {
    const encoded = [...entries].map(([id, s]) => ({
      key: idText(id),
      data: encodeSkeleton(s, this.info),
    }));
    if (this.sharded) {
      this.reader?.clearCache();
      return writeShards(
        this.storage,
        encoded.map((e) => ({ id: BigInt(e.key), data: e.data })),
        this.info.sharding!,
        opts,
      );
    }
    const results = await this.storage.putMany(
      encoded.map((e) => ({ key: e.key, data: e.data, contentType: "application/octet-stream" })),
      opts,
    );
    for (const r of results) if (!r.ok) throw r.error;
    return encoded.map((e) => e.key);
  }
}
