/**
 * Multi-label marching cubes: one pass over a label volume gives the surface
 * of every label, with shared vertices welded.
 *
 * Conventions (those of zmesh with `voxel_centered=True`, as Igneous uses it):
 * voxel (i, j, k) is centred at `offset + (i + 0.5, j + 0.5, k + 0.5) * resolution`;
 * vertices lie at the midpoints of the edges joining voxel centres, so a
 * surface between voxels i and i+1 along x sits at `offset.x + (i + 1) * res.x`,
 * on the voxel boundary. A label touching an open cutout face ends on the
 * plane through the centres of the outermost voxels; on a closed face the
 * outside is treated as background and the surface closes on the cutout's
 * outer boundary plane.
 */

import { MeshInputError } from "../errors";
import type { FaceFlags, Label, Vec3 } from "../types";
import { densify, unsignedView } from "./densify";
import { LabelSurfaces } from "./label-surfaces";
import {
  CASE_EDGE_START,
  CASE_EDGES,
  CASE_SLOTS,
  L_ESC,
  LOW_CORNER,
  R_LEN,
  R_MAX,
} from "./mc-records";

export { LabelSurfaces };

/** Label volumes the mesher accepts (signed arrays are read as their unsigned bit patterns). */
export type MeshLabelArray =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array;

/** Options of {@link marchingCubes}. */
export interface MarchingCubesOptions {
  /** Voxel size in physical units (nm), x, y, z. Default [1, 1, 1]. */
  resolution?: Vec3;
  /**
   * Voxel coordinates (integers) of the cutout's corner in the dataset, e.g.
   * `bbox.minpt`. Vertex positions are computed from dataset-wide grid
   * coordinates, `(2 * (origin + i) + 1) * resolution / 2` and the like, so
   * neighbouring cutouts get bit-identical float32 vertices on their shared
   * planes at any resolution and distance from the dataset origin. Default
   * [0, 0, 0].
   */
  origin?: Vec3;
  /**
   * A physical translation added to every vertex after `origin` (e.g. a
   * layer's offset in nm). Neighbouring cutouts must use the same value.
   * Use `origin` for the cutout's position: `offset: bbox.minpt * resolution`
   * (the older form) rounds differently in neighbouring cutouts once
   * coordinates pass 2^22 nm at some non-integer resolutions. Default [0, 0, 0].
   */
  offset?: Vec3;
  /**
   * Close meshes on the cutout faces: `true` for all six, or per face (x-low,
   * x-high, y-low, y-high, z-low, z-high). Default: all open.
   */
  close?: boolean | FaceFlags;
  /** Mesh only these labels. */
  labels?: Iterable<Label>;
  /** Do not mesh these labels (0 is never meshed). */
  exclude?: Iterable<Label>;
}

function toFaceFlags(close: boolean | FaceFlags | undefined): FaceFlags {
  if (Array.isArray(close)) {
    if (close.length !== 6)
      throw new MeshInputError(`close must have 6 flags, got ${close.length}`);
    return [...close] as FaceFlags;
  }
  const c = close === true;
  return [c, c, c, c, c, c];
}

function labelKey(l: Label): number | bigint {
  if (typeof l === "bigint") {
    if (l < 0n || l >= 2n ** 64n) throw new MeshInputError(`label ${l} is not a uint64`);
    return l < 2n ** 53n ? Number(l) : l;
  }
  if (!Number.isSafeInteger(l) || l < 0) throw new MeshInputError(`label ${l} is not a uint64`);
  return l;
}

/**
 * Converts a doubled grid coordinate (2 * position in voxels from the
 * dataset origin, or from the cutout corner when no `origin` is used) to
 * physical units, rounded to float32 exactly as mesh vertices are.
 */
export function doubledToPhysical(d: number, resolution: number, offset: number): number {
  return Math.fround(offset + d * (resolution * 0.5));
}

