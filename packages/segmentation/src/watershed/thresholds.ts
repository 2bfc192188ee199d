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
  RANK_BUCKETS,
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
 * threshold (rank-counts.ts). Negative values take the full histogram.
 */
export function relativeThresholds(
  aff: Float32Array,
  fractions: WatershedThresholds,
): WatershedThresholds {
  if (aff.length === 0) {
    throw new SegmentationOptionError("relative thresholds need at least one affinity", "relative");
  }
  const first = topBitCounts(aff);
  const fromCounts = thresholdsFromBitCounts(
    aff.length,
    fractions,
    { top: first.counts, min: first.minBits, max: first.maxBits },
    (slot, wanted) => {
      const buckets = new Array<number>(wanted);
      slot.forEach((j, t) => {
        if (j >= 0) buckets[j] = t;
      });
      return lowBitCounts(aff, buckets);
    },
  );
  if (fromCounts) return fromCounts;
  const [lo, hi] = valueRange(aff);
  const range = histogramRange(lo, hi, RELATIVE_THRESHOLD_BINS);
  const counts = accumulateHistogram(aff, range, new Float64Array(range.length - 1));
  return thresholdsOf(fractions, (p) => quantileThreshold(counts, range, p));
}

function thresholdsOf(
  fractions: WatershedThresholds,
  threshold: (fraction: number, i: number) => number,
): WatershedThresholds {
  return {
    low: threshold(fractions.low, 0),
    high: threshold(fractions.high, 1),
    merge: fractions.merge.map(([size, p], i) => [size, threshold(p, 2 + i)]),
  };
}

/** The first counting pass of {@link thresholdsFromBitCounts} over the values' bit patterns. */
export interface FirstPassCounts {
  /** Values per top 16 bits of their float32 bit pattern (65,536 counts). */
  top: ArrayLike<number>;
  /** Smallest bit pattern, as an unsigned number. */
  min: number;
  /** Largest bit pattern, as an unsigned number. */
  max: number;
}

/**
 * The relative thresholds of `total` values from their top-16-bit counts
 * and a second pass, `countLow(slot, wanted)`, that counts the low 16 bits
 * of the values whose top 16 bits `b` have `slot[b] >= 0`, into
 * `slot[b] * 65536 + low` of an array of `wanted * 65536` counts. Undefined
 * when a bit pattern has its sign bit set (negative values or -0, which do
 * not order as integers). Shared by {@link relativeThresholds} and the
 * WebAssembly kernel, which counts in its own memory; the watershed stage
 * runs the same pieces (rank-counts.ts) block by block.
 */
export function thresholdsFromBitCounts(
  total: number,
  fractions: WatershedThresholds,
  first: FirstPassCounts,
  countLow: (slot: Int32Array, wanted: number) => ArrayLike<number>,
): WatershedThresholds | undefined {
  if (first.max >= 0x80000000) return undefined;
  const all = [fractions.low, fractions.high, ...fractions.merge.map(([, t]) => t)];
  const at = locateRanks(
    first.top,
    all.map((p) => thresholdRank(total, p)),
  );
  const buckets = [...new Set(at.filter((r) => r.bucket >= 0).map((r) => r.bucket))];
  const slot = new Int32Array(RANK_BUCKETS).fill(-1);
  buckets.forEach((t, j) => {
    slot[t] = j;
  });
  const low = buckets.length > 0 ? countLow(slot, buckets.length) : new Float64Array(0);
  const values = thresholdsFromRanks(total, first.min, first.max, all, (i) =>
    valueAtRank(low, slot[at[i].bucket], at[i]),
  );
  return thresholdsOf(fractions, (_, i) => values[i]);
}
