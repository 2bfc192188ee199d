/**
 * Anisotropic Euclidean distance transform of a label volume: for every
 * voxel of a nonzero label, the distance (in physical units) to the centre of
 * the nearest voxel that does not carry the same label. Every label is
 * treated at once, as the `edt` package's multi-label mode does, so a
 * segmentation needs one call, not one per object.
 *
 * The transform is separable (Felzenszwalb & Huttenlocher, "Distance
 * Transforms of Sampled Functions", 2012): an exact 1-D pass along x gives
 * the distance to the run's ends; the passes along y and z take the lower
 * envelope of parabolas over each run of equal label, with a zero just
 * outside the run wherever a different label (or, with `blackBorder`, the
 * volume's edge) lies there. Voxels whose label fills its line everywhere and
 * never meets a boundary keep an infinite distance. Runs whose boundary is
 * never more than a few steps away (the z pass of anisotropic data, thin
 * objects) skip the envelope for a direct search over those few neighbours;
 * both give the same minimum.
 *
 * Integer labels run in WebAssembly (edt-wasm.ts, assembly/edt.ts: the x
 * and y passes plane by plane, then the z pass plane by plane, SIMD direct
 * searches over four columns at once);
 * float labels and 64-bit labels with differing high words run the
 * JavaScript kernel (edt-js.ts). Both give the same floats bit for bit.
 */

import { distanceTransformJs } from "./edt-js";
import { distanceTransformWasm } from "./edt-wasm";

/** Label arrays the transform reads (64-bit labels compared as uint32 pairs). */
export type DistanceLabels =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigUint64Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

/** Options of {@link distanceTransform}. */
export interface DistanceTransformOptions {
  /** Physical size of a voxel along x, y, z (e.g. nm). Default [1, 1, 1]. */
  anisotropy?: readonly [number, number, number];
  /**
   * Treat the outside of the volume as background, so voxels on the edge are
   * one voxel from a boundary. Default false: the volume's faces are not
   * boundaries (a block cut from a larger dataset does not end its objects).
   */
  blackBorder?: boolean;
  /** Return squared distances (skips the square roots). Default false. */
  squared?: boolean;
  /**
   * Write the distances into this array (one float per voxel) and return it,
   * instead of a new array. A caller that transforms many volumes of one
   * size saves, by passing the same array each time, the allocation of a
   * new output and the first touch of its pages, which on a 134 MB output
   * costs about as much as a third of the transform. The labels are read in
   * full before anything is written, so `out` may even share memory with
   * them.
   */
  out?: Float32Array;
}

/** Thrown for a label array whose length does not match its shape, or bad options (`anisotropy`, `out`). */
export class DistanceTransformError extends Error {
  override name = "DistanceTransformError";
}

/**
 * Distance of each voxel to the nearest voxel of another label, in the units
 * of `anisotropy`; background (0) voxels get 0.
 *
 * ```ts
 * const dbf = distanceTransform(labels, [512, 512, 128], { anisotropy: [4, 4, 40] });
 * ```
 */
export function distanceTransform(
  labels: DistanceLabels,
  shape: readonly [number, number, number],
  options: DistanceTransformOptions = {},
): Float32Array {
  const [sx, sy, sz] = shape;
  const n = sx * sy * sz;
  if (!shape.every((s) => Number.isInteger(s) && s >= 0)) {
    throw new DistanceTransformError(`distanceTransform: bad shape [${shape.join(", ")}]`);
  }
  if (labels.length !== n) {
    throw new DistanceTransformError(
      `distanceTransform: shape [${shape.join(", ")}] needs ${n} labels, got ${labels.length}`,
    );
  }
  const [wx, wy, wz] = options.anisotropy ?? [1, 1, 1];
  for (const w of [wx, wy, wz]) {
    if (!(w > 0 && Number.isFinite(w))) {
      throw new DistanceTransformError(
        `distanceTransform: anisotropy must be positive and finite, got [${options.anisotropy}]`,
      );
    }
  }
  const { out } = options;
  if (out !== undefined && (!(out instanceof Float32Array) || out.length !== n)) {
    throw new DistanceTransformError(
      `distanceTransform: out must be a Float32Array of ${n} elements, got ${out?.constructor?.name} of ${out?.length}`,
    );
  }
  const blackBorder = options.blackBorder ?? false;
  const squared = options.squared ?? false;
  if (n === 0) return out ?? new Float32Array(0);
  const viaWasm = distanceTransformWasm(labels, shape, [wx, wy, wz], blackBorder, squared, out);
  if (viaWasm) return viaWasm;
  const viaJs = distanceTransformJs(labels, shape, [wx, wy, wz], blackBorder, squared);
  if (!out) return viaJs;
  out.set(viaJs);
  return out;
}
