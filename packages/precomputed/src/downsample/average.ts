/**
 * Average pooling with tinybrain's arithmetic, so that pyramids match the
 * ones Igneous writes bit for bit.
 *
 * Fast path (factor 2x2x1 or 2x2x2; uint8, uint16, float32, float64 — and
 * uint32 for a single mip), as tinybrain's C++:
 * - Odd edges repeat the last row/column/slice, so an edge block counts its
 *   real voxels twice (the image does not darken at the border).
 * - Integers: every mip is rendered from the block sums of the full-resolution
 *   image, `floor(sum / 4^k)` (2x2x1) or `floor(sum / 8^k)` (2x2x2); the sums
 *   themselves are truncated (shifted right) once every 4 mips for 2x2x1, every
 *   8 (uint8) or 5 (uint16, uint32) mips for 2x2x2, as tinybrain's fixed-width
 *   accumulators do.
 * - Floats, one mip: the mean of the block's real voxels, summed in double
 *   precision in x-fastest order and rounded once to the output type.
 * - Floats, several mips: sums kept in the input's precision, added in the
 *   order tinybrain's x86 build adds them, divided by `4^k` or `8^k`.
 * - sparse: `floor(sum / count)` over the nonzero voxels only (0 when all are
 *   zero), sums and counts cascaded the same way (never truncated).
 *
 * Any other factor, and uint32 over several mips, take tinybrain's numpy
 * fallback: each mip is the mean of the previous one's blocks (partial blocks at
 * the edge average the voxels they have), accumulated in float32 and cast back;
 * uint8/uint16 keep the float32 image between mips and truncate each output.
 */

import { DownsampleError, type Factor3, freshLike, type Shape4 } from "./common";
import { simdKernels } from "./simd";

/** Element types average pooling accepts. */
export type AverageArray = Uint8Array | Uint16Array | Uint32Array | Float32Array | Float64Array;

type Num = ArrayLike<number>;
const fround = Math.fround;

/**
 * Average-pools `mips` levels; returns one array per level, of the input's
 * type. `shape` is `[x,y,z,c]`, already validated against `data.length`.
 */
export function averageMips(
  data: AverageArray,
  shape: Shape4,
  factor: Factor3,
  mips: number,
  sparse: boolean,
): AverageArray[] {
  if (mips === 0) return [];
  const [fx, fy, fz] = factor;
  const flat = fx === 2 && fy === 2 && fz === 1;
  const cube = fx === 2 && fy === 2 && fz === 2;
  const isFloat = data instanceof Float32Array || data instanceof Float64Array;
  const fast = (flat || cube) && (!(data instanceof Uint32Array) || mips === 1);
  if (!fast) return numpyAverage(data, shape, factor, mips, sparse);
  if (isFloat && !sparse) {
    if (mips === 1) return [floatSingleMip(data, shape, cube)];
    return floatCascade(data, shape, cube, mips);
  }
  if (sparse) return sparseCascade(data, shape, cube, mips);
  if (flat && data instanceof Uint8Array && shape[0] % 4 === 0 && data.byteOffset % 4 === 0)
    return uint8Flat(data, shape, mips);
  return integerCascade(data as Uint8Array | Uint16Array | Uint32Array, shape, cube, mips);
}

// ---------------------------------------------------------------------------
// Integer sums with repeated edges

/**
 * Block sums of one 2x2x1 step; an odd edge repeats its last column/row (the
 * sum adds the repeated voxel again, in x-fastest order).
 */
function sum2x2(src: Num, sx: number, sy: number, planes: number): Float64Array {
  const osx = (sx + 1) >>> 1;
  const osy = (sy + 1) >>> 1;
  const acc = new Float64Array(osx * osy * planes);
  const ex = sx - (sx & 1);
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * sx * sy;
    for (let y = 0; y < sy; y += 2) {
      const dy = y + 1 < sy ? sx : 0;
      let i = base + y * sx;
      const end = i + ex;
      for (; i < end; i += 2) acc[o++] = src[i] + src[i + 1] + src[i + dy] + src[i + dy + 1];
      if (sx & 1) {
        const a = src[end];
        const c = src[end + dy];
        acc[o++] = a + a + c + c;
      }
    }
  }
  return acc;
}

