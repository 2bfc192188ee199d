// The EDT module's transform of one line along y or z: direct search of
// short runs, the lower envelope of parabolas for the others.

import { NEAR_REACH, scv, sfv, sg, sv, szd, szn } from "./_edt_scratch";

function fAt(p: usize): f64 {
  return <f64>load<f32>(p);
}

/**
 * One line, run by run (`src` to `dst`, `len` voxels `step` bytes apart):
 * runs within NEAR_REACH steps of a boundary by direct search, the others
 * by Felzenszwalb and Huttenlocher's lower envelope of parabolas, with a
 * zero just outside each run where a boundary lies.
 */
export function line(
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
export function near(
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
