/** Kernel module of the meshing stage (loaded by the worker pool by file path). */
export { meshBlock } from "./mesh/mesh-block";
