/**
 * Levels of detail of a multi-resolution mesh, built without cracks.
 *
 * lod 0 is the full-resolution mesh; lod L > 0 is lod L - 1's mesh
 * simplified (quadric error, {@link simplifyMesh}) to an error bound that
 * doubles with each lod. Each lod's whole mesh is then cut by the planes of
 * its octree grid (cells of `chunkShape * 2^L`) and, for L > 0, by the planes
 * of the 2x2x2 partition Neuroglancer draws each fragment in, and its
 * vertices are rounded to the cell's quantization grid.
 *
 * All of it happens in one integer frame per lod: a coordinate is
 * `(v - gridOrigin) / (chunkShape * 2^L) * (2^bits - 1)`, so cell faces lie
 * on multiples of `M = 2^bits - 1` and the partition planes of a cell at
 * `k*M + (M >> 1) + 1`, the point Neuroglancer's decoder splits at. Those
 * planes are integers, so rounding never moves a vertex across one: no
 * vertex leaves its cell and no triangle crosses a partition plane. A point
 * where an edge meets a plane is computed once per edge (from its endpoints
 * in index order) and shared by the triangles on both sides, so the two
 * fragments sharing a cell face hold exactly the same edges on it: there
 * are no cracks between neighbouring fragments of one lod. Rounding is
 * done for the whole lod at once, taking apart the pinches it would make
 * where two sheets nearly touch (./rounding), so each lod is a 2-manifold
 * wherever its input mesh is one.
 */
import { MeshInputError } from "../errors";
import { simplifyMesh } from "../kernels/simplify";
import type { Mesh, Vec3 } from "../types";
import type { QuantizedMesh } from "./draco";
import { checkQuantizationBits } from "./info";
import { zorderLess } from "./manifest";
import { roundWithoutPinches } from "./rounding";

/** Options of {@link buildMultiresLods}. */
export interface MultiresLodOptions {
  /** Extent of a lod 0 cell (octree node) in the mesh's units (nm). */
  chunkShape: Vec3;
  /** Origin of the octree grid; leave a margin: vertices below it are moved onto it. */
  gridOrigin: Vec3;
  /** vertex_quantization_bits: 10 or 16 (default 10). */
  bits?: 10 | 16;
  /** At most this many lods (default 8); fewer when one cell holds the object sooner. */
  maxLods?: number;
  /**
   * Error scale of lod 0, in the mesh's units (default 40, the meshing
   * stage's `maxError`): lod L > 0 is simplified to `lodError * 2^L` and
   * its `lod_scales` entry is `lodError * 2^L`.
   */
  lodError?: number;
  /** Each lod aims at this many times fewer triangles than the one below (default 4). */
  reduction?: number;
}

/** One lod: fragments sorted in Z-curve order by octree position. */
export interface MultiresLod {
  /** Octree positions, x, y, z per fragment. */
  positions: Uint32Array;
  /** Each fragment's mesh, positions quantized within its cell (may be empty). */
  fragments: QuantizedMesh[];
}

/** What {@link buildMultiresLods} returns. */
export interface MultiresLods {
  lods: MultiresLod[];
  /** `lod_scales` of the manifest. */
  lodScales: number[];
}

/** A growable typed array. */
class Grow<T extends Float64Array | Uint32Array> {
  length = 0;
  constructor(
    public data: T,
    private readonly make: (n: number) => T,
  ) {}
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = this.make(Math.max(16, this.data.length * 2));
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
}

const f64 = (n: number) => new Float64Array(n);
const u32 = (n: number) => new Uint32Array(n);

/**
 * Cuts every triangle by the planes `planeAfter` gives on each axis (the
 * first plane strictly above a coordinate). Points where edges meet planes
 * are shared between the triangles of an edge. Orientation is kept.
 */
