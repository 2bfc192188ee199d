/**
 * Contrast normalization of image slices, as Igneous' ContrastNormalizationTask
 * computes it: per z slice, the values between two percentiles of the slice's
 * luminance histogram are stretched linearly over the type's whole range.
 */
import { ImageKernelError } from "./errors";
import { histogramBins, type LuminanceArray, sliceGeometry } from "./histogram";

/**
 * The stretch limits `[lower, upper]` of one slice from its histogram
 * (Igneous' `find_section_clamping_values`): black (bin 0) is left out of the
 * counts, as it carries no information in EM images; `lower` is the last
 * value whose cumulative fraction is at most `lowerClip`, `upper` the last
 * whose cumulative fraction is at most `1 - upperClip` (each 0 when even the
 * first bin passes). An empty histogram (nothing but black) gives `[0, 0]`:
 * the slice is left as it is.
 *
 * @example contrastLimits(levels, 0.01) // [37, 211]: 1% clipped at each end
 */
export function contrastLimits(
  histogram: ArrayLike<number>,
  lowerClip: number,
  upperClip: number = lowerClip,
): [number, number] {
  checkClip(lowerClip, upperClip);
  const n = histogram.length;
  let total = 0;
  for (let v = 1; v < n; v++) total += histogram[v];
  if (total === 0) return [0, 0];
  const lowerFraction = lowerClip;
  const upperFraction = 1 - upperClip;
  let lower = -1;
  let upper = -1;
  // cdf[0] is 0 (black is dropped), never above a fraction >= 0.
  let cdf = 0;
  for (let v = 0; v < n; v++) {
    if (v > 0) cdf += histogram[v];
    const f = cdf / total;
    if (lower < 0 && f > lowerFraction) lower = Math.max(v - 1, 0);
    if (upper < 0 && f > upperFraction) upper = Math.max(v - 1, 0);
  }
  if (lower < 0) lower = n - 1;
  if (upper < 0) upper = n - 1;
  return [lower, upper];
}

/** Checks clip fractions: each in [0, 1], together at most 1. */
export function checkClip(lowerClip: number, upperClip: number): void {
  const ok = (f: number) => Number.isFinite(f) && f >= 0 && f <= 1;
  if (!ok(lowerClip) || !ok(upperClip) || lowerClip + upperClip > 1)
    throw new ImageKernelError(
      `clipFraction: each fraction must lie in [0, 1] and both add up to at most 1; got ${lowerClip} and ${upperClip}`,
    );
}

/** Round half to even, as numpy's `round`. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The stretched value of `v`: `(v - lower) * (max / (upper - lower))` in
 * float32 arithmetic (Igneous computes on a float32 image), rounded half to
 * even and clipped to `[0, max]`.
 */
function stretched(v: number, lower: number, scale32: number, max: number): number {
  const r = roundHalfEven(Math.fround(Math.fround(v - lower) * scale32));
  return r < 0 ? 0 : Math.min(r, max);
}

/**
 * Stretch each z slice of an image block (x fastest, uint8 or uint16) between
 * its limits: `limits[2z]` (lower) maps to 0 and `limits[2z + 1]` (upper) to
 * the type's maximum (255 or 65535), values outside clip. A slice whose two
 * limits are equal (no histogram, or an empty one) is left unchanged.
 * Rewrites `data` in place and returns it.
 *
 * @example stretchContrast(block, [1024, 1024, 64], limits) // limits: Float64Array(128)
 */
export function stretchContrast<T extends LuminanceArray>(
  data: T,
  shape: readonly number[],
  limits: ArrayLike<number>,
): T {
  const bins = histogramBins(data);
  const { slice, depth } = sliceGeometry(data, shape);
  if (limits.length !== 2 * depth)
    throw new ImageKernelError(
      `limits: expected ${2 * depth} values (lower, upper per slice), got ${limits.length}`,
    );
  const max = bins - 1;
  // A lookup table costs `bins` evaluations: worth it once a slice has as many voxels.
  const lut = slice >= bins ? new Float64Array(bins) : null;
  for (let z = 0; z < depth; z++) {
    const lower = limits[2 * z];
    const upper = limits[2 * z + 1];
    if (!(Number.isInteger(lower) && Number.isInteger(upper) && lower >= 0 && upper <= max))
      throw new ImageKernelError(
        `limits: slice ${z} has [${lower}, ${upper}], not whole values in [0, ${max}]`,
      );
    if (lower === upper) continue;
    const scale32 = Math.fround(max / (upper - lower));
    const end = (z + 1) * slice;
    if (lut) {
      for (let v = 0; v < bins; v++) lut[v] = stretched(v, lower, scale32, max);
      for (let i = z * slice; i < end; i++) data[i] = lut[data[i]];
    } else {
      for (let i = z * slice; i < end; i++) data[i] = stretched(data[i], lower, scale32, max);
    }
  }
  return data;
}
