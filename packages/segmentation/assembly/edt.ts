// Multi-label anisotropic Euclidean distance transform, the WebAssembly half
// of packages/segmentation/src/edt-wasm.ts (which lays out the memory and
// documents the contract). Labels are uint32, distances float32. The line
// path (direct search of short runs, envelope of the others) has the
// arithmetic of the JavaScript reference (src/edt-js.ts): float64 locals, one
// rounding to float32 per stored value. The SIMD paths add in float32 and are
// used only where that rounds the same way (see planeXY).
//
// Pointers are byte addresses into this module's memory; `step` arguments
// are byte distances between consecutive voxels of a line.
//
// The scratch layout and constants are in _edt_scratch.ts, the pass along x
// in _edt_x.ts and the transform of one line in _edt_line.ts; this entry
// file holds the plane and volume passes over them.

import { costY, costZ, FAR, MAX_CAP, tile } from "./_edt_scratch";
import { line, near } from "./_edt_line";
import { passX, passX4 } from "./_edt_x";

export { MAX_CAP, scratchBytes, setCosts, setScratch } from "./_edt_scratch";

/**
 * Stores the 4x4 block of 32-bit values whose rows are a, b, c, d
 * transposed: its columns at `out`, `out + step`, `out + 2 step`, `out + 3 step`.
 */
