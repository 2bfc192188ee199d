/**
 * `mergeSkeletonFragments`: one object's skeleton from the fragments that
 * block-wise skeletonization made of it. Blocks overlap by one voxel plane
 * and `fixBorders` puts a vertex at the centre of each cross-section on a
 * block face, so fragments of neighbouring blocks hold vertices at the same
 * voxels there: those are welded into one vertex. Where two blocks traced
 * different paths through the shared plane the welded graph has cycles; a
 * minimum spanning forest (shortest edges first) removes them. Then, as
 * kimimaro's postprocessing does, pieces with little cable (dust) go, and
 * short terminal branches (ticks) are pruned.
 */
import { LabelArrayError } from "../label-array";

/** A skeleton without its id: what fragments and merged skeletons are. */
export interface SkeletonGraph {
  /** x, y, z per vertex in physical units (nm), at voxel positions `index * resolution`. */
  vertices: Float32Array;
  /** Vertex index pairs. */
  edges: Uint32Array;
  /** Distance to the object's boundary at each vertex. */
  radii: Float32Array;
}

/** Options of {@link mergeSkeletonFragments}. */
export interface MergeSkeletonOptions {
  /** Voxel size (nm); vertices that fall on the same voxel are welded. */
  resolution: readonly [number, number, number];
  /** Connected pieces with less cable than this (nm) are dropped. Default 0. */
  dust?: number;
  /** Terminal branches shorter than this (nm), ending at a branch point, are pruned. Default 0. */
  tickThreshold?: number;
}

/**
 * Joins one object's fragments into one skeleton: welded on shared voxels,
 * a forest (one tree per connected piece), without dust and short ticks.
 * Also useful on a single skeleton (one fragment) as its postprocessing.
 *
 * ```ts
 * const merged = mergeSkeletonFragments([a, b], { resolution: [4, 4, 40], tickThreshold: 3500 });
 * ```
 */
export function mergeSkeletonFragments(
  fragments: readonly SkeletonGraph[],
  options: MergeSkeletonOptions,
): SkeletonGraph {
  const res = options.resolution;
  if (!res.every((r) => r > 0 && Number.isFinite(r))) {
    throw new LabelArrayError(`mergeSkeletonFragments: resolution must be positive, got [${res}]`);
  }
  const welded = weld(fragments, res);
  const forest = spanningForest(welded);
  const keep = new Uint8Array(welded.count).fill(1);
  dropDust(welded, forest, keep, options.dust ?? 0);
  pruneTicks(welded, forest, keep, options.tickThreshold ?? 0);
  return compact(welded, forest, keep);
}

interface Welded {
  count: number;
  pos: Float64Array;
  radii: Float32Array;
  /** Unique undirected edges (a < b), two entries each. */
  edges: Uint32Array;
}

