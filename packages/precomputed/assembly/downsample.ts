// WebAssembly SIMD kernels of the hottest downsampling paths (AssemblyScript,
// compiled by scripts/build-wasm.mjs). All pointers are byte addresses into
// this module's memory; the TypeScript side (src/downsample/simd.ts) copies
// inputs in and results out. Results are exact integers, identical to the
// JavaScript kernels they stand in for.

/** Sums of the 2x2 blocks of rows `q` and `q + r`, bytes `at`..`at + 15`: eight uint16 lanes. */
function pairSums(q: usize, r: usize, at: usize): v128 {
  return i16x8.add(
    i16x8.extadd_pairwise_i8x16_u(v128.load(q + at)),
    i16x8.extadd_pairwise_i8x16_u(v128.load(q + r + at)),
  );
}

/**
 * uint8 average 2x2x1, two mips at once: reads `groups` groups of four rows
 * of `rowBytes` bytes (a multiple of 32) at `src` and writes the two mip-1
 * rows of each (`floor(sum / 4)`) at `d1`, its row of mip-2 block sums
 * (uint16) at `a2`, and that row of mip 2 (`floor(sum / 16)`) at `i2`.
 */
export function average2x2u8(
  src: usize,
  d1: usize,
  a2: usize,
  i2: usize,
  groups: i32,
  rowBytes: i32,
): void {
  const r = <usize>rowBytes;
  const r2 = r << 1;
  const r3 = r2 + r;
  const half = r >>> 1;
  for (let g = 0; g < groups; g++) {
    for (let i: usize = 0; i < r; i += 32) {
      const q = src + i;
      const ab0 = pairSums(q, r, 0);
      const ab1 = pairSums(q, r, 16);
      const cd0 = pairSums(q + r2, r, 0);
      const cd1 = pairSums(q + r2, r, 16);
      const h = d1 + (i >>> 1);
      v128.store(h, i8x16.narrow_i16x8_u(i16x8.shr_u(ab0, 2), i16x8.shr_u(ab1, 2)));
      v128.store(h + half, i8x16.narrow_i16x8_u(i16x8.shr_u(cd0, 2), i16x8.shr_u(cd1, 2)));
      // The two row pairs added, then adjacent lanes: eight 4x4 block sums.
      const acc = i16x8.narrow_i32x4_u(
        i32x4.extadd_pairwise_i16x8_u(i16x8.add(ab0, cd0)),
        i32x4.extadd_pairwise_i16x8_u(i16x8.add(ab1, cd1)),
      );
      v128.store(a2 + (i >>> 1), acc);
      const img = i16x8.shr_u(acc, 4);
      v128.store64_lane(i2 + (i >>> 2), i8x16.narrow_i16x8_u(img, img), 0);
    }
    src += r3 + r;
    d1 += r;
    a2 += half;
    i2 += r >>> 2;
  }
}

/**
 * 2x2 sums of `planes` planes of `w` x `h` uint16 block sums at `src` whose
 * 2x2 sums fit 16 bits, an odd last column or row counted twice (tinybrain's
 * repeated edge), written as uint16 at `dst` (`ceil(w/2)` x `ceil(h/2)` a
 * plane) and as uint8 `sum >> shift` at `img`. With `truncate`, `dst` gets
 * the shifted sums too (tinybrain's accumulator shedding its low bits).
 */
export function sum2x2u16(
  src: usize,
  w: i32,
  h: i32,
  planes: i32,
  dst: usize,
  img: usize,
  shift: i32,
  truncate: bool,
): void {
  const ow = (w + 1) >>> 1;
  const row = (<usize>w) << 1;
  const even = w & ~15;
  for (let p = 0; p < planes; p++)
    for (let y = 0; y < h; y += 2) {
      const below = y + 1 < h ? row : 0;
      let x = 0;
      for (; x < even; x += 16) {
        const q = src + ((<usize>x) << 1);
        const s0 = i32x4.extadd_pairwise_i16x8_u(i16x8.add(v128.load(q), v128.load(q + below)));
        const s1 = i32x4.extadd_pairwise_i16x8_u(
          i16x8.add(v128.load(q, 16), v128.load(q + below, 16)),
        );
        const sums = i16x8.narrow_i32x4_u(s0, s1);
        const shifted = i16x8.shr_u(sums, shift);
        v128.store(dst + <usize>x, truncate ? shifted : sums);
        v128.store64_lane(img + (<usize>x >>> 1), i8x16.narrow_i16x8_u(shifted, shifted), 0);
      }
      for (; x < w; x += 2) {
        const q = src + ((<usize>x) << 1);
        const a = <u32>load<u16>(q);
        const c = <u32>load<u16>(q + below);
        const right = x + 1 < w ? 2 : 0;
        const s = a + <u32>load<u16>(q + right) + c + <u32>load<u16>(q + below + right);
        const o = <usize>x >>> 1;
        store<u16>(dst + (o << 1), truncate ? s >>> shift : s);
        store<u8>(img + o, s >>> shift);
      }
      src += row + below;
      dst += (<usize>ow) << 1;
      img += ow;
    }
}

/** COUNTLESS of lanes of blocks (a b / c d), uint64 lanes if `eq64`, else uint32. */
function countlessOf(a: v128, b: v128, c: v128, d: v128, eq64: bool): v128 {
  // a if a == b or a == c, else b if b == c, else d
  if (eq64) {
    const bd = v128.bitselect(b, d, i64x2.eq(b, c));
    return v128.bitselect(a, bd, v128.or(i64x2.eq(a, b), i64x2.eq(a, c)));
  }
  const bd = v128.bitselect(b, d, i32x4.eq(b, c));
  return v128.bitselect(a, bd, v128.or(i32x4.eq(a, b), i32x4.eq(a, c)));
}

/**
 * COUNTLESS 2x2x1 over uint64 labels: `pairs` pairs of rows of `rowBytes`
 * bytes (a multiple of 32) at `src`, one output row per pair at `dst`; two
 * output voxels per step.
 */
export function countless64(src: usize, dst: usize, pairs: i32, rowBytes: i32): void {
  const r = <usize>rowBytes;
  for (let g = 0; g < pairs; g++) {
    for (let i: usize = 0; i < r; i += 32) {
      const q = src + i;
      const x0 = v128.load(q);
      const x1 = v128.load(q, 16);
      const y0 = v128.load(q + r);
      const y1 = v128.load(q + r, 16);
      const a = i8x16.shuffle(x0, x1, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
      const b = i8x16.shuffle(x0, x1, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
      const c = i8x16.shuffle(y0, y1, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
      const d = i8x16.shuffle(y0, y1, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
      v128.store(dst + (i >>> 1), countlessOf(a, b, c, d, true));
    }
    src += r << 1;
    dst += r >>> 1;
  }
}

/** {@link countless64} over uint32 labels: four output voxels per step. */
export function countless32(src: usize, dst: usize, pairs: i32, rowBytes: i32): void {
  const r = <usize>rowBytes;
  for (let g = 0; g < pairs; g++) {
    for (let i: usize = 0; i < r; i += 32) {
      const q = src + i;
      const x0 = v128.load(q);
      const x1 = v128.load(q, 16);
      const y0 = v128.load(q + r);
      const y1 = v128.load(q + r, 16);
      const a = i8x16.shuffle(x0, x1, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
      const b = i8x16.shuffle(x0, x1, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
      const c = i8x16.shuffle(y0, y1, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
      const d = i8x16.shuffle(y0, y1, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
      v128.store(dst + (i >>> 1), countlessOf(a, b, c, d, false));
    }
    src += r << 1;
    dst += r >>> 1;
  }
}
