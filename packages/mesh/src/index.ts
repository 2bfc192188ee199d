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
export {
  decodeMultiresLod,
  encodeMultiresMesh,
  type MultiresMeshBytes,
  multiresMeshFromFragments,
} from "./multires/build";
export {
  type DracoModules,
  decodeDracoFragment,
  encodeDracoFragment,
  loadDraco,
  type QuantizedMesh,
} from "./multires/draco";
export {
  checkQuantizationBits,
  IDENTITY_TRANSFORM,
  MeshFormatError,
  MULTILOD_DRACO,
  type MultiresMeshInfo,
  multiresMeshInfo,
  parseMultiresMeshInfo,
  QuantizationBitsError,
} from "./multires/info";
export {
  MultiresMeshLayer,
  type MultiresMeshLayerOptions,
  type StoredMultiresMesh,
} from "./multires/layer";
export {
  buildMultiresLods,
  clipByPlanes,
  type MultiresLod,
  type MultiresLodOptions,
  type MultiresLods,
} from "./multires/lods";
export {
  decodeMultiresManifest,
  encodeMultiresManifest,
  type ManifestLod,
  type MultiresManifest,
  manifestDataBytes,
  zorderLess,
} from "./multires/manifest";
export type {
  FaceFlags,
  Label,
  Mesh,
} from "./types";
