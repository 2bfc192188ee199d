/**
 * The watershed kernel's inner loops as WebAssembly (AssemblyScript). The
 * driver, src/watershed/wasm.ts, lays out the volume's arrays in linear
 * memory, streams the affinities in one z slice at a time and calls these
 * steps in order. Each loop is a port of the JavaScript reference
 * (src/watershed/basins.ts, merge.ts, thresholds.ts) that visits voxels and
 * edges in the same order, because that order decides every tie.
 *
 * Affinities arrive as float32 bit patterns of values >= +0 (the driver
 * falls back to the JavaScript kernel otherwise), so they order as int32.
 *
 * Per voxel: `sag` (one byte: bits 0..5 the edges towards -x, -y, -z, +x,
 * +y, +z, bit 6 queued) and `labels` (uint32, first provisional labels,
 * then the basin ids); the plateau search's queue is a region the driver
 * reserves but only the search touches, as far as it goes, and then holds
 * the provisional labels' union-find. Everything else
 * (histograms, the region graph, the merge's union-find) comes from a bump
 * allocator above the driver's layout.
 *
 * The steps are in `_ws_thresholds.ts`, `_ws_basins.ts` and `_ws_graph.ts`
 * over the shared state of `_ws_state.ts`; this entry file re-exports them
 * and holds the last steps: sorting the region graph, merging, dust and the
 * spanning forest.
 */

export { heapTop, setup } from "./_ws_state";
export {
  histBegin,
  histTop,
  histTopEnd,
  bitsMin,
  bitsMax,
  histLow,
  histLowFew,
  allocZeroed,
  checkBits,
  checkBegin,
} from "./_ws_thresholds";
export {
  ascentBegin,
  ascentSlice,
  plateauSeeds,
  plateauSearch,
  basinRows,
  basinIds,
  numberSlice,
} from "./_ws_basins";
export { graphBegin, graphEnd, graphEdges } from "./_ws_graph";

import { alloc, labels, sizes } from "./_ws_state";
import { edgeCount, edges } from "./_ws_graph";

// Sorting: edges by decreasing weight, ties in index order (the JavaScript
// `sortIndicesDescending`), a stable LSD radix sort in two 16-bit passes
// over the flipped bit patterns, in steps over edge ranges. Both passes move
// the edges themselves (16 bytes each), reading them in sequence; the second
// writes them in order over the edge array (`sorted`), so that the merge
// passes and the spanning forest read them in sequence too.

let sorted: usize = 0;
let keys: usize = 0;
let tmpKeys: usize = 0;
let tmpEdges: usize = 0;
let lowCount: usize = 0;
let highCount: usize = 0;

/** Allocates the sort's arrays. */
export function sortBegin(): void {
  const m = <usize>edgeCount;
  keys = alloc(m << 2);
  tmpKeys = alloc(m << 2);
  tmpEdges = alloc(m << 4);
  sorted = edges;
  lowCount = alloc(65537 * 4);
  highCount = alloc(65537 * 4);
  memory.fill(lowCount, 0, 65537 * 4);
  memory.fill(highCount, 0, 65537 * 4);
}

/** Keys and digit counts of edges `from..to`. */
export function sortKeys(from: i32, to: i32): void {
  for (let i = from; i < to; i++) {
    const u = load<u32>(edges + ((<usize>i) << 4), 8);
    const k = ~((u & 0x80000000) !== 0 ? ~u : u | 0x80000000);
    store<u32>(keys + ((<usize>i) << 2), k);
    const pl = lowCount + ((<usize>((k & 0xffff) + 1)) << 2);
    store<i32>(pl, load<i32>(pl) + 1);
    const ph = highCount + ((<usize>((k >>> 16) + 1)) << 2);
    store<i32>(ph, load<i32>(ph) + 1);
  }
}

/** Digit counts to starting positions. */
export function sortOffsets(): void {
  for (let d = 0; d < 65536; d++) {
    const pl = lowCount + ((<usize>d) << 2);
    store<i32>(pl, load<i32>(pl, 4) + load<i32>(pl), 4);
    const ph = highCount + ((<usize>d) << 2);
    store<i32>(ph, load<i32>(ph, 4) + load<i32>(ph), 4);
  }
}

/** First pass (low digit) over edges `from..to`, in order. */
export function sortLow(from: i32, to: i32): void {
  for (let i = from; i < to; i++) {
    const k = load<u32>(keys + ((<usize>i) << 2));
    const pl = lowCount + ((<usize>(k & 0xffff)) << 2);
    const j = load<i32>(pl);
    store<i32>(pl, j + 1);
    store<u32>(tmpKeys + ((<usize>j) << 2), k);
    v128.store(tmpEdges + ((<usize>j) << 4), v128.load(edges + ((<usize>i) << 4)));
  }
}

/** Second pass (high digit) over positions `from..to`, in order. */
export function sortHigh(from: i32, to: i32): void {
  for (let i = from; i < to; i++) {
    const k = load<u32>(tmpKeys + ((<usize>i) << 2));
    const ph = highCount + ((<usize>(k >>> 16)) << 2);
    const j = load<i32>(ph);
    store<i32>(ph, j + 1);
    v128.store(sorted + ((<usize>j) << 4), v128.load(tmpEdges + ((<usize>i) << 4)));
  }
}

// ---------------------------------------------------------------------------
// Merging, dust, renumbering and the spanning forest.

let basinCount: i32 = 0;
let parent: usize = 0;
let setSize: usize = 0;
let finalOf: usize = 0;
let regionSizes: usize = 0;

