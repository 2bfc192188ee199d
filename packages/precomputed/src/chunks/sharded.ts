/**
 * The sharded layout (`neuroglancer_uint64_sharded_v1`): chunks keyed by
 * their compressed Morton code inside shard files. Reads are coalesced into
 * range requests with cached shard and minishard indexes (ShardReader);
 * writes build whole shard files in memory, up to a byte budget, and write
 * each with one put, so a half-written shard is never visible.
 */
import { forEachLimit, type Storage } from "@ngpipe/storage";
import type { Bbox } from "../geometry/bbox";
import type { Scale } from "../info/info";
import { ShardError } from "../sharding/errors";
import { type MortonPlan, mortonChunkId, mortonPlan } from "../sharding/morton";
import { imageShardShape, shardsAreBoxes } from "../sharding/params";
import { ShardReader } from "../sharding/reader";
import type { ShardEntry } from "../sharding/shard";
import { writeShards } from "../sharding/writer";
import { AlignmentError } from "../volume/errors";
import { type LocalFiles, localFilesOf, writeShardFiles } from "./files";
import type { ChunkCell, ChunkIoOptions, ChunkStore, StoredChunk } from "./store";

/** Options of {@link ShardedChunkStore}. */
export interface ShardedChunkStoreOptions {
  /** Requests in flight. Default 32. */
  concurrency?: number;
  /** Encoded bytes one {@link ShardedChunkStore.putMany} may hold in memory. Default 4 GiB. */
  maxShardBytes?: number;
  /** The most bytes one chunk's gzip data may inflate to (see `storedChunkLimit`). */
  maxChunkBytes?: number;
}

/**
 * The boxes whose chunks make complete shard files for a write of `bbox`
 * to a sharded scale: the shard blocks `bbox` covers, or the whole scale
 * when each file gathers chunks from across it (a hashed spec, or too few
 * shard bits). Throws `AlignmentError` when `bbox` is not made of them.
 */
export function shardWriteBoxes(scale: Scale, bbox: Bbox, url: string): Bbox[] {
  const { chunkSize, voxelOffset, size, bounds } = scale;
  const spec = scale.sharding!;
  const bits = mortonPlan(scale.gridSize).bits;
  if (!shardsAreBoxes(spec, size, chunkSize)) {
    if (!bbox.equals(bounds)) {
      throw new AlignmentError(
        `write of ${bbox} to the sharded scale ${scale.key} of ${url}: its sharding ` +
          `(${spec.hash} hash, preshift ${spec.preshift_bits} + minishard ${spec.minishard_bits} + shard ${spec.shard_bits} bits ` +
          `for ${bits}-bit chunk ids) puts chunks from across the scale into each shard file, ` +
          `so only whole-scale writes (${bounds}) are possible; use an identity hash with enough bits (computeImageShardingSpec) for block writes`,
      );
    }
    return [bbox];
  }
  const shardShape = imageShardShape(spec, size, chunkSize);
  if (!bbox.isAlignedTo(shardShape, voxelOffset, bounds)) {
    throw new AlignmentError(
      `write of ${bbox} to the sharded scale ${scale.key} of ${url} must cover whole shards ` +
        `(${shardShape.join("x")} voxels from ${voxelOffset.join(",")}); ` +
        `the aligned box would be ${bbox.expandToChunks(shardShape, voxelOffset).intersect(bounds)}`,
    );
  }
  return [...bbox.chunks(shardShape, voxelOffset, bounds)];
}

/** A scale stored in shard files. */
export class ShardedChunkStore implements ChunkStore {
  readonly sharded = true;
  readonly writeCompression: "gzip" | undefined;
  /** Chunk bytes are copied into the shard file before it is written. */
  readonly acceptsSharedBytes = true;
  readonly reader: ShardReader;
  private readonly plan: MortonPlan;
  private readonly concurrency: number;
  private readonly maxShardBytes: number;
  /** The storage's objects as files (file://): shard files are then built and written in a worker. */
  private readonly shardFiles: LocalFiles | undefined;

