/**
 * Watershed steps 2-3: steepest ascent (each voxel's edges to its
 * strongest neighbours), then plateaus, basins and their numbering.
 */

import { graphRow } from "./_ws_graph";
import { labels, lowRow, queue, QUEUED, sag, sizes, steps, sx, sxy, sy, sz, zeroRow } from "./_ws_state";

// ---------------------------------------------------------------------------
// Steepest ascent.

let lowBits: i32 = 0;
let high1: i32 = 0;

/** Sets the thresholds (float32 bit patterns) and fills the row of `low` values. */
export function ascentBegin(low: i32, high: i32): void {
  lowBits = low;
  high1 = high - 1;
  for (let x = 0; x < sx; x++) store<i32>(lowRow + ((<usize>x) << 2), low);
}

function ascentOne(nx: i32, ny: i32, nz: i32, px: i32, py: i32, pz: i32): u32 {
  let m = max<i32>(max<i32>(nx, ny), max<i32>(nz, px));
  m = max<i32>(m, max<i32>(py, pz));
  if (m <= lowBits) return 0;
  const h = high1;
  return (
    <u32>(nx === m) |
    <u32>(nx > h) |
    ((<u32>(ny === m) | <u32>(ny > h)) << 1) |
    ((<u32>(nz === m) | <u32>(nz > h)) << 2) |
    ((<u32>(px === m) | <u32>(px > h)) << 3) |
    ((<u32>(py === m) | <u32>(py > h)) << 4) |
    ((<u32>(pz === m) | <u32>(pz > h)) << 5)
  );
}

function edgeBits(v: v128, m: v128, h: v128, bit: i32): v128 {
  return v128.and(v128.or(i32x4.eq(v, m), i32x4.gt_s(v, h)), i32x4.splat(bit));
}

/** Edge bits of four voxels (as int32 lanes) from their six affinities. */
function ascentFour(nx: v128, ny: v128, nz: v128, px: v128, py: v128, pz: v128): v128 {
  const m = i32x4.max_s(i32x4.max_s(i32x4.max_s(nx, ny), i32x4.max_s(nz, px)), i32x4.max_s(py, pz));
  const h = i32x4.splat(high1);
  const bits = v128.or(
    v128.or(v128.or(edgeBits(nx, m, h, 1), edgeBits(ny, m, h, 2)), edgeBits(nz, m, h, 4)),
    v128.or(v128.or(edgeBits(px, m, h, 8), edgeBits(py, m, h, 16)), edgeBits(pz, m, h, 32)),
  );
  return v128.and(bits, i32x4.gt_s(m, i32x4.splat(lowBits)));
}

/**
 * Edge bits of one row: `px` the x channel of the row, `ny`/`py` the y
 * channel of this row and the next, `nz`/`pz` the z channel of this slice
 * and the next (each pointing at the row of `low` values where the edge
 * leaves the volume).
 */
function ascentRow(out: usize, px: usize, ny: usize, py: usize, nz: usize, pz: usize): void {
  const low = lowBits;
  const last = sx - 1;
  if (last === 0) {
    store<u8>(out, ascentOne(low, load<i32>(ny), load<i32>(nz), low, load<i32>(py), load<i32>(pz)));
    return;
  }
  store<u8>(
    out,
    ascentOne(low, load<i32>(ny), load<i32>(nz), load<i32>(px, 4), load<i32>(py), load<i32>(pz)),
  );
  let x = 1;
  for (; x + 16 <= last; x += 16) {
    const o = (<usize>x) << 2;
    const a = ascentFour(
      v128.load(px + o),
      v128.load(ny + o),
      v128.load(nz + o),
      v128.load(px + o, 4),
      v128.load(py + o),
      v128.load(pz + o),
    );
    const b = ascentFour(
      v128.load(px + o, 16),
      v128.load(ny + o, 16),
      v128.load(nz + o, 16),
      v128.load(px + o, 20),
      v128.load(py + o, 16),
      v128.load(pz + o, 16),
    );
    const c = ascentFour(
      v128.load(px + o, 32),
      v128.load(ny + o, 32),
      v128.load(nz + o, 32),
      v128.load(px + o, 36),
      v128.load(py + o, 32),
      v128.load(pz + o, 32),
    );
    const d = ascentFour(
      v128.load(px + o, 48),
      v128.load(ny + o, 48),
      v128.load(nz + o, 48),
      v128.load(px + o, 52),
      v128.load(py + o, 48),
      v128.load(pz + o, 48),
    );
    v128.store(
      out + x,
      i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(a, b), i16x8.narrow_i32x4_u(c, d)),
    );
  }
  for (; x < last; x++) {
    const o = (<usize>x) << 2;
    store<u8>(
      out + x,
      ascentOne(
        load<i32>(px + o),
        load<i32>(ny + o),
        load<i32>(nz + o),
        load<i32>(px + o, 4),
        load<i32>(py + o),
        load<i32>(pz + o),
      ),
    );
  }
  const o = (<usize>last) << 2;
  store<u8>(
    out + last,
    ascentOne(
      load<i32>(px + o),
      load<i32>(ny + o),
      load<i32>(nz + o),
      low,
      load<i32>(py + o),
      load<i32>(pz + o),
    ),
  );
}

