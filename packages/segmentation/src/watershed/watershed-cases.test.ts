import { readJsonFixture } from "../fixtures.testutil";
import { AffinityInputError, SegmentationOptionError } from "./errors";
import { watershed } from "./watershed";

/** An affinity map of a line of voxels along x: `edges[i]` joins voxels i and i + 1. */
function line(edges: number[]): { aff: Float32Array; shape: [number, number, number] } {
  const n = edges.length + 1;
  const aff = new Float32Array(3 * n);
  edges.forEach((v, i) => {
    aff[i + 1] = v;
  });
  return { aff, shape: [n, 1, 1] };
}

const ABS = { relative: false, low: 0.1, high: 0.95, merge: [] as [number, number][], dust: 0 };

describe("watershed on hand-made maps", () => {
  test("two voxels joined by their only edge form one basin (a maximal plateau)", () => {
    const { aff, shape } = line([0.9]);
    const r = watershed(aff, shape, ABS);
    expect(Array.from(r.labels)).toEqual([1, 1]);
    expect(Array.from(r.counts)).toEqual([0, 2]);
    expect(r.mst.weight.length).toBe(0);
  });

  test("voxels whose affinities are all <= low are background", () => {
    const { aff, shape } = line([0.05, 0.1]);
    const r = watershed(aff, shape, ABS);
    expect(Array.from(r.labels)).toEqual([0, 0, 0]);
    expect(Array.from(r.counts)).toEqual([3]);
    expect(r.regions).toBe(0);
  });

  test("a non-maximal plateau drains to its nearest exits; a tie in the middle takes the last direction (+x)", () => {
    // 0=1 (0.9) - 2 - 3 - 4 - 5=6 (0.9) with 0.5 between: voxel 3 is as far from both exits.
    const { aff, shape } = line([0.9, 0.5, 0.5, 0.5, 0.5, 0.9]);
    const r = watershed(aff, shape, ABS);
    expect(Array.from(r.labels)).toEqual([1, 1, 1, 2, 2, 2, 2]);
    expect(Array.from(r.mst.weight)).toEqual([0.5]);
    expect([r.mst.a[0], r.mst.b[0]]).toEqual([2, 1]);
  });

  test("edges >= high join basins even when they are not a voxel's maximum", () => {
    const { aff, shape } = line([0.9, 0.85, 0.9]);
    expect(Array.from(watershed(aff, shape, ABS).labels)).toEqual([1, 1, 2, 2]);
    expect(Array.from(watershed(aff, shape, { ...ABS, high: 0.8 }).labels)).toEqual([1, 1, 1, 1]);
  });

  test("regions under dust voxels become background and the rest are renumbered", () => {
    const { aff, shape } = line([0.9, 0.3, 0.8, 0.8]);
    expect(Array.from(watershed(aff, shape, ABS).labels)).toEqual([1, 1, 2, 2, 2]);
    const r = watershed(aff, shape, { ...ABS, dust: 3 });
    expect(Array.from(r.labels)).toEqual([0, 0, 1, 1, 1]);
    expect(Array.from(r.counts)).toEqual([2, 3]);
  });

  test("merging joins a small region across an edge strictly above the threshold", () => {
    const { aff, shape } = line([0.9, 0.3, 0.8, 0.8]);
    const merged = watershed(aff, shape, { ...ABS, merge: [[3, 0.2]], dust: 3 });
    expect(Array.from(merged.labels)).toEqual([1, 1, 1, 1, 1]);
    const atThreshold = watershed(aff, shape, { ...ABS, merge: [[3, 0.3]], dust: 3 });
    expect(Array.from(atThreshold.labels)).toEqual([0, 0, 1, 1, 1]);
  });
});

interface TinyCase {
  shape: [number, number, number];
  levels: number;
  q: number[];
  options: {
    low: number;
    high: number;
    merge: [number, number][];
    dust: number;
    relative: boolean;
  };
  labels: number[];
  counts: number[];
  mst: [number, number, number][];
  thresholds: { low: number; high: number; merge: [number, number][] };
}

describe("watershed on random maps with many ties (reference transliteration)", () => {
  const cases = readJsonFixture<TinyCase[]>("watershed-tiny.json");
  test.each(cases.map((c, i) => [i, c] as const))("case %i", (_i, c) => {
    const aff = Float32Array.from(c.q, (v) => v / c.levels);
    const r = watershed(aff, c.shape, c.options);
    expect(r.thresholds).toEqual(c.thresholds);
    expect(Array.from(r.labels)).toEqual(c.labels);
    expect(Array.from(r.counts.subarray(1))).toEqual(c.counts);
    expect(Array.from(r.mst.weight, (w, k) => [w, r.mst.a[k], r.mst.b[k]])).toEqual(c.mst);
  });
});

describe("watershed input checks", () => {
  const { aff, shape } = line([0.9, 0.5]);
  test("a shape that does not match the data is an AffinityInputError naming both", () => {
    expect(() => watershed(aff, [4, 1, 1])).toThrow(AffinityInputError);
    expect(() => watershed(aff, [4, 1, 1])).toThrow(/9 values but shape \[4, 1, 1, 3\] needs 12/);
    expect(() => watershed(aff, [3, 1, 1, 2])).toThrow(/three affinity channels/);
  });

  test("other element types and NaN values are refused", () => {
    expect(() => watershed(new Uint16Array(9) as unknown as Uint8Array, shape)).toThrow(
      /Float32Array or a Uint8Array/,
    );
    const bad = aff.slice();
    bad[1] = Number.NaN;
    expect(() => watershed(bad, shape, ABS)).toThrow(/aff\[1\] is NaN/);
  });

  test("thresholds outside [0, 1] and negative sizes are SegmentationOptionErrors", () => {
    expect(() => watershed(aff, shape, { low: -0.1 })).toThrow(SegmentationOptionError);
    expect(() => watershed(aff, shape, { high: 1.5 })).toThrow(/high must be a number in \[0, 1\]/);
    expect(() => watershed(aff, shape, { merge: [[800, 2]] })).toThrow(/merge\[0\]\[1\]/);
    expect(() => watershed(aff, shape, { merge: [[-1, 0.2]] })).toThrow(/merge\[0\]\[0\]/);
    expect(() => watershed(aff, shape, { dust: -5 })).toThrow(/dust/);
    expect(() => watershed(aff, shape, { ...ABS, low: 0.5, high: 0.5 })).toThrow(
      /low .* below high/,
    );
  });
});

describe("watershed implementation paths agree", () => {
  test("a map with a -0 (compared as floats) segments like the same map with +0 (compared as bits)", () => {
    const c = readJsonFixture<TinyCase[]>("watershed-tiny.json")[0];
    const aff = Float32Array.from(c.q, (v) => v / c.levels);
    const zero = aff.indexOf(0);
    expect(zero).toBeGreaterThanOrEqual(0);
    const negZero = aff.slice();
    negZero[zero] = -0;
    const a = watershed(aff, c.shape, c.options);
    const b = watershed(negZero, c.shape, c.options);
    expect(b.labels).toEqual(a.labels);
    expect(Array.from(a.labels)).toEqual(c.labels);
  });

  test("negative affinities are accepted and count as below low", () => {
    const { aff, shape } = line([0.9, -0.5, 0.8]);
    expect(Array.from(watershed(aff, shape, ABS).labels)).toEqual([1, 1, 2, 2]);
  });
});
