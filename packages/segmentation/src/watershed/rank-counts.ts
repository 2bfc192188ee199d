/**
 * The two passes that find the values at given ranks of a float32 map without
 * a 10^6-bin histogram, in pieces a dataset-wide stage can run block by block
 * and add up: for values >= +0 the float32 bit patterns order as unsigned
 * integers, so counting the top 16 bits of every value (65,536 counters)
 * says which bucket holds each wanted rank, and counting the low 16 bits of
 * the values in those few buckets pins the exact value at each rank.
 * `relativeThresholds` runs both passes over one array; the watershed stage
 * runs each pass per block and sums the counts.
 */
import {
  type HistogramRange,
  histogramBin,
  histogramEdge,
  histogramRange,
  RELATIVE_THRESHOLD_BINS,
} from "./thresholds";

const f = Math.fround;

/** Number of buckets of either pass (16 bits). */
export const RANK_BUCKETS = 65536;

/** The first pass over some values: counts of their top 16 bits, and their extremes as bits. */
export interface TopBitCounts {
  /** `counts[t]`: values whose bit pattern's top 16 bits are `t`. */
  counts: Float64Array;
  /** Smallest and largest bit pattern (as unsigned integers). */
  minBits: number;
  maxBits: number;
  /** Some value has its sign bit set (a negative value or -0): the bits do not order as values. */
  negative: boolean;
}

/** The first pass: top-16-bit counts of `values` (added to `into` when given). */
export function topBitCounts(values: Float32Array, into?: TopBitCounts): TopBitCounts {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = into ?? {
    counts: new Float64Array(RANK_BUCKETS),
    minBits: 0xffffffff,
    maxBits: 0,
    negative: false,
  };
  const top = out.counts;
  let min = out.minBits;
  let max = out.maxBits;
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    top[b >>> 16]++;
    if (b < min) min = b;
    if (b > max) max = b;
  }
  out.minBits = min;
  out.maxBits = max;
  out.negative = out.negative || max >= 0x80000000;
  return out;
}

/**
 * The rank `quantileThreshold` looks for: the first bin whose running count
 * reaches total * fraction (float32 arithmetic, as Julia's) is the bin of
 * the ceil of that rank's value (values bin in order).
 */
export function thresholdRank(total: number, fraction: number): number {
  return Math.ceil(f(f(total) * f(fraction)));
}

/** Where a rank falls after the first pass: its top-16-bit bucket and its rank inside it. */
export interface RankPosition {
  /** The bucket, or -1 for a rank outside 1..total. */
  bucket: number;
  /** 1-based rank among the bucket's values. */
  inside: number;
}

/** The bucket of each rank (1-based) from the first pass's counts. */
export function locateRanks(top: Float64Array, ranks: readonly number[]): RankPosition[] {
  let total = 0;
  for (let t = 0; t < RANK_BUCKETS; t++) total += top[t];
  return ranks.map((rank) => {
    if (rank <= 0 || rank > total) return { bucket: -1, inside: 0 };
    let acc = 0;
    for (let t = 0; t < RANK_BUCKETS; t++) {
      if (acc + top[t] >= rank) return { bucket: t, inside: rank - acc };
      acc += top[t];
    }
    return { bucket: -1, inside: 0 };
  });
}

/**
 * The second pass: for each of `buckets` (distinct top-16-bit values), the
 * counts of the low 16 bits of the values in it, as `RANK_BUCKETS` slots per
 * bucket in the order given (added to `into` when given).
 */
export function lowBitCounts(
  values: Float32Array,
  buckets: readonly number[],
  into?: Float64Array,
): Float64Array {
  const out = into ?? new Float64Array(RANK_BUCKETS * buckets.length);
  if (buckets.length === 0) return out;
  const slot = new Int32Array(RANK_BUCKETS).fill(-1);
  buckets.forEach((t, j) => {
    slot[t] = j * RANK_BUCKETS;
  });
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    const base = slot[b >>> 16];
    if (base >= 0) out[base + (b & 0xffff)]++;
  }
  return out;
}

function bitsAsFloat(b: number): number {
  return new Float32Array(Uint32Array.of(b >>> 0).buffer)[0];
}

/** The value at a located rank, from the second pass's counts of its bucket (slot `j`). */
export function valueAtRank(low: Float64Array, j: number, at: RankPosition): number {
  const base = j * RANK_BUCKETS;
  let acc = 0;
  for (let l = 0; l < RANK_BUCKETS; l++) {
    acc += low[base + l];
    if (acc >= at.inside) return bitsAsFloat((at.bucket << 16) | l);
  }
  throw new RangeError(`rank ${at.inside} is beyond the ${acc} values of bucket ${at.bucket}`);
}

/**
 * Watershed.jl's relative thresholds from the two passes' results: the
 * histogram range of [min, max] (10^6 bins) and, for each fraction, the left
 * edge of the bin of the value at its rank (the first bin for a rank below
 * 1, the last for one above the count).
 */
export function thresholdsFromRanks(
  total: number,
  minBits: number,
  maxBits: number,
  fractions: readonly number[],
  rankedValue: (i: number) => number,
): number[] {
  const range: HistogramRange = histogramRange(
    bitsAsFloat(minBits),
    bitsAsFloat(maxBits),
    RELATIVE_THRESHOLD_BINS,
  );
  const bins = range.length - 1;
  return fractions.map((p, i) => {
    const rank = thresholdRank(total, p);
    if (rank <= 0) return histogramEdge(range, 0);
    if (rank > total) return histogramEdge(range, bins - 1);
    return histogramEdge(range, histogramBin(rankedValue(i), range));
  });
}
