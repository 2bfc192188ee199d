/**
 * The plain JavaScript distance transform: the reference that the
 * WebAssembly kernel (edt-wasm.ts) is tested against, and the path for
 * labels it does not take (floats, 64-bit labels whose high words differ).
 * The algorithm is described in edt.ts.
 */
import type { DistanceLabels } from "./edt";

/**
 * Squared or plain distances of `labels` (already checked against `shape`),
 * `w*` the voxel size along each axis.
 */
export function distanceTransformJs(
  labels: DistanceLabels,
  [sx, sy, sz]: readonly [number, number, number],
  [wx, wy, wz]: readonly [number, number, number],
  blackBorder: boolean,
  squared: boolean,
): Float32Array {
  const n = sx * sy * sz;
  const out = new Float32Array(n);
  if (n === 0) return out;

  // One byte per voxel says where runs of equal label start along each axis,
  // so the passes below read one byte instead of one or two label words.
  const flags = new Uint8Array(n);
  if (labels instanceof BigUint64Array || labels instanceof BigInt64Array) {
    wideFlags(new Uint32Array(labels.buffer, labels.byteOffset, n * 2), flags, sx, sy, sz);
  } else {
    narrowFlags(labels, flags, sx, sy, sz);
  }

  passX(flags, out, sx, sy * sz, wx * wx, blackBorder);
  const s = new Scratch(Math.max(sy, sz));
  // A line one voxel long still matters with a black border (both ends are outside).
  for (let z = 0; z < sz; z++) {
    passAcross(flags, out, z * sx * sy, sx, sx, sy, wy * wy, SAME_Y, blackBorder, s);
  }
  for (let y = 0; y < sy; y++) {
    passAcross(flags, out, y * sx, sx, sx * sy, sz, wz * wz, SAME_Z, blackBorder, s);
  }
  if (!squared) {
    for (let i = 0; i < n; i++) out[i] = Math.sqrt(out[i]);
  }
  return out;
}

/** Flag bits: the label is 0; it equals the previous voxel's along x, y, z. */
const ZERO = 1;
const SAME_X = 2;
const SAME_Y = 4;
const SAME_Z = 8;

/**
 * Runs whose values all lie within NEAR_REACH^2 steps along the axis (in
 * units of w2) are transformed by direct search, the others by the envelope.
 */
const NEAR_REACH = 4;

/** Flags of labels read as numbers (8 to 32 bits, or floats). */
function narrowFlags(
  w: ArrayLike<number>,
  flags: Uint8Array,
  sx: number,
  sy: number,
  sz: number,
): void {
  const sxy = sx * sy;
  let i = 0;
  for (let z = 0; z < sz; z++) {
    for (let y = 0; y < sy; y++) {
      const hasY = y > 0;
      const hasZ = z > 0;
      for (let x = 0; x < sx; x++, i++) {
        const l = w[i];
        let f = l === 0 ? ZERO : 0;
        if (x > 0 && w[i - 1] === l) f |= SAME_X;
        if (hasY && w[i - sx] === l) f |= SAME_Y;
        if (hasZ && w[i - sxy] === l) f |= SAME_Z;
        flags[i] = f;
      }
    }
  }
}

/** Flags of 64-bit labels seen as (lo, hi) uint32 words. */
function wideFlags(w: Uint32Array, flags: Uint8Array, sx: number, sy: number, sz: number): void {
  const dy = 2 * sx;
  const dz = 2 * sx * sy;
  let i = 0;
  for (let z = 0; z < sz; z++) {
    for (let y = 0; y < sy; y++) {
      const hasY = y > 0;
      const hasZ = z > 0;
      for (let x = 0; x < sx; x++, i++) {
        const j = 2 * i;
        const lo = w[j];
        const hi = w[j + 1];
        let f = (lo | hi) === 0 ? ZERO : 0;
        if (x > 0 && w[j - 2] === lo && w[j - 1] === hi) f |= SAME_X;
        if (hasY && w[j - dy] === lo && w[j - dy + 1] === hi) f |= SAME_Y;
        if (hasZ && w[j - dz] === lo && w[j - dz + 1] === hi) f |= SAME_Z;
        flags[i] = f;
      }
    }
  }
}

/** Scratch arrays of the parabola envelope and of the direct search. */
class Scratch {
  /** The envelope's parabolas: vertex position, value there, and vertex height. */
  readonly v: Int32Array;
  readonly fv: Float64Array;
  readonly cv: Float64Array;
  /** Where each parabola starts to be lowest, as a fraction zn / zd (zd > 0). */
  readonly zn: Float64Array;
  readonly zd: Float64Array;
  /** The results of {@link near} before they are written back. */
  readonly near: Float64Array;
  constructor(length: number) {
    // Two more points than a line: the virtual zeros just outside a run.
    this.v = new Int32Array(length + 2);
    this.fv = new Float64Array(length + 2);
    this.cv = new Float64Array(length + 2);
    this.zn = new Float64Array(length + 3);
    this.zd = new Float64Array(length + 3);
    this.near = new Float64Array(length);
  }
}

