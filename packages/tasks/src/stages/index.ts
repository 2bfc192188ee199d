export * from "./blackout";
export {
  type BoundsCheckOptions,
  checkBounds,
  checkInfoRewrite,
  checkVoxelValue,
  StageInputError,
  sameLocation,
} from "./checks";
export {
  type BboxParam,
  bboxOf,
  bboxSchema,
  blockShape,
  type CreateOptionsBase,
  compressSchema,
  DownsampleMemoryError,
  LayerMismatchError,
  positiveVec3Schema,
  StageError,
  vec3Schema,
} from "./common";
export * from "./delete";
export * from "./downsample";
export * from "./pyramid";
export * from "./quantize";
export { quantizeChannel } from "./quantize-kernel";
export { copyEncodedChunks } from "./reshard";
export { type ShardedOutputOptions, wantsSharded } from "./sharding";
export * from "./touch";
export * from "./transfer";