/** Block sums of one 2x2x2 step, odd edges repeated; exact for integer input. */
function sum2x2x2(src: Num, sx: number, sy: number, sz: number, channels: number): Float64Array {
  const osx = (sx + 1) >>> 1;
  const osy = (sy + 1) >>> 1;
  const osz = (sz + 1) >>> 1;
  const acc = new Float64Array(osx * osy * osz * channels);
  const sxy = sx * sy;
  let o = 0;
  for (let c = 0; c < channels; c++)
    for (let z = 0; z < sz; z += 2) {
      const dz = z + 1 < sz ? sxy : 0;
      for (let y = 0; y < sy; y += 2) {
        const dy = y + 1 < sy ? sx : 0;
        const row = (c * sz + z) * sxy + y * sx;
        for (let x = 0; x < sx; x += 2) {
          const i = row + x;
          const dx = x + 1 < sx ? 1 : 0;
          acc[o++] =
            src[i] +
            src[i + dx] +
            src[i + dy] +
            src[i + dx + dy] +
            src[i + dz] +
            src[i + dz + dx] +
            src[i + dz + dy] +
            src[i + dz + dx + dy];
        }
      }
    }
  return acc;
}

function nextShape(s: Shape4, cube: boolean): Shape4 {
  return [(s[0] + 1) >>> 1, (s[1] + 1) >>> 1, cube ? (s[2] + 1) >>> 1 : s[2], s[3]];
}

function sumStep(src: Num, s: Shape4, cube: boolean): Float64Array {
  return cube ? sum2x2x2(src, s[0], s[1], s[2], s[3]) : sum2x2(src, s[0], s[1], s[2] * s[3]);
}

/** How many bits tinybrain's accumulator sheds per mip, and after how many mips it truncates. */
function schedule(data: AverageArray, cube: boolean): { bits: number; period: number } {
  if (!cube) return { bits: 2, period: 4 };
  return { bits: 3, period: data instanceof Uint8Array ? 8 : 5 };
}

function integerCascade(
  data: Uint8Array | Uint16Array | Uint32Array,
  shape: Shape4,
  cube: boolean,
  mips: number,
): AverageArray[] {
  const { bits, period } = schedule(data, cube);
  const C = data.constructor as new (n: number) => Uint8Array | Uint16Array | Uint32Array;
  const out: AverageArray[] = [];
  let s = shape;
  let acc = sumStep(data, s, cube);
  s = nextShape(s, cube);
  for (let mip = 0; ; mip++) {
    const shift = bits * ((mip % period) + 1);
    const scale = 2 ** -shift;
    const img = new C(acc.length);
    for (let i = 0; i < acc.length; i++) img[i] = Math.floor(acc[i] * scale);
    out.push(img);
    if (mip === mips - 1) return out;
    if (mip % period === period - 1)
      for (let i = 0; i < acc.length; i++) acc[i] = Math.floor(acc[i] * scale);
    acc = sumStep(acc, s, cube);
    s = nextShape(s, cube);
  }
}

/**
 * Scratch for the uint16 sums of one xy-plane (intermediates only, never
 * returned): reused from call to call so that they cost no allocation and no
 * page faults. Kernels are synchronous, so one set per thread suffices.
 */
const scratches: { u16: Uint16Array; u32: Uint32Array }[] = [];
function scratch(i: number, n: number): { u16: Uint16Array; u32: Uint32Array } {
  let s = scratches[i];
  if (!s || s.u16.length < n) {
    // Even lengths, so that sumUint16 can view them as uint32 words.
    const u16 = new Uint16Array(n + (n & 1));
    s = { u16, u32: new Uint32Array(u16.buffer) };
    scratches[i] = s;
  }
  return s;
}

