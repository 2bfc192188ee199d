/**
 * `agglomerate`: greedy hierarchical merging of a region graph, as waterz's
 * mean-affinity agglomeration does: repeatedly merge the two regions joined
 * by the highest-scoring edge while that score is at least the threshold;
 * after a merge, the edges of both regions to a common neighbour combine
 * (mean: sums and face counts add up, so the score is the mean over all the
 * faces between the merged region and the neighbour; max: the larger
 * maximum). Ties go to the edge with the smaller (a, b); a merged region
 * keeps the smaller id.
 */
import { grow } from "./pair-table";
import type { RegionGraph } from "./region-graph";
import { SegmentationOptionError } from "./watershed/errors";

/** How {@link agglomerate} scores the edge between two (merged) regions. */
export type AgglomerationMethod = "mean" | "max";

/** Options of {@link agglomerate}. */
export interface AgglomerateOptions {
  /** Merge while the best edge's score is >= threshold (an affinity in [0, 1]). */
  threshold: number;
  /** Mean affinity over the faces between the regions (default, waterz's) or maximum. */
  method?: AgglomerationMethod;
}

/** A label remap table: `from[i]` becomes `to[i]`; `from` is sorted ascending. */
export interface AgglomerationTable {
  from: Uint32Array;
  to: Uint32Array;
}

/** The fields of a region graph agglomeration reads. */
export type AgglomerationEdges = Pick<RegionGraph, "a" | "b" | "sum" | "count" | "max">;

/**
 * Agglomerates the regions of `edges` and returns the remap table of every
 * label in the graph to its merged id (the smallest label of its group;
 * labels that did not merge map to themselves).
 *
 * @example
 * ```ts
 * const table = agglomerate(regionGraph(aff, supervoxels, shape), { threshold: 0.3 });
 * ```
 */
export function agglomerate(
  edges: AgglomerationEdges,
  options: AgglomerateOptions,
): AgglomerationTable {
  const threshold = options?.threshold;
  if (typeof threshold !== "number" || !(threshold >= 0 && threshold <= 1)) {
    throw new SegmentationOptionError(
      `threshold must be an affinity in [0, 1], got ${String(threshold)}`,
      "threshold",
    );
  }
  const method = options.method ?? "mean";
  if (method !== "mean" && method !== "max") {
    throw new SegmentationOptionError(
      `method must be "mean" or "max", got ${String(method)}`,
      "method",
    );
  }
  const m = edges.a.length;
  for (const field of ["b", "sum", "count", "max"] as const) {
    if (edges[field].length !== m) {
      throw new SegmentationOptionError(
        `edges.${field} has ${edges[field].length} entries but edges.a has ${m}`,
        `edges.${field}`,
      );
    }
  }
  // Edge records: combined statistics of merged edges get new records.
  let eMax = Float64Array.from(edges.max);
  let eSum = Float64Array.from(edges.sum);
  let eCount = Float64Array.from(edges.count);
  let records = m;
  const useMean = method === "mean";
  const score = (k: number): number => (useMean ? eSum[k] / eCount[k] : eMax[k]);

  const adj = new Map<number, Map<number, number>>();
  const neighbours = (u: number): Map<number, number> => {
    let n = adj.get(u);
    if (n === undefined) adj.set(u, (n = new Map()));
    return n;
  };
  const heap = new EdgeHeap(m);
  for (let k = 0; k < m; k++) {
    const u = edges.a[k];
    const v = edges.b[k];
    if (u === v) continue;
    const [lo, hi] = u < v ? [u, v] : [v, u];
    neighbours(lo).set(hi, k);
    neighbours(hi).set(lo, k);
    heap.push(score(k), lo, hi);
  }
  const parent = new Map<number, number>();
  for (const u of adj.keys()) parent.set(u, u);

  while (heap.size > 0) {
    const s = heap.topScore();
    const u = heap.topA();
    const v = heap.topB();
    heap.pop();
    if (parent.get(u) !== u || parent.get(v) !== v) continue;
    const k = adj.get(u)!.get(v);
    if (k === undefined || score(k) !== s) continue;
    if (s < threshold) break;
    const keep = u;
    const gone = v;
    parent.set(gone, keep);
    const keepN = adj.get(keep)!;
    const goneN = adj.get(gone)!;
    keepN.delete(gone);
    goneN.delete(keep);
    for (const [w, e] of goneN) {
      const wN = adj.get(w)!;
      wN.delete(gone);
      let f = keepN.get(w);
      if (f === undefined) {
        f = records++;
        eMax = grow(eMax, records);
        eSum = grow(eSum, records);
        eCount = grow(eCount, records);
        eMax[f] = eMax[e];
        eSum[f] = eSum[e];
        eCount[f] = eCount[e];
        keepN.set(w, f);
        wN.set(keep, f);
      } else {
        if (eMax[e] > eMax[f]) eMax[f] = eMax[e];
        eSum[f] += eSum[e];
        eCount[f] += eCount[e];
      }
      heap.push(score(f), Math.min(keep, w), Math.max(keep, w));
    }
    goneN.clear();
  }

  const ids = Uint32Array.from(adj.keys()).sort();
  const to = new Uint32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    let r = ids[i];
    while (parent.get(r) !== r) r = parent.get(r)!;
    to[i] = r;
  }
  return { from: ids, to };
}

/**
 * A binary max-heap of (score, a, b) entries over typed arrays: highest score
 * first, then smaller a, then smaller b.
 */
class EdgeHeap {
  size = 0;
  private s: Float64Array;
  private a: Uint32Array;
  private b: Uint32Array;

  constructor(capacity: number) {
    const cap = Math.max(16, capacity);
    this.s = new Float64Array(cap);
    this.a = new Uint32Array(cap);
    this.b = new Uint32Array(cap);
  }

  topScore(): number {
    return this.s[0];
  }
  topA(): number {
    return this.a[0];
  }
  topB(): number {
    return this.b[0];
  }

  private before(i: number, j: number): boolean {
    const { s, a, b } = this;
    if (s[i] !== s[j]) return s[i] > s[j];
    if (a[i] !== a[j]) return a[i] < a[j];
    return b[i] < b[j];
  }

  private swap(i: number, j: number): void {
    const { s, a, b } = this;
    const ts = s[i];
    s[i] = s[j];
    s[j] = ts;
    const ta = a[i];
    a[i] = a[j];
    a[j] = ta;
    const tb = b[i];
    b[i] = b[j];
    b[j] = tb;
  }

  push(score: number, a: number, b: number): void {
    if (this.size === this.s.length) {
      this.s = grow(this.s, this.size + 1);
      this.a = grow(this.a, this.size + 1);
      this.b = grow(this.b, this.size + 1);
    }
    let i = this.size++;
    this.s[i] = score;
    this.a[i] = a;
    this.b[i] = b;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): void {
    const last = --this.size;
    if (last === 0) return;
    this.s[0] = this.s[last];
    this.a[0] = this.a[last];
    this.b[0] = this.b[last];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < last && this.before(l, best)) best = l;
      if (r < last && this.before(r, best)) best = r;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
  }
}
