// compressed_segmentation decoding (AssemblyScript), the code of two
// modules: cseg_decode.ts owns its memory (this thread's arena, which slabs
// are decoded in and copied out of) and cseg_decode_shared.ts imports a
// shared one (a large output that lives in the memory it is decoded into).
// They are two modules because V8 copies in and out of a SharedArrayBuffer
// word by word (a relaxed atomic copy), not with memmove: the arena's copies
// stay on ordinary memory. The TypeScript side
// (src/codecs/compressed_segmentation_wasm.ts) copies a chunk's encoded words
// into the memory and calls `decodeSlab` for a slab of block rows at a time,
// either into scratch in the output's row order or straight into the output.
// Pointers are byte addresses; word offsets count 32-bit words of the encoded
// data.
//
// Every header, encoded-value range and table index is checked against the
// data's length before it is read, as the JavaScript decoder does: a block
// that fails a check stops the slab and its index is returned, and the caller
// reruns the JavaScript decoder, whose typed error names what is wrong. Table
// and value words are read as whole words inside the data; a 16-byte table
// vector may read up to 12 bytes past a short table, so the caller leaves 16
// bytes of padding after the data.
//
// uint64 values move as one 64-bit load and store (no float64 NaN concerns
// here, unlike in JavaScript). Full 8-voxel rows of 1- and 2-bit indices go
// through a table of all value pairs (uint64) or through `i8x16.swizzle` of
// the table held in one vector (uint32): one lookup per 16 output bytes.
//
// No static data: an instance of the shared-memory module would lay it out at
// the start of the memory, where a large output begins. The lookup tables
// live where the caller puts them with `setTables`.

/** Bytes of the lookup tables {@link setTables} lays out. */
const TABLES_BYTES: usize = 256 * 16 + 16 * 16 + 16 * 16;

/** Swizzle masks for four uint32 voxels of 2-bit indices: entry p (8 bits, voxel v in bits 2v..2v+1). */
let SWZ2: usize = 0;
/** Swizzle masks for four uint32 voxels of 1-bit indices: entry p (4 bits). */
let SWZ1: usize = 0;
/** Pairs of uint64 values of one block (1- or 2-bit indices): entry `i0 | (i1 << bits)` is (table[i0], table[i1]). */
let PAIRS: usize = 0;

/** Bytes {@link setTables} needs (16-byte aligned). */
export function tablesBytes(): usize {
  return TABLES_BYTES;
}

/** Lays the lookup tables out at `at` (16-byte aligned, {@link tablesBytes} long) and fills them; call before decoding. */
export function setTables(at: usize): void {
  SWZ2 = at;
  SWZ1 = at + 256 * 16;
  PAIRS = SWZ1 + 16 * 16;
  for (let p = 0; p < 256; p++)
    for (let v = 0; v < 4; v++) {
      const i2 = (p >>> (2 * v)) & 3;
      for (let k = 0; k < 4; k++) {
        store<u8>(SWZ2 + <usize>(p * 16 + v * 4 + k), <u8>(i2 * 4 + k));
        if (p < 16) store<u8>(SWZ1 + <usize>(p * 16 + v * 4 + k), <u8>(((p >>> v) & 1) * 4 + k));
      }
    }
}

/** The largest table index used by the voxels of a block that lie inside the chunk. */
function maxIndex(vals: usize, bits: u32, ax: i32, ay: i32, az: i32, bx: i32, by: i32): u32 {
  let max: u32 = 0;
  const mask: u32 = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      let bit = <u32>(bits * <u32>(bx * (y + by * z)));
      for (let x = 0; x < ax; x++, bit += bits) {
        const i = (load<u32>(vals + ((<usize>(bit >>> 5)) << 2)) >>> (bit & 31)) & mask;
        if (i > max) max = i;
      }
    }
  return max;
}

/**
 * Writes one value to every voxel of a block (`wpe` words a voxel): 16
 * bytes a store, the last words of a short row one by one.
 */
function fill(tab: usize, wpe: i32, o: usize, ax: i32, ay: i32, az: i32, rs: usize, ps: usize): void {
  const wide = wpe === 2;
  const s = wide ? i64x2.splat(load<u64>(tab)) : i32x4.splat(load<u32>(tab));
  const bytes = <usize>(ax * wpe) << 2;
  // Byte x of a row holds word (x >> 2) & (wpe - 1) of the value.
  const odd: usize = wide ? 4 : 0;
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      const row = o + <usize>y * rs + <usize>z * ps;
      let x: usize = 0;
      for (; x + 16 <= bytes; x += 16) v128.store(row + x, s);
      for (; x < bytes; x += 4) store<u32>(row + x, load<u32>(tab + (x & odd)));
    }
}

