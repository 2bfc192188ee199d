/**
 * The watershed kernel's inner loops as WebAssembly (AssemblyScript). The
 * driver, src/watershed/wasm.ts, lays out the volume's arrays in linear
 * memory, streams the affinities in one z slice at a time and calls these
 * steps in order. Each loop is a port of the JavaScript reference
 * (src/watershed/basins.ts, merge.ts, thresholds.ts) that visits voxels and
 * edges in the same order, because that order decides every tie.
 *
 * Affinities arrive as float32 bit patterns of values >= +0 (the driver
 * falls back to the JavaScript kernel otherwise), so they order as int32.
 *
 * Per voxel: `sag` (one byte: bits 0..5 the edges towards -x, -y, -z, +x,
 * +y, +z, bit 6 queued) and `labels` (uint32, first provisional labels,
 * then the basin ids); the plateau search's queue is a region the driver
 * reserves but only the search touches, as far as it goes, and then holds
 * the provisional labels' union-find. Everything else
 * (histograms, the region graph, the merge's union-find) comes from a bump
 * allocator above the driver's layout.
 */

const QUEUED: u32 = 0x40;

let sx: i32 = 0;
let sy: i32 = 0;
let sz: i32 = 0;
let sxy: i32 = 0;
let sag: usize = 0;
let labels: usize = 0;
let queue: usize = 0;
let sizes: usize = 0;
let lowRow: usize = 0;
/** 4 * x zero bytes: the row before the volume's first row or slice. */
let zeroRow: usize = 0;
/** Step (in voxels) of each direction 0..5, and of each single edge bit. */
let steps: usize = 0;
let stepOfBit: usize = 0;
let top: usize = 0;

/**
 * Bump allocation (16-byte aligned) above the driver's layout. The memory
 * grows by at least an eighth at a time: every grow costs the engine a
 * garbage collection check, and the region graph allocates in small steps.
 */
function alloc(bytes: usize): usize {
  const p = (top + 15) & ~(<usize>15);
  const end = p + bytes;
  const pages = memory.size();
  if (end > (<usize>pages) << 16) {
    const need = <i32>((end - ((<usize>pages) << 16) + 0xffff) >> 16);
    if (memory.grow(max<i32>(need, min<i32>(pages >> 3, 65536 - pages))) < 0) {
      if (memory.grow(need) < 0) unreachable();
    }
  }
  top = end;
  return p;
}

/**
 * Sets the volume and where its arrays are: `sagP` (n bytes), `labelsP`
 * (4n), `queueP` (4n), `sizesP` (4 per basin), `rowP` (4 * x, filled here
 * with `low`'s bits by {@link ascentBegin}); `heap` is the first free byte.
 */
export function setup(
  x: i32,
  y: i32,
  z: i32,
  sagP: usize,
  labelsP: usize,
  queueP: usize,
  sizesP: usize,
  rowP: usize,
  heap: usize,
): void {
  sx = x;
  sy = y;
  sz = z;
  sxy = x * y;
  sag = sagP;
  labels = labelsP;
  queue = queueP;
  sizes = sizesP;
  lowRow = rowP;
  top = heap;
  steps = alloc(6 * 4);
  store<i32>(steps, -1, 0);
  store<i32>(steps, -x, 4);
  store<i32>(steps, -x * y, 8);
  store<i32>(steps, 1, 12);
  store<i32>(steps, x, 16);
  store<i32>(steps, x * y, 20);
  zeroRow = alloc((<usize>x) << 2);
  memory.fill(zeroRow, 0, (<usize>x) << 2);
  stepOfBit = alloc(64 * 4);
  for (let d = 0; d < 6; d++)
    store<i32>(stepOfBit + (((<usize>1) << d) << 2), load<i32>(steps + (d << 2)));
}

/** First free byte (the driver reads its outputs before the next call). */
export function heapTop(): usize {
  return top;
}

// ---------------------------------------------------------------------------
// Relative thresholds: counts of the top and low 16 bits of the values.

let topCounts: usize = 0;
let minBits: u32 = 0;
let maxBits: u32 = 0;