export function clipByPlanes(
  vertices: Float64Array,
  faces: Uint32Array,
  planeAfter: (x: number) => number,
): { vertices: Float64Array; faces: Uint32Array } {
  const V = new Grow(new Float64Array(vertices.length + 64), f64);
  V.data.set(vertices);
  V.length = vertices.length;
  let current = faces;
  for (let axis = 0; axis < 3; axis++) {
    const cuts = new Map<string, number>();
    const out = new Grow(new Uint32Array(current.length + 64), u32);
    const cut = (i: number, j: number, p: number): number => {
      const key = i < j ? `${i},${j},${p}` : `${j},${i},${p}`;
      let idx = cuts.get(key);
      if (idx === undefined) {
        const d = V.data;
        // From the endpoint with the smaller coordinates, so that the point
        // does not depend on which triangle asks first (or on vertex order).
        const swap =
          d[3 * i] > d[3 * j] ||
          (d[3 * i] === d[3 * j] &&
            (d[3 * i + 1] > d[3 * j + 1] ||
              (d[3 * i + 1] === d[3 * j + 1] && d[3 * i + 2] > d[3 * j + 2])));
        const a = swap ? j : i;
        const b = swap ? i : j;
        const t = (p - d[3 * a + axis]) / (d[3 * b + axis] - d[3 * a + axis]);
        idx = V.length / 3;
        for (let c = 0; c < 3; c++) {
          const va = d[3 * a + c];
          V.push(c === axis ? p : va + t * (d[3 * b + c] - va));
        }
        cuts.set(key, idx);
      }
      return idx;
    };
    const stack: number[] = [];
    const below: number[] = [];
    const above: number[] = [];
    for (let f = 0; f < current.length; f += 3) {
      stack.push(current[f], current[f + 1], current[f + 2]);
      while (stack.length > 0) {
        const c = stack.pop()!;
        const b = stack.pop()!;
        const a = stack.pop()!;
        const d = V.data;
        const xa = d[3 * a + axis];
        const xb = d[3 * b + axis];
        const xc = d[3 * c + axis];
        const lo = Math.min(xa, xb, xc);
        const hi = Math.max(xa, xb, xc);
        const p = planeAfter(lo);
        if (!(p < hi)) {
          out.push(a);
          out.push(b);
          out.push(c);
          continue;
        }
        below.length = 0;
        above.length = 0;
        const tri = [a, b, c];
        for (let k = 0; k < 3; k++) {
          const i = tri[k];
          const j = tri[(k + 1) % 3];
          const si = V.data[3 * i + axis] - p;
          const sj = V.data[3 * j + axis] - p;
          if (si <= 0) below.push(i);
          if (si >= 0) above.push(i);
          if ((si < 0 && sj > 0) || (si > 0 && sj < 0)) {
            const x = cut(i, j, p);
            below.push(x);
            above.push(x);
          }
        }
        // The piece below lies between lo and the first plane above it: done.
        for (let k = 1; k + 1 < below.length; k++) {
          out.push(below[0]);
          out.push(below[k]);
          out.push(below[k + 1]);
        }
        // The piece above may cross further planes.
        for (let k = 1; k + 1 < above.length; k++) stack.push(above[0], above[k], above[k + 1]);
      }
    }
    current = out.data.slice(0, out.length);
  }
  return { vertices: V.data.slice(0, V.length), faces: current };
}

/** Octree positions and fragments of one lod of `mesh` (physical units). */
function cutLod(mesh: Mesh, lod: number, o: Required<MultiresLodOptions>): MultiresLod {
  const M = 2 ** o.bits - 1;
  const half = (M >>> 1) + 1;
  const nv = mesh.vertices.length / 3;
  const U = new Float64Array(3 * nv);
  for (let i = 0; i < nv; i++)
    for (let a = 0; a < 3; a++) {
      const u = ((mesh.vertices[3 * i + a] - o.gridOrigin[a]) / (o.chunkShape[a] * 2 ** lod)) * M;
      if (Number.isNaN(u)) throw new MeshInputError(`vertex ${i} is not a finite position`);
      // Octree positions are unsigned: a vertex below the origin (callers
      // leave a margin) is moved onto it, the same for every fragment.
      U[3 * i + a] = Math.max(u, 0);
    }
  const planeAfter =
    lod === 0
      ? (x: number) => (Math.floor(x / M) + 1) * M
      : (x: number) => {
          const base = Math.floor(x / M) * M;
          return x < base + half ? base + half : base + M;
        };
  const { vertices, faces } = clipByPlanes(U, mesh.faces, planeAfter);
  const grid = roundWithoutPinches(vertices, faces, planeAfter);
  // Group triangles by cell (the cell holding their centroid).
  const byCell = new Map<string, { x: number; y: number; z: number; tris: number[] }>();
  for (let f = 0; f < faces.length; f += 3) {
    const cell = [0, 0, 0];
    for (let a = 0; a < 3; a++) {
      const c =
        (vertices[3 * faces[f] + a] +
          vertices[3 * faces[f + 1] + a] +
          vertices[3 * faces[f + 2] + a]) /
        3;
      cell[a] = Math.floor(c / M);
    }
    const key = `${cell[0]},${cell[1]},${cell[2]}`;
    let g = byCell.get(key);
    if (!g) byCell.set(key, (g = { x: cell[0], y: cell[1], z: cell[2], tris: [] }));
    g.tris.push(f);
  }
  const cells = [...byCell.values()];
  for (const c of cells)
    if (c.x > 0xffffffff || c.y > 0xffffffff || c.z > 0xffffffff)
      throw new MeshInputError(`octree position [${c.x}, ${c.y}, ${c.z}] does not fit uint32`);
  return {
    positions: new Uint32Array(cells.flatMap((c) => [c.x, c.y, c.z])),
    fragments: cells.map((c) => quantizeCell(grid, faces, c, M)),
  };
}

/**
 * A cell's triangles with their vertices' grid points made relative to the
 * cell and welded (same point, one vertex); triangles that collapsed are
 * dropped. Both sides of a cell face hold a shared vertex at one point.
 */
