/**
 * Kernels of the region-graph and agglomeration stages, for the worker
 * pool: a block's region graph from its supervoxels (any integer type whose
 * ids fit 32 bits) and affinities, and the merge of block graphs into one.
 */
import {
  type AgglomerationTable,
  agglomerate,
  type RegionGraph,
  regionGraph,
} from "@ngpipe/segmentation";

/** The fields of a region graph the stages store: edges sorted by (a, b). */
export type StoredGraph = Pick<RegionGraph, "a" | "b" | "sum" | "count" | "max">;

/** Labels the graph stages read; 64-bit ids must be below 2^32. */
export type BlockLabels =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array;

/** Ids as uint32, or the index of the first id that does not fit (as a negative number - 1). */
function asUint32(labels: BlockLabels): Uint32Array | number {
  if (labels.BYTES_PER_ELEMENT === 8) {
    const w = new Uint32Array(labels.buffer, labels.byteOffset, 2 * labels.length);
    const out = new Uint32Array(labels.length);
    for (let i = 0; i < out.length; i++) {
      if (w[2 * i + 1] !== 0) return -i - 1;
      out[i] = w[2 * i];
    }
    return out;
  }
  if (labels instanceof Uint32Array) return labels;
  const out = new Uint32Array(labels.length);
  for (let i = 0; i < out.length; i++) {
    const v = Number(labels[i]);
    if (v < 0) return -i - 1;
    out[i] = v;
  }
  return out;
}

/**
 * A block's region graph: `labels` and `aff` cover the block plus one voxel
 * on the low sides that have a neighbour (`start` is 1 there), so every
 * face between two blocks is counted once, by the higher block. Returns
 * the graph, or `{ bad }`, the index of a label that is negative or >= 2^32.
 */
export function regionGraphBlock(
  labels: BlockLabels,
  aff: Float32Array | Uint8Array,
  shape: [number, number, number],
  start: [number, number, number],
): StoredGraph | { bad: number } {
  const ids = asUint32(labels);
  if (typeof ids === "number") return { bad: -ids - 1 };
  const g = regionGraph(aff, ids, shape, { reduce: "max", start });
  return { a: g.a, b: g.b, sum: g.sum, count: g.count, max: g.max };
}

/**
 * Merges graphs of blocks: edges of the same (a, b) add their sums and
 * counts and keep the larger maximum. The result is sorted by (a, b).
 */
export function mergeGraphs(parts: StoredGraph[]): StoredGraph {
  const n = parts.reduce((s, g) => s + g.a.length, 0);
  const a = new Uint32Array(n);
  const b = new Uint32Array(n);
  const sum = new Float64Array(n);
  const count = new Float64Array(n);
  const max = new Float64Array(n);
  let at = 0;
  for (const g of parts) {
    a.set(g.a, at);
    b.set(g.b, at);
    sum.set(g.sum, at);
    count.set(g.count, at);
    max.set(g.max, at);
    at += g.a.length;
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((i, j) => a[i] - a[j] || b[i] - b[j]);
  const out = {
    a: new Uint32Array(n),
    b: new Uint32Array(n),
    sum: new Float64Array(n),
    count: new Float64Array(n),
    max: new Float64Array(n),
  };
  let m = -1;
  for (let k = 0; k < n; k++) {
    const i = order[k];
    if (m >= 0 && out.a[m] === a[i] && out.b[m] === b[i]) {
      out.sum[m] += sum[i];
      out.count[m] += count[i];
      if (max[i] > out.max[m]) out.max[m] = max[i];
    } else {
      m++;
      out.a[m] = a[i];
      out.b[m] = b[i];
      out.sum[m] = sum[i];
      out.count[m] = count[i];
      out.max[m] = max[i];
    }
  }
  return {
    a: out.a.slice(0, m + 1),
    b: out.b.slice(0, m + 1),
    sum: out.sum.slice(0, m + 1),
    count: out.count.slice(0, m + 1),
    max: out.max.slice(0, m + 1),
  };
}

/**
 * The agglomeration of a graph as the bytes of a remap map file: little-endian
 * uint64 (from, to) pairs, one per label of the graph, sorted by from.
 */
export function agglomerationMap(
  graph: StoredGraph,
  threshold: number,
  method: "mean" | "max",
): { bytes: Uint8Array; merged: number } {
  const table: AgglomerationTable = agglomerate(graph, { threshold, method });
  const words = new Uint32Array(4 * table.from.length);
  let merged = 0;
  for (let i = 0; i < table.from.length; i++) {
    words[4 * i] = table.from[i];
    words[4 * i + 2] = table.to[i];
    if (table.to[i] !== table.from[i]) merged++;
  }
  return { bytes: new Uint8Array(words.buffer), merged };
}