/** Starts the top-16-bit counts (65,536 uint32) and the bit range; returns the counts. */
export function histBegin(): usize {
  topCounts = alloc(2 * 65536 * 4);
  memory.fill(topCounts, 0, 2 * 65536 * 4);
  minBits = 0xffffffff;
  maxBits = 0;
  return topCounts;
}

/**
 * Counts the top 16 bits of `count` values at `src` and widens the bit
 * range. Two tables take alternate values, so that runs of equal buckets
 * (smooth maps) do not wait on one counter.
 */
export function histTop(src: usize, count: i32): void {
  let lo = minBits;
  let hi = maxBits;
  const t1 = topCounts + 65536 * 4;
  let i = 0;
  for (; i + 1 < count; i += 2) {
    const a = load<u32>(src + ((<usize>i) << 2));
    const b = load<u32>(src + ((<usize>i) << 2), 4);
    const pa = topCounts + ((<usize>(a >>> 16)) << 2);
    store<u32>(pa, load<u32>(pa) + 1);
    const pb = t1 + ((<usize>(b >>> 16)) << 2);
    store<u32>(pb, load<u32>(pb) + 1);
    if (a < lo) lo = a;
    if (b < lo) lo = b;
    if (a > hi) hi = a;
    if (b > hi) hi = b;
  }
  if (i < count) {
    const a = load<u32>(src + ((<usize>i) << 2));
    const pa = topCounts + ((<usize>(a >>> 16)) << 2);
    store<u32>(pa, load<u32>(pa) + 1);
    if (a < lo) lo = a;
    if (a > hi) hi = a;
  }
  minBits = lo;
  maxBits = hi;
}

/** Folds the second table into the first. */
export function histTopEnd(): void {
  const t1 = topCounts + 65536 * 4;
  for (let k: usize = 0; k < 65536 * 4; k += 4) {
    store<u32>(topCounts + k, load<u32>(topCounts + k) + load<u32>(t1 + k));
  }
}

/** Smallest bit pattern seen (by {@link histTop}). */
export function bitsMin(): u32 {
  return minBits;
}

/** Largest bit pattern seen (by {@link histTop} or {@link checkBits}). */
export function bitsMax(): u32 {
  return maxBits;
}

/**
 * Counts the low 16 bits of the values whose top 16 bits have a slot
 * (`slots`: 65,536 int32, -1 for none) into `low + slot * 65536` (uint32).
 */
export function histLow(src: usize, count: i32, slots: usize, low: usize): void {
  for (let i = 0; i < count; i++) {
    const b = load<u32>(src + ((<usize>i) << 2));
    const j = load<i32>(slots + ((<usize>(b >>> 16)) << 2));
    if (j >= 0) {
      const p = low + ((((<usize>j) << 16) + (b & 0xffff)) << 2);
      store<u32>(p, load<u32>(p) + 1);
    }
  }
}

/**
 * {@link histLow} when at most four buckets are wanted (`w0..w3`, -1 for
 * none): sixteen values at a time are compared with them, and only the
 * values that match are counted, one by one.
 */
export function histLowFew(
  src: usize,
  count: i32,
  slots: usize,
  low: usize,
  w0: i32,
  w1: i32,
  w2: i32,
  w3: i32,
): void {
  const a = i32x4.splat(w0);
  const b = i32x4.splat(w1);
  const c = i32x4.splat(w2);
  const d = i32x4.splat(w3);
  let i = 0;
  for (; i + 16 <= count; i += 16) {
    const p = src + ((<usize>i) << 2);
    let mask =
      wantedMask(v128.load(p), a, b, c, d) |
      (wantedMask(v128.load(p, 16), a, b, c, d) << 4) |
      (wantedMask(v128.load(p, 32), a, b, c, d) << 8) |
      (wantedMask(v128.load(p, 48), a, b, c, d) << 12);
    while (mask !== 0) {
      const v = load<u32>(p + ((<usize>ctz<i32>(mask)) << 2));
      mask &= mask - 1;
      const j = load<i32>(slots + ((<usize>(v >>> 16)) << 2));
      const q = low + ((((<usize>j) << 16) + (v & 0xffff)) << 2);
      store<u32>(q, load<u32>(q) + 1);
    }
  }
  histLow(src + ((<usize>i) << 2), count - i, slots, low);
}

