/**
 * compressed_segmentation decoder. Every channel offset, block header, table
 * index and encoded-value word is checked against the buffer before it is
 * read: corrupt or truncated input throws `ChunkDecodeError`, never yields a
 * wrong array. The common case (a block whose whole table range lies inside
 * the buffer) runs an unchecked loop specialised per bit width; a block whose
 * table could run past the end of the buffer first has its indices validated.
 */
import { ChunkDecodeError } from "../errors";
import type { BlockSize } from "./compressed_segmentation_encode";
import type { ChunkShape } from "./types";

function uninitialisedWords(n: number): Uint32Array {
  const buf = Buffer.allocUnsafeSlow(n * 4);
  return new Uint32Array(buf.buffer, buf.byteOffset, n);
}

/** The 32-bit words of `bytes`, viewed in place when aligned, copied otherwise. */
function wordsOf(bytes: Uint8Array, key: string | undefined): Uint32Array {
  if (bytes.byteLength % 4 !== 0)
    throw new ChunkDecodeError(
      `compressed_segmentation data is ${bytes.byteLength} bytes, not a whole number of 32-bit words`,
      key,
    );
  if (bytes.byteOffset % 4 === 0)
    return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const copy = new Uint32Array(bytes.byteLength / 4);
  new Uint8Array(copy.buffer).set(bytes);
  return copy;
}

/**
 * Where {@link decodeCompressedSegmentation} writes into a larger array:
 * voxel (x, y, z, c) of the chunk goes to voxel
 * `offset + x + rowStride * y + planeStride * z + channelStride * c` of
 * `into` (counted in voxels: word pairs for uint64).
 */
export interface CsegOutputLayout {
  offset: number;
  rowStride: number;
  planeStride: number;
  channelStride: number;
}

/**
 * Decodes compressed_segmentation bytes (multi-channel format) into voxels.
 *
 * @param bytes the stored chunk.
 * @param shape `[sx, sy, sz, channels]` of the chunk (edge chunks are smaller).
 * @param blockSize the scale's `compressed_segmentation_block_size`.
 * @param dtype `"uint32"` or `"uint64"`.
 * @param key names the chunk in errors.
 * @param into optional output of exactly `sx*sy*sz*c` words (twice that for
 *   uint64) to decode into, e.g. a buffer reused across chunks: a fresh
 *   multi-megabyte array costs page faults on first touch. With `layout`,
 *   any array holding the chunk at that place, e.g. a whole cutout.
 * @param layout where the chunk's voxels go in `into` (default: `into` is
 *   the chunk, x fastest).
 * @returns the voxels as 32-bit words, x fastest, planar channels (uint64 as
 *   low/high pairs; view its buffer as `BigUint64Array` for the API edge).
 * @throws ChunkDecodeError on corrupt or truncated input (`into` may then be
 *   partly overwritten).
 */
export function decodeCompressedSegmentation(
  bytes: Uint8Array,
  shape: ChunkShape,
  blockSize: BlockSize,
  dtype: "uint32" | "uint64",
  key?: string,
  into?: Uint32Array,
  layout?: CsegOutputLayout,
): Uint32Array {
  const [sx, sy, sz, nc] = shape;
  const wpe = dtype === "uint64" ? 2 : 1;
  const nvox = sx * sy * sz;
  const length = nvox * nc * wpe;
  const { offset, rowStride, planeStride, channelStride } = layout ?? {
    offset: 0,
    rowStride: sx,
    planeStride: sx * sy,
    channelStride: nvox,
  };
  if (into && layout === undefined && into.length !== length)
    throw new RangeError(`output has ${into.length} words, the chunk needs ${length}`);
  if (nvox === 0) return into ?? new Uint32Array(0);
  if (layout !== undefined) {
    const last =
      offset + sx - 1 + rowStride * (sy - 1) + planeStride * (sz - 1) + channelStride * (nc - 1);
    if (into === undefined || offset < 0 || (last + 1) * wpe > into.length)
      throw new RangeError(
        `output of ${into?.length ?? 0} words cannot hold the chunk at voxel ${offset} (last voxel ${last})`,
      );
  }
  // Every voxel of every channel is written by exactly one block, so the
  // output needs no zero-filling.
  const out = into ?? uninitialisedWords(length);
  const words = wordsOf(bytes, key);
  const nw = words.length;
  if (nw < nc)
    throw new ChunkDecodeError(
      `compressed_segmentation data is ${nw} words, too short for the ${nc} channel offsets`,
      key,
    );
  const [bx, by, bz] = blockSize;
  const nblocks = Math.ceil(sx / bx) * Math.ceil(sy / by) * Math.ceil(sz / bz);
  for (let c = 0; c < nc; c++) {
    const base = words[c];
    if (base < nc || base + 2 * nblocks > nw)
      throw new ChunkDecodeError(
        `compressed_segmentation channel ${c} offset ${base} leaves no room for its ${nblocks} block headers in ${nw} words`,
        key,
      );
    const outBase = (offset + c * channelStride) * wpe;
    decodeChannel(words, base, out, outBase, shape, rowStride, planeStride, blockSize, wpe, key);
  }
  return out;
}

