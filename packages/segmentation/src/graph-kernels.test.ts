import { agglomerate } from "./agglomerate";
import {
  hasPiriform,
  PIRIFORM_PATH,
  PIRIFORM_SHAPE,
  readJsonFixture,
  readLabelsFixture,
  readPiriform,
} from "./fixtures.testutil";
import { evaluateSegmentation } from "./metrics";
import { regionGraph } from "./region-graph";
import { remap } from "./remap";
import { AffinityInputError, SegmentationOptionError } from "./watershed/errors";

interface Fixture {
  metrics: Record<string, number>;
  metricsSwapped: Record<string, number>;
  regionGraph: [number, number, number, number, number][];
  agglomerate: { mean: [number, number][]; max: [number, number][] };
  agglomerateBasins: { mean: [number, number][]; max: [number, number][] };
}

const describePiriform = hasPiriform ? describe : describe.skip;
if (!hasPiriform) console.warn(`skipping piriform graph tests: ${PIRIFORM_PATH} not found`);

describePiriform("region graph, agglomeration and metrics on piriform (numpy reference)", () => {
  let aff: Float32Array;
  let labels: Uint32Array;
  let fixture: Fixture;
  beforeAll(async () => {
    aff = await readPiriform();
    labels = readLabelsFixture("piriform-watershed.u32.gz");
    fixture = readJsonFixture<Fixture>("piriform-watershed.json");
  });

  test("regionGraph lists every touching pair with the faces' max, sum and count", () => {
    const g = regionGraph(aff, labels, PIRIFORM_SHAPE);
    const got = Array.from(g.a, (a, k) => [a, g.b[k], g.max[k], g.count[k]]);
    expect(got).toEqual(fixture.regionGraph.map(([a, b, mx, , ct]) => [a, b, mx, ct]));
    fixture.regionGraph.forEach(([, , , sum], k) => {
      expect(g.sum[k]).toBeCloseTo(sum, 9);
    });
    expect(Array.from(g.value)).toEqual(Array.from(g.max));
  });

  test("reduce: mean makes value the mean affinity", () => {
    const g = regionGraph(aff, labels, PIRIFORM_SHAPE, { reduce: "mean" });
    g.value.forEach((v, k) => {
      expect(v).toBe(g.sum[k] / g.count[k]);
    });
  });

  test.each(["mean", "max"] as const)(
    "agglomerate (%s, threshold 0.5) gives the reference remap",
    (method) => {
      const g = regionGraph(aff, labels, PIRIFORM_SHAPE);
      const table = agglomerate(g, { threshold: 0.5, method });
      const changed = Array.from(table.from, (f, i) => [f, table.to[i]]).filter(
        ([f, t]) => f !== t,
      );
      expect(changed).toEqual(fixture.agglomerate[method]);
      expect(changed.length).toBeGreaterThan(0);
    },
  );

  test.each(["mean", "max"] as const)(
    "agglomerate (%s, threshold 0.3) of the 11k unmerged basins gives the reference remap",
    (method) => {
      const basins = readLabelsFixture("piriform-basins.u32.gz");
      const table = agglomerate(regionGraph(aff, basins, PIRIFORM_SHAPE), {
        threshold: 0.3,
        method,
      });
      const changed = Array.from(table.from, (f, i) => [f, table.to[i]]).filter(
        ([f, t]) => f !== t,
      );
      expect(changed).toEqual(fixture.agglomerateBasins[method]);
    },
  );

  test("an agglomeration table feeds remap: the agglomerated basins are the table's groups", () => {
    const basins = readLabelsFixture("piriform-basins.u32.gz");
    const table = agglomerate(regionGraph(aff, basins, PIRIFORM_SHAPE), { threshold: 0.3 });
    const merged = remap(basins, table, { preserveMissing: true }) as Uint32Array;
    const to = new Map(Array.from(table.from, (f, i) => [f, table.to[i]]));
    let wrong = 0;
    for (let i = 0; i < basins.length; i++)
      if (merged[i] !== (to.get(basins[i]) ?? basins[i])) wrong++;
    expect(wrong).toBe(0);
    expect(new Set(merged).size).toBeLessThan(new Set(basins).size);
  });

  test("evaluateSegmentation matches numpy's Rand and VOI figures, both ways round", () => {
    const other = readLabelsFixture("piriform-watershed-abs.u32.gz");
    for (const [got, want] of [
      [evaluateSegmentation(other, labels), fixture.metrics],
      [evaluateSegmentation(labels, other), fixture.metricsSwapped],
    ] as const) {
      for (const key of Object.keys(want)) {
        expect(got[key as keyof typeof got]).toBeCloseTo(want[key], 10);
      }
    }
  });
});

