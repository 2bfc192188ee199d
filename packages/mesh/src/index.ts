export {
  MeshDecodeError,
  MeshError,
  MeshInputError,
} from "./errors";
export {
  meshToObj,
  meshToPly,
} from "./format/export";
export {
  bboxFilename,
  decodeLegacyManifest,
  decodeLegacyMesh,
  encodeLegacyManifest,
  encodeLegacyMesh,
  type LegacyMeshInfo,
  legacyFragmentName,
  legacyManifestKey,
  legacyMeshInfo,
  parseLegacyMeshInfo,
  type VoxelBox,
  withMeshDir,
} from "./format/legacy";
export { meshKernelModule } from "./kernel-module";
export {
  cutoutLockedPlanes,
  doubledToPhysical,
  LabelSurfaces,
  type MarchingCubesOptions,
  type MeshLabelArray,
  marchingCubes,
} from "./kernels/marching-cubes";
export {
  type MeshBlockOptions,
  type MeshBlockResult,
  meshBlock,
} from "./kernels/mesh-block";
export {
  concatMeshes,
  type MeshTopology,
  meshArea,
  meshTopology,
  meshVolume,
  removeUnusedVertices,
  weldMesh,
} from "./kernels/mesh-utils";
export {
  type SimplifyOptions,
  simplifyMesh,
} from "./kernels/simplify";
export {
  MeshLayer,
  type MeshLayerOptions,
  MeshNotFoundError,
  parseFragmentName,
} from "./layer";
export type {
  FaceFlags,
  Label,
  Mesh,
} from "./types";
