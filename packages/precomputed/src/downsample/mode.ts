/**
 * Mode pooling for segmentation labels, with tinybrain's rules.
 *
 * - 2x2x1 uses COUNTLESS ("countless if"): of the block `a b / c d` (a at the
 *   low x, low y corner, b = +x, c = +y, d = +x+y) it takes a if a == b or
 *   a == c, else b if b == c, else d. Odd x or y edges repeat the last
 *   column/row, so an edge block of two voxels yields its first voxel.
 * - 2x2x2 counts: the value occurring most often among the eight voxels wins;
 *   ties go to the value seen first in x-fastest order. Odd edges repeat the
 *   last voxel (which then counts twice).
 * - sparse: zero is background and never wins unless the whole block is zero
 *   (2x2x1: tinybrain's "stippled COUNTLESS"; 2x2x2: counting skips zeros).
 *
 * Values are compared as bit patterns (floats too, as tinybrain does); 64-bit
 * labels as pairs of uint32 words.
 */

import { freshLike } from "./common";
import { striding } from "./pooling";
import { simdKernels } from "./simd";

type Words = Uint8Array | Uint16Array | Uint32Array;

/** One 2x2x1 COUNTLESS step over `planes` xy-planes of `sx*sy` single-word labels. */
export function countless2x2(
  src: Words,
  dst: Words,
  sx: number,
  sy: number,
  planes: number,
  sparse: boolean,
): void {
  if (sparse) {
    stippled2x2(src, dst, sx, sy, planes);
    return;
  }
  const ex = sx - (sx & 1);
  const ey = sy - (sy & 1);
  const sxy = sx * sy;
  const dOff = sx + 1;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * sxy;
    for (let y = 0; y < ey; y += 2) {
      let i = base + y * sx;
      const end = i + ex;
      for (; i < end; i += 2) {
        const a = src[i];
        const b = src[i + 1];
        const c = src[i + sx];
        // Branch-free COUNTLESS: masks pick the offset of a, b or d.
        const ma = -(+(a === b) | +(a === c));
        const mb = -+(b === c) & ~ma;
        dst[o++] = src[i + ((mb & 1) | (~(ma | mb) & dOff))];
      }
      if (sx & 1) dst[o++] = src[end];
    }
    if (sy & 1) {
      const row = base + (sy - 1) * sx;
      for (let x = 0; x < sx; x += 2) dst[o++] = src[row + x];
    }
  }
}

/** Stippled COUNTLESS: like COUNTLESS but zero never wins over a nonzero label. */
function stippled2x2(src: Words, dst: Words, sx: number, sy: number, planes: number): void {
  const sxy = sx * sy;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * sxy;
    for (let y = 0; y < sy; y += 2) {
      const dy = y + 1 < sy ? sx : 0;
      for (let x = 0; x < sx; x += 2) {
        const i = base + y * sx + x;
        const dx = x + 1 < sx ? 1 : 0;
        const a = src[i];
        const b = src[i + dx];
        const c = src[i + dy];
        const d = src[i + dx + dy];
        let v: number;
        if (a !== 0 && (a === b || a === c)) v = a;
        else if (b !== 0 && b === c) v = b;
        else if (d !== 0) v = d;
        else v = a !== 0 ? a : b !== 0 ? b : c;
        dst[o++] = v;
      }
    }
  }
}

/** One 2x2x1 COUNTLESS step over 64-bit labels stored as uint32 word pairs. */
export function countless2x2Pairs(
  src: Uint32Array,
  dst: Uint32Array,
  sx: number,
  sy: number,
  planes: number,
  sparse: boolean,
): void {
  if (sparse) {
    stippled2x2Pairs(src, dst, sx, sy, planes);
    return;
  }
  const ex = 2 * (sx - (sx & 1));
  const rw = 2 * sx;
  const sxy = 2 * sx * sy;
  const dOff = rw + 2;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * sxy;
    for (let y = 0; y + 1 < sy; y += 2) {
      let i = base + y * rw;
      const end = i + ex;
      for (; i < end; i += 4) {
        const a0 = src[i];
        const a1 = src[i + 1];
        const b0 = src[i + 2];
        const b1 = src[i + 3];
        const c0 = src[i + rw];
        const c1 = src[i + rw + 1];
        // Branch-free COUNTLESS on (low, high) pairs: masks pick a, b or d.
        const ma = -(+(((a0 ^ b0) | (a1 ^ b1)) === 0) | +(((a0 ^ c0) | (a1 ^ c1)) === 0));
        const mb = -+(((b0 ^ c0) | (b1 ^ c1)) === 0) & ~ma;
        const j = i + ((mb & 2) | (~(ma | mb) & dOff));
        dst[o] = src[j];
        dst[o + 1] = src[j + 1];
        o += 2;
      }
      if (sx & 1) {
        dst[o] = src[end];
        dst[o + 1] = src[end + 1];
        o += 2;
      }
    }
    if (sy & 1) {
      const row = base + (sy - 1) * rw;
      for (let x = 0; x < rw; x += 4) {
        dst[o] = src[row + x];
        dst[o + 1] = src[row + x + 1];
        o += 2;
      }
    }
  }
}

