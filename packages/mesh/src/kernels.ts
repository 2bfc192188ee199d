/** Kernel module of @ngpipe/mesh, loaded by the worker pool by file path (see kernel-module.ts). */
export { meshBlock } from "./kernels/mesh-block";
export { multiresMeshFromFragments } from "./multires/build";