/**
 * Input bytes the SIMD kernel takes per call (planes are grouped up to this):
 * small enough that the copy into WebAssembly memory and the outputs stay in
 * the core's L2 cache until they are read again.
 */
const SIMD_SLAB = 1 << 18;

/**
 * uint8 2x2x1 with rows a multiple of 4 voxels, one xy-plane at a time (z and
 * channels are never pooled). Mip 1, mip 2 and the mip-2 sums come from the
 * WebAssembly SIMD kernel when the runtime has it and the rows are a multiple
 * of 32 voxels and the planes of 4 rows, else from {@link uint8FlatPlane};
 * later mips are made from each plane's mip-2 sums while still in cache.
 */
function uint8Flat(data: Uint8Array, shape: Shape4, mips: number): AverageArray[] {
  const [sx, sy, sz, sc] = shape;
  const planes = sz * sc;
  const words = sx >>> 2;
  const osy = (sy + 1) >>> 1;
  const osy2 = (osy + 1) >>> 1;
  const img = freshLike(data, 2 * words * osy * planes);
  const plane2 = words * osy2;
  // sizes[k]: the per-plane shape of mip k + 2 (outs[k + 1])
  const sizes: [number, number][] = [[words, osy2]];
  const outs: Uint8Array[] = [img];
  for (let mip = 1; mip < mips; mip++) {
    const [w, h] = sizes[mip - 1];
    outs.push(freshLike(data, w * h * planes));
    sizes.push([(w + 1) >>> 1, (h + 1) >>> 1]);
  }
  const later = (sums: Uint16Array, sumsW: Uint32Array, p: number) => {
    for (let mip = 2; mip < mips; mip++) {
      const [w, h] = sizes[mip - 2];
      const n = sizes[mip - 1][0] * sizes[mip - 1][1];
      const shift = 2 * ((mip % 4) + 1);
      // The sums alternate between two scratch planes (never the input's).
      const next = scratch(1 + (mip & 1), plane2);
      sumUint16(sums, sumsW, w, h, next.u16, outs[mip], p * n, shift);
      // Truncated sums feed the mips after this one; the last needs none.
      if (mip % 4 === 3 && mip + 1 < mips) for (let i = 0; i < n; i++) next.u16[i] >>>= shift;
      sums = next.u16;
      sumsW = next.u32;
    }
  };
  const simd = sx % 32 === 0 && sy % 4 === 0 ? simdKernels() : undefined;
  if (simd) {
    const planeBytes = sx * sy;
    const per = Math.max(1, Math.floor(SIMD_SLAB / planeBytes));
    // Per-plane areas of mips 3.. (outs[2..]), whose sums the kernel makes
    // from the mip-2 sums while they are in cache.
    const areas = sizes.map(([w, h]) => w * h);
    for (let p0 = 0; p0 < planes; p0 += per) {
      const n = Math.min(per, planes - p0);
      const bytes = n * planeBytes;
      // Memory layout: input, mip 1, mip-2 sums, mip 2, then the sums and
      // the pixels of each later mip.
      const d1 = bytes;
      const a2 = d1 + bytes / 4;
      const i2 = a2 + bytes / 8;
      let end = i2 + bytes / 16;
      const at: number[] = [];
      for (let mip = 2; mip < mips; mip++) {
        at.push(end);
        end += 3 * n * areas[mip - 1];
      }
      const mem = simd.reserve(end);
      mem.set(data.subarray(p0 * planeBytes, p0 * planeBytes + bytes), 0);
      simd.run(0, d1, a2, i2, (n * sy) / 4, sx);
      img.set(mem.subarray(d1, d1 + bytes / 4), (p0 * planeBytes) / 4);
      if (mips > 1) outs[1].set(mem.subarray(i2, i2 + bytes / 16), (p0 * planeBytes) / 16);
      let sums = a2;
      for (let mip = 2; mip < mips; mip++) {
        const [w, h] = sizes[mip - 2];
        const area = areas[mip - 1];
        const pixels = at[mip - 2] + 2 * n * area;
        const shift = 2 * ((mip % 4) + 1);
        // Truncated sums feed the mips after this one; the last needs none.
        const truncate = mip % 4 === 3 && mip + 1 < mips;
        simd.sums16(sums, w, h, n, at[mip - 2], pixels, shift, truncate);
        outs[mip].set(mem.subarray(pixels, pixels + n * area), p0 * area);
        sums = at[mip - 2];
      }
    }
    return outs;
  }
  const src = new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2);
  const img16 = new Uint16Array(img.buffer);
  const acc2 = scratch(0, plane2);
  const img2 = mips > 1 ? outs[1] : new Uint8Array(plane2);
  for (let p = 0; p < planes; p++) {
    // Where this plane's mip-2 pixels go (a scratch plane when mip 2 is not wanted).
    const p2 = mips > 1 ? p * plane2 : 0;
    uint8FlatPlane(
      src,
      p * sy * words,
      words,
      sy >>> 2,
      img16,
      p * osy * words,
      acc2.u16,
      img2,
      p2,
    );
    if (sy & 3) {
      const g = sy >>> 2;
      const at = (p * sy + 4 * g) * words;
      uint8FlatEdge(src, at, words, sy & 3, img16, (p * osy + 2 * g) * words, acc2.u16, g * words);
      const edge = acc2.u16.subarray(g * words, (g + 1) * words);
      img2.set(
        edge.map((v) => v >>> 4),
        p2 + g * words,
      );
    }
    later(acc2.u16, acc2.u32, p);
  }
  return outs;
}

