/**
 * The block writers of the compressed_segmentation decoder: each writes the
 * voxels of one block, whose header, table and encoded values the caller
 * (compressed_segmentation_decode.ts) has already checked against the
 * buffer, so these loops read without checks. Offsets into `out` count
 * 32-bit words, or float64 slots for the functions that write float64 values.
 *
 * Moving a voxel costs a table load and a store, so the fast paths store 8
 * bytes at a time: a uint64 voxel, or two neighbouring uint32 voxels, as one
 * float64 taken from a per-block table. A float64 carries every bit pattern
 * through a load and a store except a NaN's payload, so a table holding a
 * value whose high word has the bits of a NaN or an infinity is not used.
 */

/**
 * Scratch for {@link loadTable64}: a uint64 block table as float64 values.
 * Tables of up to 8-bit indices fit (the common case by far); wider ones take
 * the word-pair path, as loading 2^16 entries for one block would cost more
 * than it saves.
 */
export const TABLE64 = new Float64Array(1 << 8);
const PAIR = new Float64Array(1);
const PAIR_WORDS = new Uint32Array(PAIR.buffer);

/**
 * Loads the first `min(2^bits, entries)` entries of a uint64 table into
 * {@link TABLE64} as float64 values with the same bits, so that a voxel is
 * one load and one store, up to the first entry whose high word has the bits
 * of a NaN or an infinity: a float64 holding a NaN need not keep its payload
 * through a load and a store, every other bit pattern (denormals and -0
 * included) does. Returns how many entries were loaded (0 for a table of
 * more than 8-bit indices); the caller may use the table only if no voxel
 * uses a later entry. Entries past a block's real table are whatever words
 * follow it, so a short table often ends in such a pattern that no voxel uses.
 */
export function loadTable64(
  words: Uint32Array,
  table: number,
  bits: number,
  entries: number,
): number {
  if (bits > 8) return 0;
  const n = Math.min(1 << bits, entries);
  for (let i = 0, t = table; i < n; i++, t += 2) {
    const hi = words[t + 1];
    if ((hi & 0x7ff00000) === 0x7ff00000) return i;
    PAIR_WORDS[0] = words[t];
    PAIR_WORDS[1] = hi;
    TABLE64[i] = PAIR[0];
  }
  return n;
}

