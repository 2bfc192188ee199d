import {
  accumulateHistogram,
  histogramEdge,
  histogramRange,
  quantileThreshold,
  RELATIVE_THRESHOLD_BINS,
  relativeThresholds,
  valueRange,
} from "./thresholds";

/** A small deterministic PRNG (xorshift32) returning floats in [0, 1). */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/** The thresholds from the full 10^6-bin histogram, the way Watershed.jl takes them. */
function viaHistogram(values: Float32Array, fractions: number[]): number[] {
  const [lo, hi] = valueRange(values);
  const range = histogramRange(lo, hi, RELATIVE_THRESHOLD_BINS);
  const counts = accumulateHistogram(values, range, new Float64Array(range.length - 1));
  return fractions.map((p) => quantileThreshold(counts, range, p));
}

describe("relative thresholds", () => {
  test("StatsBase's histrange: bins of 10^-6 over [0.1, 0.9] starting at a multiple of the width", () => {
    const r = histogramRange(Math.fround(0.1), Math.fround(0.9), 1e6);
    expect(r.divisor).toBe(1e6);
    expect(r.step).toBe(1);
    expect(r.start).toBe(100000);
    expect(histogramEdge(r, r.length - 1)).toBeGreaterThan(Math.fround(0.9));
    expect(histogramEdge(r, r.length - 2)).toBeLessThanOrEqual(Math.fround(0.9));
  });

  test("the two-pass quantiles equal the full histogram's, with values piled on the edges and ends", () => {
    const rand = prng(5);
    const values = new Float32Array(300_000);
    for (let i = 0; i < values.length; i++) {
      const r = rand();
      // A third exactly 0 or 1 (clamped), a third on bin edges, a third anywhere.
      values[i] = r < 0.15 ? 0 : r < 0.3 ? 1 : r < 0.6 ? Math.round(rand() * 1e6) / 1e6 : rand();
    }
    const fractions = [0, 0.003, 0.1, 0.15, 0.2, 0.5, 0.8, 0.85, 0.999987, 1];
    const got = relativeThresholds(values, {
      low: 0.1,
      high: 0.8,
      merge: fractions.map((p) => [1, p]),
    });
    const want = viaHistogram(values, [0.1, 0.8, ...fractions]);
    expect([got.low, got.high, ...got.merge.map(([, t]) => t)]).toEqual(want);
  });

  test("maps with negative values (the full-histogram path) give the full histogram's quantiles", () => {
    const rand = prng(9);
    const values = Float32Array.from({ length: 100_000 }, () => rand() * 1.2 - 0.2);
    values[7] = -0;
    const got = relativeThresholds(values, { low: 0.1, high: 0.8, merge: [[1, 0.3]] });
    expect([got.low, got.high, got.merge[0][1]]).toEqual(viaHistogram(values, [0.1, 0.8, 0.3]));
  });
});
