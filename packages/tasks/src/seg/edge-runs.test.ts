import { openStorage } from "@ngpipe/storage";
import { mulberry32 } from "../synthetic";
import {
  EdgeMeter,
  type EdgeOrder,
  joinSharedEdges,
  type MergeContext,
  packEdges,
  type Run,
  reduceWeightRuns,
  sortEdges,
  walkEdges,
} from "./edge-runs";

let serial = 0;

interface Edge {
  weight: number;
  first: number;
  a: number;
  b: number;
}

// Distinct first faces in a scrambled order, as no two pairs share one.
let face = 0;

/** Random edge copies: few weights (many ties), pairs repeated across runs with other weights and firsts. */
function randomRuns(seed: number, runs: number, perRun: number): Edge[][] {
  const rand = mulberry32(seed);
  const out: Edge[][] = [];
  for (let r = 0; r < runs; r++) {
    const list: Edge[] = [];
    const seen = new Set<string>();
    while (list.length < perRun) {
      const a = 1 + Math.floor(rand() * 40);
      const b = a + 1 + Math.floor(rand() * 8);
      if (seen.has(`${a},${b}`)) continue;
      seen.add(`${a},${b}`);
      list.push({
        weight: Math.fround(Math.floor(rand() * 6) / 5),
        first: 3 * ((++face * 7919) % 100003) + Math.floor(rand() * 3),
        a,
        b,
      });
    }
    out.push(list);
  }
  return out;
}

async function store(c: MergeContext, key: string, edges: Edge[], order: EdgeOrder): Promise<Run> {
  const e = {
    a: Uint32Array.from(edges, (x) => x.a),
    b: Uint32Array.from(edges, (x) => x.b),
    weight: Float64Array.from(edges, (x) => x.weight),
    first: Float64Array.from(edges, (x) => x.first),
  };
  const idx = Int32Array.from(edges, (_, k) => k);
  await c.store.put(key, packEdges(e, sortEdges(e, idx, order)));
  return [{ key, count: edges.length }];
}

function context(page: number, fanIn: number): MergeContext {
  return {
    store: openStorage(`mem://edge-runs-${++serial}`),
    prefix: "merge",
    limits: { page, fanIn },
    meter: new EdgeMeter(),
  };
}

/** The copies joined (largest weight, earliest first) and sorted as Watershed.jl walks them. */
function expected(all: Edge[]): Edge[] {
  const byPair = new Map<string, Edge>();
  for (const e of all) {
    const k = `${e.a},${e.b}`;
    const had = byPair.get(k);
    if (!had) byPair.set(k, { ...e });
    else {
      had.weight = Math.max(had.weight, e.weight);
      had.first = Math.min(had.first, e.first);
    }
  }
  return [...byPair.values()].sort((x, y) => y.weight - x.weight || x.first - y.first);
}

async function walkAll(c: MergeContext, runs: Run[]): Promise<Array<[number, number, number]>> {
  const got: Array<[number, number, number]> = [];
  await walkEdges(c, runs, (w, a, b) => {
    got.push([w, a, b]);
    return true;
  });
  return got;
}

describe("edge runs: the merge's external sort", () => {
  test("shared copies joined and all runs walked in Watershed.jl's order, through levels of merges", async () => {
    const shared = randomRuns(1, 23, 30);
    const own = randomRuns(2, 17, 12).map((list, r) =>
      // An own edge is in one run only, and never a shared pair: other ids per run.
      list.map((e) => ({ ...e, a: e.a + 1000 + 100 * r, b: e.b + 1000 + 100 * r })),
    );
    for (const [page, fanIn] of [
      [1, 2],
      [3, 4],
      [1000, 64],
    ]) {
      const c = context(page, fanIn);
      const sharedRuns = await Promise.all(
        shared.map((l, i) => store(c, `edges/${i}/shared`, l, "pair")),
      );
      const ownRuns = await Promise.all(own.map((l, i) => store(c, `edges/${i}/own`, l, "weight")));
      const joined = await joinSharedEdges(c, sharedRuns);
      const want = expected([...shared.flat(), ...own.flat()]);
      expect(joined.edges).toBe(expected(shared.flat()).length);
      const runs = await reduceWeightRuns(c, [...ownRuns, ...joined.runs]);
      expect(runs.length).toBeLessThanOrEqual(fanIn);
      const got = await walkAll(c, runs);
      expect(got).toEqual(want.map((e) => [e.weight, e.a, e.b]));
      // Pages, the one ahead and one output buffer per merge: never more.
      expect(c.meter.peak).toBeLessThanOrEqual(3 * page * fanIn);
      expect(c.meter.held).toBe(0);
      if (page * fanIn < 100) expect(c.meter.peak).toBeLessThan(want.length / 10);
    }
  });

  test("a walk stops when told, and releases its pages", async () => {
    const c = context(2, 4);
    const list = randomRuns(5, 4, 20);
    const runs = await Promise.all(list.map((l, i) => store(c, `r/${i}`, l, "weight")));
    let seen = 0;
    await walkEdges(c, runs, () => ++seen < 7);
    expect(seen).toBe(7);
    expect(c.meter.held).toBe(0);
  });

  test("a missing or truncated run is a typed error naming the object", async () => {
    const c = context(4, 2);
    const run = await store(c, "r/0", randomRuns(6, 1, 10)[0], "weight");
    await expect(walkAll(c, [[{ key: "r/0", count: 12 }]])).rejects.toThrow(
      /r\/0 is missing or shorter than its 12 edge records/,
    );
    await expect(walkAll(c, [[{ key: "r/none", count: 1 }]])).rejects.toThrow(/r\/none/);
    expect((await walkAll(c, [run])).length).toBe(10);
  });
});
