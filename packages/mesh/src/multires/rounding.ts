/**
 * Rounding a lod's clipped mesh to the integer quantization grid without
 * pinching it.
 *
 * Plain rounding welds every vertex that lands on the same grid point. Where
 * the vertices were joined by a short edge that is the intended collapse;
 * but two sheets of a surface that pass within half a quantum of each other
 * (a fold, two lobes nearly touching) get welded too, and the mesh is then
 * pinched: an edge used by four triangles, or a vertex whose triangles form
 * two fans. So after rounding, every grid point whose vertex is not a
 * manifold one (an edge of it used other than twice, or its triangles not
 * one fan) is taken apart again: the vertices that met there are split into
 * the pieces their collapsed edges join (if that gives one piece, into single
 * vertices), the piece nearest the point keeps it, and each other piece moves
 * to the free grid point nearest to where it really is. A move never leaves
 * a plane the point lies on and never crosses one (cell faces and partition
 * planes are integers, see ./lods), so the vertex stays in its cell and on
 * any cell face it shares with the neighbouring fragment; and as the grid
 * position is one per vertex of the whole lod, both fragments sharing a face
 * still see the same point.
 */

/** Rounds of splitting before giving up on a spot (each usually fixes all). */
const MAX_ROUNDS = 4;

import { pinchedVertices } from "../kernels/mesh-utils";

/** An open-addressing table from integer grid points to ids; sized once for `capacity` points. */
class PointTable {
  private readonly mask: number;
  private readonly xs: Float64Array;
  private readonly ys: Float64Array;
  private readonly zs: Float64Array;
  private readonly ids: Int32Array;

  constructor(capacity: number) {
    let cap = 16;
    while (cap < 2 * capacity) cap *= 2;
    this.mask = cap - 1;
    this.xs = new Float64Array(cap);
    this.ys = new Float64Array(cap);
    this.zs = new Float64Array(cap);
    this.ids = new Int32Array(cap).fill(-1);
  }

  private slot(x: number, y: number, z: number): number {
    let h =
      (Math.imul(x >>> 0, 0x9e3779b1) ^
        Math.imul(y >>> 0, 0x85ebca77) ^
        Math.imul(z >>> 0, 0xc2b2ae3d)) >>>
      0;
    h = (h ^ (h >>> 15)) & this.mask;
    while (this.ids[h] >= 0 && !(this.xs[h] === x && this.ys[h] === y && this.zs[h] === z))
      h = (h + 1) & this.mask;
    return h;
  }

  /** The id at (x, y, z), or -1. */
  get(x: number, y: number, z: number): number {
    return this.ids[this.slot(x, y, z)];
  }

  /** The id at (x, y, z), set to `id` first when the point is free. */
  getOrSet(x: number, y: number, z: number, id: number): number {
    const h = this.slot(x, y, z);
    if (this.ids[h] < 0) {
      this.xs[h] = x;
      this.ys[h] = y;
      this.zs[h] = z;
      this.ids[h] = id;
    }
    return this.ids[h];
  }
}

/** Grid points as welded vertices: `point[v]` is vertex v's point id; `count` points. */
interface Welded {
  point: Int32Array;
  count: number;
  table: PointTable;
}

function weld(grid: Float64Array, nv: number): Welded {
  // Room for every vertex to move once to a point of its own.
  const table = new PointTable(2 * nv);
  const point = new Int32Array(nv);
  let count = 0;
  for (let v = 0; v < nv; v++) {
    const id = table.getOrSet(grid[3 * v], grid[3 * v + 1], grid[3 * v + 2], count);
    if (id === count) count++;
    point[v] = id;
  }
  return { point, count, table };
}

/**
 * The points that are not manifold vertices of the welded mesh: an edge
 * of theirs is used by other than two triangles, or their triangles do not
 * form one fan (null when there is none). Triangles that collapsed are
 * left out (they are dropped).
 */
function pinchedPoints(faces: Uint32Array, w: Welded): Uint8Array | null {
  const p = w.point;
  const n = w.count;
  // Undirected edges of the triangles that did not collapse, sorted: a run
  // of one key is an edge's uses.
  const keys = new Float64Array(faces.length);
  let m = 0;
  for (let t = 0; t < faces.length; t += 3) {
    const a = p[faces[t]];
    const b = p[faces[t + 1]];
    const c = p[faces[t + 2]];
    if (a === b || b === c || a === c) continue;
    keys[m++] = a < b ? a * n + b : b * n + a;
    keys[m++] = b < c ? b * n + c : c * n + b;
    keys[m++] = c < a ? c * n + a : a * n + c;
  }
  const sorted = keys.subarray(0, m).sort();
  let bad: Uint8Array | null = null;
  for (let i = 0; i < m; ) {
    let j = i + 1;
    while (j < m && sorted[j] === sorted[i]) j++;
    if (j - i !== 2) {
      bad ??= new Uint8Array(n);
      bad[Math.floor(sorted[i] / n)] = 1;
      bad[sorted[i] % n] = 1;
    }
    i = j;
  }
  const fans = pinchedVertices(faces, n, p);
  if (fans)
    for (let v = 0; v < n; v++)
      if (fans[v]) {
        bad ??= new Uint8Array(n);
        bad[v] = 1;
      }
  return bad;
}