function findRoot(sets: usize, x: i32): i32 {
  let p = load<i32>(sets + ((<usize>x) << 2));
  while (p !== x) {
    const gp = load<i32>(sets + ((<usize>p) << 2));
    store<i32>(sets + ((<usize>x) << 2), gp);
    x = gp;
    p = load<i32>(sets + ((<usize>x) << 2));
  }
  return x;
}

/** Starts merging `count` basins (their sizes at `sizes`). */
export function mergeBegin(count: i32): void {
  basinCount = count;
  parent = alloc((<usize>count + 1) << 2);
  setSize = alloc((<usize>count + 1) << 3);
  for (let i = 0; i <= count; i++) store<i32>(parent + ((<usize>i) << 2), i);
  store<f64>(setSize, 0);
  for (let i = 1; i <= count; i++) {
    store<f64>(setSize + ((<usize>i) << 3), <f64>load<u32>(sizes + ((<usize>(i - 1)) << 2)));
  }
}

/** One (size, threshold) pass of the JavaScript `mergeRegions` over sorted edges `from..to`. */
export function mergePass(sizeTh: f64, weightTh: f64, from: i32, to: i32): void {
  for (let e = from; e < to; e++) {
    const p = sorted + ((<usize>e) << 4);
    if (!(<f64>load<f32>(p, 8) > weightTh)) continue;
    const s1 = findRoot(parent, load<i32>(p));
    const s2 = findRoot(parent, load<i32>(p, 4));
    if (s1 === s2) continue;
    const z1 = setSize + ((<usize>s1) << 3);
    const z2 = setSize + ((<usize>s2) << 3);
    if (load<f64>(z1) < sizeTh || load<f64>(z2) < sizeTh) {
      store<i32>(parent + ((<usize>s2) << 2), s1);
      store<f64>(z1, load<f64>(z1) + load<f64>(z2));
      store<f64>(z2, 0);
    }
  }
}

/**
 * Numbers the sets of at least `dust` voxels in order of their smallest
 * basin id; the rest map to 0. Returns the number of regions; `finalOf`
 * (uint32 per basin id) and the regions' sizes (float64) follow.
 */
export function mergeEnd(dust: f64): i32 {
  const count = basinCount;
  const remap = alloc((<usize>count + 1) << 2);
  memory.fill(remap, 0, (<usize>count + 1) << 2);
  finalOf = alloc((<usize>count + 1) << 2);
  regionSizes = alloc((<usize>max<i32>(count, 1)) << 3);
  store<u32>(finalOf, 0);
  let next = 1;
  for (let id = 1; id <= count; id++) {
    const s = findRoot(parent, id);
    const r = remap + ((<usize>s) << 2);
    const size = load<f64>(setSize + ((<usize>s) << 3));
    if (load<u32>(r) === 0 && size >= dust) {
      store<u32>(r, next);
      store<f64>(regionSizes + ((<usize>(next - 1)) << 3), size);
      next++;
    }
    store<u32>(finalOf + ((<usize>id) << 2), load<u32>(r));
  }
  return next - 1;
}

/** The regions' sizes (float64, id - 1). */
export function regionSizesPointer(): usize {
  return regionSizes;
}

/** Replaces the basin id of voxels `from..to` by its region id. */
export function relabel(from: i32, to: i32): void {
  const f = finalOf;
  for (let i = from; i < to; i++) {
    const p = labels + ((<usize>i) << 2);
    store<u32>(p, load<u32>(f + ((<usize>load<u32>(p)) << 2)));
  }
}

let treeW: usize = 0;
let treeA: usize = 0;
let treeB: usize = 0;
let treeSets: usize = 0;
let treeCount: i32 = 0;

/** Starts the spanning forest of `regions` regions. */
export function forestBegin(regions: i32): void {
  treeSets = alloc((<usize>regions + 1) << 2);
  for (let i = 0; i <= regions; i++) store<i32>(treeSets + ((<usize>i) << 2), i);
  const cap = <usize>max<i32>(regions, 1);
  treeW = alloc(cap << 2);
  treeA = alloc(cap << 2);
  treeB = alloc(cap << 2);
  treeCount = 0;
}

/**
 * Kruskal's maximum spanning forest over the regions (the edge loop of the
 * JavaScript `spanningTree`) for sorted edges `from..to`: an edge joins two
 * regions not yet connected, written (weight, smaller id, larger id). A
 * pair's later, weaker edges always find their regions connected, so no
 * pair table is needed. Returns the number of tree edges so far;
 * {@link treePointer} gives the arrays.
 */
export function forestEdges(from: i32, to: i32): i32 {
  const sets = treeSets;
  let t = treeCount;
  for (let e = from; e < to; e++) {
    const p = sorted + ((<usize>e) << 4);
    let s1 = load<u32>(finalOf + ((<usize>load<u32>(p)) << 2));
    let s2 = load<u32>(finalOf + ((<usize>load<u32>(p, 4)) << 2));
    if (s1 === s2 || s1 === 0 || s2 === 0) continue;
    if (s1 > s2) {
      const x = s1;
      s1 = s2;
      s2 = x;
    }
    const r1 = findRoot(sets, s1);
    const r2 = findRoot(sets, s2);
    if (r1 === r2) continue;
    store<i32>(sets + ((<usize>r2) << 2), r1);
    store<f32>(treeW + ((<usize>t) << 2), load<f32>(p, 8));
    store<u32>(treeA + ((<usize>t) << 2), s1);
    store<u32>(treeB + ((<usize>t) << 2), s2);
    t++;
  }
  treeCount = t;
  return t;
}

/** The forest's arrays: 0 weights (float32), 1 smaller ids, 2 larger ids. */
export function treePointer(which: i32): usize {
  return which === 0 ? treeW : which === 1 ? treeA : treeB;
}