/**
 * Steepest-ascent edges of slice `z` (the JavaScript `steepestAscent`): `c0`
 * and `c1` the x and y channels of the slice, `c2` and `c2next` the z
 * channel of this slice and the next.
 */
export function ascentSlice(z: i32, c0: usize, c1: usize, c2: usize, c2next: usize): void {
  const rowBytes = (<usize>sx) << 2;
  for (let y = 0; y < sy; y++) {
    const r = <usize>y * rowBytes;
    ascentRow(
      sag + <usize>z * sxy + <usize>y * sx,
      c0 + r,
      y > 0 ? c1 + r : lowRow,
      y < sy - 1 ? c1 + r + rowBytes : lowRow,
      z > 0 ? c2 + r : lowRow,
      z < sz - 1 ? c2next + r : lowRow,
    );
  }
}

// ---------------------------------------------------------------------------
// Plateaus and basins.

function stepOf(d: i32): i32 {
  return load<i32>(steps + ((<usize>d) << 2));
}

/** Queues voxel `idx` (edges `s`) when one of its edges is not returned. */
function seedPlateau(idx: i32, s: u32, tail: i32): i32 {
  for (let d = 0; d < 6; d++) {
    if ((s & (1 << d)) === 0) continue;
    const rev: u32 = 1 << (d < 3 ? d + 3 : d - 3);
    if ((load<u8>(sag + idx + stepOf(d)) & rev) === 0) {
      store<u8>(sag + idx, s | QUEUED);
      store<i32>(queue + ((<usize>tail) << 2), idx);
      return tail + 1;
    }
  }
  return tail;
}

let head: i32 = 0;
let tail: i32 = 0;

/**
 * Queues the plateau exits among voxels `from..to` (the seeding scan of the
 * JavaScript `dividePlateaus`, called over the volume in order). Sixteen
 * voxels at a time: those with two edges or more, and an edge whose far end
 * has no edge back, are queued in order. Near the first and last slice,
 * where a neighbour's byte may lie outside the volume, one by one.
 */
export function plateauSeeds(from: i32, to: i32): void {
  if (from === 0) {
    head = 0;
    tail = 0;
  }
  let t = tail;
  let idx = from;
  const one = i8x16.splat(1);
  const inner = sxy * (sz - 1) - 16;
  for (; idx + 16 <= to; idx += 16) {
    const p = sag + idx;
    const v = v128.load(p);
    let mask = i8x16.bitmask(i8x16.gt_u(i8x16.popcnt(v), one));
    if (mask === 0) continue;
    if (idx >= sxy && idx <= inner) {
      const sx1 = <usize>sx;
      const sxy1 = <usize>sxy;
      const exit = v128.or(
        v128.or(
          v128.or(
            oneWay(v, v128.load(p - 1), 1, 8),
            oneWay(v, v128.load(p - sx1), 2, 16),
          ),
          v128.or(
            oneWay(v, v128.load(p - sxy1), 4, 32),
            oneWay(v, v128.load(p + 1), 8, 1),
          ),
        ),
        v128.or(oneWay(v, v128.load(p + sx1), 16, 2), oneWay(v, v128.load(p + sxy1), 32, 4)),
      );
      mask &= i8x16.bitmask(exit);
      while (mask !== 0) {
        const j = idx + ctz<i32>(mask);
        mask &= mask - 1;
        store<u8>(sag + j, load<u8>(sag + j) | QUEUED);
        store<i32>(queue + ((<usize>t) << 2), j);
        t++;
      }
      continue;
    }
    while (mask !== 0) {
      const j = ctz<i32>(mask);
      mask &= mask - 1;
      t = seedPlateau(idx + j, load<u8>(sag + idx + j), t);
    }
  }
  for (; idx < to; idx++) {
    const s = <u32>load<u8>(sag + idx);
    if (s !== 0 && (s & (s - 1)) !== 0) t = seedPlateau(idx, s, t);
  }
  tail = t;
}

/** Lanes of `v` with edge bit `bit` whose neighbour that way (`far`) lacks the edge back (`back`). */
@inline function oneWay(v: v128, far: v128, bit: u8, back: u8): v128 {
  const zero = i8x16.splat(0);
  return v128.andnot(
    v128.not(i8x16.eq(v128.and(v, i8x16.splat(bit)), zero)),
    v128.not(i8x16.eq(v128.and(far, i8x16.splat(back)), zero)),
  );
}

