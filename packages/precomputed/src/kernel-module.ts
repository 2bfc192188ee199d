/** Where this package's kernel module lives (src/kernels.ts, or dist/kernels.js once built). */
import { ChunkDecodeError, ChunkEncodeError, UnknownEncodingError } from "./errors";
import { kernelModulePath, registerKernelError } from "./pool";

registerKernelError(ChunkDecodeError);
registerKernelError(ChunkEncodeError);
registerKernelError(UnknownEncodingError);

let cached: string | undefined;

/** Absolute path of @ngpipe/precomputed's kernel module. */
export function precomputedKernels(): string {
  cached ??= kernelModulePath(__dirname, "kernels");
  return cached;
}