/** One vertex per voxel: fragments' vertices on the same voxel become one (largest radius kept). */
function weld(fragments: readonly SkeletonGraph[], res: readonly number[]): Welded {
  let n = 0;
  let m = 0;
  for (const f of fragments) {
    if (f.vertices.length % 3 !== 0 || f.radii.length * 3 !== f.vertices.length) {
      throw new LabelArrayError(
        `mergeSkeletonFragments: ${f.vertices.length} coordinates and ${f.radii.length} radii do not describe the same vertices`,
      );
    }
    n += f.radii.length;
    m += f.edges.length / 2;
  }
  const grid = new Float64Array(3 * n);
  const radius = new Float32Array(n);
  const globalEdges = new Uint32Array(2 * m);
  let v = 0;
  let e = 0;
  for (const f of fragments) {
    const nv = f.radii.length;
    for (let i = 0; i < nv; i++) {
      for (let a = 0; a < 3; a++)
        grid[3 * (v + i) + a] = Math.round(f.vertices[3 * i + a] / res[a]);
      radius[v + i] = f.radii[i];
    }
    for (let k = 0; k < f.edges.length; k++) {
      if (f.edges[k] >= nv) {
        throw new LabelArrayError(
          `mergeSkeletonFragments: edge ${k >> 1} names vertex ${f.edges[k]} of ${nv}`,
        );
      }
      globalEdges[e++] = f.edges[k] + v;
    }
    v += nv;
  }
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort(
    (a, b) =>
      grid[3 * a] - grid[3 * b] ||
      grid[3 * a + 1] - grid[3 * b + 1] ||
      grid[3 * a + 2] - grid[3 * b + 2],
  );
  const id = new Uint32Array(n);
  const pos: number[] = [];
  const radii: number[] = [];
  let count = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k];
    const j = k > 0 ? order[k - 1] : -1;
    const same =
      j >= 0 &&
      grid[3 * i] === grid[3 * j] &&
      grid[3 * i + 1] === grid[3 * j + 1] &&
      grid[3 * i + 2] === grid[3 * j + 2];
    if (!same) {
      count++;
      pos.push(grid[3 * i] * res[0], grid[3 * i + 1] * res[1], grid[3 * i + 2] * res[2]);
      radii.push(radius[i]);
    } else if (radius[i] > radii[count - 1]) {
      radii[count - 1] = radius[i];
    }
    id[i] = count - 1;
  }
  const pairs: number[] = [];
  for (let k = 0; k < globalEdges.length; k += 2) {
    const a = id[globalEdges[k]];
    const b = id[globalEdges[k + 1]];
    if (a !== b) pairs.push(Math.min(a, b), Math.max(a, b));
  }
  return {
    count,
    pos: Float64Array.from(pos),
    radii: Float32Array.from(radii),
    edges: dedupe(pairs),
  };
}

function dedupe(pairs: number[]): Uint32Array {
  const m = pairs.length / 2;
  const order = Uint32Array.from({ length: m }, (_, i) => i).sort(
    (x, y) => pairs[2 * x] - pairs[2 * y] || pairs[2 * x + 1] - pairs[2 * y + 1],
  );
  const out: number[] = [];
  for (let k = 0; k < m; k++) {
    const i = order[k];
    const n = out.length;
    if (n > 0 && out[n - 2] === pairs[2 * i] && out[n - 1] === pairs[2 * i + 1]) continue;
    out.push(pairs[2 * i], pairs[2 * i + 1]);
  }
  return Uint32Array.from(out);
}

function edgeLength(w: Welded, a: number, b: number): number {
  const p = w.pos;
  return Math.hypot(p[3 * a] - p[3 * b], p[3 * a + 1] - p[3 * b + 1], p[3 * a + 2] - p[3 * b + 2]);
}

/** The forest as adjacency lists (CSR): the minimum spanning forest of the welded edges. */
interface Forest {
  start: Uint32Array;
  next: Uint32Array;
  length: Float64Array;
}