/** Bits 0..3: which of the four values `v` have top 16 bits among `a`, `b`, `c`, `d`. */
@inline function wantedMask(v: v128, a: v128, b: v128, c: v128, d: v128): i32 {
  const t = i32x4.shr_u(v, 16);
  return i32x4.bitmask(
    v128.or(v128.or(i32x4.eq(t, a), i32x4.eq(t, b)), v128.or(i32x4.eq(t, c), i32x4.eq(t, d))),
  );
}

/** Allocates `bytes` zeroed bytes for the driver (slot tables and low counts). */
export function allocZeroed(bytes: usize): usize {
  const p = alloc(bytes);
  memory.fill(p, 0, bytes);
  return p;
}

/** Widens the largest bit pattern with `count` values at `src` (sign and NaN check). */
export function checkBits(src: usize, count: i32): void {
  let acc = i32x4.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) acc = i32x4.max_u(acc, v128.load(src + ((<usize>i) << 2)));
  let hi = maxBits;
  const l0 = <u32>i32x4.extract_lane(acc, 0);
  const l1 = <u32>i32x4.extract_lane(acc, 1);
  const l2 = <u32>i32x4.extract_lane(acc, 2);
  const l3 = <u32>i32x4.extract_lane(acc, 3);
  if (l0 > hi) hi = l0;
  if (l1 > hi) hi = l1;
  if (l2 > hi) hi = l2;
  if (l3 > hi) hi = l3;
  for (; i < count; i++) {
    const v = load<u32>(src + ((<usize>i) << 2));
    if (v > hi) hi = v;
  }
  maxBits = hi;
}

