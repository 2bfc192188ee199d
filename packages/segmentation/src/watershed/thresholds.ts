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

/** The edges of `range` as float32 values (length `range.length`). */
export function histogramEdges(range: HistogramRange): Float32Array {
  const edges = new Float32Array(range.length);
  for (let i = 0; i < range.length; i++) {
    edges[i] = (range.start + i * range.step) / range.divisor;
  }
  return edges;
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
 * A function giving the bin of a value on `edges` (StatsBase's
 * `searchsortedlast`: `edges[k] <= v < edges[k + 1]`). The bin is computed
 * arithmetically and checked against the float32 edges only when the value
 * lies near an edge, where their rounding could matter; the edges are then
 * recomputed rather than loaded, as a million of them do not stay in cache.
 */
function binner(edges: Float32Array, range?: HistogramRange): (v: number) => number {
  const nb = edges.length - 1;
  const first = edges[0];
  const last = edges[nb];
  const scale = nb / (last - first);
  // Rounding an edge to float32 moves it by at most |edge| * 2^-24: in bins,
  // at most `slack`. Away from the edges by more than that, the arithmetic
  // bin is the exact one.
  const slack = Math.max(Math.abs(first), Math.abs(last)) * 2 ** -24 * scale;
  const margin = slack < 0.04 ? slack + 0.01 : 2;
  const edge = range
    ? (k: number): number => f((range.start + k * range.step) / range.divisor)
    : (k: number): number => edges[k];
  return (v: number): number => {
    const q = (v - first) * scale;
    let k = Math.floor(q);
    const frac = q - k;
    if (frac < margin || frac > 1 - margin || k < 0 || k >= nb) {
      if (k < 0) k = 0;
      else if (k >= nb) k = nb - 1;
      while (k > 0 && edge(k) > v) k--;
      while (k < nb - 1 && edge(k + 1) <= v) k++;
    }
    return k;
  };
}

/**
 * Adds the values to `counts` (one slot per bin, `edges.length - 1`), binned
 * on `edges`; the range must come from the data's own minimum and maximum
 * (or a wider one), so no value falls outside.
 */
export function accumulateHistogram(
  values: Float32Array,
  edges: Float32Array,
  counts: Float64Array,
): Float64Array {
  const bin = binner(edges);
  for (let i = 0; i < values.length; i++) counts[bin(values[i])]++;
  return counts;
}

/**
 * `_percent2thd`: the left edge of the first bin where the running count
 * reaches `total * fraction` (both rounded to float32, as Julia multiplies an
 * Int by a Float32 fraction).
 */
export function quantileThreshold(
  counts: Float64Array,
  edges: Float32Array,
  fraction: number,
): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  const rank = f(f(total) * f(fraction));
  let acc = 0;
  for (let i = 0; i < counts.length; i++) {
    acc += counts[i];
    if (acc >= rank) return edges[i];
  }
  return edges[counts.length - 1];
}

/** Watershed thresholds: `low`, `high` and the (size, affinity) merge pairs. */
export interface WatershedThresholds {
  low: number;
  high: number;
  merge: Array<[number, number]>;
}

/**
 * Turns fractions into affinity thresholds at those quantiles of `aff` (every
 * value, all channels), exactly as Watershed.jl's `relative2absolute` does.
 */
export function relativeThresholds(
  aff: Float32Array,
  fractions: WatershedThresholds,
): WatershedThresholds {
  if (aff.length === 0) {
    throw new SegmentationOptionError("relative thresholds need at least one affinity", "relative");
  }
  const [lo, hi] = valueRange(aff);
  const range = histogramRange(lo, hi, RELATIVE_THRESHOLD_BINS);
  const edges = histogramEdges(range);
  const quantiles = [fractions.low, fractions.high, ...fractions.merge.map(([, t]) => t)];
  const found = histogramQuantiles(aff, edges, range, quantiles);
  return {
    low: found[0],
    high: found[1],
    merge: fractions.merge.map(([size], i) => [size, found[2 + i]]),
  };
}

/**
 * `quantileThreshold` of the histogram of `values` on `edges` for each
 * fraction, without the histogram: a million bins of counts make every value
 * a cache miss. The first pass counts coarse groups of bins; the group where
 * each quantile's running count crosses its rank is then counted bin by bin
 * in a second pass over the values in those groups only.
 */
function histogramQuantiles(
  values: Float32Array,
  edges: Float32Array,
  range: HistogramRange,
  fractions: number[],
): number[] {
  const nb = edges.length - 1;
  const group = Math.max(1, Math.ceil(nb / 4096));
  const groups = Math.ceil(nb / group);
  const bin = binner(edges, range);
  const coarse = new Float64Array(groups);
  for (let i = 0; i < values.length; i++) coarse[Math.floor(bin(values[i]) / group)]++;
  const total = values.length;
  const want = fractions.map((p) => {
    const rank = f(f(total) * f(p));
    let acc = 0;
    for (let g = 0; g < groups; g++) {
      if (acc + coarse[g] >= rank) return { rank, g, before: acc };
      acc += coarse[g];
    }
    return { rank, g: groups - 1, before: acc - coarse[groups - 1] };
  });
  const slot = new Int32Array(groups).fill(-1);
  const picked: number[] = [];
  for (const w of want) {
    if (slot[w.g] < 0) {
      slot[w.g] = picked.length;
      picked.push(w.g);
    }
  }
  const fine = new Float64Array(picked.length * group);
  for (let i = 0; i < values.length; i++) {
    const k = bin(values[i]);
    const s = slot[Math.floor(k / group)];
    if (s >= 0) fine[s * group + (k % group)]++;
  }
  return want.map(({ rank, g, before }) => {
    const base = slot[g] * group;
    let acc = before;
    for (let j = 0; j < group && g * group + j < nb; j++) {
      acc += fine[base + j];
      if (acc >= rank) return edges[g * group + j];
    }
    return edges[Math.min(nb - 1, g * group + group - 1)];
  });
}
