/**
 * `Volume`: cutouts of a precomputed image or segmentation layer, the
 * CloudVolume of ngpipe. Cutout geometry only: which chunks a box touches
 * and how their voxels paint into one [x, y, z, c] array. The chunks' IO is
 * a {@link ChunkStore}'s (one object per chunk, or shard files), their
 * coding a {@link ChunkCoder}'s (worker pool for batches); read-modify-write
 * of partial chunks uses the store's conditional writes, so concurrent
 * writers never lose voxels.
 *
 * ```ts
 * const vol = await Volume.open("gs://bucket/dataset/seg", { mip: 0, fillMissing: true });
 * const cut = await vol.read(new Bbox([1000, 1000, 100], [1256, 1256, 164]));
 * cut.shape; // [256, 256, 64, 1]: a scijs ndarray, x fastest
 * cut.get(10, 20, 30, 0); // a bigint for uint64 layers
 * ```
 */
import { openStorage, type Storage } from "@ngpipe/storage";
import { dataTypeOfInput, type Voxel, type VoxelArray, type VoxelInput } from "../array";
import type { ChunkCoder } from "../chunks/coder";
import type { ChunkCell, ChunkStore } from "../chunks/store";
import { bytesPerVoxel, type DataType, type TypedArray } from "../dtypes";
import { Bbox, floorNear } from "../geometry/bbox";
import type { Vec3 } from "../geometry/vec3";
import { type AddScaleOptions, addScale, type CreateInfoOptions, createInfo } from "../info/edit";
import {
  type InfoJSON,
  MAX_ARRAY_BYTES,
  type Scale,
  type ScaleJSON,
  scaleForMip,
} from "../info/info";
import { readInfo, writeInfo } from "../info/io";
import { ChunkCache } from "./cache";
import { boxAtPoint, checkArray, cropChunk, newCutout, paintChunk } from "./edge";
import { AlignmentError, CutoutTooLargeError, OutOfBoundsError } from "./errors";
import { checkEncoding, scaleChunkIo } from "./layout";
import {
  type BboxLike,
  type DownloadPointOptions,
  type ReadOptions,
  toBbox,
  type UniqueOptions,
  type VolumeIoOptions,
  type VolumeOptions,
  type WriteOptions,
} from "./options";
import { readChunks } from "./read";
import { type ValueCounts, ValueTally } from "./unique";
import { type ChunkWriter, writeBox } from "./write";

const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

