/**
 * Watershed step 4: the region graph of the basins.
 */

import { alloc, sx, sxy, sz } from "./_ws_state";

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
export let edges: usize = 0;
export let edgeCount: i32 = 0;
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
export function graphRow(lr: usize, ly: usize, lz: usize, a0: usize, a1: usize, a2: usize): void {
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