/** Any block size and bit width, one voxel at a time. */
function generic(
  vals: usize,
  tab: usize,
  bits: u32,
  wpe: i32,
  o: usize,
  ax: i32,
  ay: i32,
  az: i32,
  bx: i32,
  by: i32,
  rs: usize,
  ps: usize,
): void {
  const mask: u32 = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      let bit = <u32>(bits * <u32>(bx * (y + by * z)));
      const row = o + <usize>y * rs + <usize>z * ps;
      if (wpe === 2)
        for (let x = 0; x < ax; x++, bit += bits) {
          const i = (load<u32>(vals + ((<usize>(bit >>> 5)) << 2)) >>> (bit & 31)) & mask;
          store<u64>(row + ((<usize>x) << 3), load<u64>(tab + ((<usize>i) << 3)));
        }
      else
        for (let x = 0; x < ax; x++, bit += bits) {
          const i = (load<u32>(vals + ((<usize>(bit >>> 5)) << 2)) >>> (bit & 31)) & mask;
          store<u32>(row + ((<usize>x) << 2), load<u32>(tab + ((<usize>i) << 2)));
        }
    }
}

/** Fills {@link PAIRS} from the first 2^bits entries of a uint64 table (bits 1 or 2). */
function loadPairs(tab: usize, bits: u32): void {
  const pairs = PAIRS;
  const n = 1 << bits;
  for (let i1 = 0; i1 < n; i1++) {
    const hi = load<u64>(tab + ((<usize>i1) << 3));
    for (let i0 = 0; i0 < n; i0++) {
      const p = pairs + ((<usize>(i0 | (i1 << bits))) << 4);
      store<u64>(p, load<u64>(tab + ((<usize>i0) << 3)));
      store<u64>(p, hi, 8);
    }
  }
}

/**
 * uint64, full 8-voxel rows of 1- or 2-bit indices, after {@link loadPairs}:
 * four pairs of voxels a row, each one 16-byte entry of the pair table.
 * Inlined where `bits` is a constant, so its shifts and masks are too.
 */
@inline
function rows64Pairs(bits: u32, vals: usize, o: usize, ay: i32, az: i32, by: i32, rs: usize, ps: usize): void {
  const pairs = PAIRS;
  const pb = bits << 1;
  const mask: u32 = (1 << pb) - 1;
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      // A row's 8 * bits index bits: 4 / bits rows per encoded word.
      const at = <u32>(y + by * z) * bits;
      const w = load<u32>(vals + ((<usize>(at >>> 2)) << 2)) >>> ((at & 3) << 3);
      const row = o + <usize>y * rs + <usize>z * ps;
      v128.store(row, v128.load(pairs + ((<usize>(w & mask)) << 4)));
      v128.store(row, v128.load(pairs + ((<usize>((w >>> pb) & mask)) << 4)), 16);
      v128.store(row, v128.load(pairs + ((<usize>((w >>> (2 * pb)) & mask)) << 4)), 32);
      v128.store(row, v128.load(pairs + ((<usize>((w >>> (3 * pb)) & mask)) << 4)), 48);
    }
}

/**
 * uint32, full 8-voxel rows of 1- or 2-bit indices: the table's first four
 * entries held in one vector, swizzled by the mask of each group of four
 * voxels' indices. Inlined where `bits` is a constant.
 */
@inline
function rows32Swizzled(
  bits: u32,
  vals: usize,
  tab: usize,
  o: usize,
  ay: i32,
  az: i32,
  by: i32,
  rs: usize,
  ps: usize,
): void {
  const t = v128.load(tab);
  const masks = bits === 1 ? SWZ1 : SWZ2;
  const gb = bits << 2;
  const mask: u32 = (1 << gb) - 1;
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      const at = <u32>(y + by * z) * bits;
      const w = load<u32>(vals + ((<usize>(at >>> 2)) << 2)) >>> ((at & 3) << 3);
      const row = o + <usize>y * rs + <usize>z * ps;
      v128.store(row, i8x16.swizzle(t, v128.load(masks + ((<usize>(w & mask)) << 4))));
      v128.store(row, i8x16.swizzle(t, v128.load(masks + ((<usize>((w >>> gb) & mask)) << 4))), 16);
    }
}

