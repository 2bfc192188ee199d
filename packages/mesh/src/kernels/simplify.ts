/**
 * Quadric-error mesh simplification (Garland & Heckbert 1997): repeatedly
 * collapse the edge whose merged vertex is closest, in summed squared distance,
 * to the planes of the original triangles around it.
 *
 * The error of a collapse is the quadric error at the new vertex position,
 * summed over the planes of every original triangle that the merged vertex
 * stands for. Simplification stops when the face count has reached
 * `faces / reductionFactor` or when the cheapest collapse costs more than the
 * error bound, whichever comes first. Two error measures are offered:
 *
 * - `"distance"` (default): every plane counts once and the summed squared
 *   distance is compared with `maxError^2`, so no vertex ends up further than
 *   `maxError` (physical units) from any original triangle plane it stands
 *   for. On the benchmark segmentation this gives face counts close to those
 *   Igneous reports for `max_simplification_error=40`.
 * - `"zmesh"`: the formula of zmesh's simplifier (zi::mesh) as its source
 *   reads: each plane weighted by twice the length of its triangle's cross
 *   product, in zmesh's internal coordinates (twice the physical ones), with
 *   the sum compared with `maxError` itself. In physical units:
 *   `64 * sum(area_f * dist_f^2) <= maxError`, a far stricter bound.
 *
 * Like zmesh, collapses that would leave a vertex with 15 or more neighbours
 * or a triangle less compact than 0.05 (4√3·area / Σ edge², 1 for an
 * equilateral triangle) are refused.
 *
 * Vertices on locked planes (the open faces of a cutout) never move, so that
 * fragments of neighbouring cutouts still meet exactly. Collapses that would
 * make the surface non-manifold (link condition) or flip a triangle are
 * refused. The result is deterministic: the same input gives the same output.
 */

import { MeshInputError } from "../errors";
import type { Mesh, Vec3 } from "../types";

/** Options of {@link simplifyMesh}. */
export interface SimplifyOptions {
  /**
   * Try to divide the number of triangles by this factor (Igneous default 100).
   * 0 or 1 disables simplification.
   */
  reductionFactor?: number;
  /** Error bound, in physical units (default 40); see `errorMetric`. */
  maxError?: number;
  /** How collapse errors are measured and compared with `maxError` (default `"distance"`). */
  errorMetric?: "zmesh" | "distance";
  /**
   * Axis-aligned planes whose vertices must not move: a vertex is locked when
   * any of its coordinates equals `min[a]` or `max[a]` exactly (float32
   * comparison). Use `NaN` for "no plane". See `cutoutLockedPlanes`.
   */
  locked?: { min: Vec3; max: Vec3 };
}

/** Smallest allowed 4√3·area / Σ edge² of a triangle made by a collapse (zmesh's value). */
const MIN_COMPACTNESS = 0.05;
/** A collapse may not leave a vertex with this many neighbours or more (zmesh's value). */
const MAX_VALENCE = 15;
const TWO_SQRT3 = 2 * Math.sqrt(3);

/** Value of the quadric (a^2 ab ac ad b^2 bc bd c^2 cd d^2) at (x, y, z). */
function quadricError(
  q0: number,
  q1: number,
  q2: number,
  q3: number,
  q4: number,
  q5: number,
  q6: number,
  q7: number,
  q8: number,
  q9: number,
  x: number,
  y: number,
  z: number,
): number {
  return (
    q0 * x * x +
    2 * q1 * x * y +
    2 * q2 * x * z +
    2 * q3 * x +
    q4 * y * y +
    2 * q5 * y * z +
    2 * q6 * y +
    q7 * z * z +
    2 * q8 * z +
    q9
  );
}

/**
 * Whether moving vertex r of live face (r, b, d) to (x, y, z), while
 * collapsing edge (r, keep) (not in this face), keeps the face unflipped and
 * compact enough.
 */