function checkVec3(v: Vec3, what: string, integers: boolean): void {
  if (
    !Array.isArray(v) ||
    v.length !== 3 ||
    !v.every((x) => (integers ? Number.isSafeInteger(x) : Number.isFinite(x)))
  )
    throw new MeshInputError(
      `${what} must be three ${integers ? "integers" : "finite numbers"}, got [${Array.isArray(v) ? v.join(", ") : String(v)}]`,
    );
}

/** Dense labels at or above this are written escaped (lowered by tests to reach that path). */
let escapeFrom = L_ESC;

/** @internal Test hook: write dense labels from `n` up escaped (default and maximum 2^23 - 1). */
export function setLabelEscapeForTesting(n = L_ESC): void {
  escapeFrom = Math.min(n, L_ESC);
}

/** Largest padded cutout: cube indices are stored as 32-bit words. */
const MAX_VOXELS = 2 ** 32;
/** Vertex ids stay below 2^31 with room for one more chunk's worth. */
const MAX_VERTICES = 2 ** 31 - 2 * R_LEN;
/** An Int32Array whose contents are not zeroed first (every element used is written before it is read). */
function uninitInt32(n: number): Int32Array {
  const b = Buffer.allocUnsafeSlow(4 * n);
  return new Int32Array(b.buffer, b.byteOffset, n);
}

/**
 * Runs marching cubes over a label volume (x fastest, `shape` = [sx, sy, sz])
 * and returns the welded surfaces of every label, consistently oriented with
 * normals pointing out of the label.
 *
 * @example
 * ```ts
 * const surfaces = marchingCubes(labels, [64, 64, 64], { resolution: [8, 8, 8] });
 * for (const [label, mesh] of surfaces.meshes()) console.log(label, mesh.faces.length / 3);
 * ```
 */
