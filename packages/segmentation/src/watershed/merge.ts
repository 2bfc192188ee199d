/**
 * The second half of Watershed.jl's watershed: the basins' region graph,
 * size-dependent single-linkage merging, dust removal with renumbering, and
 * the maximum spanning tree of what remains.
 */
import { grow, PairTable } from "../pair-table";
import { sortIndicesDescending } from "../sort";
import type { Shape3 } from "./affinities";
import type { Basins } from "./basins";

/** Edges of a region graph in merge order (weight descending, stable). */
export interface OrderedEdges {
  a: Uint32Array;
  b: Uint32Array;
  weight: Float32Array;
  /** Edge indices by decreasing weight, ties in first-seen scan order. */
  order: Int32Array;
}

/**
 * The maximum affinity between every two adjacent basins (background
 * ignored), pairs numbered in the order the x-fastest scan first meets them
 * (looking at -x, then -y, then -z of each voxel), as Watershed.jl's ordered
 * dictionary does, then stably sorted by weight, descending.
 */
export function basinGraph(aff: Float32Array, labels: Uint32Array, shape: Shape3): OrderedEdges {
  const [sx, sy, sz] = shape;
  const n = labels.length;
  const sxy = sx * sy;
  const pairs = new PairTable(4096);
  let weight = new Float32Array(4096);
  // Faces between the same two basins come in runs along x (in all three
  // directions): remember the last pair seen in each direction.
  const cache = new Float64Array([0, 0, -1, 0, 0, -1, 0, 0, -1]);
  const visit = (d: number, s: number, t: number, v: number): void => {
    let k = cache[d + 2];
    if (s !== cache[d] || t !== cache[d + 1]) {
      k = s < t ? pairs.add(s, t) : pairs.add(t, s);
      cache[d] = s;
      cache[d + 1] = t;
      cache[d + 2] = k;
    }
    if (k === weight.length) weight = grow(weight, k + 1);
    // Watershed.jl starts every edge at 0, not at its first affinity.
    if (v > weight[k]) weight[k] = v;
  };
  for (let z = 0; z < sz; z++) {
    for (let y = 0; y < sy; y++) {
      const row = sx * (y + sy * z);
      for (let x = 0; x < sx; x++) {
        const i = row + x;
        const s = labels[i];
        if (s === 0) continue;
        if (x > 0) {
          const t = labels[i - 1];
          if (t !== 0 && t !== s) visit(0, s, t, aff[i]);
        }
        if (y > 0) {
          const t = labels[i - sx];
          if (t !== 0 && t !== s) visit(3, s, t, aff[n + i]);
        }
        if (z > 0) {
          const t = labels[i - sxy];
          if (t !== 0 && t !== s) visit(6, s, t, aff[2 * n + i]);
        }
      }
    }
  }
  const m = pairs.size;
  return {
    a: pairs.a.subarray(0, m),
    b: pairs.b.subarray(0, m),
    weight: weight.subarray(0, m),
    order: sortIndicesDescending(weight, m),
  };
}

/** Union-find over ids 1..n with path halving. */
function makeSets(n: number): Int32Array {
  const parent = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) parent[i] = i;
  return parent;
}

function findRoot(parent: Int32Array, x: number): number {
  while (parent[x] !== x) {
    parent[x] = parent[parent[x]];
    x = parent[x];
  }
  return x;
}

/** Result of {@link mergeRegions}. */
export interface MergedRegions {
  /** Final region id (1..regions, 0 for dust) of each basin id (index 0 is background). */
  finalOf: Uint32Array;
  /** Voxels per final region: `sizes[id - 1]`. */
  sizes: Float64Array;
  /** Number of final regions. */
  regions: number;
}

/**
 * For each (size, threshold) pair in turn, walks the edges by decreasing
 * weight and merges two regions when the edge is above the threshold and
 * either region is smaller than the size. Then every region of at least
 * `dust` voxels gets an id, in order of its smallest basin id; the rest
 * become background. (Which root a union keeps does not matter: only sizes
 * and membership decide merges.)
 */
