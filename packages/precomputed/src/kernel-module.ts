/** Where this package's kernel module lives (src/kernels.ts, or dist/kernels.js once built). */
import { DownsampleError } from "./downsample/common";
import { ChunkDecodeError, ChunkEncodeError, UnknownEncodingError } from "./errors";
import { ImageKernelError } from "./image/errors";
import { kernelModulePath, registerKernelError } from "./pool";

/** A DownsampleError rebuilt from a worker's message ("downsample: <field>: ..."). */
class WorkerDownsampleError extends DownsampleError {
  constructor(message: string) {
    super(/^downsample: (\w+):/.exec(message)?.[1] ?? "unknown", message);
  }
}

registerKernelError(ChunkDecodeError);
registerKernelError(ChunkEncodeError);
registerKernelError(UnknownEncodingError);
registerKernelError(ImageKernelError);
registerKernelError(WorkerDownsampleError, "DownsampleError");

let cached: string | undefined;

/** Absolute path of @ngpipe/precomputed's kernel module. */
export function precomputedKernels(): string {
  cached ??= kernelModulePath(__dirname, "kernels");
  return cached;
}
