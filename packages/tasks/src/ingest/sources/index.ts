export {
  BlockOutOfBoundsError,
  CorruptSourceError,
  DatasetNotFoundError,
  ShapeMismatchError,
  SourceError,
  UnsupportedDataTypeError,
} from "./errors";
export { type Hdf5SourceOptions, openHdf5 } from "./hdf5";
export { type ImageStackOptions, naturalCompare, openImageStack } from "./images";
export { copyToXyzc, defaultAxes } from "./layout";
export {
  encodeNpy,
  type NpyHeader,
  type NpySourceOptions,
  openNpy,
  parseNpyHeader,
} from "./npy";
export {
  detectFormat,
  type OpenSourceOptions,
  openSource,
  type SourceFormat,
  type SourceSpec,
} from "./open";
export type { BlockBox, ReadBlockOptions, Vec3, VolumeSource } from "./types";
export { openZarr, type ZarrSourceOptions } from "./zarr";
export { type ByteRangeLike, type ByteStore, localByteStore, zarritaStore } from "./zarr-store";
