/** Where this package's kernel module lives (src/kernels.ts, or dist/kernels.js once built). */
import { kernelModulePath, registerKernelError } from "@ngpipe/precomputed";
import { ChunkCodingError } from "./ingest/sources/bigarray-codings";
import { LzmaStreamError } from "./ingest/sources/lzma";

registerKernelError(LzmaStreamError);
registerKernelError(ChunkCodingError);

let cached: string | undefined;

/**
 * Absolute path of @ngpipe/tasks' kernel module, for
 * `ctx.runKernel(tasksKernels(), "quantizeChannel", args, { transfer })`.
 */
export function tasksKernels(): string {
  cached ??= kernelModulePath(__dirname, "kernels");
  return cached;
}
