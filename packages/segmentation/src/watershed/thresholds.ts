/**
 * Relative watershed thresholds: Watershed.jl turns `low`, `high` and each
 * merge threshold, given as fractions, into affinity values at those
 * quantiles of the affinity distribution. It bins every affinity value (all
 * three channels) into StatsBase's `fit(Histogram, v; nbins = 10^6)`, whose
 * edges are "nice" numbers `k / divisor` chosen by `histrange` in Float32
 * arithmetic, and takes the left edge of the first bin at which the running
 * count reaches `total * fraction`. Reproducing that rule (not an exact
 * quantile) is what makes our thresholds, and so our segmentations, equal
 * Watershed.jl's.
 *
 * The pieces are exported separately so a dataset-wide stage can find the
 * range once, sum per-block histograms and take the quantiles at the end.
 */
import { SegmentationOptionError } from "./errors";
import {
  locateRanks,
  lowBitCounts,
  thresholdRank,
  thresholdsFromRanks,
  topBitCounts,
  valueAtRank,
} from "./rank-counts";

const f = Math.fround;

/** Number of histogram bins Watershed.jl asks StatsBase for. */
export const RELATIVE_THRESHOLD_BINS = 1_000_000;

/**
 * Histogram edges as StatsBase's `histrange` returns them: edge `i` (0-based)
 * is `float32((start + i * step) / divisor)`, for `i` in `[0, length)`; there
 * are `length - 1` bins, bin `i` holding `edge(i) <= v < edge(i + 1)`.
 */
export interface HistogramRange {
  readonly start: number;
  readonly step: number;
  readonly divisor: number;
  readonly length: number;
}

/**
 * StatsBase's `histrange(lo, hi, nbins, :left)` over Float32 data: a bin
 * width rounded to 1, 2 or 5 times a power of ten, and edges widened until
 * `lo` and `hi` fall inside.
 */
export function histogramRange(lo: number, hi: number, nbins: number): HistogramRange {
  lo = f(lo);
  hi = f(hi);
  let start: number;
  let step: number;
  let divisor: number;
  let length: number;
  if (hi === lo) {
    start = hi;
    step = 1;
    divisor = 1;
    length = 1;
  } else {
    const bw = f(f(hi - lo) / f(nbins));
    const lbw = f(Math.log10(bw));
    if (lbw >= 0) {
      step = f(10 ** Math.floor(lbw));
      const r = f(bw / step);
      if (r <= 1.1) {
        // keep the power of ten
      } else if (r <= 2.2) step = f(step * 2);
      else if (r <= 5.5) step = f(step * 5);
      else step = f(step * 10);
      divisor = 1;
      start = f(step * Math.floor(f(lo / step)));
      length = Math.ceil(f(f(hi - start) / step));
    } else {
      // StatsBase scales up by a power of ten here to keep the edges exact.
      divisor = f(10 ** -Math.floor(lbw));
      const r = f(bw * divisor);
      if (r <= 1.1) {
        // keep the power of ten
      } else if (r <= 2.2) divisor = f(divisor / 2);
      else if (r <= 5.5) divisor = f(divisor / 5);
      else divisor = f(divisor / 10);
      step = 1;
      start = Math.floor(f(lo * divisor));
      length = Math.ceil(f(f(hi * divisor) - start));
    }
  }
  while (lo < f(start / divisor)) start = f(start - step);
  while (f(f(start + f(f(length - 1) * step)) / divisor) <= hi) length += 1;
  return { start, step, divisor, length };
}

/** Edge `k` of `range` (0-based), a float32 value. */
export function histogramEdge(range: HistogramRange, k: number): number {
  return f((range.start + k * range.step) / range.divisor);
}

/** Smallest and largest value of `values` (NaN-free input expected). */
export function valueRange(values: Float32Array): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/**
 * How values are binned on a histogram range (StatsBase's `searchsortedlast`:
 * bin k holds `edge(k) <= v < edge(k + 1)`): the bin is computed
 * arithmetically, then corrected against its two float32 edges, which
 * rounding may have moved past the value (by a fraction of a bin). The edges are
 * materialised once (4 MB) and read as the counts are: affinities vary
 * smoothly, so both stay mostly in cache.
 */
interface Binning {
  first: number;
  scale: number;
  bins: number;
  edges: Float32Array;
}