function spanningForest(w: Welded): Forest {
  const m = w.edges.length / 2;
  const len = new Float64Array(m);
  for (let k = 0; k < m; k++) len[k] = edgeLength(w, w.edges[2 * k], w.edges[2 * k + 1]);
  // Ties broken by index so the forest does not depend on the sort's stability.
  const order = Uint32Array.from({ length: m }, (_, i) => i).sort(
    (x, y) => len[x] - len[y] || x - y,
  );
  const parent = Uint32Array.from({ length: w.count }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  const kept: number[] = [];
  for (const k of order) {
    const ra = find(w.edges[2 * k]);
    const rb = find(w.edges[2 * k + 1]);
    if (ra === rb) continue;
    parent[ra] = rb;
    kept.push(k);
  }
  kept.sort((x, y) => x - y);
  const degree = new Uint32Array(w.count + 1);
  for (const k of kept) {
    degree[w.edges[2 * k] + 1]++;
    degree[w.edges[2 * k + 1] + 1]++;
  }
  for (let i = 0; i < w.count; i++) degree[i + 1] += degree[i];
  const start = degree;
  const fill = start.slice(0, w.count);
  const next = new Uint32Array(2 * kept.length);
  const length = new Float64Array(2 * kept.length);
  for (const k of kept) {
    const a = w.edges[2 * k];
    const b = w.edges[2 * k + 1];
    next[fill[a]] = b;
    length[fill[a]++] = len[k];
    next[fill[b]] = a;
    length[fill[b]++] = len[k];
  }
  return { start, next, length };
}

/** Drop connected pieces whose cable length is below `dust`. */
function dropDust(w: Welded, f: Forest, keep: Uint8Array, dust: number): void {
  if (!(dust > 0)) return;
  const seen = new Uint8Array(w.count);
  const stack: number[] = [];
  const piece: number[] = [];
  for (let s = 0; s < w.count; s++) {
    if (seen[s]) continue;
    seen[s] = 1;
    stack.push(s);
    piece.length = 0;
    let cable = 0;
    while (stack.length > 0) {
      const v = stack.pop() as number;
      piece.push(v);
      for (let k = f.start[v]; k < f.start[v + 1]; k++) {
        const u = f.next[k];
        // Each edge is seen from both ends.
        cable += f.length[k] / 2;
        if (!seen[u]) {
          seen[u] = 1;
          stack.push(u);
        }
      }
    }
    if (cable < dust) for (const v of piece) keep[v] = 0;
  }
}

/**
 * Prune terminal branches (a leaf up to the first vertex of degree three or
 * more) shorter than `threshold`, shortest first, never taking a branch
 * point's degree below three in one round, until none is left.
 */
function pruneTicks(w: Welded, f: Forest, keep: Uint8Array, threshold: number): void {
  if (!(threshold > 0)) return;
  const degree = new Uint32Array(w.count);
  for (let v = 0; v < w.count; v++) {
    if (!keep[v]) continue;
    for (let k = f.start[v]; k < f.start[v + 1]; k++) if (keep[f.next[k]]) degree[v]++;
  }
  for (;;) {
    const ticks: { path: number[]; junction: number; length: number }[] = [];
    for (let leaf = 0; leaf < w.count; leaf++) {
      if (!keep[leaf] || degree[leaf] !== 1) continue;
      const path = [leaf];
      let prev = -1;
      let v = leaf;
      let length = 0;
      while (length < threshold) {
        let step = -1;
        let stepLength = 0;
        for (let k = f.start[v]; k < f.start[v + 1]; k++) {
          const u = f.next[k];
          if (keep[u] && u !== prev) {
            step = u;
            stepLength = f.length[k];
            break;
          }
        }
        if (step < 0) break;
        length += stepLength;
        prev = v;
        v = step;
        if (degree[v] >= 3) {
          if (length < threshold) ticks.push({ path, junction: v, length });
          break;
        }
        if (degree[v] !== 2) break;
        path.push(v);
      }
    }
    if (ticks.length === 0) return;
    ticks.sort((a, b) => a.length - b.length || a.path[0] - b.path[0]);
    let pruned = 0;
    for (const t of ticks) {
      if (degree[t.junction] < 3) continue;
      for (const v of t.path) keep[v] = 0;
      degree[t.junction]--;
      pruned++;
    }
    if (pruned === 0) return;
  }
}

function compact(w: Welded, f: Forest, keep: Uint8Array): SkeletonGraph {
  const index = new Int32Array(w.count).fill(-1);
  let n = 0;
  for (let v = 0; v < w.count; v++) if (keep[v]) index[v] = n++;
  const vertices = new Float32Array(3 * n);
  const radii = new Float32Array(n);
  const edges: number[] = [];
  for (let v = 0; v < w.count; v++) {
    if (index[v] < 0) continue;
    const i = index[v];
    vertices[3 * i] = w.pos[3 * v];
    vertices[3 * i + 1] = w.pos[3 * v + 1];
    vertices[3 * i + 2] = w.pos[3 * v + 2];
    radii[i] = w.radii[v];
    for (let k = f.start[v]; k < f.start[v + 1]; k++) {
      const u = f.next[k];
      if (u > v && index[u] >= 0) edges.push(i, index[u]);
    }
  }
  return { vertices, edges: Uint32Array.from(edges), radii };
}