function stippled2x2Pairs(
  src: Uint32Array,
  dst: Uint32Array,
  sx: number,
  sy: number,
  planes: number,
): void {
  const rw = 2 * sx;
  const sxy = rw * sy;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * sxy;
    for (let y = 0; y < sy; y += 2) {
      const dy = y + 1 < sy ? rw : 0;
      for (let x = 0; x < sx; x += 2) {
        const ia = base + y * rw + 2 * x;
        const ib = ia + (x + 1 < sx ? 2 : 0);
        const ic = ia + dy;
        const id = ib + dy;
        const a0 = src[ia];
        const a1 = src[ia + 1];
        const b0 = src[ib];
        const b1 = src[ib + 1];
        const c0 = src[ic];
        const c1 = src[ic + 1];
        const aNz = (a0 | a1) !== 0;
        const bNz = (b0 | b1) !== 0;
        let w: number;
        if (aNz && ((a0 === b0 && a1 === b1) || (a0 === c0 && a1 === c1))) w = ia;
        else if (bNz && b0 === c0 && b1 === c1) w = ib;
        else if ((src[id] | src[id + 1]) !== 0) w = id;
        else w = aNz ? ia : bNz ? ib : ic;
        dst[o] = src[w];
        dst[o + 1] = src[w + 1];
        o += 2;
      }
    }
  }
}

/**
 * One 2x2x2 mode step over `channels` volumes of `sx*sy*sz` single-word labels.
 * The most frequent of the eight values wins, ties to the first in x-fastest
 * order; with `sparse`, zeros are not counted.
 */
export function mode2x2x2(
  src: Words,
  dst: Words,
  sx: number,
  sy: number,
  sz: number,
  channels: number,
  sparse: boolean,
): void {
  const sxy = sx * sy;
  const vals = new Float64Array(8);
  let o = 0;
  for (let ch = 0; ch < channels; ch++) {
    const cbase = ch * sxy * sz;
    for (let z = 0; z < sz; z += 2) {
      const dz = z + 1 < sz ? sxy : 0;
      for (let y = 0; y < sy; y += 2) {
        const dy = y + 1 < sy ? sx : 0;
        const row = cbase + z * sxy + y * sx;
        for (let x = 0; x < sx; x += 2) {
          const i = row + x;
          const dx = x + 1 < sx ? 1 : 0;
          const v0 = src[i];
          const v1 = src[i + dx];
          const v2 = src[i + dy];
          const v3 = src[i + dx + dy];
          if (v0 === v1 && v0 === v2 && v0 === v3 && (!sparse || v0 !== 0)) {
            dst[o++] = v0;
            continue;
          }
          const v4 = src[i + dz];
          const v5 = src[i + dz + dx];
          const v6 = src[i + dz + dy];
          const v7 = src[i + dz + dx + dy];
          if (v4 === v5 && v4 === v6 && v4 === v7 && (!sparse || v4 !== 0)) {
            dst[o++] = v4;
            continue;
          }
          vals[0] = v0;
          vals[1] = v1;
          vals[2] = v2;
          vals[3] = v3;
          vals[4] = v4;
          vals[5] = v5;
          vals[6] = v6;
          vals[7] = v7;
          let best = 0;
          let bestCount = 0;
          for (let t = 0; t < 8; t++) {
            const v = vals[t];
            if (sparse && v === 0) continue;
            let n = 0;
            for (let q = 0; q < 8; q++) if (vals[q] === v) n++;
            if (n >= 4) {
              best = v;
              break;
            }
            if (n > bestCount) {
              bestCount = n;
              best = v;
            }
          }
          dst[o++] = best;
        }
      }
    }
  }
}

