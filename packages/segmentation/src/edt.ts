/**
 * Anisotropic Euclidean distance transform of a label volume: for every
 * voxel of a nonzero label, the distance (in physical units) to the centre of
 * the nearest voxel that does not carry the same label. Every label is
 * treated at once, as the `edt` package's multi-label mode does, so a
 * segmentation needs one call, not one per object.
 *
 * The transform is separable (Felzenszwalb & Huttenlocher, "Distance
 * Transforms of Sampled Functions", 2012): an exact 1-D pass along x gives
 * the distance to the run's ends; the passes along y and z take the lower
 * envelope of parabolas over each run of equal label, with a zero just
 * outside the run wherever a different label (or, with `blackBorder`, the
 * volume's edge) lies there. Voxels whose label fills its line everywhere and
 * never meets a boundary keep an infinite distance.
 */

/** Label arrays the transform reads (64-bit labels compared as uint32 pairs). */
export type DistanceLabels =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigUint64Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

/** Options of {@link distanceTransform}. */
export interface DistanceTransformOptions {
  /** Physical size of a voxel along x, y, z (e.g. nm). Default [1, 1, 1]. */
  anisotropy?: readonly [number, number, number];
  /**
   * Treat the outside of the volume as background, so voxels on the edge are
   * one voxel from a boundary. Default false: the volume's faces are not
   * boundaries (a block cut from a larger dataset does not end its objects).
   */
  blackBorder?: boolean;
  /** Return squared distances (skips the square roots). Default false. */
  squared?: boolean;
}

/** Thrown for a label array whose length does not match its shape, or bad options. */
export class DistanceTransformError extends Error {
  override name = "DistanceTransformError";
}

/**
 * Distance of each voxel to the nearest voxel of another label, in the units
 * of `anisotropy`; background (0) voxels get 0.
 *
 * ```ts
 * const dbf = distanceTransform(labels, [512, 512, 128], { anisotropy: [4, 4, 40] });
 * ```
 */
export function distanceTransform(
  labels: DistanceLabels,
  shape: readonly [number, number, number],
  options: DistanceTransformOptions = {},
): Float32Array {
  const [sx, sy, sz] = shape;
  const n = sx * sy * sz;
  if (!shape.every((s) => Number.isInteger(s) && s >= 0)) {
    throw new DistanceTransformError(`distanceTransform: bad shape [${shape.join(", ")}]`);
  }
  if (labels.length !== n) {
    throw new DistanceTransformError(
      `distanceTransform: shape [${shape.join(", ")}] needs ${n} labels, got ${labels.length}`,
    );
  }
  const [wx, wy, wz] = options.anisotropy ?? [1, 1, 1];
  for (const w of [wx, wy, wz]) {
    if (!(w > 0 && Number.isFinite(w))) {
      throw new DistanceTransformError(
        `distanceTransform: anisotropy must be positive and finite, got [${options.anisotropy}]`,
      );
    }
  }
  const blackBorder = options.blackBorder ?? false;
  const wide = labels instanceof BigUint64Array || labels instanceof BigInt64Array;
  // 64-bit labels are compared word by word through a uint32 view.
  const words: ArrayLike<number> = wide
    ? new Uint32Array(labels.buffer, labels.byteOffset, n * 2)
    : (labels as ArrayLike<number>);
  const out = new Float32Array(n);
  if (n === 0) return out;

  passX(words, wide, out, sx, sy * sz, wx * wx, blackBorder);
  // A line one voxel long still matters with a black border (both ends are outside).
  const scratch = new Scratch(Math.max(sy, sz));
  for (let z = 0; z < sz; z++) {
    passAcross(words, wide, out, z * sx * sy, sx, sx, sy, wy * wy, blackBorder, scratch);
  }
  for (let y = 0; y < sy; y++) {
    passAcross(words, wide, out, y * sx, sx, sx * sy, sz, wz * wz, blackBorder, scratch);
  }
  if (!options.squared) {
    for (let i = 0; i < n; i++) out[i] = Math.sqrt(out[i]);
  }
  return out;
}

/** Lines gathered per tile: 16 float64 rows make whole cache lines of the source. */
const TILE = 16;

/** Scratch arrays of the gathered lines and of the parabola envelope. */
class Scratch {
  /** TILE lines of squared distances, interleaved: voxel k of line c at k * TILE + c. */
  readonly lines: Float64Array;
  /** Per gathered voxel: bit 0 the label is 0, bit 1 the label equals the previous voxel's. */
  readonly flags: Uint8Array;
  readonly v: Int32Array;
  readonly fv: Float64Array;
  readonly z: Float64Array;
  constructor(readonly length: number) {
    this.lines = new Float64Array(TILE * length);
    this.flags = new Uint8Array(TILE * length);
    // Two more points than a line: the virtual zeros just outside a run.
    this.v = new Int32Array(length + 2);
    this.fv = new Float64Array(length + 2);
    this.z = new Float64Array(length + 3);
  }
}

