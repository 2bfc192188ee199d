import { mergeBasinGraph } from "./basin-merge";
import { basinGraph } from "./merge";
import { watershed } from "./watershed";

function graph(sizes: number[], edges: Array<[number, number, number, number]>) {
  return {
    sizes: Float64Array.from(sizes),
    a: Uint32Array.from(edges, (e) => e[0]),
    b: Uint32Array.from(edges, (e) => e[1]),
    weight: Float64Array.from(edges, (e) => e[2]),
    first: Float64Array.from(edges, (e) => e[3]),
  };
}

describe("mergeBasinGraph", () => {
  test("equal weights merge in the order the scan first met the pairs", () => {
    // Basin 1 is large; 2 and 3 are small. Met (2, 3) first: they merge into a
    // region of 10, too large to merge with 1 afterwards.
    const early = mergeBasinGraph(
      graph(
        [20, 5, 5],
        [
          [1, 2, 0.5, 30],
          [2, 3, 0.5, 12],
        ],
      ),
      [[8, 0.1]],
      0,
    );
    expect([...early.finalOf]).toEqual([0, 1, 2, 2]);
    // Met (1, 2) first: 2 joins 1, then 3 (still small) joins them.
    const late = mergeBasinGraph(
      graph(
        [20, 5, 5],
        [
          [1, 2, 0.5, 3],
          [2, 3, 0.5, 12],
        ],
      ),
      [[8, 0.1]],
      0,
    );
    expect([...late.finalOf]).toEqual([0, 1, 1, 1]);
  });

  test("dust becomes background and regions are numbered by their smallest basin", () => {
    const r = mergeBasinGraph(graph([3, 50, 4, 60], [[1, 3, 0.9, 0]]), [[10, 0.5]], 10);
    // {1, 3} has 7 voxels: dust. 2 and 4 stay, numbered 1 and 2.
    expect([...r.finalOf]).toEqual([0, 0, 1, 0, 2]);
    expect(r.regions).toBe(2);
  });

  test("the graph of a volume's basins gives that volume's watershed", () => {
    const shape: [number, number, number] = [24, 20, 6];
    const n = shape[0] * shape[1] * shape[2];
    let x = 7;
    const aff = Float32Array.from({ length: 3 * n }, () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return Math.round(((x >>> 8) / 2 ** 24) * 20) / 20;
    });
    const options = { relative: false, low: 0.1, high: 0.9 };
    const basins = watershed(aff, shape, { ...options, merge: [], dust: 0 });
    const edges = basinGraph(aff, basins.labels, shape);
    const first = new Float64Array(edges.a.length);
    // basinGraph numbers pairs in scan order: their index is their first meeting's rank.
    for (let k = 0; k < first.length; k++) first[k] = k;
    const merged = mergeBasinGraph(
      {
        sizes: Float64Array.from(basins.counts.subarray(1)),
        a: edges.a,
        b: edges.b,
        weight: Float64Array.from(edges.weight),
        first,
      },
      // Thresholds as float32 values, as watershed makes them.
      [[30, Math.fround(0.3)]],
      8,
    );
    const want = watershed(aff, shape, { ...options, merge: [[30, 0.3]], dust: 8 });
    expect(Uint32Array.from(basins.labels, (b) => merged.finalOf[b])).toEqual(want.labels);
  });
});