function binning(range: HistogramRange): Binning {
  const bins = range.length - 1;
  const edges = new Float32Array(range.length + 1);
  for (let k = 0; k < range.length; k++) edges[k] = histogramEdge(range, k);
  // A sentinel above every value, so edge k + 1 always exists.
  edges[range.length] = Number.POSITIVE_INFINITY;
  const first = edges[0];
  return { first, scale: bins / (edges[bins] - first), bins, edges };
}

/**
 * Adds the values to `counts` (one slot per bin, `range.length - 1`), binned
 * on the range's edges; the range must come from the data's own minimum and
 * maximum (or a wider one), so no value falls outside.
 */
export function accumulateHistogram(
  values: Float32Array,
  range: HistogramRange,
  counts: Float64Array,
): Float64Array {
  const { first, scale, bins, edges } = binning(range);
  const last = bins - 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // v >= first, so truncation is floor.
    let k = ((v - first) * scale) | 0;
    if (k > last) k = last;
    else if (k < 0) k = 0;
    while (k > 0 && edges[k] > v) k--;
    while (k < last && edges[k + 1] <= v) k++;
    counts[k]++;
  }
  return counts;
}

/**
 * `_percent2thd`: the left edge of the first bin where the running count
 * reaches `total * fraction` (both rounded to float32, as Julia multiplies an
 * Int by a Float32 fraction).
 */
export function quantileThreshold(
  counts: Float64Array,
  range: HistogramRange,
  fraction: number,
): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  const rank = f(f(total) * f(fraction));
  let acc = 0;
  for (let i = 0; i < counts.length; i++) {
    acc += counts[i];
    if (acc >= rank) return histogramEdge(range, i);
  }
  return histogramEdge(range, counts.length - 1);
}

/** Watershed thresholds: `low`, `high` and the (size, affinity) merge pairs. */
export interface WatershedThresholds {
  low: number;
  high: number;
  merge: Array<[number, number]>;
}

/** The bin `v` falls in (as {@link accumulateHistogram} bins it). */
export function histogramBin(v: number, range: HistogramRange): number {
  const bins = range.length - 1;
  const first = histogramEdge(range, 0);
  const last = bins - 1;
  let k = Math.floor(((v - first) * bins) / (histogramEdge(range, bins) - first));
  if (k > last) k = last;
  else if (k < 0) k = 0;
  while (k > 0 && histogramEdge(range, k) > v) k--;
  while (k < last && histogramEdge(range, k + 1) <= v) k++;
  return k;
}

/**
 * Turns fractions into affinity thresholds at those quantiles of `aff` (every
 * value, all channels), exactly as Watershed.jl's `relative2absolute` does.
 *
 * Equal to {@link quantileThreshold} over the full 10^6-bin histogram, found
 * without it: for values >= +0 the float32 bit patterns order as integers,
 * so one pass counts the top 16 bits (65,536 counters, in cache), a second
 * counts the low 16 bits of the values in the buckets that hold the wanted
 * ranks, which pins the exact value of each rank; its bin's left edge is the
 * threshold. Negative values take the full histogram.
 */
export function relativeThresholds(
  aff: Float32Array,
  fractions: WatershedThresholds,
): WatershedThresholds {
  if (aff.length === 0) {
    throw new SegmentationOptionError("relative thresholds need at least one affinity", "relative");
  }
  const all = [fractions.low, fractions.high, ...fractions.merge.map(([, t]) => t)];
  let thresholds: number[];
  const top = topBitCounts(aff);
  if (!top.negative) {
    const total = aff.length;
    const at = locateRanks(
      top.counts,
      all.map((p) => thresholdRank(total, p)),
    );
    const buckets = [...new Set(at.filter((r) => r.bucket >= 0).map((r) => r.bucket))];
    const low = lowBitCounts(aff, buckets);
    thresholds = thresholdsFromRanks(total, top.minBits, top.maxBits, all, (i) =>
      valueAtRank(low, buckets.indexOf(at[i].bucket), at[i]),
    );
  } else {
    const [lo, hi] = valueRange(aff);
    const range = histogramRange(lo, hi, RELATIVE_THRESHOLD_BINS);
    const counts = accumulateHistogram(aff, range, new Float64Array(range.length - 1));
    thresholds = all.map((p) => quantileThreshold(counts, range, p));
  }
  return {
    low: thresholds[0],
    high: thresholds[1],
    merge: fractions.merge.map(([size], i) => [size, thresholds[2 + i]]),
  };
}
