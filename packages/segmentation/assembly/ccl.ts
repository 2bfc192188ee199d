// Connected components by runs (the WebAssembly build of label32 in
// src/ccl.ts, which is the reference this is tested against).
//
// Memory layout, all set up by the caller: the input words (0 = background,
// x fastest), then rowFirst (one u32 per row plus one: the index of each
// row's first run), then the runs, 16 bytes each (start x, end x exclusive,
// value, parent), which grow at the end of memory. The output ids are written
// over the input: background words are already 0.

@inline function runAt(runs: usize, i: u32): usize {
  return runs + (<usize>i << 4);
}

/** Root of run x, halving the path on the way. */
@inline function find(runs: usize, x: u32): u32 {
  let p = load<u32>(runAt(runs, x), 12);
  while (p != x) {
    const g = load<u32>(runAt(runs, p), 12);
    store<u32>(runAt(runs, x), g, 12);
    x = g;
    p = load<u32>(runAt(runs, x), 12);
  }
  return x;
}

/**
 * Join run i, whose set's root is ri, with run j of an earlier row (same
 * value); returns the root of the joined set. The later root goes under the
 * earlier: a set's root stays its first run.
 */
@inline function link(runs: usize, ri: u32, j: u32): u32 {
  const rj = find(runs, j);
  if (rj == ri) return ri;
  if (rj < ri) {
    store<u32>(runAt(runs, ri), rj, 12);
    return rj;
  }
  store<u32>(runAt(runs, rj), ri, 12);
  return ri;
}

/** First of the runs j..b1 that can touch a run starting at s: its end plus ext passes s. */
@inline function skipTo(runs: usize, j: u32, b1: u32, s: u32, ext: u32): u32 {
  while (j < b1 && load<u32>(runAt(runs, j), 4) + ext <= s) j++;
  return j;
}

/**
 * Join run i (root ri) with the runs from j of an earlier row, up to b1, that
 * carry its value and start before `e` (its end plus the diagonal step).
 */
@inline function joinFrom(runs: usize, ri: u32, j: u32, b1: u32, e: u32, v: u32): u32 {
  for (; j < b1; j++) {
    const rb = runAt(runs, j);
    if (load<u32>(rb, 0) >= e) break;
    if (load<u32>(rb, 8) == v) ri = link(runs, ri, j);
  }
  return ri;
}

/**
 * Join the runs a0..a1 of row (y, z) with the touching runs of the earlier
 * rows that neighbour it: `row` is the first run of row (y - 1, z) (b0..a0),
 * `below` .. `below + 3` delimit rows (y - 1, z - 1), (y, z - 1) and
 * (y + 1, z - 1) (empty ranges where those rows do not exist). `ext` is 1
 * where diagonal steps in x connect. With 18- or 26-connectivity, a run of
 * the same value right below (z - 1) that reaches one voxel past both ends
 * touches every other run this one touches, so joining it is enough.
 */
function joinRun(
  runs: usize,
  a0: u32,
  a1: u32,
  sx: u32,
  p0: u32,
  p1: u32,
  q0: u32,
  q1: u32,
  m0: u32,
  m1: u32,
  n0: u32,
  n1: u32,
  connectivity: u32,
): void {
  // Faces: rows (y - 1, z) and (y, z - 1); the others only diagonally.
  const ext: u32 = connectivity == 6 ? 0 : 1;
  const side: u32 = connectivity == 26 ? 1 : 0;
  const sides = connectivity != 6;
  for (let i = a0; i < a1; i++) {
    const ra = runAt(runs, i);
    const s = load<u32>(ra, 0);
    const e = load<u32>(ra, 4);
    const v = load<u32>(ra, 8);
    let ri = i;
    // Row (y, z - 1): [q0, q1).
    q0 = skipTo(runs, q0, q1, s, ext);
    let covered = false;
    for (let j = q0; j < q1; j++) {
      const rb = runAt(runs, j);
      const bs = load<u32>(rb, 0);
      if (bs >= e + ext) break;
      if (load<u32>(rb, 8) != v) continue;
      ri = link(runs, ri, j);
      if (sides && bs + 1 <= max<u32>(s, 1) && load<u32>(rb, 4) >= min<u32>(e + 1, sx)) covered = true;
    }
    if (covered) continue;
    // Row (y - 1, z): [p0, p1).
    p0 = skipTo(runs, p0, p1, s, ext);
    ri = joinFrom(runs, ri, p0, p1, e + ext, v);
    if (!sides) continue;
    // Rows (y - 1, z - 1) and (y + 1, z - 1).
    m0 = skipTo(runs, m0, m1, s, side);
    ri = joinFrom(runs, ri, m0, m1, e + side, v);
    n0 = skipTo(runs, n0, n1, s, side);
    joinFrom(runs, ri, n0, n1, e + side, v);
  }
}

