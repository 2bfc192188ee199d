/**
 * `Volume`: cutouts of a precomputed image or segmentation layer, the
 * CloudVolume of ngpipe. Reads any box (aligned or not, sharded or not) by
 * fetching the chunks it touches in parallel, decoding them (in the worker
 * pool for batches) and painting their overlaps into one [x, y, z, c] array.
 * Writes chunk-aligned boxes, or any box with read-modify-write that uses the
 * storage layer's conditional writes so concurrent writers never lose voxels.
 *
 * ```ts
 * const vol = await Volume.open("gs://bucket/dataset/seg", { mip: 0, fillMissing: true });
 * const cut = await vol.read(new Bbox([1000, 1000, 100], [1256, 1256, 164]));
 * cut.get(10, 20, 30); // a bigint for uint64 layers
 * ```
 */
import {
  backoffDelay,
  type Compression,
  compressBytes,
  DecompressionError,
  decompressBytes,
  forEachLimit,
  isAbortError,
  openStorage,
  PreconditionFailedError,
  type Storage,
  type StorageOptions,
  sleep,
} from "@ngpipe/storage";
import { copyBox, fillBox, NdArray, type Voxel } from "../array";
import type { ChunkCompression } from "../chunks/stored";
import { decodeChunk, encodeChunk, getCodec } from "../codecs/registry";
import type { ChunkContext } from "../codecs/types";
import { allocTyped, bytesPerVoxel, type DataType, type TypedArray } from "../dtypes";
import { UnknownEncodingError } from "../errors";
import { Bbox, floorNear } from "../geometry/bbox";
import type { Vec3 } from "../geometry/vec3";
import { type AddScaleOptions, addScale, type CreateInfoOptions, createInfo } from "../info/edit";
import { type InfoJSON, type Scale, type ScaleJSON, scaleForMip } from "../info/info";
import { readInfo, writeInfo } from "../info/io";
import { precomputedKernels } from "../kernel-module";
import { poolSize, runKernel } from "../pool";
import { mortonChunkId, mortonPlan } from "../sharding/morton";
import { imageShardShape } from "../sharding/params";
import { ShardReader } from "../sharding/reader";
import type { ShardEntry } from "../sharding/shard";
import type { ShardingSpec } from "../sharding/spec";
import { writeShards } from "../sharding/writer";
import { ChunkCache } from "./cache";
import { AlignmentError, ArrayMismatchError, MissingChunkError, OutOfBoundsError } from "./errors";

/** Options of {@link Volume.open}. */
export interface VolumeOptions {
  /** Mip index, or the resolution (nm) of the scale. Default 0. */
  mip?: number | Vec3;
  /** Read missing chunks as background instead of failing. Default false. */
  fillMissing?: boolean;
  /** Refuse boxes that leave the dataset. Default true; when false the outside reads as background. */
  bounded?: boolean;
  /** Value of missing and outside voxels. Default 0. */
  background?: number | bigint;
  /** Byte budget of the decoded-chunk LRU cache; `true` = 256 MiB. Default off. */
  cache?: boolean | number;
  /** Chunk requests in flight. Default 32. */
  concurrency?: number;
  /** Decode/encode batches of chunks in the shared worker pool. Default true. */
  workers?: boolean;
  /** Transport compression of written chunks; default gzip for raw and compressed_segmentation, none otherwise. */
  compress?: "gzip" | "br" | false;
  /**
   * Level of that compression: gzip 1 (fastest) to 9, brotli 0 to 11.
   * Default gzip 6 (zlib's default), brotli 5. Level 1 takes about a quarter
   * less CPU than 6 on noisy image chunks, for files some 15% larger.
   */
  compressLevel?: number;
  /** Quality (1-100) of jpeg chunks written. Default 85, as CloudVolume's. */
  jpegQuality?: number;
  /** Options for `openStorage` when the volume opens its own storage. */
  storageOptions?: StorageOptions;
  /** An already open storage (its URL is the layer's). */
  storage?: Storage;
}

/** Options of one read or write. */
export interface VolumeIoOptions {
  signal?: AbortSignal;
  /** Called as chunks complete. */
  onProgress?: (done: number, total: number) => void;
}

/** Options of {@link Volume.read}. */
export interface ReadOptions extends VolumeIoOptions {
  /**
   * The resolution (nm) the box is given in, when not this mip's: the box is
   * converted to this mip's voxels with {@link Bbox.toMip} (min floored, max
   * ceiled), like CloudVolume's `coord_resolution`. E.g. a box from a
   * Neuroglancer state at mip 0 read at mip 2: `{ coordResolution: [4, 4, 40] }`.
   */
  coordResolution?: Vec3;
}

/** Options of {@link Volume.unique}. */
export interface UniqueOptions extends ReadOptions {
  /** Also count the voxels of each value (see {@link ValueCounts}). Default false. */
  counts?: boolean;
}