/**
 * Mip 1 (`img16`, two pixels per element), the mip-2 sums (`acc2`, from 0)
 * and mip 2 (`img2`) of `groups` groups of four input rows of `words` uint32
 * words, starting at `base`, `o1` and `i2`.
 */
function uint8FlatPlane(
  src: Uint32Array,
  base: number,
  words: number,
  groups: number,
  img16: Uint16Array,
  o1: number,
  acc2: Uint16Array,
  img2: Uint8Array,
  i2: number,
): void {
  const M = 0x00ff00ff;
  let r0 = base;
  let o2 = 0;
  for (let g = 0; g < groups; g++) {
    const r1 = r0 + words;
    const r2 = r1 + words;
    const r3 = r2 + words;
    const q1 = o1 + words;
    for (let w = 0; w < words; w++) {
      const a = src[r0 + w];
      const b = src[r1 + w];
      const c = src[r2 + w];
      const d = src[r3 + w];
      const t = (a & M) + ((a >>> 8) & M) + (b & M) + ((b >>> 8) & M);
      const u = (c & M) + ((c >>> 8) & M) + (d & M) + ((d >>> 8) & M);
      const q = (t >>> 2) & M;
      const r = (u >>> 2) & M;
      img16[o1 + w] = q | (q >>> 8);
      img16[q1 + w] = r | (r >>> 8);
      const v = t + u;
      const s2 = (v & 0xffff) + (v >>> 16);
      acc2[o2 + w] = s2;
      img2[i2 + w] = s2 >>> 4;
    }
    r0 += 4 * words;
    o1 += 2 * words;
    o2 += words;
    i2 += words;
  }
}

/**
 * The last one to three input rows of a plane (`left`), as
 * {@link uint8FlatPlane} (a missing row repeats the one before), except that
 * mip 2 is left to the caller: only its sums are written, at `o2`.
 */
function uint8FlatEdge(
  src: Uint32Array,
  r0: number,
  words: number,
  left: number,
  img16: Uint16Array,
  o1: number,
  acc2: Uint16Array,
  o2: number,
): void {
  const M = 0x00ff00ff;
  const r1 = left > 1 ? r0 + words : r0;
  const hasB = left > 2;
  const r2 = hasB ? r0 + 2 * words : r0;
  for (let w = 0; w < words; w++) {
    const a = src[r0 + w];
    const b = src[r1 + w];
    const t = (a & M) + ((a >>> 8) & M) + (b & M) + ((b >>> 8) & M);
    img16[o1 + w] = ((t >>> 2) & 0xff) | ((t >>> 10) & 0xff00);
    let u = t;
    if (hasB) {
      const c = src[r2 + w];
      u = 2 * ((c & M) + ((c >>> 8) & M));
      img16[o1 + words + w] = ((u >>> 2) & 0xff) | ((u >>> 10) & 0xff00);
    }
    const v = t + u;
    acc2[o2 + w] = (v & 0xffff) + (v >>> 16);
  }
}