/** {@link mode2x2x2} for 64-bit labels stored as uint32 word pairs. */
export function mode2x2x2Pairs(
  src: Uint32Array,
  dst: Uint32Array,
  sx: number,
  sy: number,
  sz: number,
  channels: number,
  sparse: boolean,
): void {
  const sxy = sx * sy;
  const lo = new Uint32Array(8);
  const hi = new Uint32Array(8);
  let o = 0;
  for (let ch = 0; ch < channels; ch++) {
    const cbase = ch * sxy * sz;
    for (let z = 0; z < sz; z += 2) {
      const dz = z + 1 < sz ? sxy : 0;
      for (let y = 0; y < sy; y += 2) {
        const dy = y + 1 < sy ? sx : 0;
        const row = cbase + z * sxy + y * sx;
        for (let x = 0; x < sx; x += 2) {
          const i = 2 * (row + x);
          const dx = x + 1 < sx ? 2 : 0;
          const dy2 = 2 * dy;
          const dz2 = 2 * dz;
          const l0 = src[i];
          const h0 = src[i + 1];
          // Four equal voxels in the lower (then upper) slice are a majority already.
          if (
            (!sparse || (l0 | h0) !== 0) &&
            l0 === src[i + dx] &&
            h0 === src[i + dx + 1] &&
            l0 === src[i + dy2] &&
            h0 === src[i + dy2 + 1] &&
            l0 === src[i + dx + dy2] &&
            h0 === src[i + dx + dy2 + 1]
          ) {
            dst[o++] = l0;
            dst[o++] = h0;
            continue;
          }
          const j = i + dz2;
          const l4 = src[j];
          const h4 = src[j + 1];
          if (
            (!sparse || (l4 | h4) !== 0) &&
            l4 === src[j + dx] &&
            h4 === src[j + dx + 1] &&
            l4 === src[j + dy2] &&
            h4 === src[j + dy2 + 1] &&
            l4 === src[j + dx + dy2] &&
            h4 === src[j + dx + dy2 + 1]
          ) {
            dst[o++] = l4;
            dst[o++] = h4;
            continue;
          }
          for (let t = 0; t < 8; t++) {
            const k = i + (t & 1 ? dx : 0) + (t & 2 ? dy2 : 0) + (t & 4 ? dz2 : 0);
            lo[t] = src[k];
            hi[t] = src[k + 1];
          }
          let best = -1;
          let bestCount = 0;
          for (let t = 0; t < 8; t++) {
            const l = lo[t];
            const h = hi[t];
            if (sparse && (l | h) === 0) continue;
            let n = 0;
            for (let q = 0; q < 8; q++) if (lo[q] === l && hi[q] === h) n++;
            if (n >= 4) {
              best = t;
              break;
            }
            if (n > bestCount) {
              bestCount = n;
              best = t;
            }
          }
          dst[o++] = best < 0 ? 0 : lo[best];
          dst[o++] = best < 0 ? 0 : hi[best];
        }
      }
    }
  }
}

/** log2 of a power of two >= 2, or 0 when `n` is not one. */
function log2Exact(n: number): number {
  if (n < 2 || (n & (n - 1)) !== 0) return 0;
  return 31 - Math.clz32(n);
}

/**
 * How one mode step with `factor` is computed: as `steps` COUNTLESS 2x2x1 or
 * counting 2x2x2 sub-steps, or by striding when the factor is neither
 * `(2^k, 2^k, 1)` nor `(2^k, 2^k, 2^k)` (tinybrain's fallback).
 */
export function modePlan(factor: readonly [number, number, number]): {
  kind: "2x2x1" | "2x2x2" | "striding" | "identity";
  steps: number;
} {
  const [fx, fy, fz] = factor;
  if (fx === 1 && fy === 1 && fz === 1) return { kind: "identity", steps: 0 };
  const k = log2Exact(fx);
  if (k > 0 && fx === fy && fz === 1) return { kind: "2x2x1", steps: k };
  if (k > 0 && fx === fy && fy === fz) return { kind: "2x2x2", steps: k };
  return { kind: "striding", steps: 1 };
}

/**
 * One mode-pooling mip over label words (`pairs`: two words per voxel).
 * Returns the new words and shape.
 */
export function modeStep(
  src: Words,
  shape: [number, number, number, number],
  factor: readonly [number, number, number],
  pairs: boolean,
  sparse: boolean,
): { words: Words; shape: [number, number, number, number] } {
  const plan = modePlan(factor);
  if (plan.kind === "identity") return { words: src.slice(), shape: [...shape] };
  if (plan.kind === "striding") return striding(src, shape, factor, pairs);
  let cur = src;
  let s: [number, number, number, number] = [...shape];
  for (let k = 0; k < plan.steps; k++) {
    const [sx, sy, sz, sc] = s;
    const ox = (sx + 1) >>> 1;
    const oy = (sy + 1) >>> 1;
    const oz = plan.kind === "2x2x2" ? (sz + 1) >>> 1 : sz;
    const n = ox * oy * oz * sc * (pairs ? 2 : 1);
    const C = cur.constructor as new (n: number) => Words;
    const dst = new C(n);
    if (plan.kind === "2x2x1") {
      if (pairs) countless2x2Pairs(cur as Uint32Array, dst as Uint32Array, sx, sy, sz * sc, sparse);
      else countless2x2(cur, dst, sx, sy, sz * sc, sparse);
    } else if (pairs)
      mode2x2x2Pairs(cur as Uint32Array, dst as Uint32Array, sx, sy, sz, sc, sparse);
    else mode2x2x2(cur, dst, sx, sy, sz, sc, sparse);
    cur = dst;
    s = [ox, oy, oz, sc];
  }
  return { words: cur, shape: s };
}