function faceOk(
  P: Float64Array,
  locked: Uint8Array,
  r: number,
  b: number,
  d: number,
  keep: number,
  x: number,
  y: number,
  z: number,
): boolean {
  // Moving onto a locked vertex must not make a triangle of locked
  // vertices only: it would lie in the shared plane, where the
  // neighbouring cutout's surface may lie down too and overlap it.
  if (locked[keep] && locked[b] && locked[d]) return false;
  const pr = 3 * r;
  const pb = 3 * b;
  const pd = 3 * d;
  const rx = P[pr];
  const ry = P[pr + 1];
  const rz = P[pr + 2];
  const px = P[pb];
  const py = P[pb + 1];
  const pz = P[pb + 2];
  const qx = P[pd];
  const qy = P[pd + 1];
  const qz = P[pd + 2];
  const bx = px - rx;
  const by = py - ry;
  const bz = pz - rz;
  const dx = qx - rx;
  const dy = qy - ry;
  const dz = qz - rz;
  const n0x = by * dz - bz * dy;
  const n0y = bz * dx - bx * dz;
  const n0z = bx * dy - by * dx;
  const b2x = px - x;
  const b2y = py - y;
  const b2z = pz - z;
  const d2x = qx - x;
  const d2y = qy - y;
  const d2z = qz - z;
  const n1x = b2y * d2z - b2z * d2y;
  const n1y = b2z * d2x - b2x * d2z;
  const n1z = b2x * d2y - b2y * d2x;
  const dot = n0x * n1x + n0y * n1y + n0z * n1z;
  const n1 = n1x * n1x + n1y * n1y + n1z * n1z;
  const n0 = n0x * n0x + n0y * n0y + n0z * n0z;
  if (dot <= 0 || n1 <= 1e-12 * n0) return false;
  // Compactness 4√3·area / Σ edge² of the new triangle (area = |n1| / 2).
  const ex = px - qx;
  const ey = py - qy;
  const ez = pz - qz;
  const sum =
    b2x * b2x +
    b2y * b2y +
    b2z * b2z +
    d2x * d2x +
    d2y * d2y +
    d2z * d2z +
    ex * ex +
    ey * ey +
    ez * ez;
  return !(TWO_SQRT3 * Math.sqrt(n1) < MIN_COMPACTNESS * sum);
}

/**
 * Working memory reused from call to call (the kernel is synchronous and
 * returns fresh arrays), so that simplifying thousands of small meshes does
 * not allocate and fault in new pages each time.
 */
const pool = {
  f64: new Map<string, Float64Array>(),
  i32: new Map<string, Int32Array>(),
  u8: new Map<string, Uint8Array>(),
};
function f64(name: string, n: number): Float64Array {
  const a = pool.f64.get(name);
  if (a && a.length >= n) return a;
  const b = new Float64Array(Math.max(n, 2 * (a?.length ?? 0)));
  pool.f64.set(name, b);
  return b;
}
function i32(name: string, n: number): Int32Array {
  const a = pool.i32.get(name);
  if (a && a.length >= n) return a;
  const b = new Int32Array(Math.max(n, 2 * (a?.length ?? 0)));
  pool.i32.set(name, b);
  return b;
}
function u8(name: string, n: number): Uint8Array {
  const a = pool.u8.get(name);
  if (a && a.length >= n) return a;
  const b = new Uint8Array(Math.max(n, 2 * (a?.length ?? 0)));
  pool.u8.set(name, b);
  return b;
}

/**
 * Simplifies a triangle mesh by quadric edge collapse. Returns a new mesh;
 * the input is not modified. Deterministic: the same input gives the same
 * output bytes.
 *
 * @example
 * ```ts
 * const locked = cutoutLockedPlanes(shape, { resolution, offset });
 * const simple = simplifyMesh(mesh, { reductionFactor: 100, maxError: 40, locked });
 * ```
 */