/**
 * 2x2x1 sums of one plane of uint16 sums (`src`, also viewed as uint32 words
 * `srcW`) that cannot overflow (each at most 16320, as after three mips of
 * uint8), odd edges repeated, into `dst`, also rendering
 * `img[at + i] = sums[i] >> shift`. Even rows add a word of two lanes from
 * each row at once.
 */
function sumUint16(
  src: Uint16Array,
  srcW: Uint32Array,
  sx: number,
  sy: number,
  dst: Uint16Array,
  img: Uint8Array,
  at: number,
  shift: number,
): void {
  if ((sx & 1) === 0) {
    const rw = sx >>> 1;
    let o = 0;
    let r = 0;
    for (let y = 0; y < sy; y += 2) {
      const dy = y + 1 < sy ? rw : 0;
      const end = r + rw;
      for (; r < end; r++) {
        const t = srcW[r] + srcW[r + dy];
        const v = (t & 0xffff) + (t >>> 16);
        dst[o++] = v;
        img[at++] = v >>> shift;
      }
      r += dy;
    }
    return;
  }
  const sums = sum2x2(src.subarray(0, sx * sy), sx, sy, 1);
  for (let i = 0; i < sums.length; i++) {
    dst[i] = sums[i];
    img[at + i] = sums[i] >>> shift;
  }
}

function sparseCascade(
  data: AverageArray,
  shape: Shape4,
  cube: boolean,
  mips: number,
): AverageArray[] {
  const C = data.constructor as new (n: number) => AverageArray;
  const isInt = !(data instanceof Float32Array || data instanceof Float64Array);
  const nz = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) nz[i] = data[i] !== 0 ? 1 : 0;
  const out: AverageArray[] = [];
  let s = shape;
  let num = sumStep(data, s, cube);
  let den = sumStep(nz, s, cube);
  s = nextShape(s, cube);
  for (let mip = 0; ; mip++) {
    const img = new C(num.length);
    for (let i = 0; i < num.length; i++) {
      const d = den[i];
      if (d === 0) continue;
      if (isInt) {
        let q = Math.floor(num[i] / d);
        if (q * d > num[i]) q--;
        img[i] = q;
      } else img[i] = num[i] / d;
    }
    out.push(img);
    if (mip === mips - 1) return out;
    num = sumStep(num, s, cube);
    den = sumStep(den, s, cube);
    s = nextShape(s, cube);
  }
}

// ---------------------------------------------------------------------------
// Floating point

/** One float mip: mean of the block's real voxels, summed in double in x-fastest order. */
function floatSingleMip(
  data: Float32Array | Float64Array,
  shape: Shape4,
  cube: boolean,
): AverageArray {
  const [sx, sy, sz, sc] = shape;
  const fz = cube ? 2 : 1;
  const [ox, oy, oz] = nextShape(shape, cube);
  const out = new (data.constructor as new (n: number) => Float32Array | Float64Array)(
    ox * oy * oz * sc,
  );
  const sxy = sx * sy;
  let o = 0;
  for (let c = 0; c < sc; c++)
    for (let z = 0; z < sz; z += fz) {
      const z1 = Math.min(z + fz, sz);
      for (let y = 0; y < sy; y += 2) {
        const y1 = Math.min(y + 2, sy);
        for (let x = 0; x < sx; x += 2) {
          const x1 = Math.min(x + 2, sx);
          let sum = 0;
          for (let zz = z; zz < z1; zz++)
            for (let yy = y; yy < y1; yy++) {
              const row = (c * sz + zz) * sxy + yy * sx;
              for (let xx = x; xx < x1; xx++) sum += data[row + xx];
            }
          out[o++] = sum / ((z1 - z) * (y1 - y) * (x1 - x));
        }
      }
    }
  return out;
}