function isZero(words: ArrayLike<number>, wide: boolean, i: number): boolean {
  return wide ? words[2 * i] === 0 && words[2 * i + 1] === 0 : words[i] === 0;
}

function same(words: ArrayLike<number>, wide: boolean, i: number, j: number): boolean {
  return wide
    ? words[2 * i] === words[2 * j] && words[2 * i + 1] === words[2 * j + 1]
    : words[i] === words[j];
}

/** Along x: the exact distance to the nearer end of each run of one label. */
function passX(
  words: ArrayLike<number>,
  wide: boolean,
  out: Float32Array,
  sx: number,
  rows: number,
  w2: number,
  blackBorder: boolean,
): void {
  for (let row = 0; row < rows; row++) {
    const base = row * sx;
    let a = 0;
    while (a < sx) {
      let b = a;
      while (b + 1 < sx && same(words, wide, base + a, base + b + 1)) b++;
      if (isZero(words, wide, base + a)) {
        out.fill(0, base + a, base + b + 1);
      } else {
        const left = a > 0 || blackBorder;
        const right = b < sx - 1 || blackBorder;
        for (let i = a; i <= b; i++) {
          const dl = left ? i - a + 1 : Number.POSITIVE_INFINITY;
          const dr = right ? b - i + 1 : Number.POSITIVE_INFINITY;
          const d = Math.min(dl, dr);
          out[base + i] = d * d * w2;
        }
      }
      a = b + 1;
    }
  }
}

/**
 * Along an axis across x: the lines start at `base + x` for x < sx and step
 * by `stride`, `len` voxels each. TILE neighbouring lines are gathered into
 * a small scratch tile (so memory is read a cache line at a time, not one
 * voxel per line of stride), transformed there, and scattered back.
 */
function passAcross(
  words: ArrayLike<number>,
  wide: boolean,
  out: Float32Array,
  base: number,
  sx: number,
  stride: number,
  len: number,
  w2: number,
  blackBorder: boolean,
  s: Scratch,
): void {
  const { lines, flags } = s;
  for (let x0 = 0; x0 < sx; x0 += TILE) {
    const t = Math.min(TILE, sx - x0);
    // Row k of the tile holds voxel k of each of the t lines: copies are contiguous.
    for (let k = 0; k < len; k++) {
      const row = base + k * stride + x0;
      const at = k * TILE;
      for (let c = 0; c < t; c++) {
        const i = row + c;
        lines[at + c] = out[i];
        let flag = isZero(words, wide, i) ? 1 : 0;
        if (k > 0 && same(words, wide, i, i - stride)) flag |= 2;
        flags[at + c] = flag;
      }
    }
    for (let c = 0; c < t; c++) {
      let a = 0;
      while (a < len) {
        let b = a;
        while (b + 1 < len && flags[(b + 1) * TILE + c] & 2) b++;
        if (!(flags[a * TILE + c] & 1)) {
          const left = a > 0 || blackBorder;
          const right = b < len - 1 || blackBorder;
          envelope(lines, a * TILE + c, b - a + 1, w2, left, right, s);
        }
        a = b + 1;
      }
    }
    for (let k = 0; k < len; k++) {
      const row = base + k * stride + x0;
      const at = k * TILE;
      for (let c = 0; c < t; c++) out[row + c] = lines[at + c];
    }
  }
}

/**
 * Felzenszwalb-Huttenlocher, in place over `m` values from `first` spaced
 * TILE apart (one column of a gathered tile), with f = 0 at positions -1 (`left`) and m (`right`) when a
 * boundary lies there.
 */
function envelope(
  f: Float64Array,
  first: number,
  m: number,
  w2: number,
  left: boolean,
  right: boolean,
  s: Scratch,
): void {
  const { v, fv, z } = s;
  let k = -1;
  // Points in increasing position: the virtual zero at -1, the run, the zero at m.
  const lo = left ? -1 : 0;
  const hi = right ? m : m - 1;
  for (let q = lo; q <= hi; q++) {
    const fq = q < 0 || q >= m ? 0 : f[first + q * TILE];
    if (fq === Number.POSITIVE_INFINITY) continue;
    const cq = fq + w2 * q * q;
    let sq = Number.NEGATIVE_INFINITY;
    while (k >= 0) {
      const p = v[k];
      sq = (cq - (fv[k] + w2 * p * p)) / (2 * w2 * (q - p));
      if (sq > z[k]) break;
      k--;
    }
    if (k < 0) sq = Number.NEGATIVE_INFINITY;
    k++;
    v[k] = q;
    fv[k] = fq;
    z[k] = sq;
  }
  if (k < 0) return; // no finite value and no boundary: the run stays infinite
  z[k + 1] = Number.POSITIVE_INFINITY;
  let j = 0;
  for (let q = 0; q < m; q++) {
    while (z[j + 1] < q) j++;
    const d = q - v[j];
    f[first + q * TILE] = w2 * d * d + fv[j];
  }
}
