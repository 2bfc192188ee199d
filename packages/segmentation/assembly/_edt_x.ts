// The EDT module's pass along x: squared distances to the ends of each run
// of one label, row by row or four rows at a time.

import { FAR, xd, xl } from "./_edt_scratch";

/**
 * Along x: each run of one label gets the squared distance to its nearer
 * end (an end at the volume's edge counts only with a black border).
 * Background runs get 0.
 */
export function passX(
  lab: usize,
  out: usize,
  sx: i32,
  rows: i32,
  w2: f64,
  blackBorder: bool,
  exact: bool,
): void {
  const rowBytes = (<usize>sx) << 2;
  const iota = i32x4(0, 1, 2, 3);
  const w2v = f32x4.splat(<f32>w2);
  const inf = f32x4.splat(Infinity);
  for (let r = 0; r < rows; r++) {
    const lrow = lab + <usize>r * rowBytes;
    const orow = out + <usize>r * rowBytes;
    let a = 0;
    while (a < sx) {
      const l = load<u32>(lrow + ((<usize>a) << 2));
      let b = a + 1;
      // Four labels at a time while the run goes on.
      const lv = i32x4.splat(l);
      while (b + 4 <= sx && v128.all_true<i32>(i32x4.eq(v128.load(lrow + ((<usize>b) << 2)), lv))) {
        b += 4;
      }
      while (b < sx && load<u32>(lrow + ((<usize>b) << 2)) === l) b++;
      let i = a;
      if (l === 0) {
        for (; i + 4 <= b; i += 4) v128.store(orow + ((<usize>i) << 2), f32x4.splat(0));
        for (; i < b; i++) store<f32>(orow + ((<usize>i) << 2), 0);
      } else {
        const left = a > 0 || blackBorder;
        const right = b < sx || blackBorder;
        if (exact && (left || right)) {
          // w2 k^2 is exact in float32 for every k <= sx: four at once.
          const far = i32x4.splat(0x40000000);
          for (; i + 4 <= b; i += 4) {
            const at = i32x4.add(iota, i32x4.splat(i));
            const dl = left ? i32x4.sub(at, i32x4.splat(a - 1)) : far;
            const dr = right ? i32x4.sub(i32x4.splat(b), at) : far;
            const d = f32x4.convert_i32x4_s(i32x4.min_s(dl, dr));
            v128.store(orow + ((<usize>i) << 2), f32x4.mul(f32x4.mul(d, d), w2v));
          }
        } else if (!(left || right)) {
          for (; i + 4 <= b; i += 4) v128.store(orow + ((<usize>i) << 2), inf);
        }
        for (; i < b; i++) {
          const dl: f64 = left ? <f64>(i - a + 1) : Infinity;
          const dr: f64 = right ? <f64>(b - i) : Infinity;
          const d = Math.min(dl, dr);
          store<f32>(orow + ((<usize>i) << 2), <f32>(d * d * w2));
        }
      }
      a = b;
    }
  }
}

/**
 * The x pass for four rows at once where w2 k^2 is exact in float32 along
 * x: each 4x4 block is transposed so that the lanes are the rows, and
 * sweeps forward and backward give every voxel its run's distances to the
 * left and right ends (FAR where the end is the volume's edge without a
 * black border). The nearer one squared times w2, or 0 for the background,
 * or +infinity when both ends are edges, is transposed back. No branch
 * depends on the labels. The last sx mod 4 columns are read lane by lane.
 */
