/**
 * The per-label surfaces of one marching-cubes pass: the record stream split
 * into welded meshes, one per label.
 */

import type { Label, Mesh, Vec3 } from "../types";
import {
  CASE_EDGE_START,
  CASE_EDGES,
  CASE_TRIS,
  L_ESC,
  type SurfaceGrid,
  TRI_LOCAL,
} from "./mc-records";
import { MC_START } from "./mc-table";

interface Tally {
  nverts: Int32Array;
  ntris: Int32Array;
  local: Int32Array;
  order: Int32Array;
  tcount: number;
}

/**
 * The per-label surfaces of one cutout, as produced by {@link marchingCubes}:
 * welded vertices and triangles of every label, not yet split into meshes.
 */
export class LabelSurfaces {
  private counts?: Tally;

  /** @internal */
  constructor(
    /** Label of each dense id (0 = background). */
    private readonly denseLabels: Label[],
    private readonly chunks: Int32Array[],
    private readonly lengths: number[],
    private readonly vcount: number,
    private readonly grid: SurfaceGrid,
    /** Voxel size in physical units. */
    readonly resolution: Vec3,
    /** Physical position of the cutout corner. */
    readonly offset: Vec3,
  ) {}

  /**
   * One pass over the records: vertices and triangles per label, each
   * vertex's index within its label (vertex ids first appear in the stream in
   * increasing order, so a vertex is new when its id is the next unseen one),
   * and the labels' output order.
   */
  private tally(): Tally {
    if (this.counts) return this.counts;
    const n = this.denseLabels.length;
    const nverts = new Int32Array(n);
    const ntris = new Int32Array(n);
    const local = new Int32Array(this.vcount);
    const { direct, cornerOff } = this.grid;
    const first = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
    let next = 0;
    let tcount = 0;
    for (let c = 0; c < this.chunks.length; c++) {
      const rc = this.chunks[c];
      const len = this.lengths[c];
      let r = 0;
      while (r < len) {
        const i = rc[r] >>> 0;
        const h = rc[r + 1];
        r += 2;
        const cs = h & 255;
        let L = h >>> 8;
        if (L === L_ESC) L = rc[r++];
        const ne = CASE_EDGE_START[cs + 1] - CASE_EDGE_START[cs];
        for (let k = 0; k < ne; k++)
          if (rc[r + k] === next) {
            local[next++] = nverts[L]++;
          }
        r += ne;
        const nt = CASE_TRIS[cs];
        ntris[L] += nt;
        tcount += nt;
        if (direct) {
          const at = i + cornerOff[31 - Math.clz32(cs & -cs)];
          if (at < first[L]) first[L] = at;
        }
      }
    }
    let order: Int32Array;
    if (direct) {
      // Output in order of first appearance, as densify numbers labels. The
      // first voxel of a label is a corner of a surface cube (its raster
      // predecessor differs), except for voxel 0.
      if (this.grid.id0 > 0) first[this.grid.id0] = 0;
      order = Int32Array.from({ length: n - 1 }, (_, k) => k + 1).sort(
        (a, b) => first[a] - first[b],
      );
    } else order = Int32Array.from({ length: n - 1 }, (_, k) => k + 1);
    this.counts = { nverts, ntris, local, order, tcount };
    return this.counts;
  }

  /** Labels with a non-empty surface, in order of first appearance in the volume (x fastest). */
  get labels(): Label[] {
    const { ntris, order } = this.tally();
    const out: Label[] = [];
    for (const d of order) if (ntris[d] > 0) out.push(this.denseLabels[d]);
    return out;
  }

  /** Total number of triangles over all labels. */
  get triangleCount(): number {
    return this.tally().tcount;
  }

  /** Total number of (welded) vertices over all labels. */
  get vertexCount(): number {
    return this.vcount;
  }

  /** Splits the surfaces into one mesh per label, in physical units. */
  meshes(): Map<Label, Mesh> {
    const { nverts, ntris, local, order } = this.tally();
    const n = this.denseLabels.length;
    const verts: Float32Array[] = new Array(n);
    const faces: Uint32Array[] = new Array(n);
    for (let d = 1; d < n; d++) {
      verts[d] = new Float32Array(3 * nverts[d]);
      faces[d] = new Uint32Array(3 * ntris[d]);
    }
    const [rx, ry, rz] = this.resolution;
    const [ox, oy, oz] = this.offset;
    const hx = rx * 0.5;
    const hy = ry * 0.5;
    const hz = rz * 0.5;
    const { px, pxy, edgeD2x, edgeD2y, edgeD2z } = this.grid;
    const [o2x, o2y, o2z] = this.grid.origin2;
    const fill = new Int32Array(n);
    const START = MC_START;
    const TLOC = TRI_LOCAL;
    let next = 0;
    for (let c = 0; c < this.chunks.length; c++) {
      const rc = this.chunks[c];
      const len = this.lengths[c];
      let r = 0;
      while (r < len) {
        const i = rc[r] >>> 0;
        const h = rc[r + 1];
        r += 2;
        const cs = h & 255;
        let L = h >>> 8;
        if (L === L_ESC) L = rc[r++];
        const es = CASE_EDGE_START[cs];
        const ne = CASE_EDGE_START[cs + 1] - es;
        for (let k = 0; k < ne; k++) {
          const g = rc[r + k];
          if (g !== next) continue;
          next++;
          const Z = Math.floor(i / pxy);
          const rem = i - Z * pxy;
          const Y = Math.floor(rem / px);
          const X = rem - Y * px;
          const e = CASE_EDGES[es + k];
          const v = verts[L];
          const at = 3 * local[g];
          v[at] = ox + (o2x + 2 * X + edgeD2x[e]) * hx;
          v[at + 1] = oy + (o2y + 2 * Y + edgeD2y[e]) * hy;
          v[at + 2] = oz + (o2z + 2 * Z + edgeD2z[e]) * hz;
        }
        const f = faces[L];
        let at = fill[L];
        for (let t = START[cs]; t < START[cs + 1]; t++) f[at++] = local[rc[r + TLOC[t]]];
        fill[L] = at;
        r += ne;
      }
    }
    const out = new Map<Label, Mesh>();
    for (const d of order)
      if (ntris[d] > 0) out.set(this.denseLabels[d], { vertices: verts[d], faces: faces[d] });
    return out;
  }
}
