/** Where the meshing kernel module lives (src/mesh-kernels.ts, or dist/mesh-kernels.js once built). */
import { kernelModulePath } from "@ngpipe/precomputed";

let cached: string | undefined;

/** Absolute path of the meshing stage's kernel module. */
export function meshKernels(): string {
  cached ??= kernelModulePath(__dirname, "mesh-kernels");
  return cached;
}
