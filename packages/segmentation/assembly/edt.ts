// Multi-label anisotropic Euclidean distance transform, the WebAssembly half
// of packages/segmentation/src/edt-wasm.ts (which lays out the memory and
// documents the contract). Labels are uint32, distances float32 with the
// arithmetic of the JavaScript reference (src/edt-js.ts): float64 locals,
// one rounding to float32 per stored value.
//
// Pointers are byte addresses into this module's memory; `step` arguments
// are byte distances between consecutive voxels of a line.

/** Columns whose squared reach along the axis is at most NEAR_REACH^2 steps take the direct search. */
const NEAR_REACH: f64 = 4;

/**
 * Along x: each run of one label gets the squared distance to its nearer
 * end (an end at the volume's edge counts only with a black border).
 * Background runs get 0.
 */
function passX(lab: usize, out: usize, sx: i32, rows: i32, w2: f64, blackBorder: bool): void {
  const rowBytes = (<usize>sx) << 2;
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
      if (l === 0) {
        for (let i = a; i < b; i++) store<f32>(orow + ((<usize>i) << 2), 0);
      } else {
        const left = a > 0 || blackBorder;
        const right = b < sx || blackBorder;
        for (let i = a; i < b; i++) {
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
 * The direct search for four adjacent lines at once (SIMD lanes): voxel q
 * takes the least of its own value and, for growing d while w2 d^2 is
 * below a lane's best, its neighbours q +- d (their value where they carry
 * q's label, 0 where they do not: a boundary) plus w2 d^2, and the outside
 * at -1 and len with a black border. A neighbour beyond a boundary is never
 * reached: the boundary's w2 d^2 already ended the search. The sums are
 * float32; the caller uses this only where w2 d^2 is exact in float32, so
 * each sum is rounded once, as in float64 then stored.
 */
function nearGroup(
  lab: usize,
  src: usize,
  dst: usize,
  step: usize,
  len: i32,
  w2: f64,
  blackBorder: bool,
  root: bool,
  cap: i32,
): bool {
  for (let q = 0; q < len; q++) {
    const pq = <usize>q * step;
    const lq = v128.load(lab + pq);
    let best = v128.load(src + pq);
    for (let d = 1; ; d++) {
      const cost = f32x4.splat(<f32>(w2 * <f64>d * <f64>d));
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
  return tile + 8 * stride - at;
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
 * bytes apart, from `src` to `dst`, four at a time. A group whose values
 * are all within NEAR_REACH steps takes the SIMD direct search when `simd`
 * (w2 d^2 exact in float32); the others are gathered into contiguous lines
 * of the tile, transformed line by line there and scattered back.
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
): void {
  const stride = (((<usize>len) << 2) + 15) & ~(<usize>15);
  const tileLab = tile;
  const tileVal = tile + 4 * stride;
  let c = 0;
  for (; c + 4 <= count; c += 4) {
    const off = (<usize>c) << 2;
    if (
      cap > 0 &&
      nearGroup(lab + off, src + off, dst + off, step, len, w2, blackBorder, root, cap)
    ) {
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
 * have been called for lines of max(sy, sz) voxels. `simdY` / `simdZ`: the
 * axis's w2 d^2 are exact in float32 for d up to NEAR_REACH + 1.
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
  capY: i32,
  capZ: i32,
): void {
  passesXY(lab, mid, plane, sx, sy, sz, wx2, wy2, blackBorder, capY);
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
  capY: i32,
): void {
  const rowBytes = (<usize>sx) << 2;
  const planeBytes = rowBytes * <usize>sy;
  for (let z = 0; z < sz; z++) {
    const off = <usize>z * planeBytes;
    passX(lab + off, plane, sx, sy, wx2, blackBorder);
    across(lab + off, plane, mid + off, sx, rowBytes, sy, wy2, blackBorder, false, capY);
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
    across(lab + off, mid + off, out + off, sx, planeBytes, sz, wz2, blackBorder, !squared, capZ);
  }
}
