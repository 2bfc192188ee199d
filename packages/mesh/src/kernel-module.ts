/** Where @ngpipe/mesh's kernel module lives: src/kernels.ts, or dist/kernels.js once built. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { registerKernelError } from "@ngpipe/precomputed";
import { MeshDecodeError, MeshInputError } from "./errors";
import { MeshFormatError, QuantizationBitsError } from "./multires/info";

// Errors the mesh kernels throw keep their class when they cross from a worker.
registerKernelError(MeshDecodeError);
registerKernelError(MeshInputError);
registerKernelError(MeshFormatError);
registerKernelError(QuantizationBitsError as unknown as new (message: string) => Error);

let cached: string | undefined;

/**
 * Absolute path of @ngpipe/mesh's kernel module (exporting `meshBlock`), for
 * a worker pool's `runKernel(meshKernelModule(), "meshBlock", args)`. This
 * file sits at the root of `src/` so `__dirname` is `src/` in the sources
 * and `dist/` once bundled.
 */
export function meshKernelModule(): string {
  if (cached === undefined) {
    const file = [".js", ".cjs", ".ts"]
      .map((ext) => join(__dirname, `kernels${ext}`))
      .find((f) => existsSync(f));
    if (file === undefined) throw new Error(`mesh kernel module not found in ${__dirname}`);
    cached = file;
  }
  return cached;
}
