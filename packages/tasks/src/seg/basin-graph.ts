/**
 * Kernels of the watershed stage's graph and write phases: a block's share
 * of the basin graph (the basins numbered across the dataset) as sorted
 * edge runs, and a block's basins mapped to their regions.
 *
 * A block reads its core plus one voxel on each low side that has a
 * neighbour, so each face between two voxels is seen by exactly one block
 * (the one holding the higher voxel), and counts only its core's voxels.
 */
import { affinitiesAsFloat32 } from "@ngpipe/segmentation";
import { packEdges, sortEdges } from "./edge-runs";

type V3 = [number, number, number];

/** A block's share of the basin graph, and its core's basin sizes. */
export interface BasinGraphPart {
  /**
   * Edge records ("weight" order) no other block sees: one of the two
   * basins lies wholly inside this block's core, so the edge's weight and
   * first face are final.
   */
  own: Uint8Array;
  ownCount: number;
  /**
   * Edge records ("pair" order) between two basins that reach beyond the
   * core: other blocks may see the same pair, and the merge joins them.
   */
  shared: Uint8Array;
  sharedCount: number;
  /** Basin ids seen in the core, increasing, and their voxel counts. */
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
 * Basins other blocks can see: those with a voxel in the box's layers below
 * the core (`start`), or on a top face of the core that has a neighbour
 * (`high`), which that neighbour reads. A basin is connected, so one that
 * leaves the core has a voxel in one of these layers; the others lie wholly
 * inside the core and only this block sees their faces.
 */
function exposedBasins(labels: Uint32Array, shape: V3, start: V3, high: boolean[]): Set<number> {
  const [nx, ny, nz] = shape;
  const out = new Set<number>();
  const plane = (axis: number, at: number): void => {
    const lo = [0, 0, 0];
    const hi = [nx, ny, nz];
    lo[axis] = at;
    hi[axis] = at + 1;
    for (let z = lo[2]; z < hi[2]; z++)
      for (let y = lo[1]; y < hi[1]; y++) {
        const row = nx * (y + ny * z);
        let last = -1;
        for (let x = lo[0]; x < hi[0]; x++) {
          const id = labels[row + x];
          if (id !== last) out.add(id);
          last = id;
        }
      }
  };
  for (let axis = 0; axis < 3; axis++) {
    if (start[axis] > 0) plane(axis, 0);
    if (high[axis]) plane(axis, shape[axis] - 1);
  }
  return out;
}

/**
 * The basin graph of a block: `labels` (global basin ids) and `aff` cover the
 * core plus `start[axis]` (0 or 1) voxels below it on each axis; `high[axis]`
 * says a block follows on that axis; `origin` is the box's minimum relative
 * to the dataset's, `size` the dataset's size (for the scan positions). Each
 * edge keeps its largest affinity (from 0, as Watershed.jl) and the scan
 * position of its first face; the edges come split into those only this
 * block sees and those others may see too.
 */
export function basinGraphBlock(
  labels: Uint32Array,
  aff: Float32Array | Uint8Array,
  shape: V3,
  start: V3,
  high: boolean[],
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
  const exposed = exposedBasins(labels, shape, start, high);
  const m = table.size;
  const own = new Int32Array(m);
  const shared = new Int32Array(m);
  let nOwn = 0;
  let nShared = 0;
  for (let k = 0; k < m; k++) {
    if (exposed.has(table.a[k]) && exposed.has(table.b[k])) shared[nShared++] = k;
    else own[nOwn++] = k;
  }
  const edges = { a: table.a, b: table.b, weight: table.weight, first: table.first };
  return {
    own: packEdges(edges, sortEdges(edges, own.subarray(0, nOwn), "weight")),
    ownCount: nOwn,
    shared: packEdges(edges, sortEdges(edges, shared.subarray(0, nShared), "pair")),
    sharedCount: nShared,
    ids,
    counts,
  };
}

/**
 * A block's basins (global ids) mapped to their regions: `ids` increasing,
 * `regions[k]` the region of `ids[k]` (a basin not listed, and 0, map to 0);
 * as uint32 words, or (lo, hi) pairs when `wide`.
 */
export function applyRegionTable(
  labels: Uint32Array,
  ids: Uint32Array,
  regions: Uint32Array,
  wide: boolean,
): Uint32Array {
  const n = labels.length;
  const out = new Uint32Array(wide ? 2 * n : n);
  const step = wide ? 2 : 1;
  let last = 0;
  let value = 0;
  for (let i = 0; i < n; i++) {
    const id = labels[i];
    if (id !== last) {
      last = id;
      // Binary search: basins come in runs, so this is once per run.
      let lo = 0;
      let hi = ids.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (ids[mid] < id) lo = mid + 1;
        else hi = mid;
      }
      value = lo < ids.length && ids[lo] === id ? regions[lo] : 0;
    }
    out[step * i] = value;
  }
  return out;
}