/** Resets the largest bit pattern before {@link checkBits}. */
export function checkBegin(): void {
  maxBits = 0;
}

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
  let prev: u32 = 0;
  let id: u32 = 0;
  let run: u32 = 0;
  for (let x = 0; x < n; x++) {
    const p = lr + ((<usize>x) << 2);
    const l = load<u32>(p);
    if (l !== prev) {
      if (id !== 0) addSize(id, run);
      prev = l;
      id = load<u32>(ids + ((<usize>l) << 2));
      run = 0;
    }
    store<u32>(p, id);
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

// ---------------------------------------------------------------------------
// Region graph: pairs (a < b) numbered in first-seen scan order, maximum
// affinity each; 16 bytes per edge (a, b, weight, unused).
//
// Each basin b keeps its edges to smaller ids in a block of its own, at
// `blocks + b * 8 * slots`: `slots` slots of 8 bytes (a + 1, the largest
// weight seen so far), open addressing, and each slot's edge index in a
// parallel array (`blockEdges`, read only at the end). Basins are numbered
// in scan order, so the blocks of the basins the scan is in sit together,
// in id order, and a face reads one slot and writes it back. A block that
// fills past three quarters moves to a table of its own (twice as many
// slots, doubling as it grows; the edge indices follow its slots), and
// every key of the block becomes MOVED, the block's first three weights
// then holding the table's address, capacity and size.

const MOVED: u32 = 0xffffffff;
let edges: usize = 0;
let edgeCount: i32 = 0;
let edgeCap: i32 = 0;
let graphBasins: i32 = 0;
let blocks: usize = 0;
let blockEdges: usize = 0;
let blockFill: usize = 0;
let slotBits: i32 = 0;
/** Six byte offsets used by {@link graphRow}. */
let rowOffsets: usize = 0;
/** 256 uint32: bit i of a byte moved to bit 3i (see {@link spread3}). */
let spreadTable: usize = 0;

/** Starts the graph of `basins` basins with room for `expected` edges. */
export function graphBegin(expected: i32, basins: i32): void {
  edgeCap = max<i32>(1024, expected);
  edges = alloc((<usize>edgeCap) << 4);
  edgeCount = 0;
  graphBasins = basins;
  // 16 slots a basin, fewer (down to 4) where that would pass 1 byte per
  // voxel: many small basins have few neighbours each.
  const n = <usize>sxy * <usize>sz;
  let bits = 4;
  while (bits > 2 && ((<usize>basins + 1) << (bits + 3)) > n) bits--;
  slotBits = bits;
  const count = (<usize>basins + 1) << bits;
  // Blocks start on a cache line, so that a block of 8 slots is one line.
  blocks = (alloc((count << 3) + 64) + 63) & ~(<usize>63);
  memory.fill(blocks, 0, count << 3);
  blockEdges = alloc(count << 2);
  blockFill = alloc(<usize>basins + 1);
  memory.fill(blockFill, 0, <usize>basins + 1);
  rowOffsets = alloc(6 * 4);
  spreadTable = alloc(256 * 4);
  for (let b: u32 = 0; b < 256; b++) {
    let v: u32 = 0;
    for (let i: u32 = 0; i < 8; i++) v |= ((b >>> i) & 1) << (3 * i);
    store<u32>(spreadTable + ((<usize>b) << 2), v);
  }
}

/** Where `a` + 1 is in the table of `mask + 1` slots at `table`, or the empty slot it would go to. */
function probe(table: usize, mask: u32, a: u32): usize {
  let j = a * 0x9e3779b1;
  let p = table + ((<usize>(j & mask)) << 3);
  let key = load<u32>(p);
  while (key !== a + 1 && key !== 0) {
    j++;
    p = table + ((<usize>(j & mask)) << 3);
    key = load<u32>(p);
  }
  return p;
}

/** A new edge (a, b); returns its index. */
function newEdge(a: u32, b: u32): u32 {
  const k = edgeCount++;
  if (k === edgeCap) {
    const grown = alloc((<usize>edgeCap) << 5);
    memory.copy(grown, edges, (<usize>edgeCap) << 4);
    edges = grown;
    edgeCap <<= 1;
  }
  const e = edges + ((<usize>k) << 4);
  store<u32>(e, a);
  store<u32>(e, b, 4);
  return <u32>k;
}

/**
 * Raises edge (s, t)'s weight to `v`, adding the edge if new (at weight
 * max(v, 0): Watershed.jl starts every edge at 0, not at its first affinity).
 */
@inline function visit(s: u32, t: u32, v: f32): void {
  const a = min<u32>(s, t);
  const b = max<u32>(s, t);
  const block = blocks + ((<usize>b) << (slotBits + 3));
  const mask: u32 = (1 << slotBits) - 1;
  let j = a * 0x9e3779b1;
  let p = block + ((<usize>(j & mask)) << 3);
  let key = load<u32>(p);
  while (key !== a + 1) {
    if (key === 0 || key === MOVED) {
      visitSlow(b, p, a, v);
      return;
    }
    j++;
    p = block + ((<usize>(j & mask)) << 3);
    key = load<u32>(p);
  }
  store<f32>(p, max<f32>(load<f32>(p, 4), v), 4);
}

/** {@link visit} of a new edge at slot `p` of basin b's block, or of a basin whose block has moved. */
function visitSlow(b: u32, p: usize, a: u32, v: f32): void {
  const block = blocks + ((<usize>b) << (slotBits + 3));
  if (load<u32>(p) === MOVED) {
    const table = load<usize>(block, 4);
    const cap = load<u32>(block, 12);
    const q = probe(table, cap - 1, a);
    if (load<u32>(q) !== 0) {
      store<f32>(q, max<f32>(load<f32>(q, 4), v), 4);
      return;
    }
    store<u32>(q, a + 1);
    store<f32>(q, max<f32>(v, 0), 4);
    store<u32>(table + ((<usize>cap) << 3) + ((q - table) >> 1), newEdge(a, b));
    const size = load<u32>(block, 20) + 1;
    store<u32>(block, size, 20);
    if (size * 4 > cap * 3) {
      store<usize>(block, moveTable(table, table + ((<usize>cap) << 3), cap), 4);
      store<u32>(block, cap << 1, 12);
    }
    return;
  }
  store<u32>(p, a + 1);
  store<f32>(p, max<f32>(v, 0), 4);
  const edgesAt = blockEdges + ((p - blocks) >> 1);
  store<u32>(edgesAt, newEdge(a, b));
  const fill = blockFill + <usize>b;
  const used = <u32>load<u8>(fill) + 1;
  store<u8>(fill, <u8>used);
  const slots: u32 = 1 << slotBits;
  if (used * 4 > slots * 3) {
    const firstEdge = blockEdges + ((block - blocks) >> 1);
    const table = moveTable(block, firstEdge, slots);
    for (let i: u32 = 0; i < slots; i++) store<u32>(block + ((<usize>i) << 3), MOVED);
    store<usize>(block, table, 4);
    store<u32>(block, slots << 1, 12);
    store<u32>(block, used, 20);
  }
}

/**
 * A table of 2 * `cap` slots (and their edge indices after them) holding the
 * entries of the `cap` slots at `table`, whose edge indices are at `edgeIdx`.
 */
function moveTable(table: usize, edgeIdx: usize, cap: u32): usize {
  const to = cap << 1;
  const grown = alloc((<usize>to) * 12);
  memory.fill(grown, 0, (<usize>to) << 3);
  const grownEdges = grown + ((<usize>to) << 3);
  for (let i: u32 = 0; i < cap; i++) {
    const p = table + ((<usize>i) << 3);
    const key = load<u32>(p);
    if (key !== 0) {
      const q = probe(grown, to - 1, key - 1);
      store<u64>(q, load<u64>(p));
      store<u32>(grownEdges + ((q - grown) >> 1), load<u32>(edgeIdx + ((<usize>i) << 2)));
    }
  }
  return grown;
}

/** Writes the slots' weights into their edges. */
export function graphEnd(): void {
  const slots: u32 = 1 << slotBits;
  for (let b = 1; b <= graphBasins; b++) {
    const block = blocks + ((<usize>b) << (slotBits + 3));
    if (load<u32>(block) === MOVED) {
      const table = load<usize>(block, 4);
      const cap = load<u32>(block, 12);
      weightsOut(table, table + ((<usize>cap) << 3), cap);
    } else {
      weightsOut(block, blockEdges + ((block - blocks) >> 1), slots);
    }
  }
}

/** Copies the weights of the `count` slots at `table` into their edges (indices at `edgeIdx`). */
function weightsOut(table: usize, edgeIdx: usize, count: u32): void {
  for (let i: u32 = 0; i < count; i++) {
    const p = table + ((<usize>i) << 3);
    if (load<u32>(p) !== 0) {
      const e = edges + ((<usize>load<u32>(edgeIdx + ((<usize>i) << 2))) << 4);
      store<f32>(e, load<f32>(p, 4), 8);
    }
  }
}

/**
 * Adds the faces of a row to the graph (see {@link numberSlice}): `lr` its
 * basin ids, `ly` and `lz` those of the rows before it along y and z, `a0`,
 * `a1`, `a2` its affinities. Sixteen voxels at a time are compared with
 * their neighbours towards -x, -y and -z; the three masks of faces between
 * two basins are interleaved into one 48-bit mask (bit 3x + d: voxel x,
 * direction d), whose bits are then visited in order: the scan order of the
 * faces, without a branch on whether a voxel has a face in a direction.
 */
function graphRow(lr: usize, ly: usize, lz: usize, a0: usize, a1: usize, a2: usize): void {
  const n = sx;
  const s0 = load<u32>(lr);
  if (s0 !== 0) {
    facesYZ(s0, load<u32>(ly), load<u32>(lz), a1, a2);
  }
  // Byte offsets from a voxel's label to its neighbour's label (0..2) and
  // to its affinity (3..5) in each direction.
  const offs = rowOffsets;
  store<usize>(offs, <usize>-4);
  store<usize>(offs, ly - lr, 4);
  store<usize>(offs, lz - lr, 8);
  store<usize>(offs, a0 - lr, 12);
  store<usize>(offs, a1 - lr, 16);
  store<usize>(offs, a2 - lr, 20);
  let x = 1;
  for (; x + 16 <= n; x += 16) {
    const o = (<usize>x) << 2;
    const p = lr + o;
    const mx = dirMask16(p, p - 4);
    const my = dirMask16(p, ly + o);
    const mz = dirMask16(p, lz + o);
    let m = spread3(mx) | (spread3(my) << 1) | (spread3(mz) << 2);
    while (m !== 0) {
      const i = <u32>ctz<u64>(m);
      m &= m - 1;
      const k = (i * 0xaaab) >>> 17;
      const d = <usize>(i - k * 3) << 2;
      const q = p + ((<usize>k) << 2);
      visit(load<u32>(q), load<u32>(q + load<usize>(offs + d)), load<f32>(q + load<usize>(offs + d, 12)));
    }
  }
  for (; x < n; x++) {
    if (load<u32>(lr + ((<usize>x) << 2)) !== 0) facesOf(lr, ly, lz, a0, a1, a2, <usize>x);
  }
}

/** Bits 0..15: which of the sixteen voxels at `p` have a face between two basins with those at `q`. */
@inline function dirMask16(p: usize, q: usize): u32 {
  return (
    dirMask4(p, q) |
    (dirMask4(p + 16, q + 16) << 4) |
    (dirMask4(p + 32, q + 32) << 8) |
    (dirMask4(p + 48, q + 48) << 12)
  );
}

/** Bits 0..3: which of the four voxels at `p` (labels) and `q` (their neighbours) are two basins. */
@inline function dirMask4(p: usize, q: usize): u32 {
  const s = v128.load(p);
  const t = v128.load(q);
  const zero = i32x4.splat(0);
  return <u32>(
    i32x4.bitmask(v128.not(v128.or(v128.or(i32x4.eq(s, zero), i32x4.eq(t, zero)), i32x4.eq(t, s))))
  );
}

/** Bit i of a 16-bit mask moved to bit 3i. */
@inline function spread3(m: u32): u64 {
  return (
    <u64>load<u32>(spreadTable + ((<usize>(m & 0xff)) << 2)) |
    (<u64>load<u32>(spreadTable + ((<usize>(m >>> 8)) << 2)) << 24)
  );
}

/** The faces of voxel `x` (a basin's, x > 0) of a row towards -x, -y, -z, in that order. */
@inline function facesOf(
  lr: usize,
  ly: usize,
  lz: usize,
  a0: usize,
  a1: usize,
  a2: usize,
  x: usize,
): void {
  const o = x << 2;
  const s = load<u32>(lr + o);
  const t = load<u32>(lr + o - 4);
  if (t !== 0 && t !== s) visit(s, t, load<f32>(a0 + o));
  facesYZ(s, load<u32>(ly + o), load<u32>(lz + o), a1 + o, a2 + o);
}

/** Faces of a voxel of basin `s` towards -y and -z, whose voxels there are in basins `ty`, `tz`. */
@inline function facesYZ(s: u32, ty: u32, tz: u32, a1: usize, a2: usize): void {
  if (ty !== 0 && ty !== s) visit(s, ty, load<f32>(a1));
  if (tz !== 0 && tz !== s) visit(s, tz, load<f32>(a2));
}

/** Number of edges. */
export function graphEdges(): i32 {
  return edgeCount;
}

// Sorting: edges by decreasing weight, ties in index order (the JavaScript
// `sortIndicesDescending`), a stable LSD radix sort in two 16-bit passes
// over the flipped bit patterns, in steps over edge ranges. Both passes move
// the edges themselves (16 bytes each), reading them in sequence; the second
// writes them in order over the edge array (`sorted`), so that the merge
// passes and the spanning forest read them in sequence too.

let sorted: usize = 0;
let keys: usize = 0;
let tmpKeys: usize = 0;
let tmpEdges: usize = 0;
let lowCount: usize = 0;
let highCount: usize = 0;

/** Allocates the sort's arrays. */
export function sortBegin(): void {
  const m = <usize>edgeCount;
  keys = alloc(m << 2);
  tmpKeys = alloc(m << 2);
  tmpEdges = alloc(m << 4);
  sorted = edges;
  lowCount = alloc(65537 * 4);
  highCount = alloc(65537 * 4);
  memory.fill(lowCount, 0, 65537 * 4);
  memory.fill(highCount, 0, 65537 * 4);
}

/** Keys and digit counts of edges `from..to`. */
export function sortKeys(from: i32, to: i32): void {
  for (let i = from; i < to; i++) {
    const u = load<u32>(edges + ((<usize>i) << 4), 8);
    const k = ~((u & 0x80000000) !== 0 ? ~u : u | 0x80000000);
    store<u32>(keys + ((<usize>i) << 2), k);
    const pl = lowCount + ((<usize>((k & 0xffff) + 1)) << 2);
    store<i32>(pl, load<i32>(pl) + 1);
    const ph = highCount + ((<usize>((k >>> 16) + 1)) << 2);
    store<i32>(ph, load<i32>(ph) + 1);
  }
}

/** Digit counts to starting positions. */
export function sortOffsets(): void {
  for (let d = 0; d < 65536; d++) {
    const pl = lowCount + ((<usize>d) << 2);
    store<i32>(pl, load<i32>(pl, 4) + load<i32>(pl), 4);
    const ph = highCount + ((<usize>d) << 2);
    store<i32>(ph, load<i32>(ph, 4) + load<i32>(ph), 4);
  }
}

/** First pass (low digit) over edges `from..to`, in order. */
export function sortLow(from: i32, to: i32): void {
  for (let i = from; i < to; i++) {
    const k = load<u32>(keys + ((<usize>i) << 2));
    const pl = lowCount + ((<usize>(k & 0xffff)) << 2);
    const j = load<i32>(pl);
    store<i32>(pl, j + 1);
    store<u32>(tmpKeys + ((<usize>j) << 2), k);
    v128.store(tmpEdges + ((<usize>j) << 4), v128.load(edges + ((<usize>i) << 4)));
  }
}

/** Second pass (high digit) over positions `from..to`, in order. */
export function sortHigh(from: i32, to: i32): void {
  for (let i = from; i < to; i++) {
    const k = load<u32>(tmpKeys + ((<usize>i) << 2));
    const ph = highCount + ((<usize>(k >>> 16)) << 2);
    const j = load<i32>(ph);
    store<i32>(ph, j + 1);
    v128.store(sorted + ((<usize>j) << 4), v128.load(tmpEdges + ((<usize>i) << 4)));
  }
}

// ---------------------------------------------------------------------------
// Merging, dust, renumbering and the spanning forest.

let basinCount: i32 = 0;
let parent: usize = 0;
let setSize: usize = 0;
let finalOf: usize = 0;
let regionSizes: usize = 0;

function findRoot(sets: usize, x: i32): i32 {
  let p = load<i32>(sets + ((<usize>x) << 2));
  while (p !== x) {
    const gp = load<i32>(sets + ((<usize>p) << 2));
    store<i32>(sets + ((<usize>x) << 2), gp);
    x = gp;
    p = load<i32>(sets + ((<usize>x) << 2));
  }
  return x;
}

/** Starts merging `count` basins (their sizes at `sizes`). */
export function mergeBegin(count: i32): void {
  basinCount = count;
  parent = alloc((<usize>count + 1) << 2);
  setSize = alloc((<usize>count + 1) << 3);
  for (let i = 0; i <= count; i++) store<i32>(parent + ((<usize>i) << 2), i);
  store<f64>(setSize, 0);
  for (let i = 1; i <= count; i++) {
    store<f64>(setSize + ((<usize>i) << 3), <f64>load<u32>(sizes + ((<usize>(i - 1)) << 2)));
  }
}

/** One (size, threshold) pass of the JavaScript `mergeRegions` over sorted edges `from..to`. */
export function mergePass(sizeTh: f64, weightTh: f64, from: i32, to: i32): void {
  for (let e = from; e < to; e++) {
    const p = sorted + ((<usize>e) << 4);
    if (!(<f64>load<f32>(p, 8) > weightTh)) continue;
    const s1 = findRoot(parent, load<i32>(p));
    const s2 = findRoot(parent, load<i32>(p, 4));
    if (s1 === s2) continue;
    const z1 = setSize + ((<usize>s1) << 3);
    const z2 = setSize + ((<usize>s2) << 3);
    if (load<f64>(z1) < sizeTh || load<f64>(z2) < sizeTh) {
      store<i32>(parent + ((<usize>s2) << 2), s1);
      store<f64>(z1, load<f64>(z1) + load<f64>(z2));
      store<f64>(z2, 0);
    }
  }
}

/**
 * Numbers the sets of at least `dust` voxels in order of their smallest
 * basin id; the rest map to 0. Returns the number of regions; `finalOf`
 * (uint32 per basin id) and the regions' sizes (float64) follow.
 */
export function mergeEnd(dust: f64): i32 {
  const count = basinCount;
  const remap = alloc((<usize>count + 1) << 2);
  memory.fill(remap, 0, (<usize>count + 1) << 2);
  finalOf = alloc((<usize>count + 1) << 2);
  regionSizes = alloc((<usize>max<i32>(count, 1)) << 3);
  store<u32>(finalOf, 0);
  let next = 1;
  for (let id = 1; id <= count; id++) {
    const s = findRoot(parent, id);
    const r = remap + ((<usize>s) << 2);
    const size = load<f64>(setSize + ((<usize>s) << 3));
    if (load<u32>(r) === 0 && size >= dust) {
      store<u32>(r, next);
      store<f64>(regionSizes + ((<usize>(next - 1)) << 3), size);
      next++;
    }
    store<u32>(finalOf + ((<usize>id) << 2), load<u32>(r));
  }
  return next - 1;
}

/** The regions' sizes (float64, id - 1). */
export function regionSizesPointer(): usize {
  return regionSizes;
}

/** Replaces the basin id of voxels `from..to` by its region id. */
export function relabel(from: i32, to: i32): void {
  const f = finalOf;
  for (let i = from; i < to; i++) {
    const p = labels + ((<usize>i) << 2);
    store<u32>(p, load<u32>(f + ((<usize>load<u32>(p)) << 2)));
  }
}

let treeW: usize = 0;
let treeA: usize = 0;
let treeB: usize = 0;
let treeSets: usize = 0;
let treeCount: i32 = 0;

/** Starts the spanning forest of `regions` regions. */
export function forestBegin(regions: i32): void {
  treeSets = alloc((<usize>regions + 1) << 2);
  for (let i = 0; i <= regions; i++) store<i32>(treeSets + ((<usize>i) << 2), i);
  const cap = <usize>max<i32>(regions, 1);
  treeW = alloc(cap << 2);
  treeA = alloc(cap << 2);
  treeB = alloc(cap << 2);
  treeCount = 0;
}

/**
 * Kruskal's maximum spanning forest over the regions (the edge loop of the
 * JavaScript `spanningTree`) for sorted edges `from..to`: an edge joins two
 * regions not yet connected, written (weight, smaller id, larger id). A
 * pair's later, weaker edges always find their regions connected, so no
 * pair table is needed. Returns the number of tree edges so far;
 * {@link treePointer} gives the arrays.
 */
export function forestEdges(from: i32, to: i32): i32 {
  const sets = treeSets;
  let t = treeCount;
  for (let e = from; e < to; e++) {
    const p = sorted + ((<usize>e) << 4);
    let s1 = load<u32>(finalOf + ((<usize>load<u32>(p)) << 2));
    let s2 = load<u32>(finalOf + ((<usize>load<u32>(p, 4)) << 2));
    if (s1 === s2 || s1 === 0 || s2 === 0) continue;
    if (s1 > s2) {
      const x = s1;
      s1 = s2;
      s2 = x;
    }
    const r1 = findRoot(sets, s1);
    const r2 = findRoot(sets, s2);
    if (r1 === r2) continue;
    store<i32>(sets + ((<usize>r2) << 2), r1);
    store<f32>(treeW + ((<usize>t) << 2), load<f32>(p, 8));
    store<u32>(treeA + ((<usize>t) << 2), s1);
    store<u32>(treeB + ((<usize>t) << 2), s2);
    t++;
  }
  treeCount = t;
  return t;
}

/** The forest's arrays: 0 weights (float32), 1 smaller ids, 2 larger ids. */
export function treePointer(which: i32): usize {
  return which === 0 ? treeW : which === 1 ? treeA : treeB;
}