/** Writes one uint32 value to every voxel of a block (`o` counts words). */
export function fill32(
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

/** Writes one uint64 value, as a word pair, to every voxel of a block (`o` counts words). */
export function fill64(
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

/** Decodes one block of uint32 voxels, one voxel at a time (any block size and bit width). */
export function decodeBlock32(
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

/** Decodes one block of uint64 voxels as word pairs (any block size and bit width). */
export function decodeBlock64(
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
export function fillF64(
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
      } else if (ax === 4) {
        out[row] = v;
        out[row + 1] = v;
        out[row + 2] = v;
        out[row + 3] = v;
      } else for (let x = 0; x < ax; x++) out[row + x] = v;
    }
}

/**
 * {@link decodeBlock64} for tables loaded by {@link loadTable64} (indices of
 * at most 8 bits); `o` counts voxels.
 */
export function decodeBlockF64(
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
  if (ax === 8 && bx === 8 && bits <= 4) {
    if (bits === 1) rowsF64x1(words, values, out, o, ay, az, by, rs, ps);
    else if (bits === 2) rowsF64x2(words, values, out, o, ay, az, by, rs, ps);
    else rowsF64x4(words, values, out, o, ay, az, by, rs, ps);
    return;
  }
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

/**
 * Scratch for {@link loadPairs32}: every pair of neighbouring voxels a uint32
 * block of at most 2-bit indices can hold, as one float64 each. Entry
 * `i0 | (i1 << bits)` holds `table[i0]` in its low word and `table[i1]` in its
 * high word, so an x-aligned pair of indices read straight from the encoded
 * bits picks the two voxels' values at once.
 */
const PAIRS32 = new Float64Array(16);
const PAIRS32_WORDS = new Uint32Array(PAIRS32.buffer);

/**
 * Loads {@link PAIRS32} from a uint32 table of 0-, 1- or 2-bit indices: the
 * pairs of its first `min(2^bits, entries)` entries, up to the first whose
 * value has the bits of a float64 NaN or infinity (it would be the high word
 * of a pair; see {@link loadTable64}). Returns how many entries the pairs
 * cover; the caller may use them only if no voxel uses a later entry.
 */
export function loadPairs32(
  words: Uint32Array,
  table: number,
  bits: number,
  entries: number,
): number {
  let n = Math.min(1 << bits, entries);
  for (let i = 0; i < n; i++)
    if ((words[table + i] & 0x7ff00000) === 0x7ff00000) {
      n = i;
      break;
    }
  const p = PAIRS32_WORDS;
  for (let i1 = 0; i1 < n; i1++) {
    const hi = words[table + i1];
    for (let i0 = 0; i0 < n; i0++) {
      const k = (i0 | (i1 << bits)) << 1;
      p[k] = words[table + i0];
      p[k + 1] = hi;
    }
  }
  return n;
}

/** The pair of a 0-bit uint32 block (its one value twice), after {@link loadPairs32}. */
export function uniformPair32(): number {
  return PAIRS32[0];
}

/**
 * Writes a uint32 block of 8-voxel rows (block and chunk both 8 wide here)
 * with 1-bit indices as 4 float64 pairs a row, after {@link loadPairs32}.
 * `o`, `rs` and `ps` count float64 slots (pairs of voxels).
 */
export function pairRows1(
  words: Uint32Array,
  values: number,
  out: Float64Array,
  o: number,
  ay: number,
  az: number,
  by: number,
  rs: number,
  ps: number,
): void {
  const p = PAIRS32;
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      const r = y + by * z;
      const w = words[values + (r >>> 2)] >>> ((r & 3) << 3);
      const row = o + rs * y + ps * z;
      out[row] = p[w & 3];
      out[row + 1] = p[(w >>> 2) & 3];
      out[row + 2] = p[(w >>> 4) & 3];
      out[row + 3] = p[(w >>> 6) & 3];
    }
}

/** {@link pairRows1} for 2-bit indices. */
export function pairRows2(
  words: Uint32Array,
  values: number,
  out: Float64Array,
  o: number,
  ay: number,
  az: number,
  by: number,
  rs: number,
  ps: number,
): void {
  const p = PAIRS32;
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      const r = y + by * z;
      const w = words[values + (r >>> 1)] >>> ((r & 1) << 4);
      const row = o + rs * y + ps * z;
      out[row] = p[w & 15];
      out[row + 1] = p[(w >>> 4) & 15];
      out[row + 2] = p[(w >>> 8) & 15];
      out[row + 3] = p[(w >>> 12) & 15];
    }
}

/** {@link decodeBlockF64} of full 8-voxel rows of 1-bit indices, shifts and masks constant. */
function rowsF64x1(
  words: Uint32Array,
  values: number,
  out: Float64Array,
  o: number,
  ay: number,
  az: number,
  by: number,
  rs: number,
  ps: number,
): void {
  const t = TABLE64;
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      const r = y + by * z;
      const w = words[values + (r >>> 2)] >>> ((r & 3) << 3);
      const row = o + rs * y + ps * z;
      out[row] = t[w & 1];
      out[row + 1] = t[(w >>> 1) & 1];
      out[row + 2] = t[(w >>> 2) & 1];
      out[row + 3] = t[(w >>> 3) & 1];
      out[row + 4] = t[(w >>> 4) & 1];
      out[row + 5] = t[(w >>> 5) & 1];
      out[row + 6] = t[(w >>> 6) & 1];
      out[row + 7] = t[(w >>> 7) & 1];
    }
}

/** {@link decodeBlockF64} of full 8-voxel rows of 2-bit indices, shifts and masks constant. */
function rowsF64x2(
  words: Uint32Array,
  values: number,
  out: Float64Array,
  o: number,
  ay: number,
  az: number,
  by: number,
  rs: number,
  ps: number,
): void {
  const t = TABLE64;
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      const r = y + by * z;
      const w = words[values + (r >>> 1)] >>> ((r & 1) << 4);
      const row = o + rs * y + ps * z;
      out[row] = t[w & 3];
      out[row + 1] = t[(w >>> 2) & 3];
      out[row + 2] = t[(w >>> 4) & 3];
      out[row + 3] = t[(w >>> 6) & 3];
      out[row + 4] = t[(w >>> 8) & 3];
      out[row + 5] = t[(w >>> 10) & 3];
      out[row + 6] = t[(w >>> 12) & 3];
      out[row + 7] = t[(w >>> 14) & 3];
    }
}

/** {@link decodeBlockF64} of full 8-voxel rows of 4-bit indices, shifts and masks constant. */
function rowsF64x4(
  words: Uint32Array,
  values: number,
  out: Float64Array,
  o: number,
  ay: number,
  az: number,
  by: number,
  rs: number,
  ps: number,
): void {
  const t = TABLE64;
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      const r = y + by * z;
      const w = words[values + r];
      const row = o + rs * y + ps * z;
      out[row] = t[w & 15];
      out[row + 1] = t[(w >>> 4) & 15];
      out[row + 2] = t[(w >>> 8) & 15];
      out[row + 3] = t[(w >>> 12) & 15];
      out[row + 4] = t[(w >>> 16) & 15];
      out[row + 5] = t[(w >>> 20) & 15];
      out[row + 6] = t[(w >>> 24) & 15];
      out[row + 7] = t[w >>> 28];
    }
}