/** A precomputed layer at one mip, for reading and writing cutouts. */
export class Volume {
  /** The scale this volume reads and writes. */
  readonly scale: Scale;
  /** How this scale's chunks are stored (one object each, or shard files). */
  readonly chunks: ChunkStore;
  /** How this scale's chunks are encoded and decoded. */
  readonly coder: ChunkCoder;
  private readonly cache?: ChunkCache;

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
    ({ chunks: this.chunks, coder: this.coder } = scaleChunkIo(storage, info, this.scale, options));
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
   * const vol = await Volume.fromArray("mem://t/seg", fromTyped(labels, [64, 64, 64]),
   *   { type: "segmentation", encoding: "compressed_segmentation" });
   * ```
   */
  static async fromArray(
    url: string,
    array: VoxelInput,
    options: Partial<CreateInfoOptions> & VolumeOptions = {},
  ): Promise<Volume> {
    const [sx, sy, sz] = array.shape;
    const nc = array.shape.length === 4 ? array.shape[3] : 1;
    const dtype = dataTypeOfInput(array, `fromArray ${url}`);
    const info = createInfo({
      type: options.type ?? (dtype === "uint32" || dtype === "uint64" ? "segmentation" : "image"),
      dataType: dtype,
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

  /** Storage key of the chunk with this (dataset-clipped) box (unsharded layout). */
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

  private get writer(): ChunkWriter {
    const [cx, cy, cz] = this.chunkSize;
    return {
      chunks: this.chunks,
      coder: this.coder,
      cache: this.cache,
      background: this.background,
      concurrency: this.options.concurrency ?? 32,
      chunkBytes: cx * cy * cz * this.numChannels * bytesPerVoxel(this.dataType),
    };
  }

  private cells(box: Bbox): ChunkCell[] {
    return [...box.chunkCells(this.scale.chunkSize, this.scale.voxelOffset, this.bounds)];
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

  /** An encoding with no codec fails here, naming the layer and scale, before any chunk is touched. */
  private checkCodec(): void {
    checkEncoding(this.scale.encoding, () => `${this.url} scale ${this.scale.key}`);
  }

  /** `box` in voxels of this mip (converted from `coordResolution` when given). */
  private boxAtMip(box: BboxLike, coordResolution: Vec3 | undefined): Bbox {
    const bbox = toBbox(box);
    return coordResolution === undefined ? bbox : bbox.toMip(coordResolution, this.resolution);
  }

  /**
   * Fetch and decode the chunks overlapping `region` (already clipped to the
   * dataset) and hand each to `paint`; null chunks are missing.
   */
  private loadChunks(
    region: Bbox,
    paint: (chunk: Bbox, data: TypedArray | null) => void,
    opts: VolumeIoOptions,
    shared?: { out: VoxelArray; box: Bbox },
  ): Promise<void> {
    const { chunks, coder, cache } = this;
    const reader = { chunks, coder, cache, fillMissing: this.options.fillMissing === true };
    return readChunks(reader, this.cells(region), paint, opts, shared);
  }

  /**
   * Read any box (voxels of this mip, or of `coordResolution`). Returns a new
   * [x, y, z, c] array. Missing chunks fail with `MissingChunkError` unless
   * `fillMissing`; boxes outside the dataset fail with `OutOfBoundsError`
   * unless `bounded: false`.
   *
   * The result is a scijs ndarray with Fortran strides over a typed array of
   * the layer's dtype (BigUint64Array for uint64). `T` names that typed array
   * for the type checker when the caller knows the dtype (it is not checked):
   *
   * ```ts
   * const cut = await img.read<Uint8Array>(box);
   * ops.sup(cut); // ndarray-ops
   * ```
   */
  async read<T extends TypedArray = TypedArray>(
    box: BboxLike,
    opts: ReadOptions = {},
  ): Promise<VoxelArray<T>> {
    this.checkCodec();
    const bbox = this.boxAtMip(box, opts.coordResolution);
    if (this.options.bounded !== false) this.checkBounds(bbox, "read");
    const bytes = bbox.volume() * bytesPerVoxel(this.dataType) * this.numChannels;
    if (bytes > MAX_ARRAY_BYTES)
      throw new CutoutTooLargeError(
        `reading ${bbox} of ${this.url} needs ${bytes} bytes, more than one array can hold (${MAX_ARRAY_BYTES}); read it in smaller boxes`,
      );
    const bg = this.background;
    const region = bbox.intersect(this.bounds);
    // Every voxel of `region` is painted (a missing chunk with background).
    const covered = region.equals(bbox);
    const out = newCutout(this.dataType, bbox, this.numChannels, bg, opts.shared, covered);
    if (region.empty()) return out as VoxelArray<T>;
    await this.loadChunks(
      region,
      (chunk, data) => paintChunk(out, bbox, chunk, data, bg),
      opts,
      opts.shared ? { out, box: bbox } : undefined,
    );
    return out as VoxelArray<T>;
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
  async downloadPoint<T extends TypedArray = TypedArray>(
    point: Vec3,
    size: number | Vec3 = 64,
    opts: DownloadPointOptions = {},
  ): Promise<VoxelArray<T>> {
    const { coordResolution, ...io } = opts;
    const from = coordResolution ?? scaleForMip(this.info, 0).resolution;
    const to = this.resolution;
    const s: Vec3 = typeof size === "number" ? [size, size, size] : size;
    // Multiply before dividing (exact for integer points and resolutions),
    // then snap values within rounding error of a whole number to it.
    const at = (i: number) => floorNear((point[i] * from[i]) / to[i]) - Math.floor(s[i] / 2);
    return this.read<T>(Bbox.fromSize([at(0), at(1), at(2)], s), io);
  }

  /**
   * Write `input` at `box` (or with its low corner at `box` when a point is
   * given): any ndarray of the layer's dtype whose shape is the box's
   * (`[x, y, z]` or `[x, y, z, c]`), a view (`lo/hi/step/transpose/pick`)
   * included, or a `{ data, shape }` (x fastest); a non-contiguous one is
   * copied once, row by row, into the chunks it covers. The box must be aligned to the chunk grid (the dataset's upper
   * edge counts as aligned) unless `readModifyWrite` is set; a sharded
   * scale takes whole shards (or the whole scale, for specs whose shard
   * files gather chunks from across it).
   */
  async write(box: BboxLike | Vec3, input: VoxelInput, opts: WriteOptions = {}): Promise<void> {
    this.checkCodec();
    const bbox = boxAtPoint(box, input) ?? toBbox(box as BboxLike);
    const array = checkArray(input, bbox, this.dataType, this.numChannels, this.url);
    this.checkBounds(bbox, "write");
    if (bbox.empty()) return;
    await writeBox(this.writer, this.scale, bbox, array, opts);
  }

  /** Which chunks of `box` exist: chunk name → boolean. */
  async exists(box: BboxLike, opts: VolumeIoOptions = {}): Promise<Map<string, boolean>> {
    const bbox = toBbox(box).intersect(this.bounds);
    const out = new Map<string, boolean>();
    if (bbox.empty()) return out;
    const cells = this.cells(bbox);
    const found = await this.chunks.existsMany(cells, { signal: opts.signal });
    for (let i = 0; i < cells.length; i++) out.set(cells[i].bbox.toChunkName(), found[i]);
    return out;
  }

  /** Delete the chunks of an aligned box (unsharded scales). */
  async delete(box: BboxLike, opts: VolumeIoOptions = {}): Promise<void> {
    const bbox = toBbox(box).intersect(this.bounds);
    if (this.chunks.sharded) {
      throw new AlignmentError(
        `delete of ${bbox} in the sharded scale ${this.scale.key} of ${this.url}: chunks inside shard files ` +
          "cannot be deleted one by one; delete or rewrite whole shard files",
      );
    }
    if (!bbox.isAlignedTo(this.scale.chunkSize, this.scale.voxelOffset, this.bounds)) {
      throw new AlignmentError(
        `delete of ${bbox} in ${this.url} mip ${this.mip} is not aligned to the chunk grid`,
      );
    }
    const cells = this.cells(bbox);
    for (const c of cells) this.cache?.delete(this.chunkKey(c.bbox));
    await this.chunks.deleteMany(cells, { signal: opts.signal });
    opts.onProgress?.(cells.length, cells.length);
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
    const tally = new ValueTally();
    const nc = this.numChannels;
    const bg = this.background as number | bigint;
    const region = bbox.intersect(this.bounds);
    tally.add(bg, (bbox.volume() - (region.empty() ? 0 : region.volume())) * nc);
    if (!region.empty()) {
      await this.loadChunks(
        region,
        (chunk, data) => {
          const part = chunk.intersect(bbox);
          if (data === null) tally.add(bg, part.volume() * nc);
          else tally.addAll(cropChunk(data, chunk, part, nc));
        },
        opts,
      );
    }
    return tally.result(this.dataType, opts.counts === true);
  }
}
