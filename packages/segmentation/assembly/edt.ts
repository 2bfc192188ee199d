// Multi-label anisotropic Euclidean distance transform, the WebAssembly half
// of packages/segmentation/src/edt-wasm.ts (which lays out the memory and
// documents the contract). Labels are uint32, distances float32. The line
// path (direct search of short runs, envelope of the others) has the
// arithmetic of the JavaScript reference (src/edt-js.ts): float64 locals, one
// rounding to float32 per stored value. The SIMD paths add in float32 and are
// used only where that rounds the same way (see nearGroup).
//
// Pointers are byte addresses into this module's memory; `step` arguments
// are byte distances between consecutive voxels of a line.

/** On the line path, runs whose squared reach is at most NEAR_REACH^2 steps take the direct search. */
const NEAR_REACH: f64 = 4;

/**
 * Along x: each run of one label gets the squared distance to its nearer
 * end (an end at the volume's edge counts only with a black border).
 * Background runs get 0.
 */
function passX(
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

/** A run distance meaning "no boundary on this side": its w2 d^2 is beyond any cap's. */
const FAR: i32 = 0x40000000;

/** The most steps the SIMD direct search may take (the size of its cost table). */
export const MAX_CAP: i32 = 64;

/**
 * The direct search for four adjacent lines at once (SIMD lanes). For each
 * voxel q, the distances to the nearest boundary below and above (another
 * label, or the outside with a black border) come from a backward sweep
 * (kept in `sdr`) and a forward one, and w2 times the nearer one squared
 * bounds q's result. Then, for growing d while w2 d^2 is below a lane's
 * best, the values at q +- d plus w2 d^2 compete. Those need no label test:
 * a voxel at or beyond the nearest boundary costs at least w2 d^2, which is
 * no less than the bound. Gives up (returns false) when a voxel would need
 * more than `cap` steps (which includes every voxel whose line has no
 * boundary). The sums are float32: the caller uses this only where every
 * w2 k^2 up to the line's length is exact in float32, so that each sum is
 * rounded once, as the reference's float64 sum stored as float32. The cost
 * table `scost` holds w2 d^2 for d = 0..cap+1.
 */
function nearGroup(
  lab: usize,
  src: usize,
  dst: usize,
  step: usize,
  len: i32,
  blackBorder: bool,
  root: bool,
  cap: i32,
): bool {
  const one = i32x4.splat(1);
  const edge = i32x4.splat(blackBorder ? 1 : FAR);
  const w2v = v128.load(scost + 16);
  // Backward: distance to the boundary above.
  let dr = edge;
  let next = v128.load(lab + <usize>(len - 1) * step);
  v128.store(sdr + ((<usize>(len - 1)) << 4), dr);
  for (let q = len - 2; q >= 0; q--) {
    const lq = v128.load(lab + <usize>q * step);
    dr = v128.bitselect(i32x4.add(dr, one), one, i32x4.eq(lq, next));
    v128.store(sdr + ((<usize>q) << 4), dr);
    next = lq;
  }
  let dl = edge;
  let prev = v128.load(lab);
  for (let q = 0; q < len; q++) {
    const pq = <usize>q * step;
    const at = src + pq;
    const lq = v128.load(lab + pq);
    if (q > 0) dl = v128.bitselect(i32x4.add(dl, one), one, i32x4.eq(lq, prev));
    prev = lq;
    const mf = f32x4.convert_i32x4_s(i32x4.min_s(dl, v128.load(sdr + ((<usize>q) << 4))));
    let best = f32x4.min(v128.load(at), f32x4.mul(f32x4.mul(mf, mf), w2v));
    const above = len - q;
    for (let d = 1; ; d++) {
      const cost = v128.load(scost + ((<usize>d) << 4));
      if (!v128.any_true(f32x4.lt(cost, best))) break;
      if (d > cap) return false;
      const off = <usize>d * step;
      if (d <= q) best = f32x4.min(best, f32x4.add(v128.load(at - off), cost));
      if (d < above) best = f32x4.min(best, f32x4.add(v128.load(at + off), cost));
    }
    v128.store(dst + pq, root ? f32x4.sqrt(best) : best);
  }
  return true;
}

/**
 * The direct search with a label test per step instead of the boundary
 * sweeps. It reads no label where a voxel's own value is within one step
 * (the z pass of anisotropic data: nearly every voxel), so it suits passes
 * whose searches are mostly empty. A neighbour of another label counts as a
 * boundary (0 plus w2 d^2); one of q's label past a boundary costs more than
 * that boundary. Gives up (false) past `cap` steps, as {@link nearGroup}.
 */
function nearGroupMasked(
  lab: usize,
  src: usize,
  dst: usize,
  step: usize,
  len: i32,
  blackBorder: bool,
  root: bool,
  cap: i32,
): bool {
  const first = v128.load(scost + 16);
  for (let q = 0; q < len; q++) {
    const pq = <usize>q * step;
    let best = v128.load(src + pq);
    if (v128.any_true(f32x4.lt(first, best))) {
      const lq = v128.load(lab + pq);
      for (let d = 1; ; d++) {
        const cost = v128.load(scost + ((<usize>d) << 4));
        if (!v128.any_true(f32x4.lt(cost, best))) break;
        if (d > cap) return false;
        const lo = q - d;
        const hi = q + d;
        if (lo >= 0) {
          const p = pq - <usize>d * step;
          const same = i32x4.eq(v128.load(lab + p), lq);
          best = f32x4.min(best, f32x4.add(v128.and(v128.load(src + p), same), cost));
        } else if (lo === -1 && blackBorder) {
          best = f32x4.min(best, cost);
        }
        if (hi < len) {
          const p = pq + <usize>d * step;
          const same = i32x4.eq(v128.load(lab + p), lq);
          best = f32x4.min(best, f32x4.add(v128.and(v128.load(src + p), same), cost));
        } else if (hi === len && blackBorder) {
          best = f32x4.min(best, cost);
        }
        if (lo < -1 && hi > len) break;
      }
    }
    v128.store(dst + pq, root ? f32x4.sqrt(best) : best);
  }
  return true;
}

/** Scratch of the envelope, laid out by {@link setScratch}. */
let sv: usize = 0; // i32 vertex positions
let sfv: usize = 0; // f64 values at the vertices
let scv: usize = 0; // f64 vertex heights fv + w2 v^2
let szn: usize = 0; // f64 intersection numerators
let szd: usize = 0; // f64 intersection denominators
let sg: usize = 0; // f64 direct-search results of one run
let tile: usize = 0; // four lines of labels, then four of values (see across)
let sdr: usize = 0; // i32x4 run distances above each voxel of a group (see nearGroup)
let scost: usize = 0; // f32x4 w2 d^2 for d = 0..MAX_CAP + 1 (see nearGroup)

/** Bytes of scratch that lines of up to `maxLen` voxels need. */
export function scratchBytes(maxLen: i32): usize {
  return setScratch(0, maxLen);
}

/** Lays out the scratch for lines of up to `maxLen` voxels from `at`; returns its size in bytes. */
export function setScratch(at: usize, maxLen: i32): usize {
  const n = <usize>maxLen + 3;
  sv = at;
  sfv = sv + (n << 3);
  scv = sfv + (n << 3);
  szn = scv + (n << 3);
  szd = szn + (n << 3);
  sg = szd + (n << 3);
  tile = sg + (n << 3);
  const stride = (((<usize>maxLen) << 2) + 15) & ~(<usize>15);
  sdr = tile + 8 * stride;
  scost = sdr + (n << 4);
  return scost + ((<usize>(MAX_CAP + 2)) << 4) - at;
}

function fAt(p: usize): f64 {
  return <f64>load<f32>(p);
}

/**
 * One line, run by run (`src` to `dst`, `len` voxels `step` bytes apart):
 * runs within NEAR_REACH steps of a boundary by direct search, the others
 * by Felzenszwalb and Huttenlocher's lower envelope of parabolas, with a
 * zero just outside each run where a boundary lies.
 */
function line(
  lab: usize,
  src: usize,
  dst: usize,
  step: usize,
  len: i32,
  w2: f64,
  blackBorder: bool,
  root: bool,
): void {
  const reach2 = NEAR_REACH * NEAR_REACH;
  let a = 0;
  while (a < len) {
    const first = <usize>a * step;
    const l = load<u32>(lab + first);
    let max = fAt(src + first);
    let b = a + 1;
    let at = first + step;
    while (b < len && load<u32>(lab + at) === l) {
      const v = fAt(src + at);
      if (v > max) max = v;
      b++;
      at += step;
    }
    const m = b - a;
    if (l === 0) {
      for (let i = 0, p = first; i < m; i++, p += step) store<f32>(dst + p, 0);
    } else {
      const left = a > 0 || blackBorder;
      const right = b < len || blackBorder;
      let reach = max / w2;
      if (left && right) {
        const half = <f64>((m + 1) >> 1);
        if (half * half < reach) reach = half * half;
      }
      if (reach <= reach2) near(src + first, dst + first, m, step, w2, left, right, root);
      else envelope(src + first, dst + first, m, step, w2, left, right, root);
    }
    a = b;
  }
}

/** The direct search over one run of `m` voxels (as the JavaScript reference's `near`). */
function near(
  src: usize,
  dst: usize,
  m: i32,
  step: usize,
  w2: f64,
  left: bool,
  right: bool,
  root: bool,
): void {
  for (let q = 0; q < m; q++) {
    let best = fAt(src + <usize>q * step);
    const dl: f64 = left ? <f64>(q + 1) : Infinity;
    const dr: f64 = right ? <f64>(m - q) : Infinity;
    const de = Math.min(dl, dr);
    if (w2 * de * de < best) best = w2 * de * de;
    for (let d = 1; w2 * <f64>d * <f64>d < best; d++) {
      const cost = w2 * <f64>d * <f64>d;
      if (q >= d) {
        const x = fAt(src + <usize>(q - d) * step) + cost;
        if (x < best) best = x;
      }
      if (q + d < m) {
        const x = fAt(src + <usize>(q + d) * step) + cost;
        if (x < best) best = x;
      }
    }
    store<f64>(sg + ((<usize>q) << 3), best);
  }
  for (let q = 0; q < m; q++) {
    const v = <f32>load<f64>(sg + ((<usize>q) << 3));
    store<f32>(dst + <usize>q * step, root ? Mathf.sqrt(v) : v);
  }
}

/**
 * Felzenszwalb-Huttenlocher over one run (as the JavaScript reference's
 * `envelope`): intersections kept as fractions zn / zd and compared by
 * cross-multiplying.
 */
function envelope(
  src: usize,
  dst: usize,
  m: i32,
  step: usize,
  w2: f64,
  left: bool,
  right: bool,
  root: bool,
): void {
  let k = -1;
  if (left) {
    k = 0;
    store<i32>(sv, -1);
    store<f64>(sfv, 0);
    store<f64>(scv, w2);
  }
  const w2x2 = 2 * w2;
  const end = right ? m + 1 : m;
  for (let q = 0; q < end; q++) {
    const fq: f64 = q < m ? fAt(src + <usize>q * step) : 0;
    if (fq === Infinity) continue;
    const cq = fq + w2 * <f64>q * <f64>q;
    if (k < 0) {
      k = 0;
      store<i32>(sv, q);
      store<f64>(sfv, fq);
      store<f64>(scv, cq);
      continue;
    }
    let num = cq - load<f64>(scv + ((<usize>k) << 3));
    let den = w2x2 * <f64>(q - load<i32>(sv + ((<usize>k) << 2)));
    while (
      k > 0 &&
      num * load<f64>(szd + ((<usize>k) << 3)) <= load<f64>(szn + ((<usize>k) << 3)) * den
    ) {
      k--;
      num = cq - load<f64>(scv + ((<usize>k) << 3));
      den = w2x2 * <f64>(q - load<i32>(sv + ((<usize>k) << 2)));
    }
    k++;
    store<i32>(sv + ((<usize>k) << 2), q);
    store<f64>(sfv + ((<usize>k) << 3), fq);
    store<f64>(scv + ((<usize>k) << 3), cq);
    store<f64>(szn + ((<usize>k) << 3), num);
    store<f64>(szd + ((<usize>k) << 3), den);
  }
  if (k < 0) {
    // No finite value and no boundary: the run stays infinite.
    const inf: f32 = Infinity;
    for (let q = 0; q < m; q++) store<f32>(dst + <usize>q * step, inf);
    return;
  }
  store<f64>(szn + ((<usize>(k + 1)) << 3), Infinity);
  store<f64>(szd + ((<usize>(k + 1)) << 3), 1);
  let j = 0;
  for (let q = 0; q < m; q++) {
    while (
      load<f64>(szn + ((<usize>(j + 1)) << 3)) <
      <f64>q * load<f64>(szd + ((<usize>(j + 1)) << 3))
    ) {
      j++;
    }
    const d = <f64>(q - load<i32>(sv + ((<usize>j) << 2)));
    const v = <f32>(w2 * d * d + load<f64>(sfv + ((<usize>j) << 3)));
    store<f32>(dst + <usize>q * step, root ? Mathf.sqrt(v) : v);
  }
}

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
 * bytes apart, from `src` to `dst`, four at a time. Each group first tries
 * the SIMD direct search (when `cap` > 0: w2 k^2 exact in float32); a group
 * that needs more than `cap` steps is gathered into contiguous lines of the
 * tile, transformed line by line there and scattered back. `masked` picks
 * the search with a label test per step (for passes whose searches are
 * mostly empty: the z pass) over the one bounded by boundary sweeps.
 */
function across(
  lab: usize,
  src: usize,
  dst: usize,
  count: i32,
  step: usize,
  len: i32,
  w2: f64,
  blackBorder: bool,
  root: bool,
  cap: i32,
  masked: bool,
): void {
  if (cap > MAX_CAP) cap = MAX_CAP;
  for (let d = 0; d <= cap + 1; d++) {
    v128.store(scost + ((<usize>d) << 4), f32x4.splat(<f32>(w2 * <f64>d * <f64>d)));
  }
  const stride = (((<usize>len) << 2) + 15) & ~(<usize>15);
  const tileLab = tile;
  const tileVal = tile + 4 * stride;
  let c = 0;
  for (; c + 4 <= count; c += 4) {
    const off = (<usize>c) << 2;
    const done =
      cap > 0 &&
      (masked
        ? nearGroupMasked(lab + off, src + off, dst + off, step, len, blackBorder, root, cap)
        : nearGroup(lab + off, src + off, dst + off, step, len, blackBorder, root, cap));
    if (done) {
      continue;
    }
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

/**
 * The whole transform: `lab` (uint32 labels) to `out` (float32), with
 * `mid` (the x and y passes' result, sx*sy*sz floats) and `plane` (one
 * plane's x pass, sx*sy floats) as working memory; {@link setScratch} must
 * have been called for lines of max(sy, sz) voxels. `exactX`: w2 k^2 along
 * x is exact in float32 for every k up to sx + 1 (SIMD x pass); `capY` /
 * `capZ`: the direct search's step limit along y and z (at most MAX_CAP), 0
 * where w2 k^2 is not exact in float32 (line path only).
 */
export function distanceTransform(
  lab: usize,
  out: usize,
  mid: usize,
  plane: usize,
  sx: i32,
  sy: i32,
  sz: i32,
  wx2: f64,
  wy2: f64,
  wz2: f64,
  blackBorder: bool,
  squared: bool,
  exactX: bool,
  capY: i32,
  capZ: i32,
): void {
  passesXY(lab, mid, plane, sx, sy, sz, wx2, wy2, blackBorder, exactX, capY);
  passZ(lab, mid, out, sx, sy, sz, wz2, blackBorder, squared, capZ);
}

/** The x and y passes, plane by plane (`lab` to `mid`, through `plane`). */
export function passesXY(
  lab: usize,
  mid: usize,
  plane: usize,
  sx: i32,
  sy: i32,
  sz: i32,
  wx2: f64,
  wy2: f64,
  blackBorder: bool,
  exactX: bool,
  capY: i32,
): void {
  const rowBytes = (<usize>sx) << 2;
  const planeBytes = rowBytes * <usize>sy;
  for (let z = 0; z < sz; z++) {
    const off = <usize>z * planeBytes;
    passX(lab + off, plane, sx, sy, wx2, blackBorder, exactX);
    across(lab + off, plane, mid + off, sx, rowBytes, sy, wy2, blackBorder, false, capY, false);
  }
}

/** The z pass, row by row (`mid` to `out`), with the square roots unless `squared`. */
export function passZ(
  lab: usize,
  mid: usize,
  out: usize,
  sx: i32,
  sy: i32,
  sz: i32,
  wz2: f64,
  blackBorder: bool,
  squared: bool,
  capZ: i32,
): void {
  const rowBytes = (<usize>sx) << 2;
  const planeBytes = rowBytes * <usize>sy;
  for (let y = 0; y < sy; y++) {
    const off = <usize>y * rowBytes;
    across(lab + off, mid + off, out + off, sx, planeBytes, sz, wz2, blackBorder, !squared, capZ, true);
  }
}
