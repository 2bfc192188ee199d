/**
 * Kernels of the watershed stage's relative-threshold phases, for the worker
 * pool: a block's share of the two passes of `@ngpipe/segmentation`'s
 * rank counts (top 16 bits of every value, then the low 16 bits of the
 * values in the buckets that hold the wanted ranks), and, for maps with
 * negative values, its 10^6-bin histogram. Counts come back sparse (the
 * buckets or bins that are not empty), so the records stay small.
 */
import {
  accumulateHistogram,
  affinitiesAsFloat32,
  type HistogramRange,
  lowBitCounts,
  topBitCounts,
  valueRange,
} from "@ngpipe/segmentation";

function bitsAsFloat(b: number): number {
  return new Float32Array(Uint32Array.of(b >>> 0).buffer)[0];
}

/** Nonzero slots of `dense` and their counts. */
function sparse(dense: Float64Array): { index: Uint32Array; counts: Float64Array } {
  let m = 0;
  for (let k = 0; k < dense.length; k++) if (dense[k] !== 0) m++;
  const index = new Uint32Array(m);
  const counts = new Float64Array(m);
  m = 0;
  for (let k = 0; k < dense.length; k++)
    if (dense[k] !== 0) {
      index[m] = k;
      counts[m++] = dense[k];
    }
  return { index, counts };
}

/** A block's first pass: its top-16-bit counts, and its extremes as bits and as values. */
export interface BlockTopCounts {
  index: Uint32Array;
  counts: Float64Array;
  minBits: number;
  maxBits: number;
  negative: boolean;
  lo: number;
  hi: number;
}

/** The first pass over a block's affinities. */
export function affinityTopCounts(aff: Float32Array | Uint8Array): BlockTopCounts {
  const values = affinitiesAsFloat32(aff);
  const top = topBitCounts(values);
  // Bits order as values only without sign bits; the histogram fallback needs the float extremes.
  const [lo, hi] = top.negative
    ? valueRange(values)
    : [bitsAsFloat(top.minBits), bitsAsFloat(top.maxBits)];
  return {
    ...sparse(top.counts),
    minBits: top.minBits,
    maxBits: top.maxBits,
    negative: top.negative,
    lo,
    hi,
  };
}

/** The second pass over a block's affinities: low-16-bit counts in `buckets`, as `j * 65536 + low` slots. */
export function affinityLowCounts(
  aff: Float32Array | Uint8Array,
  buckets: number[],
): { index: Uint32Array; counts: Float64Array } {
  return sparse(lowBitCounts(affinitiesAsFloat32(aff), buckets));
}

/** For maps with negative values: a block's histogram on the dataset's 10^6-bin range. */
export function affinityHistogram(
  aff: Float32Array | Uint8Array,
  range: HistogramRange,
): { index: Uint32Array; counts: Float64Array } {
  return sparse(
    accumulateHistogram(affinitiesAsFloat32(aff), range, new Float64Array(range.length - 1)),
  );
}