export function simplifyMesh(mesh: Mesh, options: SimplifyOptions = {}): Mesh {
  const factor = options.reductionFactor ?? 100;
  const maxError = options.maxError ?? 40;
  if (!(factor >= 0) || !(maxError >= 0))
    throw new MeshInputError(
      `reductionFactor and maxError must be >= 0, got ${factor} and ${maxError}`,
    );
  const metric = options.errorMetric ?? "distance";
  const zmeshMetric = metric === "zmesh";
  if (!zmeshMetric && metric !== "distance")
    throw new MeshInputError(`unknown errorMetric ${JSON.stringify(options.errorMetric)}`);
  const nv = mesh.vertices.length / 3;
  const nf = mesh.faces.length / 3;
  if (!Number.isInteger(nv) || !Number.isInteger(nf))
    throw new MeshInputError("mesh arrays must hold whole vertices and triangles");
  for (let i = 0; i < mesh.faces.length; i++)
    if (mesh.faces[i] >= nv)
      throw new MeshInputError(`face index ${mesh.faces[i]} out of range (${nv} vertices)`);
  if (factor <= 1 || nf === 0)
    return { vertices: mesh.vertices.slice(), faces: mesh.faces.slice() };
  const target = Math.floor(nf / factor);
  const maxErr2 = zmeshMetric ? maxError : maxError * maxError;
  // Costs this small are rounding noise of exactly coplanar collapses.
  const zeroCost = 1e-9 * maxErr2;

  const V = mesh.vertices;
  // Work relative to the first vertex: keeps the quadric arithmetic precise
  // far from the dataset origin.
  const ox = V[0];
  const oy = V[1];
  const oz = V[2];
  const P = f64("P", 3 * nv);
  for (let i = 0; i < nv; i++) {
    P[3 * i] = V[3 * i] - ox;
    P[3 * i + 1] = V[3 * i + 1] - oy;
    P[3 * i + 2] = V[3 * i + 2] - oz;
  }
  const locked = u8("locked", nv);
  locked.fill(0, 0, nv);
  if (options.locked) {
    const lo = options.locked.min.map(Math.fround);
    const hi = options.locked.max.map(Math.fround);
    for (let i = 0; i < nv; i++)
      for (let a = 0; a < 3; a++) {
        const c = V[3 * i + a];
        if (c === lo[a] || c === hi[a]) {
          locked[i] = 1;
          break;
        }
      }
  }
  const moved = u8("moved", nv);
  moved.fill(0, 0, nv);
  const F = i32("F", 3 * nf);
  F.set(mesh.faces);
  const falive = u8("falive", nf);
  falive.fill(1, 0, nf);
  let faceCount = nf;

  // Corner lists: corner c = 3 * face + k, linked per vertex through `next`.
  const head = i32("head", nv);
  const tail = i32("tail", nv);
  head.fill(-1, 0, nv);
  const next = i32("next", 3 * nf);
  for (let c = 3 * nf - 1; c >= 0; c--) {
    const w = F[c];
    if (head[w] < 0) tail[w] = c;
    next[c] = head[w];
    head[w] = c;
  }

  // Quadrics: a^2 ab ac ad b^2 bc bd c^2 cd d^2 per vertex.
  const Q = f64("Q", 10 * nv);
  Q.fill(0, 0, 10 * nv);
  for (let f = 0; f < nf; f++) {
    const a = 3 * F[3 * f];
    const b = 3 * F[3 * f + 1];
    const c = 3 * F[3 * f + 2];
    const ux = P[b] - P[a];
    const uy = P[b + 1] - P[a + 1];
    const uz = P[b + 2] - P[a + 2];
    const wx = P[c] - P[a];
    const wy = P[c + 1] - P[a + 1];
    const wz = P[c + 2] - P[a + 2];
    let nx = uy * wz - uz * wy;
    let ny = uz * wx - ux * wz;
    let nz = ux * wy - uy * wx;
    const len = Math.sqrt(nx * nx + ny * ny + nz * nz);
    if (len === 0) continue;
    nx /= len;
    ny /= len;
    nz /= len;
    const d = -(nx * P[a] + ny * P[a + 1] + nz * P[a + 2]);
    // zmesh weights a plane by 2 |cross| in its doubled coordinates, where
    // squared distances are 4x: 2 * 4 |cross| * 4 = 32 |cross| (physical).
    const w = zmeshMetric ? 32 * len : 1;
    for (let k = 0; k < 3; k++) {
      const q = 10 * F[3 * f + k];
      Q[q] += w * nx * nx;
      Q[q + 1] += w * nx * ny;
      Q[q + 2] += w * nx * nz;
      Q[q + 3] += w * nx * d;
      Q[q + 4] += w * ny * ny;
      Q[q + 5] += w * ny * nz;
      Q[q + 6] += w * ny * d;
      Q[q + 7] += w * nz * nz;
      Q[q + 8] += w * nz * d;
      Q[q + 9] += w * d * d;
    }
  }

  const stamp = i32("stamp", nv);
  stamp.fill(0, 0, nv);

  // Candidate collapses: entry id -> (u, v, stamps of u and v when computed,
  // next entry in its queue bucket) in EI and the target position in EF.
  // Popped entries go back on a free list (linked through the "next" field),
  // so the entries in use stay few and warm in the cache.
  const want = Math.max(64, 2 * nf);
  let EI = i32("EI", 5 * want);
  let EF = f64("EF", 3 * want);
  let cap = Math.min(EI.length / 5, EF.length / 3);
  let ecount = 0;
  let freeHead = -1;

  // Candidates wait in a bucket queue ordered by error: bucket 0 holds the
  // free collapses of flat regions, buckets 1..NB split (0, maxError] evenly
  // in distance (sqrt of the quadric error), each first-in first-out. Popping
  // is O(1) instead of a heap's O(log n); collapses within one bucket (errors
  // within maxError / NB of each other) are taken in the order they were
  // found. Stale candidates (an end vertex changed since) are skipped.
  const NB = 4096;
  const bhead = i32("bhead", NB + 1);
  const btail = i32("btail", NB + 1);
  bhead.fill(-1, 0, NB + 1);
  btail.fill(-1, 0, NB + 1);
  let minBucket = NB + 1;

  // Edges waiting to be costed and queued, as pairs (u, v): all edges at
  // first, then the edges around each merged vertex. Costing happens inline
  // at the top of the main loop, in the order the edges were listed.
  let WL = i32("WL", Math.max(64, 6 * nf));
  let wn = 0;
  for (let f = 0; f < nf; f++)
    for (let k = 0; k < 3; k++) {
      const a = F[3 * f + k];
      const b = F[3 * f + (k === 2 ? 0 : k + 1)];
      if (a < b) {
        WL[wn++] = a;
        WL[wn++] = b;
      }
    }

  const mark = i32("mark", nv);
  const mark2 = i32("mark2", nv);
  mark.fill(0, 0, nv);
  mark2.fill(0, 0, nv);
  let epoch = 0;

  for (;;) {
    // Cost the waiting edges: the best collapse of each, queued unless it
    // may not collapse or costs more than the bound.
    for (let w = 0; w < wn; w += 2) {
      const u = WL[w];
      const v = WL[w + 1];
      const lu = locked[u];
      const lv = locked[v];
      if (lu && lv) continue;
      const qu = 10 * u;
      const qv = 10 * v;
      const q0 = Q[qu] + Q[qv];
      const q1 = Q[qu + 1] + Q[qv + 1];
      const q2 = Q[qu + 2] + Q[qv + 2];
      const q3 = Q[qu + 3] + Q[qv + 3];
      const q4 = Q[qu + 4] + Q[qv + 4];
      const q5 = Q[qu + 5] + Q[qv + 5];
      const q6 = Q[qu + 6] + Q[qv + 6];
      const q7 = Q[qu + 7] + Q[qv + 7];
      const q8 = Q[qu + 8] + Q[qv + 8];
      const q9 = Q[qu + 9] + Q[qv + 9];
      const pu = 3 * u;
      const pv = 3 * v;
      const ux = P[pu];
      const uy = P[pu + 1];
      const uz = P[pu + 2];
      const vx = P[pv];
      const vy = P[pv + 1];
      const vz = P[pv + 2];
      let x: number;
      let y: number;
      let z: number;
      let cost: number;
      if (lu || lv) {
        x = lu ? ux : vx;
        y = lu ? uy : vy;
        z = lu ? uz : vz;
        cost = quadricError(q0, q1, q2, q3, q4, q5, q6, q7, q8, q9, x, y, z);
      } else {
        const c00 = q4 * q7 - q5 * q5;
        const c01 = q2 * q5 - q1 * q7;
        const c02 = q1 * q5 - q2 * q4;
        const det = q0 * c00 + q1 * c01 + q2 * c02;
        const tr = q0 + q4 + q7;
        const mx = 0.5 * (ux + vx);
        const my = 0.5 * (uy + vy);
        const mz = 0.5 * (uz + vz);
        let ok = false;
        x = mx;
        y = my;
        z = mz;
        if (Math.abs(det) > 1e-9 * tr * tr * tr) {
          const c11 = q0 * q7 - q2 * q2;
          const c12 = q1 * q2 - q0 * q5;
          const c22 = q0 * q4 - q1 * q1;
          const r0 = -q3;
          const r1 = -q6;
          const r2 = -q8;
          x = (c00 * r0 + c01 * r1 + c02 * r2) / det;
          y = (c01 * r0 + c11 * r1 + c12 * r2) / det;
          z = (c02 * r0 + c12 * r1 + c22 * r2) / det;
          // Distrust an optimum far from the edge (nearly singular quadric).
          const ex = ux - vx;
          const ey = uy - vy;
          const ez = uz - vz;
          const dx = x - mx;
          const dy = y - my;
          const dz = z - mz;
          ok = dx * dx + dy * dy + dz * dz <= ex * ex + ey * ey + ez * ez;
        }
        if (ok) cost = quadricError(q0, q1, q2, q3, q4, q5, q6, q7, q8, q9, x, y, z);
        else {
          x = mx;
          y = my;
          z = mz;
          cost = quadricError(q0, q1, q2, q3, q4, q5, q6, q7, q8, q9, mx, my, mz);
          const cu = quadricError(q0, q1, q2, q3, q4, q5, q6, q7, q8, q9, ux, uy, uz);
          if (cu < cost) {
            cost = cu;
            x = ux;
            y = uy;
            z = uz;
          }
          const cv = quadricError(q0, q1, q2, q3, q4, q5, q6, q7, q8, q9, vx, vy, vz);
          if (cv < cost) {
            cost = cv;
            x = vx;
            y = vy;
            z = vz;
          }
        }
      }
      let bucket = 0;
      if (cost > zeroCost) {
        if (cost > maxErr2) continue;
        bucket = Math.min(NB, 1 + Math.floor(NB * Math.sqrt(cost / maxErr2)));
      }
      let id = freeHead;
      if (id >= 0) freeHead = EI[5 * id + 4];
      else {
        if (ecount === cap) {
          const n = 2 * cap;
          const bi = i32("EI", 5 * n);
          if (bi !== EI) bi.set(EI.subarray(0, 5 * cap));
          const bf = f64("EF", 3 * n);
          if (bf !== EF) bf.set(EF.subarray(0, 3 * cap));
          EI = bi;
          EF = bf;
          cap = n;
        }
        id = ecount++;
      }
      const ii = 5 * id;
      EI[ii] = u;
      EI[ii + 1] = v;
      EI[ii + 2] = stamp[u];
      EI[ii + 3] = stamp[v];
      EI[ii + 4] = -1;
      const fi = 3 * id;
      EF[fi] = x;
      EF[fi + 1] = y;
      EF[fi + 2] = z;
      const t = btail[bucket];
      if (t < 0) bhead[bucket] = id;
      else EI[5 * t + 4] = id;
      btail[bucket] = id;
      if (bucket < minBucket) minBucket = bucket;
    }
    wn = 0;
    if (faceCount <= target) break;
    while (minBucket <= NB && bhead[minBucket] < 0) minBucket++;
    if (minBucket > NB) break;
    const id = bhead[minBucket];
    const ii = 5 * id;
    const nextId = EI[ii + 4];
    bhead[minBucket] = nextId;
    if (nextId < 0) btail[minBucket] = -1;
    let s = EI[ii];
    let r = EI[ii + 1];
    const fresh = stamp[s] === EI[ii + 2] && stamp[r] === EI[ii + 3];
    EI[ii + 4] = freeHead;
    freeHead = id;
    if (!fresh) continue;
    if (locked[r]) {
      const t = s;
      s = r;
      r = t;
    }
    const x = EF[3 * id];
    const y = EF[3 * id + 1];
    const z = EF[3 * id + 2];

    // Link condition: the common neighbours of s and r must be exactly the
    // third vertices of the faces they share. The same walks check the faces
    // that move (those of r, and of s unless it is locked, not containing the
    // edge) for flips and compactness; any failure refuses the collapse.
    epoch++;
    let degS = 0;
    let facesS = 0;
    let ok = true;
    const moveS = !locked[s];
    for (let c = head[s]; c >= 0; c = next[c]) {
      const f = (c / 3) | 0;
      if (!falive[f]) continue;
      const k = c - 3 * f;
      const b = F[3 * f + (k === 2 ? 0 : k + 1)];
      const d = F[3 * f + (k === 0 ? 2 : k - 1)];
      facesS++;
      if (mark[b] !== epoch) {
        mark[b] = epoch;
        degS++;
      }
      if (mark[d] !== epoch) {
        mark[d] = epoch;
        degS++;
      }
      if (moveS && b !== r && d !== r && !faceOk(P, locked, s, b, d, r, x, y, z)) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    let degR = 0;
    let facesR = 0;
    let common = 0;
    let shared = 0;
    for (let c = head[r]; c >= 0; c = next[c]) {
      const f = (c / 3) | 0;
      if (!falive[f]) continue;
      const k = c - 3 * f;
      const b = F[3 * f + (k === 2 ? 0 : k + 1)];
      const d = F[3 * f + (k === 0 ? 2 : k - 1)];
      if (b === s || d === s) shared++;
      else if (!faceOk(P, locked, r, b, d, s, x, y, z)) {
        ok = false;
        break;
      }
      facesR++;
      if (mark2[b] !== epoch) {
        mark2[b] = epoch;
        degR++;
        if (mark[b] === epoch) common++;
      }
      if (mark2[d] !== epoch) {
        mark2[d] = epoch;
        degR++;
        if (mark[d] === epoch) common++;
      }
    }
    if (!ok) continue;
    // A vertex whose fan of faces is open (on the surface's border) has one
    // neighbour more than faces. Two border vertices joined by an interior
    // edge would pinch the surface into one vertex with two separate fans:
    // not a manifold collapse.
    if (degS > facesS && degR > facesR && shared !== 1) continue;
    const valence = degS - 1 + (degR - 1) - common;
    if (shared === 0 || common !== shared || valence < 3 || valence >= MAX_VALENCE) continue;

    // Collapse r into s.
    for (let c = head[r]; c >= 0; c = next[c]) {
      const f = (c / 3) | 0;
      if (!falive[f]) continue;
      const k = c - 3 * f;
      const b = F[3 * f + (k === 2 ? 0 : k + 1)];
      const d = F[3 * f + (k === 0 ? 2 : k - 1)];
      if (b === s || d === s) {
        falive[f] = 0;
        faceCount--;
      } else F[c] = s;
    }
    if (head[r] >= 0) {
      if (head[s] < 0) head[s] = head[r];
      else next[tail[s]] = head[r];
      tail[s] = tail[r];
    }
    head[r] = -1;
    stamp[r] = -1;
    stamp[s]++;
    if (!locked[s]) {
      const ps = 3 * s;
      P[ps] = x;
      P[ps + 1] = y;
      P[ps + 2] = z;
      moved[s] = 1;
    }
    const qs0 = 10 * s;
    const qr0 = 10 * r;
    for (let k = 0; k < 10; k++) Q[qs0 + k] += Q[qr0 + k];

    // Drop dead corners from s's list and queue the new collapses around s.
    epoch++;
    let prev = -1;
    for (let c = head[s]; c >= 0; c = next[c]) {
      const f = (c / 3) | 0;
      if (!falive[f]) {
        if (prev < 0) head[s] = next[c];
        else next[prev] = next[c];
        continue;
      }
      prev = c;
      const k = c - 3 * f;
      const b = F[3 * f + (k === 2 ? 0 : k + 1)];
      const d = F[3 * f + (k === 0 ? 2 : k - 1)];
      if (mark[b] !== epoch) {
        mark[b] = epoch;
        if (wn + 2 > WL.length) {
          const nw = i32("WL", 2 * WL.length);
          if (nw !== WL) nw.set(WL.subarray(0, wn));
          WL = nw;
        }
        WL[wn++] = s;
        WL[wn++] = b;
      }
      if (mark[d] !== epoch) {
        mark[d] = epoch;
        if (wn + 2 > WL.length) {
          const nw = i32("WL", 2 * WL.length);
          if (nw !== WL) nw.set(WL.subarray(0, wn));
          WL = nw;
        }
        WL[wn++] = s;
        WL[wn++] = d;
      }
    }
    tail[s] = prev;
    if (prev < 0) head[s] = -1;
  }

  // Output live faces and the vertices they use, in index order.
  const remap = i32("remap", nv);
  remap.fill(-1, 0, nv);
  for (let f = 0; f < nf; f++) if (falive[f]) for (let k = 0; k < 3; k++) remap[F[3 * f + k]] = 0;
  let count = 0;
  for (let i = 0; i < nv; i++) if (remap[i] === 0) remap[i] = count++;
  const vertices = new Float32Array(3 * count);
  for (let i = 0; i < nv; i++) {
    const j = remap[i];
    if (j < 0) continue;
    if (moved[i]) {
      vertices[3 * j] = P[3 * i] + ox;
      vertices[3 * j + 1] = P[3 * i + 1] + oy;
      vertices[3 * j + 2] = P[3 * i + 2] + oz;
    } else {
      vertices[3 * j] = V[3 * i];
      vertices[3 * j + 1] = V[3 * i + 1];
      vertices[3 * j + 2] = V[3 * i + 2];
    }
  }
  const faces = new Uint32Array(3 * faceCount);
  let at = 0;
  for (let f = 0; f < nf; f++)
    if (falive[f]) {
      faces[at++] = remap[F[3 * f]];
      faces[at++] = remap[F[3 * f + 1]];
      faces[at++] = remap[F[3 * f + 2]];
    }
  return { vertices, faces };
}
