/** Where this package's kernel module lives (src/kernels.ts, or dist/kernels.js once built). */
import { kernelModulePath, registerKernelError } from "@ngpipe/precomputed";
import { DownsampleError } from "./kernels/downsample/common";

registerKernelError(DownsampleError as unknown as new (message: string) => Error);

let cached: string | undefined;

/**
 * Absolute path of @ngpipe/tasks' kernel module, for
 * `ctx.runKernel(tasksKernels(), "downsample", args, { transfer })`.
 */
export function tasksKernels(): string {
  cached ??= kernelModulePath(__dirname, "kernels");
  return cached;
}
