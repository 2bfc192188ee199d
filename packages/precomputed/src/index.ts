export {
  asFortran,
  channel,
  copyBox,
  crop,
  dataTypeOfInput,
  fillBox,
  fromTyped,
  type Shape4,
  type TypedArrayOf,
  type Voxel,
  type VoxelArray,
  type VoxelInput,
  voxelView,
  zeros,
} from "./array";
export * from "./chunks";
export {
  compressedSegmentationCodec,
  DEFAULT_CSEG_BLOCK_SIZE,
} from "./codecs/compressed_segmentation";
export { decodeCompressedSegmentation } from "./codecs/compressed_segmentation_decode";
export {
  type BlockSize,
  encodeCompressedSegmentation,
} from "./codecs/compressed_segmentation_encode";
export { DEFAULT_JPEG_QUALITY, decodeJpeg, encodeJpeg, jpegCodec } from "./codecs/jpeg";
export { decodePng, encodePng, pngCodec } from "./codecs/png";
export { decodeRaw, encodeRaw, rawCodec } from "./codecs/raw";
export {
  decodeChunk,
  encodeChunk,
  getCodec,
  knownEncodings,
  registerCodec,
} from "./codecs/registry";
export type * from "./codecs/types";
export {
  DownsampleError,
  downsampleShape,
  type Factor3,
  type ShapeLike,
} from "./downsample/common";
export {
  type DownsampledMip,
  type DownsampleMethod,
  type DownsampleOptions,
  downsample,
  downsampleAverage,
  downsampleMax,
  downsampleMin,
  downsampleMode,
  downsampleStriding,
} from "./downsample/downsample";
export * from "./dtypes";
export * from "./errors";
export * from "./geometry/bbox";
export * from "./geometry/errors";
export type { Vec3, Vec3Like } from "./geometry/vec3";
export * as vec3 from "./geometry/vec3";
export * from "./info/edit";
export * from "./info/errors";
export * from "./info/info";
export * from "./info/io";
export type { StorageReader, StorageWriter } from "./info/store";
export { precomputedKernels } from "./kernel-module";
export {
  closePool,
  configurePool,
  getPool,
  type KernelCallOptions,
  kernelModulePath,
  type PoolOptions,
  poolSize,
  registerKernelError,
  runKernel,
} from "./pool";
export * from "./sharding/errors";
export * from "./sharding/morton";
export * from "./sharding/murmurhash";
export * from "./sharding/params";
export * from "./sharding/plan";
export * from "./sharding/reader";
export * from "./sharding/shard";
export * from "./sharding/spec";
export * from "./sharding/writer";
export {
  decodeSkeleton,
  type EncodedSkeleton,
  encodeSkeleton,
  parseSkeletonInfo,
  type SkeletonAttributeArray,
  type SkeletonAttributeInfo,
  type SkeletonAttributeType,
  SkeletonDecodeError,
  type SkeletonInfo,
  SkeletonInfoError,
  skeletonInfo,
} from "./skeletons/format";
export { type SegmentId, SkeletonLayer, type SkeletonLayerOptions } from "./skeletons/layer";
export * from "./volume";