function storeTransposed(a: v128, b: v128, c: v128, d: v128, out: usize, step: usize): void {
  const t0 = i32x4.shuffle(a, b, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(a, b, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(c, d, 0, 4, 1, 5);
  const t3 = i32x4.shuffle(c, d, 2, 6, 3, 7);
  v128.store(out, i64x2.shuffle(t0, t2, 0, 2));
  v128.store(out + step, i64x2.shuffle(t0, t2, 1, 3));
  v128.store(out + 2 * step, i64x2.shuffle(t1, t3, 0, 2));
  v128.store(out + 3 * step, i64x2.shuffle(t1, t3, 1, 3));
}

/**
 * Four adjacent columns (`len` voxels `step` bytes apart from `src`) to
 * four contiguous lines of `tile`, `stride` bytes apart.
 */
function gather(src: usize, step: usize, len: i32, tile: usize, stride: usize): void {
  let q = 0;
  for (; q + 4 <= len; q += 4) {
    const p = src + <usize>q * step;
    storeTransposed(
      v128.load(p),
      v128.load(p + step),
      v128.load(p + 2 * step),
      v128.load(p + 3 * step),
      tile + ((<usize>q) << 2),
      stride,
    );
  }
  for (; q < len; q++) {
    for (let k: usize = 0; k < 4; k++) {
      store<u32>(
        tile + k * stride + ((<usize>q) << 2),
        load<u32>(src + <usize>q * step + (k << 2)),
      );
    }
  }
}

/** The reverse of {@link gather}: four tile lines back to their columns at `dst`. */
function scatter(tile: usize, stride: usize, len: i32, dst: usize, step: usize): void {
  let q = 0;
  for (; q + 4 <= len; q += 4) {
    const t = tile + ((<usize>q) << 2);
    storeTransposed(
      v128.load(t),
      v128.load(t + stride),
      v128.load(t + 2 * stride),
      v128.load(t + 3 * stride),
      dst + <usize>q * step,
      step,
    );
  }
  for (; q < len; q++) {
    for (let k: usize = 0; k < 4; k++) {
      store<u32>(
        dst + <usize>q * step + (k << 2),
        load<u32>(tile + k * stride + ((<usize>q) << 2)),
      );
    }
  }
}

/**
 * `count` adjacent lines (columns 4 bytes apart) of `len` voxels `step`
 * bytes apart, from `src` to `dst` (which may be `src`), by the line path:
 * four at a time gathered into contiguous lines of the tile, transformed
 * there and scattered back. For axes whose w2 k^2 is not exact in float32.
 */
function linesAcross(
  lab: usize,
  src: usize,
  dst: usize,
  count: i32,
  step: usize,
  len: i32,
  w2: f64,
  blackBorder: bool,
  root: bool,
): void {
  const stride = (((<usize>len) << 2) + 15) & ~(<usize>15);
  const tileLab = tile;
  const tileVal = tile + 4 * stride;
  let c = 0;
  for (; c + 4 <= count; c += 4) {
    const off = (<usize>c) << 2;
    gather(lab + off, step, len, tileLab, stride);
    gather(src + off, step, len, tileVal, stride);
    for (let k: usize = 0; k < 4; k++) {
      line(
        tileLab + k * stride,
        tileVal + k * stride,
        tileVal + k * stride,
        4,
        len,
        w2,
        blackBorder,
        root,
      );
    }
    scatter(tileVal, stride, len, dst + off, step);
  }
  for (; c < count; c++) {
    const o = (<usize>c) << 2;
    line(lab + o, src + o, dst + o, step, len, w2, blackBorder, root);
  }
}

/**
 * One plane's x and y passes: labels `lab` (sx x sy) to `mid` (squared
 * distances within the plane). The x pass writes `f`, which has `capY`
 * rows of +infinity above and below it (laid out by the caller), so the y
 * search reads past the plane's edges without tests. `dr` (sx x sy int32)
 * and `dl` (sx int32) hold the run distances to the nearest y boundary
 * above and below; `flags` (sx int32) marks the columns that take the line
 * path. Returns a bound on the plane's largest value, which tells
 * {@link prepareZ} whether any z search could need more than its cap.
 *
 * The y pass runs row by row over groups of four columns (SIMD lanes), the
 * rows y +- d contiguous in memory. w2 times the nearer y boundary's
 * distance squared bounds each voxel's result; then, for growing d while
 * w2 d^2 is below some lane's best, min(f[y - d], f[y + d]) + w2 d^2
 * competes. That needs no label test: a voxel at or beyond the nearest
 * boundary costs at least w2 d^2, which is no less than the bound. The sums
 * are float32: this runs only where every w2 k^2 along y is exact in
 * float32 (`capY` > 0), so each stored value is rounded once, as the
 * reference's float64 sum stored as float32 (rounding is monotone, so the
 * min of two rounded sums is the rounded min). Lanes that would need more
 * than `capY` steps (among them every column without a boundary) flag their
 * column, and flagged columns, the last sx mod 4 columns and every column
 * when `capY` is 0 take the line path.
 */
export function planeXY(
  lab: usize,
  f: usize,
  dr: usize,
  dl: usize,
  flags: usize,
  list: usize,
  mid: usize,
  sx: i32,
  sy: i32,
  wx2: f64,
  wy2: f64,
  blackBorder: bool,
  exactX: bool,
  capY: i32,
): f32 {
  let top = f32x4.splat(0);
  if (exactX && sx >= 4) passX4(lab, f, sx, sy, wx2, blackBorder);
  else passX(lab, f, sx, sy, wx2, blackBorder, exactX);
  const rb = (<usize>sx) << 2;
  const sx4 = capY > 0 ? sx & ~3 : 0;
  const cap = capY > MAX_CAP ? MAX_CAP : capY;
  if (sx4 > 0) {
    const edge = i32x4.splat(blackBorder ? 1 : FAR);
    const one = i32x4.splat(1);
    // Backward: distance to the boundary above.
    const last = <usize>(sy - 1) * rb;
    for (let x = 0; x < sx4; x += 4) v128.store(dr + last + ((<usize>x) << 2), edge);
    for (let y = sy - 2; y >= 0; y--) {
      const row = <usize>y * rb;
      for (let x = 0; x < sx4; x += 4) {
        const p = row + ((<usize>x) << 2);
        const same = i32x4.eq(v128.load(lab + p), v128.load(lab + p + rb));
        v128.store(dr + p, i32x4.add(v128.and(v128.load(dr + p + rb), same), one));
      }
    }
    const w2v = v128.load(costY + 16);
    for (let x = 0; x < sx4; x += 4) {
      v128.store(dl + ((<usize>x) << 2), edge);
      v128.store(flags + ((<usize>x) << 2), i32x4.splat(0));
    }
    const first = v128.load(costY + 16);
    const second = v128.load(costY + 32);
    for (let y = 0; y < sy; y++) {
      const row = <usize>y * rb;
      // Each group's bound, own value and first step; the groups some lane
      // of which the second step could improve go to the list.
      let n = 0;
      for (let x = 0; x < sx4; x += 4) {
        const xo = (<usize>x) << 2;
        const p = row + xo;
        let dlv = v128.load(dl + xo);
        if (y > 0) {
          const same = i32x4.eq(v128.load(lab + p), v128.load(lab + p - rb));
          dlv = i32x4.add(v128.and(dlv, same), one);
          v128.store(dl + xo, dlv);
        }
        const mf = f32x4.convert_i32x4_s(i32x4.min_s(dlv, v128.load(dr + p)));
        const at = f + p;
        let best = f32x4.pmin(v128.load(at), f32x4.mul(f32x4.mul(mf, mf), w2v));
        // The first step for every group: most need it.
        const near = f32x4.pmin(v128.load(at - rb), v128.load(at + rb));
        best = f32x4.pmin(best, f32x4.add(near, first));
        v128.store(mid + p, best);
        top = f32x4.pmax(top, best);
        store<u32>(list + ((<usize>n) << 2), <u32>p);
        n += i32(v128.any_true(f32x4.lt(second, best)));
      }
      // Step d for every group still on the list, which keeps those whose
      // next step could still improve a lane: no branch per group.
      // Two steps per sweep of the list (a step beyond a group's need finds
      // nothing lower: genuine candidates, or ones past the bound).
      for (let d = 2; n > 0; ) {
        const cost = v128.load(costY + ((<usize>d) << 4));
        if (d > cap) {
          for (let k = 0; k < n; k++) {
            const p = <usize>load<u32>(list + ((<usize>k) << 2));
            const at = flags + p - row;
            v128.store(at, v128.or(v128.load(at), f32x4.lt(cost, v128.load(mid + p))));
          }
          break;
        }
        const two = d < cap;
        const cost2 = v128.load(costY + ((<usize>(d + 1)) << 4));
        const nextD = two ? d + 2 : d + 1;
        const next = v128.load(costY + ((<usize>nextD) << 4));
        const off = <usize>d * rb;
        const off2 = two ? off + rb : off;
        let m = 0;
        for (let k = 0; k < n; k++) {
          const p = <usize>load<u32>(list + ((<usize>k) << 2));
          const at = f + p;
          const cand = f32x4.add(f32x4.pmin(v128.load(at - off), v128.load(at + off)), cost);
          const cand2 = f32x4.add(f32x4.pmin(v128.load(at - off2), v128.load(at + off2)), cost2);
          const best = f32x4.pmin(v128.load(mid + p), f32x4.pmin(cand, cand2));
          v128.store(mid + p, best);
          store<u32>(list + ((<usize>m) << 2), <u32>p);
          m += i32(v128.any_true(f32x4.lt(next, best)));
        }
        n = m;
        d = nextD;
      }
    }
  }
  // The line path: flagged columns and the rest.
  for (let x = 0; x < sx; x++) {
    const xo = (<usize>x) << 2;
    if (x < sx4 && load<i32>(flags + xo) === 0) continue;
    line(lab + xo, f + xo, mid + xo, rb, sy, wy2, blackBorder, false);
    for (let y = 0; y < sy; y++) top = f32x4.pmax(top, f32x4.splat(load<f32>(mid + <usize>y * rb + xo)));
  }
  const a = f32x4.pmax(top, i32x4.shuffle(top, top, 2, 3, 0, 1));
  const b = f32x4.pmax(a, i32x4.shuffle(a, a, 1, 0, 3, 2));
  return f32x4.extract_lane(b, 0);
}

/**
 * Before the z pass: the (x, y) columns whose search could need more than
 * `capZ` steps (a value in the column beyond w2 (capZ + 1)^2, which includes
 * infinite ones), the last sxy mod 4 columns, and every column when `capZ`
 * is 0 are transformed along z in place in `mid` by the line path. `top`
 * bounds every value (the largest that {@link planeXY} returned): when it
 * is within the limit, only the last columns are. Otherwise `maxp` gets each
 * column's largest value, and -1 for the columns transformed here, so that
 * {@link planeZ} only copies them. Returns how many of the first sxy - sxy
 * mod 4 columns it transformed (if any, planeZ must read maxp).
 */
export function prepareZ(
  lab: usize,
  mid: usize,
  maxp: usize,
  sxy: i32,
  sz: i32,
  wz2: f64,
  blackBorder: bool,
  capZ: i32,
  top: f32,
): i32 {
  const pb = (<usize>sxy) << 2;
  if (capZ <= 0) {
    linesAcross(lab, mid, mid, sxy, pb, sz, wz2, blackBorder, false);
    for (let i = 0; i < sxy; i++) store<f32>(maxp + ((<usize>i) << 2), -1);
    return sxy;
  }
  const cap = capZ > MAX_CAP ? MAX_CAP : capZ;
  const limit = load<f32>(costZ + ((<usize>(cap + 1)) << 4));
  const sxy4 = sxy & ~3;
  for (let i = sxy4; i < sxy; i++) {
    const o = (<usize>i) << 2;
    line(lab + o, mid + o, mid + o, pb, sz, wz2, blackBorder, false);
  }
  if (!(top > limit)) return 0;
  memory.copy(maxp, mid, (<usize>sxy4) << 2);
  for (let z = 1; z < sz; z++) {
    const plane = mid + <usize>z * pb;
    for (let i = 0; i < sxy4; i += 4) {
      const o = (<usize>i) << 2;
      v128.store(maxp + o, f32x4.pmax(v128.load(maxp + o), v128.load(plane + o)));
    }
  }
  let count = 0;
  for (let i = 0; i < sxy4; i++) {
    const o = (<usize>i) << 2;
    if (!(load<f32>(maxp + o) > limit)) continue;
    line(lab + o, mid + o, mid + o, pb, sz, wz2, blackBorder, false);
    store<f32>(maxp + o, -1);
    count++;
  }
  return count;
}

/**
 * Plane `z` of the z pass: `mid` (all planes, after {@link prepareZ}) to
 * `dst` (one plane), square roots unless `squared`. Four (x, y) columns at a
 * time (SIMD lanes). A first sweep over the plane writes every group's own
 * value and lists the groups some lane of which one step could improve (at
 * 4x4x40 nm few: a voxel far from boundaries within its plane); then step d
 * runs over the listed groups, which keeps those whose next step could still
 * improve a lane, as in {@link planeXY}. The search tests the neighbour's
 * label at each step: another label is a boundary (0 plus w2 d^2); one of
 * q's label beyond a boundary costs more than that boundary. `list` (sxy / 4
 * int32) and `best` (sxy float32) are working memory. {@link prepareZ} left
 * only columns that finish within the cap; lanes of columns it transformed
 * (maxp < 0) keep their value. `anyDone`: whether there are such columns
 * (what prepareZ returned); if not, maxp is not read.
 */
export function planeZ(
  lab: usize,
  mid: usize,
  maxp: usize,
  dst: usize,
  list: usize,
  best: usize,
  z: i32,
  sxy: i32,
  sz: i32,
  blackBorder: bool,
  squared: bool,
  anyDone: bool,
): void {
  const pb = (<usize>sxy) << 2;
  const plane = <usize>z * pb;
  const first = v128.load(costZ + 16);
  const zero = f32x4.splat(0);
  const inf = f32x4.splat(Infinity);
  const sxy4 = sxy & ~3;
  let n = 0;
  if (anyDone) {
    for (let i = 0; i < sxy4; i += 4) {
      const o = (<usize>i) << 2;
      const v = v128.load(mid + plane + o);
      v128.store(dst + o, squared ? v : f32x4.sqrt(v));
      store<u32>(list + ((<usize>n) << 2), <u32>o);
      const done = f32x4.lt(v128.load(maxp + o), zero);
      n += i32(v128.any_true(v128.andnot(f32x4.lt(first, v), done)));
    }
  } else {
    for (let i = 0; i < sxy4; i += 4) {
      const o = (<usize>i) << 2;
      const v = v128.load(mid + plane + o);
      v128.store(dst + o, squared ? v : f32x4.sqrt(v));
      store<u32>(list + ((<usize>n) << 2), <u32>o);
      n += i32(v128.any_true(f32x4.lt(first, v)));
    }
  }
  for (let d = 1; n > 0; d++) {
    const lo = z - d;
    const hi = z + d;
    if (lo < -1 && hi > sz) break;
    const cost = v128.load(costZ + ((<usize>d) << 4));
    const next = v128.load(costZ + ((<usize>(d + 1)) << 4));
    // Past a black border's edge the outside is a boundary d steps away.
    const edge = (lo === -1 || hi === sz) && blackBorder ? cost : inf;
    const below = lo >= 0;
    const above = hi < sz;
    const off = <usize>d * pb;
    let m = 0;
    for (let k = 0; k < n; k++) {
      const o = <usize>load<u32>(list + ((<usize>k) << 2));
      const p = plane + o;
      const lq = v128.load(lab + p);
      let cand = edge;
      if (below) {
        const same = i32x4.eq(v128.load(lab + p - off), lq);
        cand = f32x4.pmin(cand, f32x4.add(v128.and(v128.load(mid + p - off), same), cost));
      }
      if (above) {
        const same = i32x4.eq(v128.load(lab + p + off), lq);
        cand = f32x4.pmin(cand, f32x4.add(v128.and(v128.load(mid + p + off), same), cost));
      }
      const done = anyDone ? f32x4.lt(v128.load(maxp + o), zero) : zero;
      // Best so far: the plane's own value before the first step.
      const was = v128.load(d === 1 ? mid + p : best + o);
      const b = v128.bitselect(was, f32x4.pmin(was, cand), done);
      v128.store(best + o, b);
      v128.store(dst + o, squared ? b : f32x4.sqrt(b));
      store<u32>(list + ((<usize>m) << 2), <u32>o);
      m += i32(v128.any_true(v128.andnot(f32x4.lt(next, b), done)));
    }
    n = m;
  }
  for (let i = sxy4; i < sxy; i++) {
    const o = (<usize>i) << 2;
    const v = load<f32>(mid + plane + o);
    store<f32>(dst + o, squared ? v : Mathf.sqrt(v));
  }
}

/**
 * 64-bit labels (`n` little-endian words at `src`) to their low words at
 * `dst`, which keeps them distinct and 0 at 0 when every high word is the
 * same and, if that word is not 0, no low word is 0. Returns 1 if so, 0 if
 * not (the caller then takes the JavaScript path).
 */
export function narrow64(src: usize, dst: usize, n: i32): i32 {
  if (n === 0) return 1;
  const hi = load<u32>(src + 4);
  let lowZero = false;
  for (let i = 0; i < n; i++) {
    const p = src + ((<usize>i) << 3);
    if (load<u32>(p + 4) !== hi) return 0;
    const lo = load<u32>(p);
    if (lo === 0) lowZero = true;
    store<u32>(dst + ((<usize>i) << 2), lo);
  }
  return hi !== 0 && lowZero ? 0 : 1;
}
