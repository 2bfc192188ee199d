export { copyBox, fillBox, NdArray, type Shape4, type Voxel } from "./array";
export type * from "./codecs/types";
export * from "./dtypes";
export * from "./errors";
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