export function mergeRegions(
  basins: Basins,
  edges: OrderedEdges,
  merge: ReadonlyArray<readonly [number, number]>,
  dust: number,
): MergedRegions {
  const count = basins.count;
  const parent = makeSets(count);
  const size = new Float64Array(count + 1);
  size.set(basins.sizes, 1);
  const { a, b, weight, order } = edges;
  for (const [sizeTh, weightTh] of merge) {
    for (let e = 0; e < order.length; e++) {
      const k = order[e];
      if (!(weight[k] > weightTh)) continue;
      const s1 = findRoot(parent, a[k]);
      const s2 = findRoot(parent, b[k]);
      if (s1 === s2) continue;
      if (size[s1] < sizeTh || size[s2] < sizeTh) {
        parent[s2] = s1;
        size[s1] += size[s2];
        size[s2] = 0;
      }
    }
  }
  const remap = new Uint32Array(count + 1);
  const finalOf = new Uint32Array(count + 1);
  const sizes = new Float64Array(count);
  let next = 1;
  for (let id = 1; id <= count; id++) {
    const s = findRoot(parent, id);
    if (remap[s] === 0 && size[s] >= dust) {
      remap[s] = next;
      sizes[next - 1] = size[s];
      next++;
    }
    finalOf[id] = remap[s];
  }
  return { finalOf, sizes: sizes.slice(0, next - 1), regions: next - 1 };
}

/** A maximum spanning forest as parallel arrays of (weight, a, b). */
export interface SpanningTree {
  /** Affinity of each tree edge (the region graph's maximum between a and b). */
  weight: Float32Array;
  /** The child end: the region farther from its tree's smallest id. */
  a: Uint32Array;
  /** The parent end. */
  b: Uint32Array;
}

/**
 * Kruskal's maximum spanning forest over the merged regions' graph, edges in
 * the order they are accepted (decreasing weight), each written (weight,
 * child, parent) with every tree rooted at its smallest id, as Watershed.jl's
 * `mst` orders them. The graph is the basins' graph relabelled: each region
 * pair keeps its first (strongest) edge.
 */
export function spanningTree(edges: OrderedEdges, merged: MergedRegions): SpanningTree {
  const { finalOf, regions } = merged;
  const seen = new PairTable(Math.max(16, regions * 3));
  const sets = makeSets(regions);
  let w = new Float32Array(Math.max(1, regions));
  let ta = new Uint32Array(Math.max(1, regions));
  let tb = new Uint32Array(Math.max(1, regions));
  let m = 0;
  for (let e = 0; e < edges.order.length; e++) {
    const k = edges.order[e];
    let s1 = finalOf[edges.a[k]];
    let s2 = finalOf[edges.b[k]];
    if (s1 === s2 || s1 === 0 || s2 === 0) continue;
    if (s1 > s2) {
      const t = s1;
      s1 = s2;
      s2 = t;
    }
    const before = seen.size;
    seen.add(s1, s2);
    if (seen.size === before) continue;
    const r1 = findRoot(sets, s1);
    const r2 = findRoot(sets, s2);
    if (r1 === r2) continue;
    sets[r2] = r1;
    w = grow(w, m + 1);
    ta = grow(ta, m + 1);
    tb = grow(tb, m + 1);
    w[m] = edges.weight[k];
    ta[m] = s1;
    tb[m] = s2;
    m++;
  }
  return orientForest(w.slice(0, m), ta.subarray(0, m), tb.subarray(0, m), regions);
}

/**
 * Orients a spanning forest given as (weight, a, b) edges in acceptance
 * order: each edge becomes (weight, child, parent) with every tree rooted at
 * its smallest id, numbered breadth first from there (Watershed.jl's `mst`).
 */
export function orientForest(
  w: Float32Array,
  ta: Uint32Array,
  tb: Uint32Array,
  regions: number,
): SpanningTree {
  const m = w.length;
  // Breadth-first numbering from each tree's smallest id decides which end is the parent.
  const degree = new Int32Array(regions + 2);
  for (let e = 0; e < m; e++) {
    degree[ta[e] + 1]++;
    degree[tb[e] + 1]++;
  }
  for (let v = 0; v <= regions; v++) degree[v + 1] += degree[v];
  const start = degree.slice(0, regions + 1);
  const adj = new Uint32Array(2 * m);
  for (let e = 0; e < m; e++) {
    adj[start[ta[e]]++] = tb[e];
    adj[start[tb[e]]++] = ta[e];
  }
  const rank = new Int32Array(regions + 1);
  const queue = new Uint32Array(regions + 1);
  let next = 1;
  for (let r = 1; r <= regions; r++) {
    if (rank[r] !== 0) continue;
    rank[r] = next++;
    let tail = 0;
    queue[tail++] = r;
    for (let head = 0; head < tail; head++) {
      const x = queue[head];
      for (let j = degree[x]; j < degree[x + 1]; j++) {
        const y = adj[j];
        if (rank[y] === 0) {
          rank[y] = next++;
          queue[tail++] = y;
        }
      }
    }
  }
  const child = new Uint32Array(m);
  const parentOut = new Uint32Array(m);
  for (let e = 0; e < m; e++) {
    const deeper = rank[tb[e]] > rank[ta[e]];
    child[e] = deeper ? tb[e] : ta[e];
    parentOut[e] = deeper ? ta[e] : tb[e];
  }
  return { weight: w, a: child, b: parentOut };
}
