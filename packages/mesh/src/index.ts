export * from "./errors";
export * from "./format/export";
export * from "./format/legacy";
export * from "./kernels/marching-cubes";
export * from "./kernels/mesh-utils";
export * from "./kernels/simplify";
export * from "./layer";
export type * from "./types";