function fail(key: string | undefined, block: number, message: string): ChunkDecodeError {
  return new ChunkDecodeError(`compressed_segmentation block ${block}: ${message}`, key);
}

function decodeChannel(
  words: Uint32Array,
  base: number,
  out: Uint32Array,
  outBase: number,
  shape: ChunkShape,
  rs: number,
  ps: number,
  blockSize: BlockSize,
  wpe: number,
  key: string | undefined,
): void {
  const [sx, sy, sz] = shape;
  const [bx, by, bz] = blockSize;
  const gx = Math.ceil(sx / bx);
  const gy = Math.ceil(sy / by);
  const gz = Math.ceil(sz / bz);
  const nw = words.length;
  // uint64 voxels move as one float64 each where the output is 8-byte aligned.
  const out64 =
    wpe === 2 && (out.byteOffset & 7) === 0
      ? new Float64Array(out.buffer, out.byteOffset, out.length >>> 1)
      : undefined;
  let block = 0;
  for (let kz = 0; kz < gz; kz++) {
    const z0 = kz * bz;
    const az = Math.min(bz, sz - z0);
    for (let ky = 0; ky < gy; ky++) {
      const y0 = ky * by;
      const ay = Math.min(by, sy - y0);
      for (let kx = 0; kx < gx; kx++, block++) {
        const x0 = kx * bx;
        const ax = Math.min(bx, sx - x0);
        const h0 = words[base + 2 * block];
        const bits = h0 >>> 24;
        const table = base + (h0 & 0xffffff);
        const values = base + words[base + 2 * block + 1];
        const o = outBase + wpe * (x0 + rs * y0 + ps * z0);
        if (bits === 0) {
          if (table + wpe > nw) throw fail(key, block, `table offset ${table} is past the end`);
          if (wpe === 1) fill32(out, o, words[table], ax, ay, az, rs, ps);
          else if (out64 === undefined || !loadTable64(words, table, 0, 1))
            fill64(out, o, words[table], words[table + 1], ax, ay, az, rs, ps);
          else fillF64(out64, o >>> 1, TABLE64[0], ax, ay, az, rs, ps);
          continue;
        }
        if (bits > 32 || (bits & (bits - 1)) !== 0)
          throw fail(key, block, `invalid encoded bits ${bits} (must be 0, 1, 2, 4, 8, 16 or 32)`);
        // Words holding the indices of the last voxel that lies inside the chunk.
        const lastPos = ax - 1 + bx * (ay - 1 + by * (az - 1));
        const needWords = Math.ceil(((lastPos + 1) * bits) / 32);
        if (values + needWords > nw)
          throw fail(key, block, `encoded values at ${values} run past the end (${nw} words)`);
        const entries = table < nw ? Math.floor((nw - table) / wpe) : 0;
        if (bits === 32 || entries < 2 ** bits) {
          const max = maxIndex(words, values, bits, ax, ay, az, bx, by);
          if (max >= entries)
            throw fail(key, block, `table index ${max} is past the end of the data`);
        }
        if (wpe === 1)
          decodeBlock32(words, values, table, bits, out, o, ax, ay, az, bx, by, rs, ps);
        else if (out64 === undefined || !loadTable64(words, table, bits, entries))
          decodeBlock64(words, values, table, bits, out, o, ax, ay, az, bx, by, rs, ps);
        else decodeBlockF64(words, values, bits, out64, o >>> 1, ax, ay, az, bx, by, rs, ps);
      }
    }
  }
}

/**
 * Scratch for {@link loadTable64}: a uint64 block table as float64 values.
 * Tables of up to 8-bit indices fit (the common case by far); wider ones take
 * the word-pair path, as loading 2^16 entries for one block would cost more
 * than it saves.
 */
const TABLE64 = new Float64Array(1 << 8);
const PAIR = new Float64Array(1);
const PAIR_WORDS = new Uint32Array(PAIR.buffer);