function quantizeCell(
  grid: Float64Array,
  faces: Uint32Array,
  cell: { x: number; y: number; z: number; tris: number[] },
  M: number,
): QuantizedMesh {
  const base = [cell.x * M, cell.y * M, cell.z * M];
  const index = new Map<number, number>();
  const positions = new Grow(new Uint32Array(64), u32);
  const out = new Grow(new Uint32Array(3 * cell.tris.length), u32);
  const side = M + 1;
  const tri = [0, 0, 0];
  for (const f of cell.tris) {
    for (let k = 0; k < 3; k++) {
      const v = faces[f + k];
      let key = 0;
      const q = [0, 0, 0];
      for (let a = 2; a >= 0; a--) {
        const r = Math.min(M, Math.max(0, grid[3 * v + a] - base[a]));
        q[a] = r;
        key = key * side + r;
      }
      let id = index.get(key);
      if (id === undefined) {
        id = positions.length / 3;
        index.set(key, id);
        positions.push(q[0]);
        positions.push(q[1]);
        positions.push(q[2]);
      }
      tri[k] = id;
    }
    if (tri[0] === tri[1] || tri[1] === tri[2] || tri[0] === tri[2]) continue;
    out.push(tri[0]);
    out.push(tri[1]);
    out.push(tri[2]);
  }
  return {
    positions: positions.data.slice(0, positions.length),
    faces: out.data.slice(0, out.length),
  };
}

/** Sort a lod's fragments into Z-curve order of their positions. */
function sortZ(lod: MultiresLod): MultiresLod {
  const n = lod.fragments.length;
  const p = lod.positions;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) =>
    zorderLess(p[3 * i], p[3 * i + 1], p[3 * i + 2], p[3 * j], p[3 * j + 1], p[3 * j + 2])
      ? -1
      : zorderLess(p[3 * j], p[3 * j + 1], p[3 * j + 2], p[3 * i], p[3 * i + 1], p[3 * i + 2])
        ? 1
        : 0,
  );
  const positions = new Uint32Array(3 * n);
  for (const [k, i] of order.entries()) positions.set(p.subarray(3 * i, 3 * i + 3), 3 * k);
  return { positions, fragments: order.map((i) => lod.fragments[i]) };
}

/**
 * Adds an empty fragment at the parent of every node of `children` that
 * `lod` lacks, so that Neuroglancer's octree reaches every child from the
 * root (it only descends from parents).
 */
function withParents(lod: MultiresLod, children: MultiresLod): MultiresLod {
  const have = new Set<string>();
  const p = lod.positions;
  for (let i = 0; i < p.length; i += 3) have.add(`${p[i]},${p[i + 1]},${p[i + 2]}`);
  const extra: number[] = [];
  const c = children.positions;
  for (let i = 0; i < c.length; i += 3) {
    const x = c[i] >>> 1;
    const y = c[i + 1] >>> 1;
    const z = c[i + 2] >>> 1;
    const key = `${x},${y},${z}`;
    if (!have.has(key)) {
      have.add(key);
      extra.push(x, y, z);
    }
  }
  if (extra.length === 0) return lod;
  const positions = new Uint32Array(p.length + extra.length);
  positions.set(p);
  positions.set(extra, p.length);
  const empty = (): QuantizedMesh => ({ positions: new Uint32Array(0), faces: new Uint32Array(0) });
  return {
    positions,
    fragments: [...lod.fragments, ...extra.filter((_, i) => i % 3 === 0).map(empty)],
  };
}

/**
 * Builds the levels of detail of one object's mesh (physical units, e.g.
 * the welded union of its meshing fragments): see the module comment.
 * Deterministic: the same mesh and options give the same fragments.
 */
export function buildMultiresLods(mesh: Mesh, options: MultiresLodOptions): MultiresLods {
  const o: Required<MultiresLodOptions> = {
    bits: 10,
    maxLods: 8,
    lodError: 40,
    reduction: 4,
    ...options,
  };
  checkQuantizationBits(o.bits);
  if (!o.chunkShape.every((c) => c > 0 && Number.isFinite(c)))
    throw new MeshInputError(`chunkShape must be positive, got [${o.chunkShape.join(", ")}]`);
  if (!(Number.isInteger(o.maxLods) && o.maxLods >= 1))
    throw new MeshInputError(`maxLods must be a positive integer, got ${o.maxLods}`);
  const lods: MultiresLod[] = [];
  const lodScales: number[] = [];
  let current = mesh;
  for (let lod = 0; lod < o.maxLods; lod++) {
    if (lod > 0)
      current = simplifyMesh(current, {
        reductionFactor: o.reduction,
        maxError: o.lodError * 2 ** lod,
      });
    let level = cutLod(current, lod, o);
    if (lod > 0) level = withParents(level, lods[lod - 1]);
    lods.push(sortZ(level));
    lodScales.push(o.lodError * 2 ** lod);
    if (level.fragments.length <= 1 || current.faces.length === 0) break;
  }
  return { lods, lodScales };
}