/** Options of {@link Volume.downloadPoint}. */
export interface DownloadPointOptions extends VolumeIoOptions {
  /**
   * The resolution (nm) the point is given in. Default: the layer's mip-0
   * resolution, as CloudVolume's `download_point`, so a point copied from
   * Neuroglancer reads the same place at any mip.
   */
  coordResolution?: Vec3;
}

/** Distinct values, sorted, and how many voxels (times channels) hold each. */
export interface ValueCounts {
  /** Sorted distinct values (bigints for 64-bit data). */
  values: number[] | bigint[];
  /** `counts[i]` voxels hold `values[i]`. */
  counts: number[];
}

/** Options of {@link Volume.write}. */
export interface WriteOptions extends VolumeIoOptions {
  /**
   * Allow a box that is not aligned to the chunk grid: partial chunks are read,
   * patched and written back with conditional writes (retried on conflict).
   */
  readModifyWrite?: boolean;
}

/** Anything a box can be given as: a Bbox, `{min, max}`, `[[min], [max]]` or a chunk name. */
export type BboxLike =
  | Bbox
  | ConstructorParameters<typeof Bbox>
  | { min: Vec3; max: Vec3 }
  | string;

const BUILTIN = new Set(["raw", "compressed_segmentation", "jpeg", "png"]);
const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;
const RMW_ATTEMPTS = 50;
/** Bytes of chunk copies one write keeps queued for encoding. */
const CROP_BUDGET = 64 * 1024 * 1024;

function toBbox(b: BboxLike): Bbox {
  return b instanceof Bbox ? b : Bbox.fromJSON(b);
}

/** A copy of `bytes` that owns its whole buffer, so it can be transferred to a worker. */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
    ? bytes
    : bytes.slice();
}

/** A counting semaphore: at most `slots` holders at once, the others wait in order. */
class Gate {
  private waiting: (() => void)[] = [];
  constructor(private slots: number) {}

