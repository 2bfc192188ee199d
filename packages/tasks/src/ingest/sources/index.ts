export { type BigArraySourceOptions, openBigArray } from "./bigarray";
export {
  BlockOutOfBoundsError,
  CorruptSourceError,
  DatasetNotFoundError,
  MissingConfigError,
  ShapeMismatchError,
  SourceError,
  UnknownCodingError,
  UnsupportedDataTypeError,
} from "./errors";
export { type Hdf5SourceOptions, openHdf5 } from "./hdf5";
export {
  type HyperSquareCube,
  type HyperSquareSource,
  type HyperSquareSourceOptions,
  openHyperSquare,
} from "./hypersquare";
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
  SOURCE_FORMATS,
  type SourceFormat,
  type SourceSpec,
} from "./open";
export type { BlockBox, ReadBlockOptions, Vec3, VolumeSource } from "./types";
export { openZarr, type ZarrSourceOptions } from "./zarr";
export { type ByteRangeLike, type ByteStore, localByteStore, zarritaStore } from "./zarr-store";