export function passX4(
  lab: usize,
  out: usize,
  sx: i32,
  rows: i32,
  w2: f64,
  blackBorder: bool,
): void {
  const rb = (<usize>sx) << 2;
  const sx4 = sx & ~3;
  const one = i32x4.splat(1);
  const edge = i32x4.splat(blackBorder ? 1 : FAR);
  const farLess = i32x4.splat(FAR - 1);
  const zero = i32x4.splat(0);
  const w2v = f32x4.splat(<f32>w2);
  const inf = f32x4.splat(Infinity);
  for (let r = 0; r + 4 <= rows; r += 4) {
    const l0 = lab + <usize>r * rb;
    // Forward: the labels transposed to xl, the distances to the left end
    // to xd. `prev` starts as the first column itself and dl one short of
    // the edge's, so that the first column's dl comes out as the edge's.
    const ab = i32x4.shuffle(v128.load(l0), v128.load(l0 + rb), 0, 4, 0, 4);
    const cd = i32x4.shuffle(v128.load(l0 + 2 * rb), v128.load(l0 + 3 * rb), 0, 4, 0, 4);
    let prev = i32x4.shuffle(ab, cd, 0, 1, 4, 5);
    let dl = i32x4.sub(edge, one);
    for (let x = 0; x < sx4; x += 4) {
      const p = l0 + ((<usize>x) << 2);
      const a = v128.load(p);
      const b = v128.load(p + rb);
      const c = v128.load(p + 2 * rb);
      const d = v128.load(p + 3 * rb);
      const t0 = i32x4.shuffle(a, b, 0, 4, 1, 5);
      const t1 = i32x4.shuffle(a, b, 2, 6, 3, 7);
      const t2 = i32x4.shuffle(c, d, 0, 4, 1, 5);
      const t3 = i32x4.shuffle(c, d, 2, 6, 3, 7);
      const c0 = i64x2.shuffle(t0, t2, 0, 2);
      const c1 = i64x2.shuffle(t0, t2, 1, 3);
      const c2 = i64x2.shuffle(t1, t3, 0, 2);
      const c3 = i64x2.shuffle(t1, t3, 1, 3);
      const q = (<usize>x) << 4;
      v128.store(xl + q, c0);
      v128.store(xl + q + 16, c1);
      v128.store(xl + q + 32, c2);
      v128.store(xl + q + 48, c3);
      dl = i32x4.add(v128.and(dl, i32x4.eq(c0, prev)), one);
      v128.store(xd + q, dl);
      dl = i32x4.add(v128.and(dl, i32x4.eq(c1, c0)), one);
      v128.store(xd + q + 16, dl);
      dl = i32x4.add(v128.and(dl, i32x4.eq(c2, c1)), one);
      v128.store(xd + q + 32, dl);
      dl = i32x4.add(v128.and(dl, i32x4.eq(c3, c2)), one);
      v128.store(xd + q + 48, dl);
      prev = c3;
    }
    for (let x = sx4; x < sx; x++) {
      const p = l0 + ((<usize>x) << 2);
      let c = i32x4.splat(load<i32>(p));
      c = i32x4.replace_lane(c, 1, load<i32>(p + rb));
      c = i32x4.replace_lane(c, 2, load<i32>(p + 2 * rb));
      c = i32x4.replace_lane(c, 3, load<i32>(p + 3 * rb));
      const q = (<usize>x) << 4;
      v128.store(xl + q, c);
      dl = i32x4.add(v128.and(dl, i32x4.eq(c, prev)), one);
      v128.store(xd + q, dl);
      prev = c;
    }
    // Backward: the distance to the right end, the nearer end's cost.
    let dr = edge;
    let next = v128.load(xl + ((<usize>(sx - 1)) << 4));
    for (let x = sx - 1; x >= 0; x--) {
      const q = (<usize>x) << 4;
      const c = v128.load(xl + q);
      if (x < sx - 1) dr = i32x4.add(v128.and(dr, i32x4.eq(c, next)), one);
      next = c;
      const m = i32x4.min_s(v128.load(xd + q), dr);
      const mf = f32x4.convert_i32x4_s(m);
      let v = v128.bitselect(inf, f32x4.mul(f32x4.mul(mf, mf), w2v), i32x4.gt_s(m, farLess));
      v = v128.andnot(v, i32x4.eq(c, zero));
      v128.store(xd + q, v);
    }
    // The values back to rows.
    const o0 = out + <usize>r * rb;
    for (let x = 0; x < sx4; x += 4) {
      const q = (<usize>x) << 4;
      const a = v128.load(xd + q);
      const b = v128.load(xd + q + 16);
      const c = v128.load(xd + q + 32);
      const d = v128.load(xd + q + 48);
      const t0 = i32x4.shuffle(a, b, 0, 4, 1, 5);
      const t1 = i32x4.shuffle(a, b, 2, 6, 3, 7);
      const t2 = i32x4.shuffle(c, d, 0, 4, 1, 5);
      const t3 = i32x4.shuffle(c, d, 2, 6, 3, 7);
      const p = o0 + ((<usize>x) << 2);
      v128.store(p, i64x2.shuffle(t0, t2, 0, 2));
      v128.store(p + rb, i64x2.shuffle(t0, t2, 1, 3));
      v128.store(p + 2 * rb, i64x2.shuffle(t1, t3, 0, 2));
      v128.store(p + 3 * rb, i64x2.shuffle(t1, t3, 1, 3));
    }
    for (let x = sx4; x < sx; x++) {
      const v = v128.load(xd + ((<usize>x) << 4));
      const p = o0 + ((<usize>x) << 2);
      store<f32>(p, f32x4.extract_lane(v, 0));
      store<f32>(p + rb, f32x4.extract_lane(v, 1));
      store<f32>(p + 2 * rb, f32x4.extract_lane(v, 2));
      store<f32>(p + 3 * rb, f32x4.extract_lane(v, 3));
    }
  }
  const done = rows & ~3;
  if (done < rows) {
    passX(lab + <usize>done * rb, out + <usize>done * rb, sx, rows - done, w2, blackBorder, true);
  }
}