/**
 * Loads the first `min(2^bits, entries)` entries of a uint64 table into
 * {@link TABLE64} as float64 values with the same bits, so that a voxel is
 * one load and one store. Returns false (the caller copies word pairs) for
 * a table of 32-bit indices, or when an entry has the bits of a NaN or an
 * infinity: a float64 holding a NaN need not keep its payload through a
 * load and a store, every other bit pattern (denormals and -0 included) does.
 */
function loadTable64(words: Uint32Array, table: number, bits: number, entries: number): boolean {
  if (bits > 8) return false;
  const n = Math.min(1 << bits, entries);
  for (let i = 0, t = table; i < n; i++, t += 2) {
    const hi = words[t + 1];
    if ((hi & 0x7ff00000) === 0x7ff00000) return false;
    PAIR_WORDS[0] = words[t];
    PAIR_WORDS[1] = hi;
    TABLE64[i] = PAIR[0];
  }
  return true;
}

/** The largest table index used by the voxels of a block that lie inside the chunk. */
function maxIndex(
  words: Uint32Array,
  values: number,
  bits: number,
  ax: number,
  ay: number,
  az: number,
  bx: number,
  by: number,
): number {
  let max = 0;
  const mask = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      let bit = bits * bx * (y + by * z);
      for (let x = 0; x < ax; x++, bit += bits) {
        const i = ((words[values + Math.floor(bit / 32)] >>> (bit % 32)) & mask) >>> 0;
        if (i > max) max = i;
      }
    }
  return max;
}

function fill32(
  out: Uint32Array,
  o: number,
  v: number,
  ax: number,
  ay: number,
  az: number,
  rs: number,
  ps: number,
): void {
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      const row = o + rs * y + ps * z;
      if (ax === 8) {
        out[row] = v;
        out[row + 1] = v;
        out[row + 2] = v;
        out[row + 3] = v;
        out[row + 4] = v;
        out[row + 5] = v;
        out[row + 6] = v;
        out[row + 7] = v;
      } else for (let x = 0; x < ax; x++) out[row + x] = v;
    }
}

function fill64(
  out: Uint32Array,
  o: number,
  lo: number,
  hi: number,
  ax: number,
  ay: number,
  az: number,
  rs: number,
  ps: number,
): void {
  const ax2 = 2 * ax;
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      const row = o + 2 * (rs * y + ps * z);
      if (ax === 8) {
        out[row] = lo;
        out[row + 1] = hi;
        out[row + 2] = lo;
        out[row + 3] = hi;
        out[row + 4] = lo;
        out[row + 5] = hi;
        out[row + 6] = lo;
        out[row + 7] = hi;
        out[row + 8] = lo;
        out[row + 9] = hi;
        out[row + 10] = lo;
        out[row + 11] = hi;
        out[row + 12] = lo;
        out[row + 13] = hi;
        out[row + 14] = lo;
        out[row + 15] = hi;
      } else
        for (let x = 0; x < ax2; x += 2) {
          out[row + x] = lo;
          out[row + x + 1] = hi;
        }
    }
}

function decodeBlock32(
  words: Uint32Array,
  values: number,
  table: number,
  bits: number,
  out: Uint32Array,
  o: number,
  ax: number,
  ay: number,
  az: number,
  bx: number,
  by: number,
  rs: number,
  ps: number,
): void {
  if (bits === 32) {
    for (let z = 0; z < az; z++)
      for (let y = 0; y < ay; y++) {
        const src = values + bx * (y + by * z);
        const row = o + rs * y + ps * z;
        for (let x = 0; x < ax; x++) out[row + x] = words[table + words[src + x]];
      }
    return;
  }
  const mask = (1 << bits) - 1;
  if (ax === 8 && bx === 8 && bits <= 4) {
    if (bits === 1) rows8x1(words, values, table, out, o, ay, az, by, rs, ps);
    else if (bits === 2) rows8x2(words, values, table, out, o, ay, az, by, rs, ps);
    else rows8x4(words, values, table, out, o, ay, az, by, rs, ps);
    return;
  }
  if (bx * bits <= 32 && 32 % (bx * bits) === 0) {
    // Every row of the block lies in one word (e.g. 8-voxel rows of 1, 2 or 4 bits).
    for (let z = 0; z < az; z++)
      for (let y = 0; y < ay; y++) {
        const bit = bits * bx * (y + by * z);
        let w = words[values + (bit >>> 5)] >>> (bit & 31);
        const row = o + rs * y + ps * z;
        if (ax === 8) {
          out[row] = words[table + (w & mask)];
          out[row + 1] = words[table + ((w >>> bits) & mask)];
          out[row + 2] = words[table + ((w >>> (2 * bits)) & mask)];
          out[row + 3] = words[table + ((w >>> (3 * bits)) & mask)];
          out[row + 4] = words[table + ((w >>> (4 * bits)) & mask)];
          out[row + 5] = words[table + ((w >>> (5 * bits)) & mask)];
          out[row + 6] = words[table + ((w >>> (6 * bits)) & mask)];
          out[row + 7] = words[table + ((w >>> (7 * bits)) & mask)];
        } else
          for (let x = 0; x < ax; x++) {
            out[row + x] = words[table + (w & mask)];
            w >>>= bits;
          }
      }
    return;
  }
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      let bit = bits * bx * (y + by * z);
      const row = o + rs * y + ps * z;
      for (let x = 0; x < ax; x++, bit += bits)
        out[row + x] = words[table + ((words[values + (bit >>> 5)] >>> (bit & 31)) & mask)];
    }
}