  async acquire(): Promise<void> {
    if (this.slots > 0) {
      this.slots--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.slots++;
  }
}

/**
 * Throws `UnknownEncodingError` naming `where()` when no codec handles
 * `encoding` (the name is only built then: reads call this every time).
 */
function checkEncoding(encoding: string, where: () => string): void {
  try {
    getCodec(encoding);
  } catch (err) {
    if (err instanceof UnknownEncodingError)
      throw new UnknownEncodingError(`${where()}: ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * Whether each shard file of an image scale holds exactly the chunks of one
 * aligned block (see `imageShardShape`): true for an identity hash whose
 * preshift, minishard and shard bits together cover the chunk ids' bits.
 */
function shardBoxesAreFiles(spec: ShardingSpec, idBits: number): boolean {
  return (
    spec.hash === "identity" && spec.preshift_bits + spec.minishard_bits + spec.shard_bits >= idBits
  );
}

/** A precomputed layer at one mip, for reading and writing cutouts. */
export class Volume {
  /** The scale this volume reads and writes. */
  readonly scale: Scale;
  private readonly cache?: ChunkCache;
  private shardReader?: ShardReader;

  private constructor(
    /** Storage rooted at the layer (where `info` lives). */
    readonly storage: Storage,
    /** The layer's info (edit, then {@link commitInfo}). */
    readonly info: InfoJSON,
    private readonly options: VolumeOptions,
    cache?: ChunkCache,
  ) {
    this.scale = scaleForMip(info, options.mip ?? 0);
    const budget = options.cache === true ? DEFAULT_CACHE_BYTES : options.cache || 0;
    this.cache = cache ?? (budget > 0 ? new ChunkCache(budget) : undefined);
  }

  /** Open a layer: reads and validates its info. */
  static async open(url: string, options: VolumeOptions = {}): Promise<Volume> {
    const storage = options.storage ?? openStorage(url, options.storageOptions);
    const info = await readInfo(storage);
    return new Volume(storage, info, options);
  }

  /** Write `info` to a new (or existing) layer and open it. */
  static async create(url: string, info: InfoJSON, options: VolumeOptions = {}): Promise<Volume> {
    const storage = options.storage ?? openStorage(url, options.storageOptions);
    // Refuse encodings there is no codec for before anything is written.
    for (const s of info.scales ?? [])
      checkEncoding(s.encoding, () => `${storage.url} scale ${s.key}`);
    await writeInfo(storage, info);
    return new Volume(storage, info, options);
  }

  /**
   * A layer holding `array` at mip 0, made in one call: the info is derived
   * from the array (dtype, channels, size) and the options, then the whole
   * array is written. Handy for tests of analyses:
   *
   * ```ts
   * const vol = await Volume.fromArray("mem://t/seg", NdArray.from(labels, [64, 64, 64]),
   *   { type: "segmentation", encoding: "compressed_segmentation" });
   * ```
   */
  static async fromArray(
    url: string,
    array: NdArray,
    options: Partial<CreateInfoOptions> & VolumeOptions = {},
  ): Promise<Volume> {
    const [sx, sy, sz, nc] = array.shape;
    const info = createInfo({
      type:
        options.type ??
        (array.dtype === "uint32" || array.dtype === "uint64" ? "segmentation" : "image"),
      dataType: array.dtype,
      numChannels: nc,
      resolution: options.resolution ?? [1, 1, 1],
      voxelOffset: options.voxelOffset ?? [0, 0, 0],
      size: [sx, sy, sz],
      chunkSize: options.chunkSize ?? [64, 64, 64],
      encoding: options.encoding ?? "raw",
      blockSize: options.blockSize,
      mesh: options.mesh,
      sharding: options.sharding,
    });
    const vol = await Volume.create(url, info, options);
    await vol.write(vol.bounds, array);
    return vol;
  }

  /** The same layer at another mip (sharing storage, info and cache). */
  withMip(mip: number | Vec3): Volume {
    return new Volume(this.storage, this.info, { ...this.options, mip }, this.cache);
  }

  /** The layer URL. */
  get url(): string {
    return this.storage.url;
  }

  get mip(): number {
    return this.scale.mip;
  }

  get dataType(): DataType {
    return this.info.data_type as DataType;
  }

  get numChannels(): number {
    return this.info.num_channels;
  }

  get layerType(): string {
    return this.info.type;
  }

  /** `[voxel_offset, voxel_offset + size)` of this mip. */
  get bounds(): Bbox {
    return this.scale.bounds;
  }

  get chunkSize(): Vec3 {
    return this.scale.chunkSize;
  }

  get resolution(): Vec3 {
    return this.scale.resolution;
  }

  /** Number of mips in the info. */
  get mipCount(): number {
    return this.info.scales.length;
  }

  /** Storage key of the chunk with this (dataset-clipped) box. */
  chunkKey(chunk: Bbox): string {
    return `${this.scale.key}/${chunk.toChunkName()}`;
  }

  /** Add a scale `factor` times coarser than mip 0 to the info (call {@link commitInfo} to save). */
  addScale(factor: Vec3, options: AddScaleOptions = {}): ScaleJSON {
    return addScale(this.info, factor, options);
  }

  /** Write the (edited) info back. */
  async commitInfo(): Promise<void> {
    await writeInfo(this.storage, this.info);
  }

  private get background(): Voxel {
    const bg = this.options.background ?? 0;
    return this.dataType === "uint64" || this.dataType === "int64" ? BigInt(bg) : Number(bg);
  }

  private chunkContext(chunk: Bbox): ChunkContext {
    const s = chunk.size();
    return {
      dtype: this.dataType,
      shape: [s[0], s[1], s[2], this.numChannels],
      blockSize: this.scale.blockSize,
      key: `${this.url}/${this.chunkKey(chunk)}`,
      ...(this.options.jpegQuality !== undefined ? { quality: this.options.jpegQuality } : {}),
    };
  }

  private useWorkers(count: number): boolean {
    return this.options.workers !== false && count > 1 && BUILTIN.has(this.scale.encoding);
  }

  private async decode(
    bytes: Uint8Array,
    ctx: ChunkContext,
    pooled: boolean,
    signal?: AbortSignal,
  ): Promise<TypedArray> {
    if (!pooled) return decodeChunk(bytes, this.scale.encoding, ctx);
    const own = ownBuffer(bytes);
    return runKernel<TypedArray>(
      precomputedKernels(),
      "decodeChunk",
      [own, this.scale.encoding, ctx],
      {
        transfer: [own.buffer as ArrayBuffer],
        signal,
      },
    );
  }

  /**
   * Voxels of a chunk from its stored bytes (as `getRaw` returns them): one
   * pool task gunzips and decodes, so the main thread only moves bytes.
   */
  private async decodeStored(
    key: string,
    bytes: Uint8Array,
    codec: Compression | undefined,
    ctx: ChunkContext,
    signal?: AbortSignal,
  ): Promise<TypedArray> {
    let plain = bytes;
    let compression: ChunkCompression | undefined;
    if (codec === "zstd") plain = await decompressBytes(bytes, codec, this.url, key);
    else compression = codec;
    const own = ownBuffer(plain);
    try {
      return await runKernel<TypedArray>(
        precomputedKernels(),
        "decodeStoredChunk",
        [own, compression, this.scale.encoding, ctx],
        { transfer: [own.buffer as ArrayBuffer], signal },
      );
    } catch (e) {
      if (
        e instanceof Error &&
        e.name === "DecompressionError" &&
        !(e instanceof DecompressionError)
      ) {
        throw new DecompressionError(e.message, this.url, key, { cause: e });
      }
      throw e;
    }
  }

  /**
   * The stored bytes of one chunk: encoded, then compressed with `compress`
   * at the volume's level. Pooled, both steps run in one worker task and
   * `data` (which the caller owns) is moved there.
   */
  private async encodeStored(
    data: TypedArray,
    ctx: ChunkContext,
    pooled: boolean,
    compress: "gzip" | "br" | false,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    const compression = compress === false ? undefined : compress;
    const level = this.options.compressLevel;
    if (pooled) {
      return runKernel<Uint8Array>(
        precomputedKernels(),
        "encodeStoredChunk",
        [data, this.scale.encoding, ctx, compression, level],
        { transfer: [data.buffer as ArrayBuffer], signal },
      );
    }
    const bytes = encodeChunk(data, this.scale.encoding, ctx);
    return compression === undefined ? bytes : compressBytes(bytes, compression, level);
  }

  private async encode(
    data: TypedArray,
    ctx: ChunkContext,
    pooled: boolean,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    if (!pooled) return encodeChunk(data, this.scale.encoding, ctx);
    return runKernel<Uint8Array>(
      precomputedKernels(),
      "encodeChunk",
      [data, this.scale.encoding, ctx],
      {
        transfer: [data.buffer as ArrayBuffer],
        signal,
      },
    );
  }

  private get compression(): "gzip" | "br" | false {
    if (this.options.compress !== undefined) return this.options.compress;
    return this.scale.encoding === "raw" || this.scale.encoding === "compressed_segmentation"
      ? "gzip"
      : false;
  }

  private checkBounds(bbox: Bbox, what: string): void {
    if (!this.bounds.contains(bbox)) {
      throw new OutOfBoundsError(
        `${what} ${bbox} leaves the dataset bounds ${this.bounds} of ${this.url} at mip ${this.mip}` +
          (what === "read"
            ? "; open with { bounded: false } to read the outside as background"
            : ""),
      );
    }
  }

  private reader(): ShardReader {
    this.shardReader ??= new ShardReader(this.storage, this.scale.sharding!, {
      prefix: this.scale.key,
      concurrency: this.options.concurrency ?? 32,
    });
    return this.shardReader;
  }

  /**
   * Fetch and decode the chunks overlapping `region` (already clipped to the
   * dataset) and hand each to `paint`; null chunks are missing.
   */
  private async loadChunks(
    region: Bbox,
    paint: (chunk: Bbox, data: TypedArray | null) => void,
    opts: VolumeIoOptions,
  ): Promise<void> {
    const { chunkSize, voxelOffset } = this.scale;
    const cells = [...region.chunkCells(chunkSize, voxelOffset, this.bounds)];
    const pooled = this.useWorkers(cells.length);
    let done = 0;
    const finish = (chunk: Bbox, data: TypedArray | null) => {
      if (data === null && !this.options.fillMissing) {
        throw new MissingChunkError(this.chunkKey(chunk), this.url);
      }
      paint(chunk, data);
      opts.onProgress?.(++done, cells.length);
    };
    const limit = this.options.concurrency ?? 32;

    if (this.scale.sharding) {
      const plan = mortonPlan(this.scale.gridSize);
      const ids = cells.map((c) => mortonChunkId(plan, c.grid));
      const found = await this.reader().getMany(ids, { signal: opts.signal });
      await forEachLimit(
        cells,
        limit,
        async (cell) => {
          const bytes = found.get(mortonChunkId(plan, cell.grid)) ?? null;
          const data =
            bytes === null
              ? null
              : await this.decode(bytes, this.chunkContext(cell.bbox), pooled, opts.signal);
          finish(cell.bbox, data);
        },
        opts,
      );
      return;
    }

    await forEachLimit(
      cells,
      limit,
      async ({ bbox: chunk }) => {
        const key = this.chunkKey(chunk);
        let data = this.cache?.get(key);
        if (data === undefined) {
          if (pooled) {
            const stored = await this.storage.getRaw(key, { signal: opts.signal });
            if (stored === null) return finish(chunk, null);
            data = await this.decodeStored(
              key,
              stored.data,
              stored.info.contentEncoding,
              this.chunkContext(chunk),
              opts.signal,
            );
          } else {
            const bytes = await this.storage.get(key, { signal: opts.signal });
            if (bytes === null) return finish(chunk, null);
            data = decodeChunk(bytes, this.scale.encoding, this.chunkContext(chunk));
          }
          this.cache?.set(key, data);
        }
        finish(chunk, data);
      },
      opts,
    );
  }

  /** `box` in voxels of this mip (converted from `coordResolution` when given). */
  private boxAtMip(box: BboxLike, coordResolution: Vec3 | undefined): Bbox {
    const bbox = toBbox(box);
    return coordResolution === undefined ? bbox : bbox.toMip(coordResolution, this.resolution);
  }

  /**
   * Read any box (voxels of this mip, or of `coordResolution`). Returns a new
   * [x, y, z, c] array. Missing chunks fail with `MissingChunkError` unless
   * `fillMissing`; boxes outside the dataset fail with `OutOfBoundsError`
   * unless `bounded: false`.
   */
  async read(box: BboxLike, opts: ReadOptions = {}): Promise<NdArray> {
    this.checkCodec();
    const bbox = this.boxAtMip(box, opts.coordResolution);
    if (this.options.bounded !== false) this.checkBounds(bbox, "read");
    const size = bbox.size();
    const out = NdArray.zeros(this.dataType, [size[0], size[1], size[2], this.numChannels]);
    const bg = this.background;
    if (bg !== 0 && bg !== 0n) (out.data as unknown as { fill(v: Voxel): void }).fill(bg);
    const region = bbox.intersect(this.bounds);
    if (region.empty()) return out;
    await this.loadChunks(
      region,
      (chunk, data) => {
        const part = chunk.intersect(bbox);
        const dstMin = [
          part.min[0] - bbox.min[0],
          part.min[1] - bbox.min[1],
          part.min[2] - bbox.min[2],
        ];
        if (data === null) {
          fillBox(out, dstMin, part.size(), bg);
          return;
        }
        const cs = chunk.size();
        const src = new NdArray(data, [cs[0], cs[1], cs[2], this.numChannels], this.dataType);
        const srcMin = [
          part.min[0] - chunk.min[0],
          part.min[1] - chunk.min[1],
          part.min[2] - chunk.min[2],
        ];
        copyBox(src, srcMin, out, dstMin, part.size());
      },
      opts,
    );
    return out;
  }

  /**
   * A cutout of `size` voxels of this mip centred on `point`, like
   * CloudVolume's `download_point`: the point is in mip-0 voxels (or in
   * voxels of `opts.coordResolution`), as Neuroglancer shows it, and is
   * floored to a voxel of this mip; the box starts `floor(size / 2)` before it.
   *
   * @example
   * // The same spot at mip 0 and, four times coarser in x and y, at mip 2:
   * await vol.downloadPoint([5120, 3072, 100], 64);
   * await vol.withMip(2).downloadPoint([5120, 3072, 100], 64); // centred on [1280, 768, 100]
   */
  async downloadPoint(
    point: Vec3,
    size: number | Vec3 = 64,
    opts: DownloadPointOptions = {},
  ): Promise<NdArray> {
    const { coordResolution, ...io } = opts;
    const from = coordResolution ?? scaleForMip(this.info, 0).resolution;
    const to = this.resolution;
    const s: Vec3 = typeof size === "number" ? [size, size, size] : size;
    // Multiply before dividing (exact for integer points and resolutions),
    // then snap values within rounding error of a whole number to it.
    const at = (i: number) => floorNear((point[i] * from[i]) / to[i]) - Math.floor(s[i] / 2);
    return this.read(Bbox.fromSize([at(0), at(1), at(2)], s), io);
  }

  /** An encoding with no codec fails here, naming the layer and scale, before any chunk is touched. */
  private checkCodec(): void {
    checkEncoding(this.scale.encoding, () => `${this.url} scale ${this.scale.key}`);
  }

  private checkArray(array: NdArray, bbox: Bbox): void {
    if (!(array instanceof NdArray)) {
      const got = (array as object)?.constructor?.name ?? typeof array;
      throw new ArrayMismatchError(
        `write to ${this.url} ${bbox}: expected an NdArray (NdArray.from(data, shape)), got ${got}`,
      );
    }
    if (array.dtype !== this.dataType) {
      throw new ArrayMismatchError(
        `cannot write ${array.dtype} voxels to the ${this.dataType} layer ${this.url}`,
      );
    }
    const s = bbox.size();
    const want = [s[0], s[1], s[2], this.numChannels];
    if (array.shape.some((n, i) => n !== want[i])) {
      throw new ArrayMismatchError(
        `array shape [${array.shape.join(", ")}] does not fit box ${bbox} with ${this.numChannels} channel(s) of ${this.url}`,
      );
    }
  }

  /**
   * Write `array` at `box` (or with its low corner at `box` when a point is
   * given). The box must be aligned to the chunk grid (the dataset's upper
   * edge counts as aligned) unless `readModifyWrite` is set.
   */
  async write(box: BboxLike | Vec3, array: NdArray, opts: WriteOptions = {}): Promise<void> {
    this.checkCodec();
    const bbox =
      Array.isArray(box) && typeof box[0] === "number"
        ? Bbox.fromSize(box as unknown as Vec3, [array.shape[0], array.shape[1], array.shape[2]])
        : toBbox(box as BboxLike);
    this.checkArray(array, bbox);
    this.checkBounds(bbox, "write");
    if (bbox.empty()) return;
    const { chunkSize, voxelOffset } = this.scale;
    const aligned = bbox.isAlignedTo(chunkSize, voxelOffset, this.bounds);
    if (!aligned && !opts.readModifyWrite) {
      throw new AlignmentError(
        `write of ${bbox} to ${this.url} mip ${this.mip} is not aligned to the chunk grid ` +
          `(chunk size ${chunkSize.join("x")}, offset ${voxelOffset.join(",")}); ` +
          `the aligned box would be ${bbox.expandToChunks(chunkSize, voxelOffset).intersect(this.bounds)}. ` +
          "Pass { readModifyWrite: true } to patch partial chunks.",
      );
    }
    if (this.scale.sharding) return this.writeSharded(bbox, array, opts);

    const chunks = [...bbox.chunks(chunkSize, voxelOffset, this.bounds)];
    const pooled = this.useWorkers(chunks.length);
    const compress = this.compression;
    // Chunk copies waiting for a worker are capped at CROP_BUDGET bytes (and
    // at least two per thread): enough queued work to keep the workers busy
    // while the caller's thread is away (e.g. in a synchronous HDF5 read),
    // without one copy per request in flight when chunks are large.
    const cs = chunkSize;
    const chunkBytes = cs[0] * cs[1] * cs[2] * this.numChannels * bytesPerVoxel(this.dataType);
    const encoding = new Gate(Math.max(2 * poolSize(), Math.floor(CROP_BUDGET / chunkBytes)));
    let done = 0;
    await forEachLimit(
      chunks,
      this.options.concurrency ?? 32,
      async (chunk) => {
        const key = this.chunkKey(chunk);
        const part = chunk.intersect(bbox);
        const srcMin = [
          part.min[0] - bbox.min[0],
          part.min[1] - bbox.min[1],
          part.min[2] - bbox.min[2],
        ];
        const ctx = this.chunkContext(chunk);
        if (part.equals(chunk)) {
          this.cache?.delete(key);
          await encoding.acquire();
          let bytes: Uint8Array;
          try {
            const piece = array.crop(srcMin, chunk.size());
            bytes = await this.encodeStored(piece.data, ctx, pooled, compress, opts.signal);
          } finally {
            encoding.release();
          }
          await this.storage.putRaw(key, bytes, {
            contentEncoding: compress === false ? undefined : compress,
            signal: opts.signal,
          });
        } else {
          await this.patchChunk(chunk, part, array, srcMin, compress, opts.signal);
        }
        opts.onProgress?.(++done, chunks.length);
      },
      opts,
    );
  }

  /** Read-modify-write of one partial chunk with conditional writes, retried on conflict. */
  private async patchChunk(
    chunk: Bbox,
    part: Bbox,
    array: NdArray,
    srcMin: number[],
    compress: "gzip" | "br" | false,
    signal?: AbortSignal,
  ): Promise<void> {
    const key = this.chunkKey(chunk);
    const ctx = this.chunkContext(chunk);
    const cs = chunk.size();
    const dstMin = [
      part.min[0] - chunk.min[0],
      part.min[1] - chunk.min[1],
      part.min[2] - chunk.min[2],
    ];
    this.cache?.delete(key);
    for (let attempt = 0; attempt < RMW_ATTEMPTS; attempt++) {
      // The version comes from head, before the read: if the object changes in
      // between, the conditional put below fails and the loop reads it again.
      const head = await this.storage.head(key, { signal });
      const found = head === null ? null : await this.storage.get(key, { signal });
      let data: TypedArray;
      if (found) {
        data = decodeChunk(found, this.scale.encoding, ctx);
      } else {
        data = allocTyped(this.dataType, cs[0] * cs[1] * cs[2] * this.numChannels);
        const bg = this.background;
        if (bg !== 0 && bg !== 0n) (data as unknown as { fill(v: Voxel): void }).fill(bg);
      }
      const target = new NdArray(data, [cs[0], cs[1], cs[2], this.numChannels], this.dataType);
      copyBox(array, srcMin, target, dstMin, part.size());
      const bytes = await this.encodeStored(data, ctx, false, compress, signal);
      try {
        await this.storage.putRaw(key, bytes, {
          contentEncoding: compress === false ? undefined : compress,
          signal,
          ...(found !== null && head?.version !== undefined
            ? { ifVersion: head.version }
            : { ifAbsent: true }),
        });
        return;
      } catch (e) {
        if (!(e instanceof PreconditionFailedError) || isAbortError(e)) throw e;
      }
      await sleep(backoffDelay(attempt, 5, 500), signal);
    }
    throw new PreconditionFailedError(
      `read-modify-write of ${key} lost ${RMW_ATTEMPTS} races with other writers; giving up`,
      this.url,
      key,
    );
  }

  private async writeSharded(bbox: Bbox, array: NdArray, opts: WriteOptions): Promise<void> {
    const { chunkSize, voxelOffset, sharding, size, gridSize } = this.scale;
    const plan = mortonPlan(gridSize);
    if (!shardBoxesAreFiles(sharding!, plan.bits)) {
      // Each shard file gathers chunks from all over the scale (a hashed
      // spec, or too few shard bits): only a write of the whole scale knows
      // every chunk of every file it rewrites.
      if (!bbox.equals(this.bounds)) {
        throw new AlignmentError(
          `write of ${bbox} to the sharded scale ${this.scale.key} of ${this.url}: its sharding ` +
            `(${sharding!.hash} hash, preshift ${sharding!.preshift_bits} + minishard ${sharding!.minishard_bits} + shard ${sharding!.shard_bits} bits ` +
            `for ${plan.bits}-bit chunk ids) puts chunks from across the scale into each shard file, ` +
            `so only whole-scale writes (${this.bounds}) are possible; use an identity hash with enough bits (computeImageShardingSpec) for block writes`,
        );
      }
      return this.writeShardedBoxes(bbox, array, [bbox], plan, opts);
    }
    const shardShape = imageShardShape(sharding!, size, chunkSize);
    if (!bbox.isAlignedTo(shardShape, voxelOffset, this.bounds)) {
      throw new AlignmentError(
        `write of ${bbox} to the sharded scale ${this.scale.key} of ${this.url} must cover whole shards ` +
          `(${shardShape.join("x")} voxels from ${voxelOffset.join(",")}); ` +
          `the aligned box would be ${bbox.expandToChunks(shardShape, voxelOffset).intersect(this.bounds)}`,
      );
    }
    return this.writeShardedBoxes(
      bbox,
      array,
      [...bbox.chunks(shardShape, voxelOffset, this.bounds)],
      plan,
      opts,
    );
  }

  /** Encodes and writes the chunks of each box as a complete set of shard files. */
  private async writeShardedBoxes(
    bbox: Bbox,
    array: NdArray,
    shards: Bbox[],
    plan: ReturnType<typeof mortonPlan>,
    opts: WriteOptions,
  ): Promise<void> {
    const { chunkSize, voxelOffset, sharding } = this.scale;
    let done = 0;
    for (const shard of shards) {
      const cells = [...shard.chunkCells(chunkSize, voxelOffset, this.bounds)];
      const pooled = this.useWorkers(cells.length);
      const entries: ShardEntry[] = new Array(cells.length);
      await forEachLimit(
        cells.map((c, i) => ({ c, i })),
        this.options.concurrency ?? 32,
        async ({ c, i }) => {
          const srcMin = [
            c.bbox.min[0] - bbox.min[0],
            c.bbox.min[1] - bbox.min[1],
            c.bbox.min[2] - bbox.min[2],
          ];
          const piece = array.crop(srcMin, c.bbox.size());
          const data = await this.encode(
            piece.data,
            this.chunkContext(c.bbox),
            pooled,
            opts.signal,
          );
          entries[i] = { id: mortonChunkId(plan, c.grid), data };
        },
        opts,
      );
      await writeShards(this.storage, entries, sharding!, {
        prefix: this.scale.key,
        signal: opts.signal,
      });
      this.shardReader?.clearCache();
      opts.onProgress?.(++done, shards.length);
    }
  }

  /** Which chunks of `box` exist: chunk name → boolean. */
  async exists(box: BboxLike, opts: VolumeIoOptions = {}): Promise<Map<string, boolean>> {
    const bbox = toBbox(box).intersect(this.bounds);
    const out = new Map<string, boolean>();
    if (bbox.empty()) return out;
    const { chunkSize, voxelOffset } = this.scale;
    const cells = [...bbox.chunkCells(chunkSize, voxelOffset, this.bounds)];
    if (this.scale.sharding) {
      const plan = mortonPlan(this.scale.gridSize);
      const found = await this.reader().getMany(
        cells.map((c) => mortonChunkId(plan, c.grid)),
        { signal: opts.signal },
      );
      for (const c of cells)
        out.set(c.bbox.toChunkName(), found.get(mortonChunkId(plan, c.grid)) != null);
      return out;
    }
    const results = await this.storage.existsMany(
      cells.map((c) => this.chunkKey(c.bbox)),
      { signal: opts.signal, concurrency: this.options.concurrency },
    );
    results.forEach((r, i) => {
      if (!r.ok) throw r.error;
      out.set(cells[i].bbox.toChunkName(), r.value);
    });
    return out;
  }

  /** Delete the chunks of an aligned box (unsharded scales). */
  async delete(box: BboxLike, opts: VolumeIoOptions = {}): Promise<void> {
    const bbox = toBbox(box).intersect(this.bounds);
    const { chunkSize, voxelOffset } = this.scale;
    if (this.scale.sharding) {
      throw new AlignmentError(
        `delete of ${bbox} in the sharded scale ${this.scale.key} of ${this.url}: chunks inside shard files ` +
          "cannot be deleted one by one; delete or rewrite whole shard files",
      );
    }
    if (!bbox.isAlignedTo(chunkSize, voxelOffset, this.bounds)) {
      throw new AlignmentError(
        `delete of ${bbox} in ${this.url} mip ${this.mip} is not aligned to the chunk grid`,
      );
    }
    const keys = [...bbox.chunks(chunkSize, voxelOffset, this.bounds)].map((c) => this.chunkKey(c));
    for (const k of keys) this.cache?.delete(k);
    const results = await this.storage.deleteMany(keys, {
      signal: opts.signal,
      concurrency: this.options.concurrency,
      onProgress: opts.onProgress as ((d: number, t: number | undefined) => void) | undefined,
    });
    for (const r of results) if (!r.ok) throw r.error;
  }

  /**
   * Sorted distinct values in `box` (bigints for 64-bit layers), or with
   * `counts: true` also the number of voxels holding each. Computed chunk by
   * chunk, so a box far larger than memory can be counted; missing chunks
   * (with `fillMissing`) and the outside (with `bounded: false`) count as
   * background.
   *
   * @example
   * const { values, counts } = await seg.unique(seg.bounds, { counts: true });
   */
  unique(box: BboxLike, opts?: UniqueOptions & { counts?: false }): Promise<number[] | bigint[]>;
  unique(box: BboxLike, opts: UniqueOptions & { counts: true }): Promise<ValueCounts>;
  async unique(
    box: BboxLike,
    opts: UniqueOptions = {},
  ): Promise<number[] | bigint[] | ValueCounts> {
    this.checkCodec();
    const bbox = this.boxAtMip(box, opts.coordResolution);
    if (this.options.bounded !== false) this.checkBounds(bbox, "read");
    const tally = new Map<number | bigint, number>();
    const add = (value: number | bigint, n: number) => {
      if (n > 0) tally.set(value, (tally.get(value) ?? 0) + n);
    };
    const nc = this.numChannels;
    const bg = this.background as number | bigint;
    const region = bbox.intersect(this.bounds);
    add(bg, (bbox.volume() - (region.empty() ? 0 : region.volume())) * nc);
    if (!region.empty()) {
      await this.loadChunks(
        region,
        (chunk, data) => {
          const part = chunk.intersect(bbox);
          if (data === null) return add(bg, part.volume() * nc);
          let voxels = data;
          if (!part.equals(chunk)) {
            const cs = chunk.size();
            const whole = new NdArray(data, [cs[0], cs[1], cs[2], nc], this.dataType);
            const srcMin = [
              part.min[0] - chunk.min[0],
              part.min[1] - chunk.min[1],
              part.min[2] - chunk.min[2],
            ];
            voxels = whole.crop(srcMin, part.size()).data;
          }
          const found = uniqueValues(voxels, { counts: true });
          for (let i = 0; i < found.values.length; i++) add(found.values[i], found.counts[i]);
        },
        opts,
      );
    }
    const sorted =
      this.dataType === "uint64" || this.dataType === "int64"
        ? (this.dataType === "uint64" ? BigUint64Array : BigInt64Array)
            .from(tally.keys() as Iterable<bigint>)
            .sort()
        : Float64Array.from(tally.keys() as Iterable<number>).sort();
    const values = Array.from(sorted as ArrayLike<number | bigint>) as number[] | bigint[];
    if (!opts.counts) return values;
    return { values, counts: values.map((v: number | bigint) => tally.get(v)!) };
  }
}

/**
 * Sorted distinct values of a typed array (bigints for 64-bit arrays), or
 * with `{ counts: true }` also how many elements hold each, without
 * per-element allocation: the array is copied, sorted and run-length
 * counted (64-bit values compared as pairs of uint32 words). NaNs count as
 * one value.
 *
 * @example
 * uniqueValues(new Uint8Array([3, 1, 3])); // [1, 3]
 * uniqueValues(new Uint8Array([3, 1, 3]), { counts: true }); // { values: [1, 3], counts: [1, 2] }
 */
export function uniqueValues(data: TypedArray, opts?: { counts?: false }): number[] | bigint[];
export function uniqueValues(data: TypedArray, opts: { counts: true }): ValueCounts;
export function uniqueValues(
  data: TypedArray,
  opts: { counts?: boolean } = {},
): number[] | bigint[] | ValueCounts {
  const found = countSorted(data);
  return opts.counts ? found : found.values;
}

function countSorted(data: TypedArray): ValueCounts {
  const counts: number[] = [];
  if (data instanceof BigUint64Array || data instanceof BigInt64Array) {
    const sorted = data.slice().sort();
    const w = new Uint32Array(sorted.buffer, sorted.byteOffset, sorted.length * 2);
    const values: bigint[] = [];
    let run = 0;
    for (let i = 0; i < sorted.length; i++) {
      if (i === 0 || w[2 * i] !== w[2 * i - 2] || w[2 * i + 1] !== w[2 * i - 1]) {
        if (i > 0) counts.push(run);
        values.push(sorted[i]);
        run = 0;
      }
      run++;
    }
    if (sorted.length > 0) counts.push(run);
    return { values, counts };
  }
  const sorted = (data as Float64Array).slice().sort();
  const values: number[] = [];
  let run = 0;
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i];
    const prev = sorted[i - 1];
    // NaN !== NaN, but NaNs (which a typed-array sort puts last) are one value.
    if (i === 0 || (v !== prev && !(Number.isNaN(v) && Number.isNaN(prev)))) {
      if (i > 0) counts.push(run);
      values.push(v);
      run = 0;
    }
    run++;
  }
  if (sorted.length > 0) counts.push(run);
  return { values, counts };
}
