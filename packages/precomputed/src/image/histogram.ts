/**
 * Luminance histograms of image slices: the counting half of Igneous'
 * LuminanceLevelsTask, as a pure kernel. Sampling (which patches of a slice
 * are counted) is the stage's business; this counts every voxel it is given.
 */
import { ImageKernelError } from "./errors";

/** The image types the luminance kernels take: one histogram bin per value. */
export type LuminanceArray = Uint8Array | Uint16Array;

/** Number of histogram bins (distinct values) of a luminance array: 256 or 65536. */
export function histogramBins(data: LuminanceArray): number {
  if (data instanceof Uint8Array) return 256;
  if (data instanceof Uint16Array) return 65536;
  throw new ImageKernelError(
    `data: luminance histograms take uint8 or uint16 voxels, got ${(data as object)?.constructor?.name}`,
  );
}

/**
 * The slice size and depth of `shape` (`[x, y, z]` or `[x, y, z, 1]`), checked
 * against the array length.
 */
export function sliceGeometry(
  data: LuminanceArray,
  shape: readonly number[],
): { slice: number; depth: number } {
  const ok =
    (shape.length === 3 || (shape.length === 4 && shape[3] === 1)) &&
    shape.every((n) => Number.isInteger(n) && n >= 0);
  if (!ok)
    throw new ImageKernelError(
      `shape: expected [x, y, z] or [x, y, z, 1] of whole numbers, got [${shape.join(", ")}]`,
    );
  const slice = shape[0] * shape[1];
  if (slice * shape[2] !== data.length)
    throw new ImageKernelError(
      `shape: [${shape.join(", ")}] holds ${slice * shape[2]} voxels, the array has ${data.length}`,
    );
  return { slice, depth: shape[2] };
}

/**
 * Per-z-slice histograms of an image block (x fastest): `out[z * bins + v]`
 * is the number of voxels of value `v` in slice `z`, with `bins` 256 for
 * uint8 and 65536 for uint16 (so `out.length === z * bins`). Counts are
 * float64, exact to 2^53.
 *
 * @example sliceHistograms(block, [2048, 2048, 64]) // Float64Array(64 * 256)
 */
export function sliceHistograms(data: LuminanceArray, shape: readonly number[]): Float64Array {
  const bins = histogramBins(data);
  const { slice, depth } = sliceGeometry(data, shape);
  const out = new Float64Array(depth * bins);
  // Counting into a 32-bit array is faster than into float64; a slice of an
  // array holds fewer than 2^32 voxels, so its counts fit.
  const counts = new Uint32Array(bins);
  for (let z = 0; z < depth; z++) {
    counts.fill(0);
    const end = (z + 1) * slice;
    for (let i = z * slice; i < end; i++) counts[data[i]]++;
    const base = z * bins;
    for (let v = 0; v < bins; v++) out[base + v] = counts[v];
  }
  return out;
}