/**
 * Full 8-voxel rows of 4-bit indices (one encoded word a row), one table
 * load and store a voxel: uint64 if `wide`, else uint32. Inlined where
 * `wide` is a constant.
 */
@inline
function rows4(wide: bool, vals: usize, tab: usize, o: usize, ay: i32, az: i32, by: i32, rs: usize, ps: usize): void {
  const sh: u32 = wide ? 3 : 2;
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      const w = load<u32>(vals + ((<usize>(y + by * z)) << 2));
      const row = o + <usize>y * rs + <usize>z * ps;
      for (let x: u32 = 0; x < 8; x++) {
        const dst = row + <usize>(x << sh);
        const src = tab + <usize>(((w >>> (x << 2)) & 15) << sh);
        if (wide) store<u64>(dst, load<u64>(src));
        else store<u32>(dst, load<u32>(src));
      }
    }
}

/**
 * Decodes `rows` block rows of one channel, starting with block `block`
 * (whose row starts at x = 0) of the channel whose words start at word
 * `base` of the `nw` words at `data`. The chunk is `sx` voxels wide, has
 * `yleft` rows of voxels from the slab's first row on and `az` planes in this
 * layer of blocks; `bx`, `by` the block size. Voxel (x, y, z) of the slab
 * goes to `out + x * 4 * wpe + y * rs + z * ps`. Returns -1, or the index of
 * the first block that fails a check (nothing is written for it).
 */
export function decodeSlab(
  data: usize,
  nw: u32,
  base: u32,
  block: u32,
  gx: i32,
  rows: i32,
  sx: i32,
  yleft: i32,
  az: i32,
  bx: i32,
  by: i32,
  wpe: i32,
  out: usize,
  rs: usize,
  ps: usize,
): i32 {
  const end = <u64>nw;
  const vox = <usize>(wpe << 2);
  for (let ry = 0; ry < rows; ry++) {
    const ay = min(by, yleft - ry * by);
    const orow = out + <usize>(ry * by) * rs;
    for (let kx = 0; kx < gx; kx++, block++) {
      const x0 = kx * bx;
      const ax = min(bx, sx - x0);
      const hp = data + ((<usize>base + ((<usize>block) << 1)) << 2);
      const h0 = load<u32>(hp);
      const bits = h0 >>> 24;
      const table = <u64>base + <u64>(h0 & 0xffffff);
      const o = orow + <usize>x0 * vox;
      const tab = data + ((<usize>table) << 2);
      if (bits === 0) {
        if (table + <u64>wpe > end) return block;
        fill(tab, wpe, o, ax, ay, az, rs, ps);
        continue;
      }
      if (bits > 32 || (bits & (bits - 1)) !== 0) return block;
      const values = <u64>base + <u64>load<u32>(hp, 4);
      const lastPos = <u64>(ax - 1 + bx * (ay - 1 + by * (az - 1)));
      const needWords = ((lastPos + 1) * <u64>bits + 31) >>> 5;
      if (values + needWords > end) return block;
      const entries = table < end ? (end - table) / <u64>wpe : 0;
      const full = entries >= (<u64>1 << <u64>bits);
      const vals = data + ((<usize>values) << 2);
      if (!full && <u64>maxIndex(vals, bits, ax, ay, az, bx, by) >= entries) return block;
      if (full && ax === 8 && bx === 8 && bits <= 4) {
        if (wpe === 2) {
          if (bits === 4) rows4(true, vals, tab, o, ay, az, by, rs, ps);
          else {
            loadPairs(tab, bits);
            if (bits === 1) rows64Pairs(1, vals, o, ay, az, by, rs, ps);
            else rows64Pairs(2, vals, o, ay, az, by, rs, ps);
          }
        } else if (bits === 1) rows32Swizzled(1, vals, tab, o, ay, az, by, rs, ps);
        else if (bits === 2) rows32Swizzled(2, vals, tab, o, ay, az, by, rs, ps);
        else rows4(false, vals, tab, o, ay, az, by, rs, ps);
      } else generic(vals, tab, bits, wpe, o, ax, ay, az, bx, by, rs, ps);
    }
  }
  return -1;
}
