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
