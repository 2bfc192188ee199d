/**
 * The record stream marching cubes writes and `LabelSurfaces` reads,
 * and the per-case tables both sides index it with.
 */

import { edgeLowCorner, MC_START, MC_TRIANGLES } from "./mc-table";

/** Per cube edge: the corner (bit of the case number) at its low end. */
export const LOW_CORNER = Uint8Array.from({ length: 12 }, (_, e) => edgeLowCorner(e));

/**
 * Per case: the distinct cube edges its triangles use, in order of first use
 * (`CASE_EDGES[CASE_EDGE_START[cs] ..]`), the vertex slot on each (1 when the
 * edge's low corner is outside, i.e. the label's vertex sits on the high
 * voxel's side), and for each triangle corner of `MC_TRIANGLES` its index in
 * that list. Each edge's vertex is then looked up once per cube, not once per
 * triangle corner, and vertices are still made in order of first use.
 */
export const CASE_EDGE_START = new Int32Array(257);
export const CASE_EDGES = new Uint8Array(MC_TRIANGLES.length);
export const CASE_SLOTS = new Uint8Array(MC_TRIANGLES.length);
export const TRI_LOCAL = new Uint8Array(MC_TRIANGLES.length);
{
  let n = 0;
  const seen = new Int8Array(12);
  for (let cs = 0; cs < 256; cs++) {
    CASE_EDGE_START[cs] = n;
    seen.fill(-1);
    for (let t = MC_START[cs]; t < MC_START[cs + 1]; t++) {
      const e = MC_TRIANGLES[t];
      if (seen[e] < 0) {
        seen[e] = n - CASE_EDGE_START[cs];
        CASE_EDGES[n] = e;
        CASE_SLOTS[n] = 1 - ((cs >> LOW_CORNER[e]) & 1);
        n++;
      }
      TRI_LOCAL[t] = seen[e];
    }
  }
  CASE_EDGE_START[256] = n;
}

/**
 * Ints per output chunk. The output is a stream of records, one per surface
 * cube and label: `[cube index, (dense label << 8) | case, vertex ids...]`
 * (the label escaped to an extra int when it needs more than 23 bits), with
 * one vertex id per distinct edge of the case in `CASE_EDGES` order. Records
 * never straddle chunks.
 */
export const R_LEN = 1 << 18;
/** Longest record: cube index, header, escaped label, 12 vertex ids. */
export const R_MAX = 15;
/** The header value that says "the label follows in the next int". */
export const L_ESC = 0x7fffff;

/** Triangles of each case. */
export const CASE_TRIS = Uint8Array.from(
  { length: 256 },
  (_, cs) => (MC_START[cs + 1] - MC_START[cs]) / 3,
);

/** Geometry of the (padded) grid the records refer to. */
export interface SurfaceGrid {
  /** Padded size along x, and x * y. */
  px: number;
  pxy: number;
  /** Doubled vertex coordinates of each cube edge relative to 2 * the cube corner (padding removed). */
  edgeD2x: Int32Array;
  edgeD2y: Int32Array;
  edgeD2z: Int32Array;
  /** Twice the cutout's origin (voxels), added to doubled vertex coordinates. */
  origin2: [number, number, number];
  /** Raster offset of each cube corner. */
  cornerOff: Int32Array;
  /**
   * Labels were numbered on the fly (raw input): output order is by first
   * voxel, found from the records; `id0` is the dense id of voxel 0.
   */
  direct: boolean;
  id0: number;
}
