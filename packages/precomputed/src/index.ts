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
export {
  type ChunkCell,
  ChunkCoder,
  type ChunkCoderOptions,
  type ChunkCompression,
  type ChunkFiles,
  type ChunkIoOptions,
  type ChunkStore,
  type CodeOptions,
  decodeStoredChunk,
  encodeStoredChunk,
  type LocalFiles,
  ShardedChunkStore,
  type ShardedChunkStoreOptions,
  type StoredChunk,
  shardWriteBoxes,
  UnshardedChunkStore,
  type UnshardedChunkStoreOptions,
} from "./chunks";
export {
  compressedSegmentationCodec,
  DEFAULT_CSEG_BLOCK_SIZE,
} from "./codecs/compressed_segmentation";
export {
  type CsegOutputLayout,
  decodeCompressedSegmentation,
} from "./codecs/compressed_segmentation_decode";
export {
  type BlockSize,
  encodeCompressedSegmentation,
} from "./codecs/compressed_segmentation_encode";
export { compressoCodec } from "./codecs/compresso";
export { decodeCompresso } from "./codecs/compresso_decode";
export { type CompressoEncodeOptions, encodeCompresso } from "./codecs/compresso_encode";
export { type CompressoHeader, readCompressoHeader } from "./codecs/compresso_format";
export {
  type CrackleHeader,
  type CrackleLabelFormat,
  crackleCodec,
  decodeCrackle,
  readCrackleHeader,
} from "./codecs/crackle";
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
export type {
  ChunkCodec,
  ChunkContext,
  ChunkShape,
} from "./codecs/types";
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
export {
  allocTyped,
  bytesPerVoxel,
  DATA_TYPES,
  type DataType,
  dataTypeOf,
  dataTypeRange,
  is64Bit,
  isDataType,
  type TypedArray,
  VoxelValueError,
  viewTyped,
  voxelValue,
} from "./dtypes";
export {
  ArrayShapeError,
  ChunkDecodeError,
  ChunkEncodeError,
  KernelCrashError,
  PrecomputedError,
  UnknownEncodingError,
} from "./errors";
export {
  Bbox,
  type BboxJSON,
  type FaceAmounts,
} from "./geometry/bbox";
export { BboxError } from "./geometry/errors";
export type { Vec3, Vec3Like } from "./geometry/vec3";
export * as vec3 from "./geometry/vec3";
export { contrastLimits, stretchContrast } from "./image/contrast";
export { ImageKernelError } from "./image/errors";
export {
  histogramBins,
  type LuminanceArray,
  sliceHistograms,
} from "./image/histogram";
export {
  type AddScaleOptions,
  addScale,
  type CreateInfoOptions,
  closestDivisor,
  createInfo,
  scaleKey,
} from "./info/edit";
export {
  InfoNotFoundError,
  type InfoProblem,
  InfoValidationError,
  ScaleNotFoundError,
} from "./info/errors";
export {
  downsampleRatio,
  formatInfo,
  type InfoJSON,
  KNOWN_ENCODINGS,
  mipOfResolution,
  parseInfo,
  type Scale,
  type ScaleJSON,
  scaleAt,
  scaleForMip,
  validateInfo,
} from "./info/info";
export {
  readInfo,
  writeInfo,
} from "./info/io";
export type { StorageReader, StorageWriter } from "./info/store";
export { precomputedKernels } from "./kernel-module";
export {
  closePool,
  configurePool,
  type KernelCallOptions,
  kernelModulePath,
  type PoolOptions,
  poolSize,
  registerKernelError,
  runKernel,
} from "./pool";
export {
  NUMBER_DATA_TYPES,
  type NumberDataType,
  type NumberProperty,
  SEGMENT_PROPERTIES_TYPE,
  SegmentPropertiesError,
  type SegmentPropertiesJSON,
  type SegmentProperty,
  type TagsProperty,
  type TextProperty,
  validateSegmentProperties,
} from "./segment_properties/format";
export {
  DEFAULT_SEGMENT_PROPERTIES_DIR,
  readSegmentProperties,
  type WriteSegmentPropertiesOptions,
  withNumberProperty,
  writeSegmentProperties,
} from "./segment_properties/layer";
export {
  parseSegmentPropertiesFile,
  segmentPropertiesFromCsv,
  segmentPropertiesFromJson,
} from "./segment_properties/parse";
export {
  ShardError,
  ShardSpecError,
} from "./sharding/errors";
export {
  compressedMortonCode,
  decodeMortonChunkId,
  type MortonPlan,
  mortonChunkId,
  mortonPlan,
} from "./sharding/morton";
export {
  murmurHash3X86_128,
  murmurHash3X86_128Low64,
} from "./sharding/murmurhash";
export {
  computeHashedShardingSpec,
  computeImageShardingSpec,
  type HashedShardingOptions,
  type ImageShardingOptions,
  imageShardShape,
  shardsAreBoxes,
} from "./sharding/params";
export {
  DEFAULT_SHARD_MEMORY,
  type ImageShardingPlan,
  type ImageShardingPlanOptions,
  planImageSharding,
  SHARD_TASK_BUFFERS,
  ShardMemoryError,
  ShardPlanError,
} from "./sharding/plan";
export {
  MAX_MINISHARD_INDEX_BYTES,
  ShardReader,
  type ShardReaderOptions,
  type ShardReadOptions,
} from "./sharding/reader";
export {
  type BuildShardOptions,
  buildShard,
  buildShards,
  decodeMinishardIndex,
  decodeShardBytes,
  decodeShardIndex,
  encodeMinishardIndex,
  type MinishardIndex,
  minishardIdAt,
  type ShardEntry,
} from "./sharding/shard";
export {
  hashedChunkId,
  joinU64,
  type ShardEncoding,
  type ShardingHash,
  type ShardingSpec,
  type ShardLocation,
  shardFileName,
  shardIndexBytes,
  shardingSpec,
  shardingSpecProblems,
  shardLocation,
  shardLocationOf,
  shardNumberFor,
  splitU64,
  validateShardingSpec,
} from "./sharding/spec";
export {
  type WriteShardsOptions,
  writeShards,
} from "./sharding/writer";
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
export {
  AlignmentError,
  ArrayMismatchError,
  type BboxLike,
  clearSharedCutouts,
  type DownloadPointOptions,
  MissingChunkError,
  OutOfBoundsError,
  type ReadOptions,
  releaseSharedCutout,
  takeSharedArray,
  type UniqueOptions,
  uniqueValues,
  type ValueCounts,
  Volume,
  type VolumeIoOptions,
  type VolumeOptions,
  type WriteOptions,
} from "./volume";
