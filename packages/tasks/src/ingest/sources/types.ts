/**
 * The contract every ingest source reader fulfils: a 4-D volume with shape
 * [x, y, z, c] that hands out any block as an x-fastest typed array.
 */
import type { DataType, Shape4, VoxelArray } from "@ngpipe/precomputed";

/** A voxel position [x, y, z]. */
export type Vec3 = [number, number, number];

/** A half-open box of voxels, `[min, max)` per axis. */
export interface BlockBox {
  min: Vec3;
  max: Vec3;
}

/** Options of one block read. */
export interface ReadBlockOptions {
  signal?: AbortSignal;
}

/**
 * A volume to ingest, opened by {@link openSource} or one of the format
 * readers. Blocks come back x-fastest with channels planar, exactly the
 * layout of a precomputed raw chunk: element (x, y, z, c) of a block of size
 * (sx, sy, sz) is at `x + sx * (y + sy * (z + sz * c))` of its `data`.
 */
export interface VolumeSource {
  /** Which reader opened it: "hdf5", "zarr", "npy", "images", "bigarray", "hypersquare". */
  readonly format: string;
  /** Where it came from (path or URL, with the dataset or level if any). */
  readonly url: string;
  /** Shape [x, y, z, channels]. */
  readonly shape: Shape4;
  readonly dataType: DataType;
  /** Voxel size in nanometres [x, y, z], when the source records it (OME-Zarr). */
  readonly resolution?: Vec3;
  /**
   * Global position of the source's voxel (0, 0, 0), when the format records
   * one (BigArray chunk keys, HyperSquare cube offsets): the ingest places
   * the layer there unless told another offset.
   */
  readonly voxelOffset?: Vec3;
  /**
   * Read exactly the voxels of `bbox` (which must lie inside the volume),
   * all channels, as a scijs ndarray [x, y, z, c] with Fortran strides over
   * its own typed array. Never reads the whole source unless the box is the
   * whole source.
   */
  readBlock(bbox: BlockBox, opts?: ReadBlockOptions): Promise<VoxelArray>;
  /** Release file handles; the source can't be read afterwards. */
  close(): Promise<void>;
}