describe("agglomerate on small graphs", () => {
  /** A graph from (a, b, [face affinities]) entries. */
  function graph(entries: [number, number, number[]][]) {
    return {
      a: Uint32Array.from(entries, (e) => e[0]),
      b: Uint32Array.from(entries, (e) => e[1]),
      sum: Float64Array.from(entries, (e) => e[2].reduce((x, y) => x + y, 0)),
      count: Float64Array.from(entries, (e) => e[2].length),
      max: Float64Array.from(entries, (e) => Math.max(...e[2])),
    };
  }

  test("the merged region's edge to a common neighbour is the mean over all its faces", () => {
    // 1-2 merge first (0.9); then 1's edge to 3 is mean(0.7, 0.7, 0.1) = 0.5.
    const g = graph([
      [1, 2, [0.9]],
      [1, 3, [0.7, 0.7]],
      [2, 3, [0.1]],
    ]);
    expect(Array.from(agglomerate(g, { threshold: 0.5 }).to)).toEqual([1, 1, 1]);
    expect(Array.from(agglomerate(g, { threshold: 0.51 }).to)).toEqual([1, 1, 3]);
    expect(Array.from(agglomerate(g, { threshold: 0.51, method: "max" }).to)).toEqual([1, 1, 1]);
  });

  test("nothing merges below the threshold; ties go to the smaller pair", () => {
    const g = graph([
      [5, 9, [0.6]],
      [2, 9, [0.6]],
    ]);
    const none = agglomerate(g, { threshold: 0.7 });
    expect(Array.from(none.from)).toEqual([2, 5, 9]);
    expect(Array.from(none.to)).toEqual([2, 5, 9]);
    expect(Array.from(agglomerate(g, { threshold: 0.6 }).to)).toEqual([2, 2, 2]);
  });

  test("bad thresholds and methods are SegmentationOptionErrors", () => {
    const g = graph([[1, 2, [0.5]]]);
    expect(() => agglomerate(g, { threshold: 1.5 })).toThrow(SegmentationOptionError);
    expect(() => agglomerate(g, { threshold: 0.5, method: "min" as "max" })).toThrow(/method/);
  });
});

describe("evaluateSegmentation on small arrays", () => {
  test("the same partition under other ids scores perfectly", () => {
    const s = evaluateSegmentation(Uint32Array.of(1, 1, 2, 2, 0), Uint32Array.of(7, 7, 3, 3, 9));
    expect(s).toEqual({
      randIndex: 1,
      adaptedRandError: 0,
      precision: 1,
      recall: 1,
      voiSplit: 0,
      voiMerge: 0,
    });
  });

  test("a split costs recall and VOI split, a merge precision and VOI merge", () => {
    const truth = Uint32Array.of(1, 1, 1, 1);
    const split = evaluateSegmentation(Uint32Array.of(1, 1, 2, 2), truth);
    expect(split.voiSplit).toBeCloseTo(1, 12);
    expect(split.voiMerge).toBe(0);
    expect(split.recall).toBe(0.5);
    expect(split.randIndex).toBeCloseTo(2 / 6, 12);
    const merge = evaluateSegmentation(truth, Uint32Array.of(1, 1, 2, 2));
    expect(merge.voiMerge).toBeCloseTo(1, 12);
    expect(merge.precision).toBe(0.5);
  });

  test("arrays of different lengths are refused", () => {
    expect(() => evaluateSegmentation(new Uint32Array(3), new Uint32Array(4))).toThrow(
      AffinityInputError,
    );
  });
});

describe("regionGraph input checks", () => {
  test("labels that do not match the shape are an AffinityInputError", () => {
    expect(() => regionGraph(new Float32Array(24), new Uint32Array(7), [2, 2, 2])).toThrow(
      /labels has 7 values but shape \[2, 2, 2\] needs 8/,
    );
  });
  test("an unknown reduce is a SegmentationOptionError", () => {
    expect(() =>
      regionGraph(new Float32Array(24), new Uint32Array(8), [2, 2, 2], { reduce: "sum" as "max" }),
    ).toThrow(SegmentationOptionError);
  });
});

describe("regionGraph's start corner", () => {
  // 3x2x1: labels 1 2 / 1 3; the y faces are (1,1) and (2,3), the x faces (1,2) and (1,3).
  const labels = Uint32Array.from([1, 2, 2, 1, 3, 3]);
  const aff = new Float32Array(18).fill(0.5);

  test("faces whose higher voxel lies before start are not counted", () => {
    const all = regionGraph(aff, labels, [3, 2, 1]);
    expect(Array.from(all.a, (a, k) => [a, all.b[k], all.count[k]])).toEqual([
      [1, 2, 1],
      [1, 3, 1],
      [2, 3, 2],
    ]);
    // From x = 1: the -x faces of x = 1 still count (their lower voxel is at x = 0).
    const fromX1 = regionGraph(aff, labels, [3, 2, 1], { start: [1, 0, 0] });
    expect(Array.from(fromX1.a, (a, k) => [a, fromX1.b[k], fromX1.count[k]])).toEqual([
      [1, 2, 1],
      [1, 3, 1],
      [2, 3, 2],
    ]);
    // From y = 1: row y = 0 is context only, so its x face (1, 2) is left out.
    const fromY1 = regionGraph(aff, labels, [3, 2, 1], { start: [0, 1, 0] });
    expect(Array.from(fromY1.a, (a, k) => [a, fromY1.b[k], fromY1.count[k]])).toEqual([
      [1, 3, 1],
      [2, 3, 2],
    ]);
  });

  test("a start outside the shape is a SegmentationOptionError", () => {
    expect(() => regionGraph(aff, labels, [3, 2, 1], { start: [4, 0, 0] })).toThrow(
      SegmentationOptionError,
    );
  });
});
