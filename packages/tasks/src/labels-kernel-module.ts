/** Where the label stages' kernel module lives (src/labels-kernels.ts, or dist/labels-kernels.js once built). */
import { kernelModulePath, registerKernelError } from "@ngpipe/precomputed";
import {
  LabelArrayError,
  RemapMissingIdError,
  RemapRangeError,
  RemapTableError,
} from "@ngpipe/segmentation";

/** The id a remap error's message names, to rebuild the error from a worker's message. */
const idIn = (message: string) => BigInt(/id (-?\d+)/.exec(message)?.[1] ?? 0);

class WorkerRemapMissingIdError extends RemapMissingIdError {
  constructor(message: string) {
    super(idIn(message));
  }
}

class WorkerRemapRangeError extends RemapRangeError {
  constructor(message: string) {
    super(idIn(message), BigInt(/maps to (-?\d+)/.exec(message)?.[1] ?? 0), "uint64");
  }
}

registerKernelError(LabelArrayError, "LabelArrayError");
registerKernelError(RemapTableError, "RemapTableError");
registerKernelError(WorkerRemapMissingIdError, "RemapMissingIdError");
registerKernelError(WorkerRemapRangeError, "RemapRangeError");

let cached: string | undefined;

/** Absolute path of the label stages' kernel module, for `ctx.runKernel(labelsKernels(), name, args)`. */
export function labelsKernels(): string {
  cached ??= kernelModulePath(__dirname, "labels-kernels");
  return cached;
}