/** Input bytes the SIMD kernel takes per call (planes are grouped up to this). */
const SIMD_SLAB = 1 << 22;

/**
 * All `mips` levels of 2x2x1 COUNTLESS (factor `[2, 2, 1]`), computed plane by
 * plane: z and channels are never pooled, so each xy-plane's whole pyramid can
 * be made while the plane's previous level is still in cache, instead of
 * reading every level back from memory. 32- and 64-bit labels (not sparse) go
 * through the WebAssembly SIMD kernel, a group of planes at a time, for every
 * level whose rows are a multiple of 32 bytes and planes of 2 rows. Same results as
 * `mips` calls of {@link modeStep}. With `into` (one array per level, of
 * `src`'s type and the level's length), the levels are written there (every
 * element) instead of into new memory.
 */
export function countlessPyramid(
  src: Words,
  shape: [number, number, number, number],
  mips: number,
  pairs: boolean,
  sparse: boolean,
  into?: readonly Words[],
): Words[] {
  const per = pairs ? 2 : 1;
  const planes = shape[2] * shape[3];
  const sizes: [number, number][] = [[shape[0], shape[1]]];
  const outs: Words[] = [];
  for (let k = 1; k <= mips; k++) {
    const [sx, sy] = sizes[k - 1];
    sizes.push([(sx + 1) >>> 1, (sy + 1) >>> 1]);
    outs.push(into?.[k - 1] ?? freshLike(src, ((sx + 1) >>> 1) * ((sy + 1) >>> 1) * planes * per));
  }
  const area = (k: number) => sizes[k][0] * sizes[k][1] * per;
  // Levels `from`..mips of plane p, each from the previous one.
  const cascade = (p: number, from: number) => {
    let prev = from === 1 ? src.subarray(p * area(0), (p + 1) * area(0)) : undefined;
    if (!prev) prev = outs[from - 2].subarray(p * area(from - 1), (p + 1) * area(from - 1));
    for (let k = from; k <= mips; k++) {
      const [sx, sy] = sizes[k - 1];
      const dst = outs[k - 1].subarray(p * area(k), (p + 1) * area(k));
      if (pairs) countless2x2Pairs(prev as Uint32Array, dst as Uint32Array, sx, sy, 1, sparse);
      else countless2x2(prev, dst, sx, sy, 1, sparse);
      prev = dst;
    }
  };
  // The kernel takes rows of a multiple of 32 bytes, planes of an even number of rows.
  const rowsOk = (sx: number, sy: number) => (sx * per) % 8 === 0 && sy % 2 === 0;
  const wide = pairs || src instanceof Uint32Array;
  const simd = wide && !sparse && rowsOk(shape[0], shape[1]) ? simdKernels() : undefined;
  if (!simd) {
    for (let p = 0; p < planes; p++) cascade(p, 1);
    return outs;
  }
  const planeBytes = area(0) * 4;
  const kernel = pairs ? simd.countless64 : simd.countless32;
  const group = Math.max(1, Math.floor(SIMD_SLAB / planeBytes));
  for (let p0 = 0; p0 < planes; p0 += group) {
    const n = Math.min(group, planes - p0);
    // Level k of the group follows level k-1 in the kernel's memory (< 4/3 of the input).
    const mem = simd.reserve(Math.ceil((n * planeBytes * 4) / 3) + 64);
    mem.set(new Uint8Array(src.buffer, src.byteOffset + p0 * planeBytes, n * planeBytes), 0);
    let at = 0;
    let k = 1;
    for (; k <= mips; k++) {
      const [sx, sy] = sizes[k - 1];
      if (!rowsOk(sx, sy)) break;
      const dst = at + n * area(k - 1) * 4;
      kernel(at, dst, (n * sy) / 2, sx * per * 4);
      const words = new Uint32Array(mem.buffer, mem.byteOffset + dst, n * area(k));
      (outs[k - 1] as Uint32Array).set(words, p0 * area(k));
      at = dst;
    }
    if (k <= mips) for (let j = 0; j < n; j++) cascade(p0 + j, k);
  }
  return outs;
}