export function marchingCubes(
  input: MeshLabelArray,
  shape: Vec3,
  options: MarchingCubesOptions = {},
): LabelSurfaces {
  const [sx, sy, sz] = shape;
  if (!(sx > 0 && sy > 0 && sz > 0) || ![sx, sy, sz].every(Number.isInteger))
    throw new MeshInputError(`shape must be three positive integers, got [${shape.join(", ")}]`);
  if (input.length !== sx * sy * sz)
    throw new MeshInputError(
      `label array has ${input.length} voxels but shape [${shape.join(", ")}] needs ${sx * sy * sz}`,
    );
  const resolution = options.resolution ?? [1, 1, 1];
  const offset = options.offset ?? [0, 0, 0];
  const origin = options.origin ?? [0, 0, 0];
  if (resolution.length !== 3 || !resolution.every((r) => r > 0 && Number.isFinite(r)))
    throw new MeshInputError(
      `resolution must be three positive numbers, got [${resolution.join(", ")}]`,
    );
  checkVec3(offset, "offset", false);
  checkVec3(origin, "origin", true);
  const close = toFaceFlags(options.close);
  const pad = Int32Array.from(close, (c) => (c ? 1 : 0));
  const include = options.labels ? new Set([...options.labels].map(labelKey)) : null;
  const exclude = new Set([...(options.exclude ?? [])].map(labelKey));

  // Unpadded 8/16/32-bit input is read as it is: cubes compare the raw
  // labels and only the labels of surface cubes are numbered (on the fly).
  // Otherwise the labels are first renumbered into a padded copy.
  const direct =
    !(input instanceof BigUint64Array || input instanceof BigInt64Array) &&
    !pad.some((p) => p !== 0);
  let D: Uint8Array | Uint16Array | Uint32Array;
  let denseLabels: Label[];
  if (direct) {
    D = unsignedView(
      input as Uint8Array | Uint16Array | Uint32Array | Int8Array | Int16Array | Int32Array,
    );
    denseLabels = [0];
  } else ({ data: D, labels: denseLabels } = densify(input, shape, pad, include, exclude));
  const px = sx + pad[0] + pad[1];
  const py = sy + pad[2] + pad[3];
  const pz = sz + pad[4] + pad[5];
  const pxy = px * py;
  if (pxy * pz > MAX_VOXELS)
    throw new MeshInputError(
      `cutout of ${px} x ${py} x ${pz} voxels (with closing padding) is over the 2^32-voxel limit of one marching-cubes call; mesh it in smaller blocks`,
    );
  const esc = escapeFrom;

  // Welding: every grid edge between two voxel centres carries at most two
  // vertices, one for the label of each end. Slot 0 holds the vertex of the
  // low voxel's label, slot 1 that of the high voxel's label. Only the edges
  // of the current slab of cubes are kept: x/y edges of planes z and z+1 and
  // z edges of plane z, interleaved per grid position (x, y): 10 ints, the
  // x and y edges (2 slots each) of two planes and the z edge, so that a
  // cube's edges lie in two short runs of memory. The two planes swap roles
  // from slab to slab and are reused without clearing: vertex ids only grow,
  // so an id is current only if it was made since the region was last reused
  // (`edgeMin`).
  const EB = new Int32Array(10 * pxy).fill(-1);
  let planeLo = 0;
  let planeHi = 4;
  const planeZ = 8;
  const relOff = new Int32Array(12);
  const caseRel = new Int32Array(CASE_EDGES.length);
  const edgeMin = new Int32Array(12);
  let slabStart = 0;
  const edgeDx = new Int32Array(12);
  const edgeDy = new Int32Array(12);
  const edgeDz = new Int32Array(12);
  for (let e = 0; e < 12; e++) {
    const c = LOW_CORNER[e];
    edgeDx[e] = c & 1;
    edgeDy[e] = (c >> 1) & 1;
    edgeDz[e] = (c >> 2) & 1;
  }

  // The record stream, in fixed-size chunks: no copying as it grows.
  let rc = uninitInt32(R_LEN);
  const chunks = [rc];
  const lengths: number[] = [];
  let r = 0;
  let vcount = 0;
  const cv = new Uint32Array(8);
  // Per case edge entry: the smallest vertex id current on it this slab.
  const caseMin = new Int32Array(CASE_EDGES.length);
  const padX = pad[0];
  const padY = pad[2];
  const padZ = pad[4];
  // Doubled vertex coordinates relative to 2 * (cube corner): the edge's low
  // corner, minus the padding, plus the half step along the edge's axis.
  const edgeD2x = Int32Array.from(
    { length: 12 },
    (_, e) => 2 * (edgeDx[e] - padX) + (e >> 2 === 0 ? 2 : 1),
  );
  const edgeD2y = Int32Array.from(
    { length: 12 },
    (_, e) => 2 * (edgeDy[e] - padY) + (e >> 2 === 1 ? 2 : 1),
  );
  const edgeD2z = Int32Array.from(
    { length: 12 },
    (_, e) => 2 * (edgeDz[e] - padZ) + (e >> 2 === 2 ? 2 : 1),
  );

  // Direct mode: raw label -> dense id (0 = not meshed), numbered in order of
  // discovery through an open-addressing table.
  let hbits = 10;
  let hkeys = new Uint32Array(1 << hbits);
  let hvals = new Int32Array(1 << hbits).fill(-1);
  let hcount = 0;
  const rawOf: Label[] = [0];
  const wanted = (key: number) =>
    key !== 0 && !exclude.has(key) && (include === null || include.has(key));
  const hslot = (key: number): number => {
    const mask = (1 << hbits) - 1;
    let h = Math.imul(key, 0x9e3779b1) >>> (32 - hbits);
    while (hvals[h] >= 0 && hkeys[h] !== key) h = (h + 1) & mask;
    return h;
  };
  const denseId = (key: number): number => {
    let h = hslot(key);
    if (hvals[h] >= 0) return hvals[h];
    let id = 0;
    if (wanted(key)) {
      id = rawOf.push(key) - 1;
    }
    if (2 * (hcount + 1) > 1 << hbits) {
      const ok = hkeys;
      const ov = hvals;
      hbits++;
      hkeys = new Uint32Array(1 << hbits);
      hvals = new Int32Array(1 << hbits).fill(-1);
      for (let j = 0; j < ov.length; j++)
        if (ov[j] >= 0) {
          const k = hslot(ok[j]);
          hkeys[k] = ok[j];
          hvals[k] = ov[j];
        }
      h = hslot(key);
    }
    hkeys[h] = key;
    hvals[h] = id;
    hcount++;
    return id;
  };
  let lastRaw = -1;
  let lastId = 0;
  const cornerOff = Int32Array.from(
    { length: 8 },
    (_, c) => (c & 1) + ((c >> 1) & 1) * px + ((c >> 2) & 1) * pxy,
  );

  for (let Z = 0; Z + 1 < pz; Z++) {
    // Plane z's x/y edges were made during the previous slab; plane z+1's and
    // the z edges are made during this one.
    const prevStart = slabStart;
    slabStart = vcount;
    if (Z > 0) {
      const t = planeLo;
      planeLo = planeHi;
      planeHi = t;
    }
    for (let e = 0; e < 12; e++) {
      const axis = e >> 2;
      const low = axis !== 2 && edgeDz[e] === 0;
      const region = axis === 2 ? planeZ : low ? planeLo : planeHi;
      relOff[e] = region + 10 * (edgeDy[e] * px + edgeDx[e]) + (axis < 2 ? 2 * axis : 0);
      edgeMin[e] = low ? prevStart : slabStart;
    }
    // Per case edge entry: its vertex slot's offset from the cube's address.
    for (let k = 0; k < caseRel.length; k++) {
      caseRel[k] = relOff[CASE_EDGES[k]] + CASE_SLOTS[k];
      caseMin[k] = edgeMin[CASE_EDGES[k]];
    }
    for (let Y = 0; Y + 1 < py; Y++) {
      let i = (Z * py + Y) * px;
      let v0 = D[i];
      let v2 = D[i + px];
      let v4 = D[i + pxy];
      let v6 = D[i + pxy + px];
      // Whether v0, v2, v4, v6 are equal (the previous cube's x-high face):
      // then a cube is uniform after four comparisons instead of seven.
      let flat = v0 === v2 && v0 === v4 && v0 === v6;
      const rowEnd = i + px;
      for (let X = 0; X + 1 < px; X++, i++) {
        if (flat) {
          // Skip the run of uniform cubes at once: corners 0, 2, 4, 6 of the
          // cube at i all hold v0; find the first cube whose x-high face differs.
          let j = i + 1;
          while (
            j < rowEnd &&
            D[j] === v0 &&
            D[j + px] === v0 &&
            D[j + pxy] === v0 &&
            D[j + pxy + px] === v0
          )
            j++;
          if (j === rowEnd) break;
          X += j - 1 - i;
          i = j - 1;
        }
        const v1 = D[i + 1];
        const v3 = D[i + 1 + px];
        const v5 = D[i + 1 + pxy];
        const v7 = D[i + 1 + pxy + px];
        flat = v1 === v3 && v1 === v5 && v1 === v7;
        cv[0] = v0;
        cv[1] = v1;
        cv[2] = v2;
        cv[3] = v3;
        cv[4] = v4;
        cv[5] = v5;
        cv[6] = v6;
        cv[7] = v7;
        const cubeAddr = 10 * (Y * px + X);
        // Visit each distinct label once: `done` marks corners already
        // handled, starting with the background ones.
        let done =
          (v0 === 0 ? 1 : 0) |
          (v1 === 0 ? 2 : 0) |
          (v2 === 0 ? 4 : 0) |
          (v3 === 0 ? 8 : 0) |
          (v4 === 0 ? 16 : 0) |
          (v5 === 0 ? 32 : 0) |
          (v6 === 0 ? 64 : 0) |
          (v7 === 0 ? 128 : 0);
        while (done !== 255) {
          const free = ~done & 255;
          const c0 = 31 - Math.clz32(free & -free);
          let L = cv[c0];
          const cs =
            (v0 === L ? 1 : 0) |
            (v1 === L ? 2 : 0) |
            (v2 === L ? 4 : 0) |
            (v3 === L ? 8 : 0) |
            (v4 === L ? 16 : 0) |
            (v5 === L ? 32 : 0) |
            (v6 === L ? 64 : 0) |
            (v7 === L ? 128 : 0);
          done |= cs;
          if (direct) {
            if (L !== lastRaw) {
              lastRaw = L;
              lastId = denseId(L);
            }
            L = lastId;
            if (L === 0) continue;
          }
          if (r > R_LEN - R_MAX) {
            if (vcount > MAX_VERTICES)
              throw new MeshInputError(
                `cutout of ${px} x ${py} x ${pz} voxels has over 2^31 surface vertices; mesh it in smaller blocks`,
              );
            lengths.push(r);
            rc = uninitInt32(R_LEN);
            chunks.push(rc);
            r = 0;
          }
          rc[r] = i;
          if (L < esc) {
            rc[r + 1] = (L << 8) | cs;
            r += 2;
          } else {
            rc[r + 1] = (L_ESC << 8) | cs;
            rc[r + 2] = L;
            r += 3;
          }
          const ee = CASE_EDGE_START[cs + 1];
          for (let k = CASE_EDGE_START[cs]; k < ee; k++) {
            const addr = cubeAddr + caseRel[k];
            let vid = EB[addr];
            if (vid < caseMin[k]) {
              vid = vcount++;
              EB[addr] = vid;
            }
            rc[r++] = vid;
          }
        }
        v0 = v1;
        v2 = v3;
        v4 = v5;
        v6 = v7;
      }
    }
  }
  lengths.push(r);
  let id0 = 0;
  if (direct) {
    const h0 = hslot(D[0]);
    if (hvals[h0] > 0) id0 = hvals[h0];
    denseLabels = rawOf;
  }
  return new LabelSurfaces(
    denseLabels,
    chunks,
    lengths,
    vcount,
    {
      px,
      pxy,
      edgeD2x,
      edgeD2y,
      edgeD2z,
      origin2: [2 * origin[0], 2 * origin[1], 2 * origin[2]],
      cornerOff,
      direct,
      id0,
    },
    [resolution[0], resolution[1], resolution[2]],
    [offset[0], offset[1], offset[2]],
  );
}

/**
 * The planes on which {@link simplifyMesh} must keep vertices fixed for meshes
 * of a cutout: for each open face, the plane through the centres of the
 * outermost voxels (where surfaces of neighbouring cutouts meet); `NaN` for
 * closed faces. Pass the result as `simplifyMesh(mesh, { locked })`.
 */
export function cutoutLockedPlanes(
  shape: Vec3,
  options: Pick<MarchingCubesOptions, "resolution" | "offset" | "origin" | "close"> = {},
): { min: Vec3; max: Vec3 } {
  const res = options.resolution ?? [1, 1, 1];
  const off = options.offset ?? [0, 0, 0];
  const o = options.origin ?? [0, 0, 0];
  const close = toFaceFlags(options.close);
  const min: Vec3 = [0, 0, 0];
  const max: Vec3 = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    min[a] = close[2 * a] ? Number.NaN : doubledToPhysical(2 * o[a] + 1, res[a], off[a]);
    max[a] = close[2 * a + 1]
      ? Number.NaN
      : doubledToPhysical(2 * (o[a] + shape[a]) - 1, res[a], off[a]);
  }
  return { min, max };
}
