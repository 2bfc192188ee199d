/**
 * Kernels of the watershed stage's merge: a block's share of the basin
 * graph (the basins numbered across the dataset), and the merge of the
 * blocks' shares into Watershed.jl's regions.
 *
 * A block reads its core plus one voxel on each low side that has a
 * neighbour, so each face between two voxels is seen by exactly one block
 * (the one holding the higher voxel), and counts only its core's voxels.
 */
import { affinitiesAsFloat32, type BasinGraph, mergeBasinGraph } from "@ngpipe/segmentation";

type V3 = [number, number, number];

/** A block's share of the basin graph, and its core's basin sizes. */
export interface BasinGraphPart {
  a: Uint32Array;
  b: Uint32Array;
  weight: Float64Array;
  first: Float64Array;
  /** Basin ids seen in the core and their voxel counts. */
  ids: Uint32Array;
  counts: Float64Array;
}

/** Growable parallel arrays of edges, found through a map per smaller id. */
class EdgeTable {
  a = new Uint32Array(1024);
  b = new Uint32Array(1024);
  weight = new Float64Array(1024);
  first = new Float64Array(1024);
  size = 0;
  private index = new Map<number, Map<number, number>>();

  slot(s: number, t: number, first: number): number {
    const lo = Math.min(s, t);
    const hi = Math.max(s, t);
    let row = this.index.get(lo);
    if (!row) this.index.set(lo, (row = new Map()));
    let k = row.get(hi);
    if (k === undefined) {
      k = this.size++;
      if (k === this.a.length) this.grow();
      row.set(hi, k);
      this.a[k] = lo;
      this.b[k] = hi;
      this.first[k] = first;
    }
    return k;
  }

  private grow(): void {
    const n = this.a.length * 2;
    const a = new Uint32Array(n);
    const b = new Uint32Array(n);
    const w = new Float64Array(n);
    const f = new Float64Array(n);
    a.set(this.a);
    b.set(this.b);
    w.set(this.weight);
    f.set(this.first);
    [this.a, this.b, this.weight, this.first] = [a, b, w, f];
  }
}

/**
 * The basin graph of a block: `labels` (global basin ids) and `aff` cover the
 * core plus `start[axis]` (0 or 1) voxels below it on each axis; `origin`
 * is the box's minimum relative to the dataset's, `size` the dataset's
 * size (for the scan positions). Each edge keeps its largest affinity
 * (from 0, as Watershed.jl) and the scan position of its first face.
 */
export function basinGraphBlock(
  labels: Uint32Array,
  aff: Float32Array | Uint8Array,
  shape: V3,
  start: V3,
  origin: V3,
  size: V3,
): BasinGraphPart {
  const values = affinitiesAsFloat32(aff);
  const [nx, ny, nz] = shape;
  const n = nx * ny * nz;
  const nxy = nx * ny;
  const table = new EdgeTable();
  const sizes = new Map<number, number>();
  // Faces between the same two basins come in runs along x: remember the last pair per direction.
  const lastS = [0, 0, 0];
  const lastT = [0, 0, 0];
  const lastK = [-1, -1, -1];
  const visit = (d: number, s: number, t: number, v: number, first: number): void => {
    if (t === 0 || t === s) return;
    let k = lastK[d];
    if (s !== lastS[d] || t !== lastT[d]) {
      k = table.slot(s, t, first);
      lastS[d] = s;
      lastT[d] = t;
      lastK[d] = k;
    }
    if (v > table.weight[k]) table.weight[k] = v;
  };
  for (let z = start[2]; z < nz; z++)
    for (let y = start[1]; y < ny; y++) {
      const row = nx * (y + ny * z);
      const scanRow = size[0] * (origin[1] + y + size[1] * (origin[2] + z)) + origin[0];
      let run = 0;
      let runLength = 0;
      for (let x = start[0]; x < nx; x++) {
        const i = row + x;
        const s = labels[i];
        if (s !== run) {
          if (runLength > 0 && run !== 0) sizes.set(run, (sizes.get(run) ?? 0) + runLength);
          run = s;
          runLength = 0;
        }
        runLength++;
        if (s === 0) continue;
        const at = 3 * (scanRow + x);
        if (x > 0) visit(0, s, labels[i - 1], values[i], at);
        if (y > 0) visit(1, s, labels[i - nx], values[n + i], at + 1);
        if (z > 0) visit(2, s, labels[i - nxy], values[2 * n + i], at + 2);
      }
      if (runLength > 0 && run !== 0) sizes.set(run, (sizes.get(run) ?? 0) + runLength);
    }
  const ids = Uint32Array.from([...sizes.keys()].sort((p, q) => p - q));
  const counts = Float64Array.from(ids, (id) => sizes.get(id) as number);
  const m = table.size;
  return {
    a: table.a.slice(0, m),
    b: table.b.slice(0, m),
    weight: table.weight.slice(0, m),
    first: table.first.slice(0, m),
    ids,
    counts,
  };
}

/**
 * The blocks' shares joined into the dataset's basin graph (a pair seen by
 * several blocks keeps its largest weight and its earliest scan position),
 * then Watershed.jl's merge and dust: the final region of each basin
 * 1..`basins` (0 for dust), and the number of regions.
 */
export function mergeBasinParts(
  parts: BasinGraphPart[],
  basins: number,
  merge: Array<[number, number]>,
  dust: number,
): { finalOf: Uint32Array; regions: number; edges: number } {
  const sizes = new Float64Array(basins);
  let total = 0;
  for (const p of parts) {
    for (let k = 0; k < p.ids.length; k++) sizes[p.ids[k] - 1] += p.counts[k];
    total += p.a.length;
  }
  const a = new Uint32Array(total);
  const b = new Uint32Array(total);
  const weight = new Float64Array(total);
  const first = new Float64Array(total);
  let at = 0;
  for (const p of parts) {
    a.set(p.a, at);
    b.set(p.b, at);
    weight.set(p.weight, at);
    first.set(p.first, at);
    at += p.a.length;
  }
  const order = new Int32Array(total);
  for (let k = 0; k < total; k++) order[k] = k;
  order.sort((i, j) => a[i] - a[j] || b[i] - b[j]);
  const graph: BasinGraph = {
    sizes,
    a: new Uint32Array(total),
    b: new Uint32Array(total),
    weight: new Float64Array(total),
    first: new Float64Array(total),
  };
  let m = -1;
  for (let e = 0; e < total; e++) {
    const k = order[e];
    if (m >= 0 && graph.a[m] === a[k] && graph.b[m] === b[k]) {
      if (weight[k] > graph.weight[m]) graph.weight[m] = weight[k];
      if (first[k] < graph.first[m]) graph.first[m] = first[k];
      continue;
    }
    m++;
    graph.a[m] = a[k];
    graph.b[m] = b[k];
    graph.weight[m] = weight[k];
    graph.first[m] = first[k];
  }
  m++;
  const joined: BasinGraph = {
    sizes,
    a: graph.a.subarray(0, m),
    b: graph.b.subarray(0, m),
    weight: graph.weight.subarray(0, m),
    first: graph.first.subarray(0, m),
  };
  const r = mergeBasinGraph(joined, merge, dust);
  return { finalOf: r.finalOf, regions: r.regions, edges: m };
}
