export {
  AlignmentError,
  ArrayMismatchError,
  MissingChunkError,
  OutOfBoundsError,
} from "./errors";
export {
  type BboxLike,
  type DownloadPointOptions,
  type ReadOptions,
  type UniqueOptions,
  uniqueValues,
  type ValueCounts,
  Volume,
  type VolumeIoOptions,
  type VolumeOptions,
  type WriteOptions,
} from "./volume";
