/** Options of `Volume` and of its reads and writes, and the box forms it accepts. */
import type { Storage, StorageOptions } from "@ngpipe/storage";
import { Bbox } from "../geometry/bbox";
import type { Vec3 } from "../geometry/vec3";

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
  /** Transport compression of written chunks; default gzip for raw, compressed_segmentation and compresso, none otherwise. */
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
  /**
   * Return voxels on a SharedArrayBuffer, which the pool's workers paint
   * chunk by chunk as they decode them: this thread then moves no voxels.
   * For large reads handed on to other kernels of the pool, e.g. a
   * downsample task's block. Default false.
   */
  shared?: boolean;
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

/** A Bbox from any {@link BboxLike}. */
export function toBbox(b: BboxLike): Bbox {
  return b instanceof Bbox ? b : Bbox.fromJSON(b);
}
