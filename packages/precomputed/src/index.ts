export { copyBox, fillBox, NdArray, type Shape4, type Voxel } from "./array";
export type * from "./codecs/types";
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
export {
  closePool,
  configurePool,
  getPool,
  type KernelCallOptions,
  kernelModulePath,
  type PoolOptions,
  poolSize,
  runKernel,
} from "./pool";
export * from "./sharding/errors";
export * from "./sharding/murmurhash";
export * from "./sharding/spec";