/**
 * Runs up to `budget` steps of the breadth-first search that divides the
 * plateaus (the JavaScript `dividePlateaus`); returns 1 when it is done.
 */
export function plateauSearch(budget: i32): i32 {
  let h = head;
  let t = tail;
  const stop = h + budget;
  for (; h < t && h < stop; h++) {
    const me = load<i32>(queue + ((<usize>h) << 2));
    const s = <u32>load<u8>(sag + me);
    let toSet: u32 = 0;
    for (let d = 0; d < 6; d++) {
      const bit: u32 = 1 << d;
      if ((s & bit) === 0) continue;
      const him = me + stepOf(d);
      const hs = <u32>load<u8>(sag + him);
      const rev: u32 = 1 << (d < 3 ? d + 3 : d - 3);
      if ((hs & rev) !== 0) {
        if ((hs & QUEUED) === 0) {
          store<i32>(queue + ((<usize>t) << 2), him);
          t++;
          store<u8>(sag + him, hs | QUEUED);
        }
      } else {
        toSet = bit;
      }
    }
    store<u8>(sag + me, toSet);
  }
  head = h;
  tail = t;
  return h >= t ? 1 : 0;
}

/*
 * Basins of attraction. The JavaScript `findBasins` searches from each
 * unassigned voxel for an assigned one, which jumps ahead of the scan through
 * memory not read yet. After the plateaus are divided every voxel has either
 * one edge or only edges within its maximal plateau, so its basin is the set
 * of voxels its edges connect it to, edges taken both ways: the connected
 * components of that graph, found as connected-component labelling does.
 * One scan gives each voxel a provisional label: the label of a voxel before
 * it (towards -x, -y, -z) that an edge joins it to, either way, or a new one;
 * where two such neighbours carry different labels, the labels' sets are
 * joined (a union-find over labels, much smaller than the volume and used in
 * the order the scan made them). A set's smallest label was made at its
 * first voxel, so numbering the sets' roots in increasing order numbers the
 * basins in scan order of their first voxel, which is the JavaScript order.
 * The provisional labels live in `labels`; their union-find in the plateau
 * queue's memory, free by then.
 */

let labelTotal: u32 = 0;
let eq: usize = 0;

/** Root of provisional label `x` (path halving); a parent is always smaller than its child. */
function findLabel(x: u32): u32 {
  let p = load<u32>(eq + ((<usize>x) << 2));
  while (p !== x) {
    const g = load<u32>(eq + ((<usize>p) << 2));
    store<u32>(eq + ((<usize>x) << 2), g);
    x = g;
    p = load<u32>(eq + ((<usize>x) << 2));
  }
  return x;
}

/** Joins the sets of labels `a` and `b` (both not 0) and returns the joined set's root. */
function joinLabels(a: u32, b: u32): u32 {
  const ra = findLabel(a);
  const rb = findLabel(b);
  if (ra < rb) {
    store<u32>(eq + ((<usize>rb) << 2), ra);
    return ra;
  }
  if (rb < ra) store<u32>(eq + ((<usize>ra) << 2), rb);
  return rb;
}

/**
 * The root of the joined sets of labels `a`, `b`, `c` (0 for none; at least
 * two differ).
 */
function joinThree(a: u32, b: u32, c: u32): u32 {
  let r = a;
  if (b !== 0) r = r === 0 ? b : joinLabels(r, b);
  if (c !== 0) r = r === 0 ? c : joinLabels(r, c);
  return r;
}

/**
 * Provisional labels of rows `from..to` (row y + sy * z; called over the
 * volume in order).
 */
export function basinRows(from: i32, to: i32): void {
  if (from === 0) {
    labelTotal = 0;
    eq = queue;
    store<u32>(eq, 0);
  }
  let next = labelTotal;
  let y = from % sy;
  let z = from / sy;
  const rowBytes = (<usize>sx) << 2;
  const sliceBytes = (<usize>sxy) << 2;
  for (let row = from; row < to; row++) {
    const first = <usize>row * <usize>sx;
    const sr = sag + first;
    const lr = labels + (first << 2);
    // Rows before the volume read as a row of voxels without edges.
    const szr = z > 0 ? sr - <usize>sxy : zeroRow;
    const lzr = z > 0 ? lr - sliceBytes : zeroRow;
    if (y > 0) next = basinRow(sr, lr, sr - <usize>sx, lr - rowBytes, szr, lzr, next);
    else next = basinRow(sr, lr, zeroRow, zeroRow, szr, lzr, next);
    if (++y === sy) {
      y = 0;
      z++;
    }
  }
  labelTotal = next;
}

