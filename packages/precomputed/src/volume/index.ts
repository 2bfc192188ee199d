export * from "./errors";
export {
  type BboxLike,
  uniqueValues,
  Volume,
  type VolumeIoOptions,
  type VolumeOptions,
  type WriteOptions,
} from "./volume";
