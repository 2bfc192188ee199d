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
  ConnectedComponentsError,
  type ConnectedComponentsTaskOptions,
  cclBlockTask,
  cclCleanupTask,
  cclNumberTask,
  cclReduceTask,
  cclRelabelTask,
  createConnectedComponentsTasks,
} from "./labels/ccl";
export { createDustTasks, type DustTaskOptions, dustTask } from "./labels/dust";
export { fileLocation, parseRemapMap, RemapMapFileError, readRemapMap } from "./labels/map-file";
export { createRemapTasks, type RemapTaskOptions, remapTask } from "./labels/remap-stage";
export {
  COUNT_CHUNK,
  createVoxelCountTasks,
  lookupVoxelCounts,
  readVoxelCounts,
  type VoxelCountOptions,
  VoxelCountsError,
  type VoxelCountTable,
  voxelCountBlockTask,
  voxelCountMergeTask,
} from "./labels/voxel-counts";
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
export * from "./registry";
export * from "./runtime";
export * from "./stages";
export {
  type AffinityOptions,
  emLikeImage,
  mulberry32,
  type VoronoiOptions,
  voronoiAffinities,
  voronoiSegmentation,
} from "./synthetic";
export * from "./tiling";