  constructor(
    readonly storage: Storage,
    readonly scale: Scale,
    opts: ShardedChunkStoreOptions = {},
  ) {
    const spec = scale.sharding!;
    this.concurrency = opts.concurrency ?? 32;
    this.maxShardBytes = opts.maxShardBytes ?? 4 * 1024 ** 3;
    this.writeCompression = spec.data_encoding === "gzip" ? "gzip" : undefined;
    this.plan = mortonPlan(scale.gridSize);
    this.shardFiles = localFilesOf(storage);
    this.reader = new ShardReader(storage, spec, {
      prefix: scale.key,
      concurrency: this.concurrency,
      maxChunkBytes: opts.maxChunkBytes,
    });
  }

  /** The chunk id (compressed Morton code) of a cell. */
  id(cell: ChunkCell): bigint {
    return mortonChunkId(this.plan, cell.grid);
  }

  async getMany(
    cells: readonly ChunkCell[],
    each: (cell: ChunkCell, chunk: StoredChunk | null) => Promise<void> | void,
    opts: ChunkIoOptions = {},
  ): Promise<void> {
    const byId = new Map<bigint, ChunkCell>();
    for (const c of cells) byId.set(this.id(c), c);
    await this.reader.readMany(
      byId.keys(),
      (id, raw) =>
        each(
          byId.get(id)!,
          raw === null ? null : { bytes: raw, compression: this.writeCompression },
        ),
      { signal: opts.signal, concurrency: opts.concurrency ?? this.concurrency },
    );
  }

  /**
   * Encodes every cell (through `bytesOf`) and writes the shard files they
   * make, each with one put. The cells must be every chunk of those files
   * (see {@link shardWriteBoxes}): a file written is replaced whole.
   */
  async putMany(
    cells: readonly ChunkCell[],
    bytesOf: (cell: ChunkCell) => Promise<StoredChunk>,
    opts: ChunkIoOptions = {},
  ): Promise<void> {
    const entries: ShardEntry[] = new Array(cells.length);
    let held = 0;
    await forEachLimit(
      cells,
      opts.concurrency ?? this.concurrency,
      async (cell, i) => {
        const chunk = await bytesOf(cell);
        if (chunk.compression !== this.writeCompression) {
          throw new ShardError(
            `chunk ${cell.bbox} came ${chunk.compression ?? "uncompressed"} but the shards of ${this.scale.key} hold data_encoding ${this.scale.sharding!.data_encoding}`,
            this.storage.url,
          );
        }
        held += chunk.bytes.byteLength;
        if (held > this.maxShardBytes) {
          throw new ShardError(
            `the shard files of ${this.scale.key} being written hold more than ${this.maxShardBytes} bytes of chunks; ` +
              "write smaller boxes or use a sharding spec with smaller shards (fewer preshift + minishard bits)",
            this.storage.url,
          );
        }
        entries[i] = { id: this.id(cell), data: chunk.bytes };
      },
      opts,
    );
    if (this.shardFiles !== undefined)
      await writeShardFiles(this.shardFiles, entries, this.scale.sharding!, this.scale.key, opts);
    else
      await writeShards(this.storage, entries, this.scale.sharding!, {
        prefix: this.scale.key,
        signal: opts.signal,
        dataEncoded: true,
      });
    if (opts.release) for (const e of entries) opts.release(e.data);
    this.reader.clearCache();
    opts.onProgress?.(cells.length, cells.length);
  }

  async existsMany(cells: readonly ChunkCell[], opts: ChunkIoOptions = {}): Promise<boolean[]> {
    const out: boolean[] = new Array(cells.length);
    await forEachLimit(
      cells,
      opts.concurrency ?? this.concurrency,
      async (cell, i) => {
        out[i] = (await this.reader.locateChunk(this.id(cell), opts)) !== null;
      },
      opts,
    );
    return out;
  }

  async deleteMany(cells: readonly ChunkCell[]): Promise<void> {
    if (cells.length === 0) return;
    throw new AlignmentError(
      `delete of chunks in the sharded scale ${this.scale.key} of ${this.storage.url}: chunks inside shard files ` +
        "cannot be deleted one by one; delete or rewrite whole shard files",
    );
  }

  clearCache(): void {
    this.reader.clearCache();
  }
}