function decodeBlock64(
  words: Uint32Array,
  values: number,
  table: number,
  bits: number,
  out: Uint32Array,
  o: number,
  ax: number,
  ay: number,
  az: number,
  bx: number,
  by: number,
  rs: number,
  ps: number,
): void {
  if (bits === 32) {
    for (let z = 0; z < az; z++)
      for (let y = 0; y < ay; y++) {
        const src = values + bx * (y + by * z);
        const row = o + 2 * (rs * y + ps * z);
        for (let x = 0; x < ax; x++) {
          const t = table + 2 * words[src + x];
          out[row + 2 * x] = words[t];
          out[row + 2 * x + 1] = words[t + 1];
        }
      }
    return;
  }
  const mask = (1 << bits) - 1;
  if (bx * bits <= 32 && 32 % (bx * bits) === 0) {
    // Every row of the block lies in one word (e.g. 8-voxel rows of 1, 2 or 4 bits).
    for (let z = 0; z < az; z++)
      for (let y = 0; y < ay; y++) {
        const bit = bits * bx * (y + by * z);
        let w = words[values + (bit >>> 5)] >>> (bit & 31);
        const row = o + 2 * (rs * y + ps * z);
        if (ax === 8) {
          let t = table + 2 * (w & mask);
          out[row] = words[t];
          out[row + 1] = words[t + 1];
          t = table + 2 * ((w >>> bits) & mask);
          out[row + 2] = words[t];
          out[row + 3] = words[t + 1];
          t = table + 2 * ((w >>> (2 * bits)) & mask);
          out[row + 4] = words[t];
          out[row + 5] = words[t + 1];
          t = table + 2 * ((w >>> (3 * bits)) & mask);
          out[row + 6] = words[t];
          out[row + 7] = words[t + 1];
          t = table + 2 * ((w >>> (4 * bits)) & mask);
          out[row + 8] = words[t];
          out[row + 9] = words[t + 1];
          t = table + 2 * ((w >>> (5 * bits)) & mask);
          out[row + 10] = words[t];
          out[row + 11] = words[t + 1];
          t = table + 2 * ((w >>> (6 * bits)) & mask);
          out[row + 12] = words[t];
          out[row + 13] = words[t + 1];
          t = table + 2 * ((w >>> (7 * bits)) & mask);
          out[row + 14] = words[t];
          out[row + 15] = words[t + 1];
        } else
          for (let x = 0; x < 2 * ax; x += 2) {
            const t = table + 2 * (w & mask);
            out[row + x] = words[t];
            out[row + x + 1] = words[t + 1];
            w >>>= bits;
          }
      }
    return;
  }
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      let bit = bits * bx * (y + by * z);
      const row = o + 2 * (rs * y + ps * z);
      for (let x = 0; x < ax; x++, bit += bits) {
        const t = table + 2 * ((words[values + (bit >>> 5)] >>> (bit & 31)) & mask);
        out[row + 2 * x] = words[t];
        out[row + 2 * x + 1] = words[t + 1];
      }
    }
}

/** {@link fill64} with the value as one float64 (see {@link loadTable64}); `o` counts voxels. */
function fillF64(
  out: Float64Array,
  o: number,
  v: number,
  ax: number,
  ay: number,
  az: number,
  rs: number,
  ps: number,
): void {
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      const row = o + rs * y + ps * z;
      if (ax === 8) {
        out[row] = v;
        out[row + 1] = v;
        out[row + 2] = v;
        out[row + 3] = v;
        out[row + 4] = v;
        out[row + 5] = v;
        out[row + 6] = v;
        out[row + 7] = v;
      } else for (let x = 0; x < ax; x++) out[row + x] = v;
    }
}

