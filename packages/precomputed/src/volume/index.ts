export {
  AlignmentError,
  ArrayMismatchError,
  MissingChunkError,
  OutOfBoundsError,
} from "./errors";
export type {
  BboxLike,
  DownloadPointOptions,
  ReadOptions,
  UniqueOptions,
  VolumeIoOptions,
  VolumeOptions,
  WriteOptions,
} from "./options";
export { clearSharedCutouts, releaseSharedCutout, takeSharedArray } from "./shared-cutouts";
export { uniqueValues, type ValueCounts } from "./unique";
export { Volume } from "./volume";