/**
 * Find the runs of every row and join them with the touching runs of the
 * earlier neighbouring rows. Returns the number of runs, or -1 when memory
 * cannot grow to hold them.
 */
export function scan(
  input: usize,
  sx: u32,
  sy: u32,
  sz: u32,
  connectivity: u32,
  rowFirst: usize,
  runs: usize,
): i32 {
  let count: u32 = 0;
  let r: u32 = 0;
  for (let z: u32 = 0; z < sz; z++) {
    for (let y: u32 = 0; y < sy; y++, r++) {
      store<u32>(rowFirst + (<usize>r << 2), count);
      // Room for a full row of runs before writing any.
      const need = runAt(runs, count + sx);
      const have = <usize>memory.size() << 16;
      if (need > have) {
        const pages = max<i32>(<i32>((need - have + 0xffff) >> 16), memory.size() >> 1);
        if (memory.grow(pages) < 0 && memory.grow(<i32>((need - have + 0xffff) >> 16)) < 0)
          return -1;
      }
      const row = input + ((<usize>r * sx) << 2);
      const a0 = count;
      let x: u32 = 0;
      while (x < sx) {
        const v = load<u32>(row + (<usize>x << 2));
        const s = x;
        x++;
        // Four words at a time while they all equal v, then the rest one by one.
        const vv = i32x4.splat(v);
        while (x + 4 <= sx) {
          const m = i32x4.bitmask(i32x4.eq(v128.load(row + (<usize>x << 2)), vv));
          if (m == 15) x += 4;
          else {
            x += <u32>ctz(~m);
            break;
          }
        }
        if (x + 4 > sx) while (x < sx && load<u32>(row + (<usize>x << 2)) == v) x++;
        if (v == 0) continue;
        const p = runAt(runs, count);
        store<u32>(p, s, 0);
        store<u32>(p, x, 4);
        store<u32>(p, v, 8);
        store<u32>(p, count, 12);
        count++;
      }
      if (a0 == count) continue;
      // Earlier rows that touch this one (empty ranges where they do not exist).
      const p0 = y > 0 ? first(rowFirst, r - 1) : a0;
      let q0 = a0;
      let q1 = a0;
      let m0 = a0;
      let m1 = a0;
      let n0 = a0;
      let n1 = a0;
      if (z > 0) {
        const rz = r - sy;
        q0 = first(rowFirst, rz);
        q1 = first(rowFirst, rz + 1);
        if (y > 0) {
          m0 = first(rowFirst, rz - 1);
          m1 = q0;
        }
        if (y + 1 < sy) {
          n0 = q1;
          n1 = first(rowFirst, rz + 2);
        }
      }
      joinRun(runs, a0, count, sx, p0, a0, q0, q1, m0, m1, n0, n1, connectivity);
    }
  }
  store<u32>(rowFirst + (<usize>r << 2), count);
  return <i32>count;
}

@inline function first(rowFirst: usize, r: u32): u32 {
  return load<u32>(rowFirst + (<usize>r << 2));
}

/**
 * Number the roots 1..N in run order and give every run its set's id (in its
 * parent field); with `firstVoxels` nonzero, also write each id's first
 * voxel there. Returns N.
 */
export function resolve(
  sx: u32,
  rows: u32,
  rowFirst: usize,
  runs: usize,
  firstVoxels: usize,
): u32 {
  let n: u32 = 0;
  for (let r: u32 = 0; r < rows; r++) {
    const e = first(rowFirst, r + 1);
    for (let p = first(rowFirst, r); p < e; p++) {
      const a = runAt(runs, p);
      const q = load<u32>(a, 12);
      if (q == p) {
        n++;
        store<u32>(a, n, 12);
        if (firstVoxels) store<u32>(firstVoxels + (<usize>(n - 1) << 2), r * sx + load<u32>(a, 0));
      } else store<u32>(a, load<u32>(runAt(runs, q), 12), 12);
    }
  }
  return n;
}

/** Write each run's id over its voxels. */
export function fill(out: usize, sx: u32, rows: u32, rowFirst: usize, runs: usize): void {
  for (let r: u32 = 0; r < rows; r++) {
    const row = out + ((<usize>r * sx) << 2);
    const e = first(rowFirst, r + 1);
    for (let p = first(rowFirst, r); p < e; p++) {
      const a = runAt(runs, p);
      const id = load<u32>(a, 12);
      const stop = row + (<usize>load<u32>(a, 4) << 2);
      let i = row + (<usize>load<u32>(a, 0) << 2);
      const vv = i32x4.splat(id);
      for (; i + 16 <= stop; i += 16) v128.store(i, vv);
      for (; i < stop; i += 4) store<u32>(i, id);
    }
  }
}