/**
 * {@link decodeBlock64} for tables loaded by {@link loadTable64} (indices of
 * at most 8 bits); `o` counts voxels.
 */
function decodeBlockF64(
  words: Uint32Array,
  values: number,
  bits: number,
  out: Float64Array,
  o: number,
  ax: number,
  ay: number,
  az: number,
  bx: number,
  by: number,
  rs: number,
  ps: number,
): void {
  const tab = TABLE64;
  const mask = (1 << bits) - 1;
  if (bx * bits <= 32 && 32 % (bx * bits) === 0) {
    for (let z = 0; z < az; z++)
      for (let y = 0; y < ay; y++) {
        const bit = bits * bx * (y + by * z);
        let w = words[values + (bit >>> 5)] >>> (bit & 31);
        const row = o + rs * y + ps * z;
        if (ax === 8) {
          out[row] = tab[w & mask];
          out[row + 1] = tab[(w >>> bits) & mask];
          out[row + 2] = tab[(w >>> (2 * bits)) & mask];
          out[row + 3] = tab[(w >>> (3 * bits)) & mask];
          out[row + 4] = tab[(w >>> (4 * bits)) & mask];
          out[row + 5] = tab[(w >>> (5 * bits)) & mask];
          out[row + 6] = tab[(w >>> (6 * bits)) & mask];
          out[row + 7] = tab[(w >>> (7 * bits)) & mask];
        } else
          for (let x = 0; x < ax; x++) {
            out[row + x] = tab[w & mask];
            w >>>= bits;
          }
      }
    return;
  }
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      let bit = bits * bx * (y + by * z);
      const row = o + rs * y + ps * z;
      for (let x = 0; x < ax; x++, bit += bits)
        out[row + x] = tab[(words[values + (bit >>> 5)] >>> (bit & 31)) & mask];
    }
}

function rows8x1(
  words: Uint32Array,
  values: number,
  table: number,
  out: Uint32Array,
  o: number,
  ay: number,
  az: number,
  by: number,
  rs: number,
  ps: number,
): void {
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      const r = y + by * z;
      const w = words[values + (r >>> 2)] >>> ((r & 3) << 3);
      const row = o + rs * y + ps * z;
      out[row] = words[table + (w & 1)];
      out[row + 1] = words[table + ((w >>> 1) & 1)];
      out[row + 2] = words[table + ((w >>> 2) & 1)];
      out[row + 3] = words[table + ((w >>> 3) & 1)];
      out[row + 4] = words[table + ((w >>> 4) & 1)];
      out[row + 5] = words[table + ((w >>> 5) & 1)];
      out[row + 6] = words[table + ((w >>> 6) & 1)];
      out[row + 7] = words[table + ((w >>> 7) & 1)];
    }
}

function rows8x2(
  words: Uint32Array,
  values: number,
  table: number,
  out: Uint32Array,
  o: number,
  ay: number,
  az: number,
  by: number,
  rs: number,
  ps: number,
): void {
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      const r = y + by * z;
      const w = words[values + (r >>> 1)] >>> ((r & 1) << 4);
      const row = o + rs * y + ps * z;
      out[row] = words[table + (w & 3)];
      out[row + 1] = words[table + ((w >>> 2) & 3)];
      out[row + 2] = words[table + ((w >>> 4) & 3)];
      out[row + 3] = words[table + ((w >>> 6) & 3)];
      out[row + 4] = words[table + ((w >>> 8) & 3)];
      out[row + 5] = words[table + ((w >>> 10) & 3)];
      out[row + 6] = words[table + ((w >>> 12) & 3)];
      out[row + 7] = words[table + ((w >>> 14) & 3)];
    }
}

function rows8x4(
  words: Uint32Array,
  values: number,
  table: number,
  out: Uint32Array,
  o: number,
  ay: number,
  az: number,
  by: number,
  rs: number,
  ps: number,
): void {
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      const w = words[values + y + by * z];
      const row = o + rs * y + ps * z;
      out[row] = words[table + (w & 15)];
      out[row + 1] = words[table + ((w >>> 4) & 15)];
      out[row + 2] = words[table + ((w >>> 8) & 15)];
      out[row + 3] = words[table + ((w >>> 12) & 15)];
      out[row + 4] = words[table + ((w >>> 16) & 15)];
      out[row + 5] = words[table + ((w >>> 20) & 15)];
      out[row + 6] = words[table + ((w >>> 24) & 15)];
      out[row + 7] = words[table + (w >>> 28)];
    }
}