/**
 * Provisional labels of one row: `sr`/`lr` its edges and labels, `syr`/`lyr`
 * and `szr`/`lzr` those of the rows before it along y and z; `next` is the
 * last label made, and the new last label is returned. The common voxel
 * (one label among its joined neighbours, or none) goes without a branch:
 * which neighbours an edge joins it to is data the branch predictor cannot
 * learn. (A function of its own, so that the engine keeps the row's
 * pointers out of the loop.)
 */
function basinRow(
  sr: usize,
  lr: usize,
  syr: usize,
  lyr: usize,
  szr: usize,
  lzr: usize,
  next: u32,
): u32 {
  let prevS: u32 = 0;
  let prevL: u32 = 0;
  const e = eq;
  for (let x = 0; x < sx; x++) {
    const v = <usize>x;
    const s = <u32>load<u8>(sr + v);
    // An edge to the voxel before: its own towards -x, or that voxel's towards +x.
    const lx = select<u32>(prevL, 0, ((s | (prevS >> 3)) & 1) !== 0);
    const ly = select<u32>(
      load<u32>(lyr + (v << 2)),
      0,
      ((s | (<u32>load<u8>(syr + v) >> 3)) & 2) !== 0,
    );
    const lz = select<u32>(
      load<u32>(lzr + (v << 2)),
      0,
      ((s | (<u32>load<u8>(szr + v) >> 3)) & 4) !== 0,
    );
    let m = max<u32>(lx, max<u32>(ly, lz));
    const one =
      <u32>((lx === 0) | (lx === m)) &
      <u32>((ly === 0) | (ly === m)) &
      <u32>((lz === 0) | (lz === m));
    if (one === 0) m = joinThree(lx, ly, lz);
    const fresh = next + 1;
    store<u32>(e + ((<usize>fresh) << 2), fresh);
    const isNew = <u32>(m === 0) & <u32>(s !== 0);
    const l = select<u32>(fresh, m, isNew !== 0);
    next += isNew;
    store<u32>(lr + (v << 2), l);
    prevS = s;
    prevL = l;
  }
  return next;
}

/**
 * Turns each provisional label's parent into its basin id (1.. in order of
 * the roots) and returns the number of basins.
 */
export function basinIds(): i32 {
  let count: u32 = 0;
  const total = labelTotal;
  for (let l: u32 = 1; l <= total; l++) {
    const p = eq + ((<usize>l) << 2);
    const up = load<u32>(p);
    store<u32>(p, up === l ? ++count : load<u32>(eq + ((<usize>up) << 2)));
  }
  return <i32>count;
}

/**
 * Replaces the provisional labels of the row at `lr` by their basin ids and
 * counts the basins' voxels at `sizes` (uint32, id - 1), a run of equal
 * labels at a time.
 */
function numberRow(lr: usize): void {
  const ids = eq;
  const n = sx;
  let id: u32 = 0;
  let run: u32 = 0;
  for (let x = 0; x < n; x++) {
    const p = lr + ((<usize>x) << 2);
    // The id is looked up for every voxel (neighbouring labels share a cache
    // line), so that the only branch is where the basin changes: a basin's
    // run along x spans several provisional labels.
    const b = load<u32>(ids + ((<usize>load<u32>(p)) << 2));
    if (b !== id) {
      if (id !== 0) addSize(id, run);
      id = b;
      run = 0;
    }
    store<u32>(p, b);
    run++;
  }
  if (id !== 0) addSize(id, run);
}

@inline function addSize(id: u32, count: u32): void {
  const q = sizes + ((<usize>(id - 1)) << 2);
  store<u32>(q, load<u32>(q) + count);
}

/**
 * Numbers the basins of slice `z` and adds its faces to the region graph
 * (the JavaScript `basinGraph`), row by row: a voxel's faces towards -x,
 * -y, -z join voxels already numbered. `c0`, `c1`, `c2` are the slice's x,
 * y and z channels; `basins` is the number of basins.
 */
export function numberSlice(z: i32, c0: usize, c1: usize, c2: usize, basins: i32): void {
  if (z === 0) {
    memory.fill(sizes, 0, (<usize>basins) << 2);
  }
  const rowBytes = (<usize>sx) << 2;
  const sliceBytes = (<usize>sxy) << 2;
  const slice = labels + <usize>z * sliceBytes;
  for (let y = 0; y < sy; y++) {
    const r = <usize>y * rowBytes;
    const lr = slice + r;
    numberRow(lr);
    // Rows before the volume read as background.
    graphRow(
      lr,
      y > 0 ? lr - rowBytes : zeroRow,
      z > 0 ? lr - sliceBytes : zeroRow,
      c0 + r,
      c1 + r,
      c2 + r,
    );
  }
}