/**
 * 2x2x1 float sums as tinybrain's x86 build forms them: in blocks of 8
 * (float32) or 4 (float64) input columns SSE adds the rows first, then the
 * pairs, `(a+c)+(b+d)`; remaining columns add `((a+b)+c)+d`. `f32` rounds
 * every addition to float32.
 */
function floatSum2x2(src: Num, sx: number, sy: number, planes: number, f32: boolean): Float64Array {
  const osx = (sx + 1) >>> 1;
  const osy = (sy + 1) >>> 1;
  const acc = new Float64Array(osx * osy * planes);
  const ex = sx - (sx & 1);
  const sxv = f32 ? sx & ~7 : sx & ~3;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * sx * sy;
    for (let y = 0; y + 1 < sy; y += 2) {
      const row = base + y * sx;
      let x = 0;
      if (f32) {
        for (; x < sxv; x += 2) {
          const i = row + x;
          acc[o++] = fround(fround(src[i] + src[i + sx]) + fround(src[i + 1] + src[i + sx + 1]));
        }
        for (; x < ex; x += 2) {
          const i = row + x;
          acc[o++] = fround(fround(fround(src[i] + src[i + 1]) + src[i + sx]) + src[i + sx + 1]);
        }
        if (sx & 1) acc[o++] = fround(2 * src[row + ex] + 2 * src[row + ex + sx]);
      } else {
        for (; x < sxv; x += 2) {
          const i = row + x;
          acc[o++] = src[i] + src[i + sx] + (src[i + 1] + src[i + sx + 1]);
        }
        for (; x < ex; x += 2) {
          const i = row + x;
          acc[o++] = src[i] + src[i + 1] + src[i + sx] + src[i + sx + 1];
        }
        if (sx & 1) acc[o++] = 2 * src[row + ex] + 2 * src[row + ex + sx];
      }
    }
    if (sy & 1) {
      const row = base + (sy - 1) * sx;
      for (let x = 0; x < ex; x += 2) {
        const v = src[row + x] + src[row + x + 1];
        acc[o++] = 2 * (f32 ? fround(v) : v);
      }
      if (sx & 1) acc[o++] = 4 * src[row + ex];
    }
  }
  return acc;
}

/**
 * 2x2x2 float sums in tinybrain's order: one running sum per block, adding the
 * voxels in x-fastest order (an odd x edge adds twice its voxel), then doubled
 * for an odd y edge and again for an odd z edge.
 */
function floatSum2x2x2(
  src: Num,
  sx: number,
  sy: number,
  sz: number,
  channels: number,
  f32: boolean,
): Float64Array {
  const osx = (sx + 1) >>> 1;
  const osy = (sy + 1) >>> 1;
  const osz = (sz + 1) >>> 1;
  const acc = new Float64Array(osx * osy * osz * channels);
  const sxy = sx * sy;
  let o = 0;
  for (let c = 0; c < channels; c++)
    for (let z = 0; z < sz; z += 2) {
      const z1 = Math.min(z + 2, sz);
      for (let y = 0; y < sy; y += 2) {
        const y1 = Math.min(y + 2, sy);
        for (let x = 0; x < sx; x += 2) {
          let s = 0;
          for (let zz = z; zz < z1; zz++)
            for (let yy = y; yy < y1; yy++) {
              const i = (c * sz + zz) * sxy + yy * sx + x;
              if (x + 1 < sx) {
                s = s + src[i];
                if (f32) s = fround(s);
                s = s + src[i + 1];
              } else s = s + 2 * src[i];
              if (f32) s = fround(s);
            }
          if (y1 - y === 1) s *= 2;
          if (z1 - z === 1) s *= 2;
          acc[o++] = s;
        }
      }
    }
  return acc;
}

