export {
  type BlackoutTaskOptions,
  blackoutParams,
  blackoutTask,
  createBlackoutTasks,
} from "./blackout";
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
export {
  createDeleteTasks,
  type DeleteTaskOptions,
  deleteParams,
  deleteTask,
} from "./delete";
export {
  addDownsampleScales,
  backgroundSchema,
  backgroundValue,
  checkDownsampleMethod,
  createDownsampleTasks,
  DEFAULT_MEMORY_TARGET,
  type DownsamplePlan,
  type DownsampleTaskOptions,
  type DownsampleTaskResult,
  downsampleMemory,
  downsampleParams,
  downsampleShapeForMemory,
  downsampleTask,
  methodSchema,
  type PlanOptions,
  planTasks,
  resolveMethod,
  type ShapeForMemoryOptions,
  type StageDownsampleMethod,
  type TaskPlan,
} from "./downsample";
export {
  isUniform,
  type LevelWriteOptions,
  type PyramidOptions,
  writeDownsamples,
  writeLevel,
} from "./pyramid";
export {
  createQuantizedInfo,
  createQuantizeTasks,
  type QuantizedInfoOptions,
  type QuantizeTaskOptions,
  quantizeParams,
  quantizeTask,
} from "./quantize";
export { quantizeChannel } from "./quantize-kernel";
export { copyEncodedChunks } from "./reshard";
export { type ShardedOutputOptions, wantsSharded } from "./sharding";
export {
  createTouchTasks,
  type TouchTaskOptions,
  touchParams,
  touchTask,
} from "./touch";
export {
  chunksCopyAsIs,
  createTransferTasks,
  encodedChunksMatch,
  type TransferTaskOptions,
  type TransferTaskResult,
  transferParams,
  transferTask,
} from "./transfer";
