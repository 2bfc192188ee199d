export * from "./ingest/sources";
export {
  closeIngestSources,
  createIngestTasks,
  IngestConfigError,
  type IngestOptions,
  type IngestRunOptions,
  ingest,
  ingestInfo,
  ingestTask,
} from "./ingest/stage";
export { tasksKernels } from "./kernel-module";
export {
  DownsampleError,
  downsampleShape,
  type Factor3,
  type Shape4,
  type ShapeLike,
  type VoxelArray,
} from "./kernels/downsample/common";
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
} from "./kernels/downsample/downsample";
export {
  ConnectedComponentsError,
  type ConnectedComponentsTaskOptions,
  cclBlockTask,
  cclCleanupTask,
  cclNumberTask,
  cclReduceTask,
  cclRelabelTask,
  createConnectedComponentsTasks,
  type TaskPhase,
} from "./labels/ccl";
export {
  type MeshBlockOptions,
  type MeshBlockResult,
  meshBlock,
  smallLabels,
} from "./mesh/mesh-block";
export {
  createMeshingTasks,
  createMeshManifestTasks,
  type MeshingOptions,
  type MeshManifestOptions,
  manifestPrefixes,
  meshManifestTask,
  meshTask,
} from "./mesh/stages";
export * from "./runtime";
export * from "./stages";
export { emLikeImage, mulberry32, type VoronoiOptions, voronoiSegmentation } from "./synthetic";
export * from "./tiling";