function floatCascade(
  data: Float32Array | Float64Array,
  shape: Shape4,
  cube: boolean,
  mips: number,
): AverageArray[] {
  const f32 = data instanceof Float32Array;
  const C = data.constructor as new (n: number) => Float32Array | Float64Array;
  const step = (src: Num, s: Shape4) =>
    cube
      ? floatSum2x2x2(src, s[0], s[1], s[2], s[3], f32)
      : floatSum2x2(src, s[0], s[1], s[2] * s[3], f32);
  const out: AverageArray[] = [];
  let s = shape;
  let acc = step(data, s);
  s = nextShape(s, cube);
  for (let mip = 0; ; mip++) {
    const divisor = (cube ? 8 : 4) ** (mip + 1);
    const img = new C(acc.length);
    for (let i = 0; i < acc.length; i++) img[i] = acc[i] / divisor;
    out.push(img);
    if (mip === mips - 1) return out;
    acc = step(acc, s);
    s = nextShape(s, cube);
  }
}

// ---------------------------------------------------------------------------
// tinybrain's numpy fallback for other factors

function numpyAverage(
  data: AverageArray,
  shape: Shape4,
  factor: Factor3,
  mips: number,
  sparse: boolean,
): AverageArray[] {
  const small = data instanceof Uint8Array || data instanceof Uint16Array;
  const C = data.constructor as new (n: number) => AverageArray;
  const out: AverageArray[] = [];
  let img: AverageArray = small ? Float32Array.from(data) : data;
  let s = shape;
  const [fx, fy, fz] = factor;
  for (let mip = 0; mip < mips; mip++) {
    const [sx, sy, sz, sc] = s;
    const ox = Math.ceil(sx / fx);
    const oy = Math.ceil(sy / fy);
    const oz = Math.ceil(sz / fz);
    const n = ox * oy * oz * sc;
    const temp = new Float64Array(n);
    const counts = new Float64Array(n);
    // numpy adds whole strided sections in np.ndindex order (z offset fastest).
    for (let dx = 0; dx < fx; dx++)
      for (let dy = 0; dy < fy; dy++)
        for (let dz = 0; dz < fz; dz++) {
          const nx = Math.ceil((sx - dx) / fx);
          const ny = Math.ceil((sy - dy) / fy);
          const nzz = Math.ceil((sz - dz) / fz);
          for (let c = 0; c < sc; c++)
            for (let z = 0; z < nzz; z++)
              for (let y = 0; y < ny; y++) {
                const irow = ((c * sz + z * fz + dz) * sy + y * fy + dy) * sx + dx;
                const orow = ((c * oz + z) * oy + y) * ox;
                for (let x = 0; x < nx; x++) {
                  const v = img[irow + x * fx];
                  temp[orow + x] = fround(temp[orow + x] + v);
                  counts[orow + x] += sparse ? (v > 0 ? 1 : 0) : 1;
                }
              }
        }
    const next = small ? new Float32Array(n) : new C(n);
    for (let i = 0; i < n; i++) {
      const d = sparse ? Math.max(counts[i], 1) : counts[i];
      next[i] = temp[i] / d;
    }
    if (small) {
      const cast = new C(n);
      for (let i = 0; i < n; i++) cast[i] = next[i];
      out.push(cast);
    } else out.push(next);
    img = next;
    s = [ox, oy, oz, sc];
  }
  return out;
}

/** Rejects element types average pooling does not support. */
export function checkAverageType(data: unknown): asserts data is AverageArray {
  if (
    !(
      data instanceof Uint8Array ||
      data instanceof Uint16Array ||
      data instanceof Uint32Array ||
      data instanceof Float32Array ||
      data instanceof Float64Array
    )
  )
    throw new DownsampleError(
      "dtype",
      `average pooling supports uint8, uint16, uint32, float32 and float64 arrays, got ${
        (data as { constructor?: { name?: string } })?.constructor?.name ?? typeof data
      }`,
    );
}