/** Along x: the exact distance to the nearer end of each run of one label. */
function passX(
  flags: Uint8Array,
  out: Float32Array,
  sx: number,
  rows: number,
  w2: number,
  blackBorder: boolean,
): void {
  const inf = Number.POSITIVE_INFINITY;
  for (let row = 0; row < rows; row++) {
    const base = row * sx;
    let a = 0;
    while (a < sx) {
      let b = a + 1;
      while (b < sx && flags[base + b] & SAME_X) b++;
      // The run is [a, b); `out` starts at 0, so background runs are done.
      if (!(flags[base + a] & ZERO)) {
        const left = a > 0 || blackBorder;
        const right = b < sx || blackBorder;
        for (let i = a; i < b; i++) {
          const dl = left ? i - a + 1 : inf;
          const dr = right ? b - i : inf;
          const d = Math.min(dl, dr);
          out[base + i] = d * d * w2;
        }
      }
      a = b;
    }
  }
}

/**
 * Along an axis across x: the lines start at `base + x` for x < sx and step
 * by `stride`, `len` voxels each; runs of one label (`same` flag) are
 * transformed in place. The lines are walked one after the other without
 * gathering them into a scratch tile: within a plane (the y pass) the next
 * line's voxels share cache lines with this one's, and a copy in and out
 * cost more than it saved, along z too.
 */
function passAcross(
  flags: Uint8Array,
  out: Float32Array,
  base: number,
  sx: number,
  stride: number,
  len: number,
  w2: number,
  same: number,
  blackBorder: boolean,
  s: Scratch,
): void {
  const reach2 = NEAR_REACH * NEAR_REACH;
  for (let x = 0; x < sx; x++) {
    const line = base + x;
    let a = 0;
    while (a < len) {
      const first = line + a * stride;
      let max = out[first];
      let b = a + 1;
      let at = first + stride;
      while (b < len && flags[at] & same) {
        if (out[at] > max) max = out[at];
        b++;
        at += stride;
      }
      if (!(flags[first] & ZERO)) {
        const left = a > 0 || blackBorder;
        const right = b < len || blackBorder;
        const m = b - a;
        // How many steps away the farthest voxel's boundary can be, squared.
        let reach = max / w2;
        if (left && right) {
          const half = (m + 1) >> 1;
          if (half * half < reach) reach = half * half;
        }
        if (reach <= reach2) near(out, first, m, stride, w2, left, right, s.near);
        else envelope(out, first, m, stride, w2, left, right, s);
      }
      a = b;
    }
  }
}

/**
 * The 1-D squared distance by direct search, for runs whose values are all
 * small against the step cost w2 (or that are short): voxel q looks at its neighbours q +- d for
 * growing d only while w2 d^2 is below the best value found, and at the
 * virtual zeros at -1 and m. Results go to a copy first (neighbours must be
 * read before they change).
 */
function near(
  f: Float32Array,
  first: number,
  m: number,
  step: number,
  w2: number,
  left: boolean,
  right: boolean,
  g: Float64Array,
): void {
  const inf = Number.POSITIVE_INFINITY;
  for (let q = 0; q < m; q++) {
    let best = f[first + q * step];
    const dl = left ? q + 1 : inf;
    const dr = right ? m - q : inf;
    const de = Math.min(dl, dr);
    if (w2 * de * de < best) best = w2 * de * de;
    for (let d = 1; w2 * d * d < best; d++) {
      const cost = w2 * d * d;
      if (q >= d) {
        const x = f[first + (q - d) * step] + cost;
        if (x < best) best = x;
      }
      if (q + d < m) {
        const x = f[first + (q + d) * step] + cost;
        if (x < best) best = x;
      }
    }
    g[q] = best;
  }
  for (let q = 0, at = first; q < m; q++, at += step) f[at] = g[q];
}

/**
 * Felzenszwalb-Huttenlocher, in place over `m` values from `first` spaced
 * `step` apart, with f = 0 at positions -1
 * (`left`) and m (`right`) when a boundary lies there. The intersections are
 * kept as fractions and compared by cross-multiplying: no division.
 */
function envelope(
  f: Float32Array,
  first: number,
  m: number,
  step: number,
  w2: number,
  left: boolean,
  right: boolean,
  s: Scratch,
): void {
  const { v, fv, cv, zn, zd } = s;
  let k = -1;
  if (left) {
    k = 0;
    v[0] = -1;
    fv[0] = 0;
    cv[0] = w2;
  }
  const w2x2 = 2 * w2;
  const end = right ? m + 1 : m;
  for (let q = 0, at = first; q < end; q++, at += step) {
    const fq = q < m ? f[at] : 0;
    if (fq === Number.POSITIVE_INFINITY) continue;
    const cq = fq + w2 * q * q;
    if (k < 0) {
      k = 0;
      v[0] = q;
      fv[0] = fq;
      cv[0] = cq;
      continue;
    }
    // The first parabola's range starts at -infinity: it is never dropped.
    let num = cq - cv[k];
    let den = w2x2 * (q - v[k]);
    while (k > 0 && num * zd[k] <= zn[k] * den) {
      k--;
      num = cq - cv[k];
      den = w2x2 * (q - v[k]);
    }
    k++;
    v[k] = q;
    fv[k] = fq;
    cv[k] = cq;
    zn[k] = num;
    zd[k] = den;
  }
  if (k < 0) return; // no finite value and no boundary: the run stays infinite
  zn[k + 1] = Number.POSITIVE_INFINITY;
  zd[k + 1] = 1;
  let j = 0;
  for (let q = 0, at = first; q < m; q++, at += step) {
    while (zn[j + 1] < q * zd[j + 1]) j++;
    const d = q - v[j];
    f[at] = w2 * d * d + fv[j];
  }
}