/**
 * The vertices welded at one point, split into the pieces their collapsed
 * edges join; one piece (a collapse that broke the surface by itself)
 * splits into single vertices.
 */
function pieces(members: number[], edges: Map<number, number[]>): number[][] {
  const seen = new Set<number>();
  const out: number[][] = [];
  for (const m of members) {
    if (seen.has(m)) continue;
    const piece = [m];
    seen.add(m);
    for (let k = 0; k < piece.length; k++)
      for (const u of edges.get(piece[k]) ?? [])
        if (!seen.has(u)) {
          seen.add(u);
          piece.push(u);
        }
    out.push(piece);
  }
  return out.length > 1 ? out : members.map((m) => [m]);
}

/** Grid steps tried for a piece that moves, nearest first (ties in a fixed order). */
const STEPS: number[][] = (() => {
  const out: number[][] = [];
  for (let z = -2; z <= 2; z++)
    for (let y = -2; y <= 2; y++)
      for (let x = -2; x <= 2; x++) if (x !== 0 || y !== 0 || z !== 0) out.push([x, y, z]);
  return out;
})();

/**
 * Rounds `vertices` (a lod's clipped mesh in its integer frame, see ./lods)
 * to integer grid points, keeping the rounded mesh a 2-manifold wherever
 * the input is one: see the module comment. `planeAfter` gives the first
 * cell or partition plane strictly above a coordinate. Deterministic.
 * Returns the grid point of every vertex.
 */
export function roundWithoutPinches(
  vertices: Float64Array,
  faces: Uint32Array,
  planeAfter: (x: number) => number,
): Float64Array {
  const nv = vertices.length / 3;
  const grid = new Float64Array(vertices.length);
  for (let i = 0; i < grid.length; i++) grid[i] = Math.round(vertices[i]);
  const onPlane = (x: number) => planeAfter(x - 0.5) === x;
  const crosses = (a: number, b: number) => planeAfter(Math.min(a, b)) < Math.max(a, b);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const w = weld(grid, nv);
    const bad = pinchedPoints(faces, w);
    if (bad === null) break;
    // The vertices at each bad point, and the edges that collapsed there.
    const members = new Map<number, number[]>();
    for (let v = 0; v < nv; v++) {
      const q = w.point[v];
      if (!bad[q]) continue;
      let list = members.get(q);
      if (!list) members.set(q, (list = []));
      list.push(v);
    }
    const collapsed = new Map<number, number[]>();
    for (let t = 0; t < faces.length; t += 3)
      for (let k = 0; k < 3; k++) {
        const a = faces[t + k];
        const b = faces[t + ((k + 1) % 3)];
        if (a === b || w.point[a] !== w.point[b] || !bad[w.point[a]]) continue;
        for (const [i, j] of [
          [a, b],
          [b, a],
        ]) {
          let list = collapsed.get(i);
          if (!list) collapsed.set(i, (list = []));
          list.push(j);
        }
      }
    let moved = 0;
    let next = w.count;
    for (const list of members.values()) {
      if (list.length < 2) continue;
      const v0 = list[0];
      const at = [grid[3 * v0], grid[3 * v0 + 1], grid[3 * v0 + 2]];
      const ranked = pieces(list, collapsed).map((piece) => {
        const c = [0, 0, 0];
        for (const v of piece) for (let a = 0; a < 3; a++) c[a] += vertices[3 * v + a];
        for (let a = 0; a < 3; a++) c[a] /= piece.length;
        return { piece, c, d: (c[0] - at[0]) ** 2 + (c[1] - at[1]) ** 2 + (c[2] - at[2]) ** 2 };
      });
      ranked.sort((x, y) => x.d - y.d);
      for (const { piece, c } of ranked.slice(1)) {
        let best: number[] | null = null;
        let bestD = Number.POSITIVE_INFINITY;
        for (const s of STEPS) {
          const to = [at[0] + s[0], at[1] + s[1], at[2] + s[2]];
          let ok = true;
          for (let a = 0; a < 3 && ok; a++)
            if (s[a] !== 0) ok = to[a] >= 0 && !onPlane(at[a]) && !crosses(at[a], to[a]);
          if (!ok || w.table.get(to[0], to[1], to[2]) >= 0) continue;
          const d = (c[0] - to[0]) ** 2 + (c[1] - to[1]) ** 2 + (c[2] - to[2]) ** 2;
          if (d < bestD) {
            bestD = d;
            best = to;
          }
        }
        // Nowhere to go (a cell corner, a crowded spot): that piece stays.
        if (best === null) continue;
        w.table.getOrSet(best[0], best[1], best[2], next++);
        for (const v of piece) for (let a = 0; a < 3; a++) grid[3 * v + a] = best[a];
        moved++;
      }
    }
    if (moved === 0) break;
  }
  return grid;
}
