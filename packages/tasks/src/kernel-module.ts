/** Where this package's kernel module lives (src/kernels.ts, or dist/kernels.js once built). */
import { kernelModulePath, registerKernelError } from "@ngpipe/precomputed";
import { DownsampleError } from "./kernels/downsample/common";

/** A DownsampleError rebuilt from a worker's message ("downsample: <field>: ..."). */
class WorkerDownsampleError extends DownsampleError {
  constructor(message: string) {
    super(/^downsample: (\w+):/.exec(message)?.[1] ?? "unknown", message);
  }
}
registerKernelError(WorkerDownsampleError, "DownsampleError");

let cached: string | undefined;

/**
 * Absolute path of @ngpipe/tasks' kernel module, for
 * `ctx.runKernel(tasksKernels(), "downsample", args, { transfer })`.
 */
export function tasksKernels(): string {
  cached ??= kernelModulePath(__dirname, "kernels");
  return cached;
}
