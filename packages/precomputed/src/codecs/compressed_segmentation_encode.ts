/**
 * compressed_segmentation encoder (Neuroglancer's block-wise lookup-table
 * format for uint32/uint64 labels). The bytes are the ones Neuroglancer's own
 * encoder writes: per block the encoded values, then the block's lookup table
 * (its distinct values in ascending order) unless an identical table was
 * already written earlier in the same channel, in which case the block points
 * at that one. Positions of a partial block that fall outside the chunk encode
 * index 0.
 *
 * Hot path design: the input is read as 32-bit words (uint64 as low/high
 * pairs); blocks holding one value take a scan-only fast path; otherwise the
 * block's distinct values are collected in a small open-addressing hash table
 * that is reused across blocks (a generation stamp replaces clearing), and
 * runs of equal values skip the hash lookup. The output goes into one
 * uninitialised buffer, sized for a well-compressing chunk and grown (rarely)
 * when a block might not fit, and is copied once at the end.
 */
import { ChunkEncodeError } from "../errors";
import type { ChunkShape } from "./types";

/** A compressed_segmentation block size `[bx, by, bz]`. */
export type BlockSize = readonly [number, number, number];

/** Table offsets are 24-bit fields of the block header. */
const MAX_TABLE_OFFSET = 0x1000000;

/** Insertion sort is faster than a comparator sort for the few values of a typical block. */
const INSERTION_SORT_MAX = 24;

/** Smallest allowed number of bits (0, 1, 2, 4, 8, 16, 32) to index `n` table entries. */
export function encodedBitsFor(n: number): number {
  if (n <= 1) return 0;
  let bits = 1;
  while (2 ** bits < n) bits *= 2;
  return bits;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Everything one call needs, allocated once per call and shared by all its blocks. */
interface Scratch {
  readonly bvox: number;
  /** Per block position: 1-based index of the value in `uniqLo/Hi` (0 = padding). */
  readonly idx: Uint32Array;
  readonly hashLo: Uint32Array;
  readonly hashHi: Uint32Array;
  readonly hashSlot: Uint32Array;
  readonly hashStamp: Uint32Array;
  readonly hashShift: number;
  readonly hashMask: number;
  generation: number;
  readonly uniqLo: Uint32Array;
  readonly uniqHi: Uint32Array;
  readonly order: Uint32Array;
  /** 1-based value index -> position in the sorted table (rank[0] = 0 for padding). */
  readonly rank: Uint32Array;
  readonly cacheHash: Uint32Array;
  readonly cacheOffset: Int32Array;
  readonly cacheCount: Uint32Array;
  readonly cacheMask: number;
  /** One block row of the channel (see copyBlockRow). */
  readonly tile: Uint32Array;
  out: Uint32Array;
  pos: number;
  /** Most words one block can add: its packed indices plus a full table. */
  readonly maxBlockWords: number;
}

/** Slots of the per-channel cache of written tables: at most half full. */
function tableCacheSize(blocksPerChannel: number): number {
  return Math.max(16, nextPow2(2 * blocksPerChannel));
}

function makeScratch(
  bvox: number,
  blocksPerChannel: number,
  tileWords: number,
  outWords: number,
  maxBlockWords: number,
): Scratch {
  const hashSize = Math.max(64, nextPow2(2 * bvox));
  const cacheSize = tableCacheSize(blocksPerChannel);
  return {
    bvox,
    idx: new Uint32Array(bvox + 32),
    hashLo: new Uint32Array(hashSize),
    hashHi: new Uint32Array(hashSize),
    hashSlot: new Uint32Array(hashSize),
    hashStamp: new Uint32Array(hashSize),
    hashShift: 32 - Math.log2(hashSize),
    hashMask: hashSize - 1,
    generation: 0,
    uniqLo: new Uint32Array(bvox),
    uniqHi: new Uint32Array(bvox),
    order: new Uint32Array(bvox),
    rank: new Uint32Array(bvox + 1),
    cacheHash: new Uint32Array(cacheSize),
    cacheOffset: new Int32Array(cacheSize),
    cacheCount: new Uint32Array(cacheSize),
    cacheMask: cacheSize - 1,
    tile: new Uint32Array(tileWords),
    out: uninitialisedWords(outWords),
    pos: 0,
    maxBlockWords,
  };
}

/**
 * The last call's scratch on this thread, reused by the next call of the
 * same block and chunk geometry: a worker encoding chunk after chunk then
 * allocates only each result, not ~1 MiB of tables and output per chunk
 * (ArrayBuffer memory that V8 counts toward its next full collection).
 */
let kept: Scratch | undefined;

/** Generations past this start a fresh scratch: stamps are 32-bit and must never repeat. */
const MAX_GENERATION = 2 ** 31;

function scratchFor(
  bvox: number,
  blocksPerChannel: number,
  tileWords: number,
  outWords: number,
  maxBlockWords: number,
): Scratch {
  const k = kept;
  if (
    k !== undefined &&
    k.bvox === bvox &&
    k.cacheHash.length === tableCacheSize(blocksPerChannel) &&
    k.tile.length === tileWords &&
    k.maxBlockWords === maxBlockWords &&
    k.generation < MAX_GENERATION
  ) {
    if (k.out.length < outWords) k.out = uninitialisedWords(outWords);
    k.pos = 0;
    return k;
  }
  kept = makeScratch(bvox, blocksPerChannel, tileWords, outWords, maxBlockWords);
  return kept;
}

/** A word buffer without zero-filling: every word that is kept is written explicitly. */
function uninitialisedWords(n: number): Uint32Array {
  const buf = Buffer.allocUnsafeSlow(n * 4);
  return new Uint32Array(buf.buffer, buf.byteOffset, n);
}

/** Makes room for `words` more words after `s.pos`. */
function reserve(s: Scratch, words: number): void {
  if (s.pos + words <= s.out.length) return;
  const bigger = uninitialisedWords(Math.max(2 * s.out.length, s.pos + words));
  bigger.set(s.out.subarray(0, s.pos));
  s.out = bigger;
}

/**
 * Encodes a chunk as compressed_segmentation (multi-channel format: one
 * uint32 offset per channel, then each channel's blocks).
 *
 * @param data voxels x fastest, planar channels, as 32-bit words: a
 *   `Uint32Array` for uint32, or a `Uint32Array` view of the uint64 voxels
 *   (low word first) for uint64. Its length must be `sx*sy*sz*c` (uint32) or
 *   twice that (uint64); the caller checks this.
 * @param shape `[sx, sy, sz, channels]`.
 * @param blockSize `[bx, by, bz]` of positive integers.
 * @param dtype `"uint32"` or `"uint64"`.
 * @returns the encoded bytes (a fresh buffer).
 * @throws ChunkEncodeError when a table offset does not fit the 24-bit
 *   header field (a chunk far too large for its block size).
 * @example
 * const bytes = encodeCompressedSegmentation(labels, [64, 64, 64, 1], [8, 8, 8], "uint32");
 */
export function encodeCompressedSegmentation(
  data: Uint32Array,
  shape: ChunkShape,
  blockSize: BlockSize,
  dtype: "uint32" | "uint64",
): Uint8Array {
  const [sx, sy, sz, nc] = shape;
  const [bx, by, bz] = blockSize;
  const wpe = dtype === "uint64" ? 2 : 1;
  const gx = Math.ceil(sx / bx);
  const gy = Math.ceil(sy / by);
  const gz = Math.ceil(sz / bz);
  const nblocks = gx * gy * gz;
  const bvox = bx * by * bz;
  const nvox = sx * sy * sz;
  const maxEncodedWords = Math.ceil((encodedBitsFor(Math.min(bvox, nvox)) * bvox) / 32);
  const maxBlockWords = maxEncodedWords + Math.min(bvox, nvox) * wpe;
  // Room for the headers and about 1/8 of the raw size; grown if needed.
  const initial = nc + nc * 2 * nblocks + ((nvox * nc * wpe) >>> 3) + maxBlockWords;
  const s = scratchFor(bvox, nblocks, sx * by * bz * wpe, initial, maxBlockWords);
  s.pos = nc;
  for (let c = 0; c < nc; c++) {
    reserve(s, 2 * nblocks);
    s.out[c] = s.pos;
    if (wpe === 1) encodeChannel32(data, c * nvox, shape, blockSize, s);
    else encodeChannel64(data, 2 * c * nvox, shape, blockSize, s);
  }
  const result = new Uint8Array(s.pos * 4);
  result.set(new Uint8Array(s.out.buffer, s.out.byteOffset, s.pos * 4));
  return result;
}

/**
 * Copies the `az` slices of `ay` whole rows of one block row (all blocks of
 * one y, z block position) from the chunk into `tile`, rows `rowWords` long
 * and slices `tileSlice` words apart. Read row by row, the chunk streams
 * through the cache; read block by block, every 8-voxel row of a block
 * would be its own cache miss, and those misses cost more than the copy.
 */
function copyBlockRow(
  data: Uint32Array,
  start: number,
  rowWords: number,
  sliceWords: number,
  tileSlice: number,
  ay: number,
  az: number,
  tile: Uint32Array,
): void {
  for (let z = 0; z < az; z++)
    for (let y = 0; y < ay; y++) {
      const from = start + rowWords * y + sliceWords * z;
      tile.set(data.subarray(from, from + rowWords), rowWords * y + tileSlice * z);
    }
}

/** Writes the block's packed indices (if any), then its table or a reference to an equal earlier one. */
function writeBlock(
  s: Scratch,
  channelBase: number,
  headerAt: number,
  n: number,
  wpe: number,
  tabLo: Uint32Array,
  tabHi: Uint32Array,
): void {
  reserve(s, s.maxBlockWords);
  const out = s.out;
  const bits = encodedBitsFor(n);
  const encodedStart = s.pos;
  let pos = s.pos;
  if (bits > 0) {
    const idx = s.idx;
    const rank = s.rank;
    const words = (bits * s.bvox + 31) >>> 5;
    let e = 0;
    if (bits === 1) {
      for (let w = 0; w < words; w++) {
        let word = 0;
        for (let sh = 0; sh < 32; sh += 8, e += 8)
          word |=
            (rank[idx[e]] |
              (rank[idx[e + 1]] << 1) |
              (rank[idx[e + 2]] << 2) |
              (rank[idx[e + 3]] << 3) |
              (rank[idx[e + 4]] << 4) |
              (rank[idx[e + 5]] << 5) |
              (rank[idx[e + 6]] << 6) |
              (rank[idx[e + 7]] << 7)) <<
            sh;
        out[pos++] = word;
      }
    } else if (bits === 2) {
      for (let w = 0; w < words; w++) {
        out[pos++] =
          rank[idx[e]] |
          (rank[idx[e + 1]] << 2) |
          (rank[idx[e + 2]] << 4) |
          (rank[idx[e + 3]] << 6) |
          (rank[idx[e + 4]] << 8) |
          (rank[idx[e + 5]] << 10) |
          (rank[idx[e + 6]] << 12) |
          (rank[idx[e + 7]] << 14) |
          (rank[idx[e + 8]] << 16) |
          (rank[idx[e + 9]] << 18) |
          (rank[idx[e + 10]] << 20) |
          (rank[idx[e + 11]] << 22) |
          (rank[idx[e + 12]] << 24) |
          (rank[idx[e + 13]] << 26) |
          (rank[idx[e + 14]] << 28) |
          (rank[idx[e + 15]] << 30);
        e += 16;
      }
    } else if (bits === 4) {
      for (let w = 0; w < words; w++) {
        out[pos++] =
          rank[idx[e]] |
          (rank[idx[e + 1]] << 4) |
          (rank[idx[e + 2]] << 8) |
          (rank[idx[e + 3]] << 12) |
          (rank[idx[e + 4]] << 16) |
          (rank[idx[e + 5]] << 20) |
          (rank[idx[e + 6]] << 24) |
          (rank[idx[e + 7]] << 28);
        e += 8;
      }
    } else if (bits === 8) {
      for (let w = 0; w < words; w++) {
        out[pos++] =
          rank[idx[e]] |
          (rank[idx[e + 1]] << 8) |
          (rank[idx[e + 2]] << 16) |
          (rank[idx[e + 3]] << 24);
        e += 4;
      }
    } else if (bits === 16) {
      for (let w = 0; w < words; w++) {
        out[pos++] = rank[idx[e]] | (rank[idx[e + 1]] << 16);
        e += 2;
      }
    } else {
      for (let w = 0; w < words; w++) out[pos++] = rank[idx[e++]];
    }
  }

  // Look for an identical table written earlier in this channel.
  let h = n | 0;
  for (let i = 0; i < n; i++) {
    h = Math.imul(h ^ tabLo[i], 0x01000193);
    if (wpe === 2) h = Math.imul(h ^ tabHi[i], 0x01000193);
  }
  h >>>= 0;
  const cacheMask = s.cacheMask;
  const cacheOffset = s.cacheOffset;
  let slot = (Math.imul(h, 0x9e3779b1) >>> 0) & cacheMask;
  let tableAt = -1;
  for (;;) {
    const off = cacheOffset[slot];
    if (off < 0) break;
    if (s.cacheHash[slot] === h && s.cacheCount[slot] === n) {
      let same = true;
      if (wpe === 1) {
        for (let i = 0; i < n; i++)
          if (out[off + i] !== tabLo[i]) {
            same = false;
            break;
          }
      } else {
        for (let i = 0; i < n; i++)
          if (out[off + 2 * i] !== tabLo[i] || out[off + 2 * i + 1] !== tabHi[i]) {
            same = false;
            break;
          }
      }
      if (same) {
        tableAt = off;
        break;
      }
    }
    slot = (slot + 1) & cacheMask;
  }
  if (tableAt < 0) {
    tableAt = pos;
    if (wpe === 1) for (let i = 0; i < n; i++) out[pos++] = tabLo[i];
    else
      for (let i = 0; i < n; i++) {
        out[pos++] = tabLo[i];
        out[pos++] = tabHi[i];
      }
    cacheOffset[slot] = tableAt;
    s.cacheHash[slot] = h;
    s.cacheCount[slot] = n;
  }
  const tableRel = tableAt - channelBase;
  if (tableRel >= MAX_TABLE_OFFSET)
    throw new ChunkEncodeError(
      `compressed_segmentation table offset ${tableRel} does not fit the 24-bit header field: use smaller chunks or larger blocks`,
    );
  out[headerAt] = tableRel | (bits << 24);
  out[headerAt + 1] = encodedStart - channelBase;
  s.pos = pos;
}

/** Sorts the block's distinct values and fills `rank` and the sorted table. */
function sortTable32(s: Scratch, n: number, tab: Uint32Array): void {
  const order = s.order;
  const uniq = s.uniqLo;
  for (let i = 0; i < n; i++) order[i] = i;
  if (n <= INSERTION_SORT_MAX) {
    for (let i = 1; i < n; i++) {
      const o = order[i];
      const v = uniq[o];
      let j = i - 1;
      while (j >= 0 && uniq[order[j]] > v) {
        order[j + 1] = order[j];
        j--;
      }
      order[j + 1] = o;
    }
  } else {
    order.subarray(0, n).sort((a, b) => uniq[a] - uniq[b]);
  }
  const rank = s.rank;
  for (let r = 0; r < n; r++) {
    const o = order[r];
    tab[r] = uniq[o];
    rank[o + 1] = r;
  }
}

function sortTable64(s: Scratch, n: number, tabLo: Uint32Array, tabHi: Uint32Array): void {
  const order = s.order;
  const lo = s.uniqLo;
  const hi = s.uniqHi;
  for (let i = 0; i < n; i++) order[i] = i;
  if (n <= INSERTION_SORT_MAX) {
    for (let i = 1; i < n; i++) {
      const o = order[i];
      const vl = lo[o];
      const vh = hi[o];
      let j = i - 1;
      while (j >= 0) {
        const p = order[j];
        if (hi[p] < vh || (hi[p] === vh && lo[p] <= vl)) break;
        order[j + 1] = p;
        j--;
      }
      order[j + 1] = o;
    }
  } else {
    order.subarray(0, n).sort((a, b) => hi[a] - hi[b] || lo[a] - lo[b]);
  }
  const rank = s.rank;
  for (let r = 0; r < n; r++) {
    const o = order[r];
    tabLo[r] = lo[o];
    tabHi[r] = hi[o];
    rank[o + 1] = r;
  }
}

function encodeChannel32(
  input: Uint32Array,
  inBase: number,
  shape: ChunkShape,
  blockSize: BlockSize,
  s: Scratch,
): void {
  const [sx, sy, sz] = shape;
  const [bx, by, bz] = blockSize;
  const gx = Math.ceil(sx / bx);
  const gy = Math.ceil(sy / by);
  const gz = Math.ceil(sz / bz);
  const channelBase = s.pos;
  s.pos += 2 * gx * gy * gz;
  s.cacheOffset.fill(-1);
  const idx = s.idx;
  const hashLo = s.hashLo;
  const hashSlot = s.hashSlot;
  const hashStamp = s.hashStamp;
  const hashShift = s.hashShift;
  const hashMask = s.hashMask;
  const uniq = s.uniqLo;
  const tab = new Uint32Array(s.bvox);
  // Blocks are read from a copy of their block row (see copyBlockRow).
  const tile = s.tile;
  const sxy = sx * by;
  let headerAt = channelBase;
  for (let kz = 0; kz < gz; kz++) {
    const z0 = kz * bz;
    const az = Math.min(bz, sz - z0);
    for (let ky = 0; ky < gy; ky++) {
      const y0 = ky * by;
      const ay = Math.min(by, sy - y0);
      copyBlockRow(input, inBase + sx * (y0 + sy * z0), sx, sx * sy, sx * by, ay, az, tile);
      for (let kx = 0; kx < gx; kx++, headerAt += 2) {
        const x0 = kx * bx;
        const ax = Math.min(bx, sx - x0);
        const origin = x0;
        const first = tile[origin];
        // Fast path: one value in the whole block.
        let uniform = true;
        scan: for (let z = 0; z < az; z++) {
          for (let y = 0; y < ay; y++) {
            const row = origin + sx * y + sxy * z;
            for (let x = 0; x < ax; x++)
              if (tile[row + x] !== first) {
                uniform = false;
                break scan;
              }
          }
        }
        if (uniform) {
          tab[0] = first;
          writeBlock(s, channelBase, headerAt, 1, 1, tab, tab);
          continue;
        }
        if (ax !== bx || ay !== by || az !== bz) idx.fill(0, 0, s.bvox);
        const gen = ++s.generation;
        let n = 0;
        let prev = first;
        let prevIndex = 0;
        {
          // Insert the first value so that `prev` always has an index.
          const h = Math.imul(first, 0x9e3779b1) >>> hashShift;
          hashStamp[h] = gen;
          hashLo[h] = first;
          uniq[0] = first;
          hashSlot[h] = prevIndex = ++n;
        }
        for (let z = 0; z < az; z++) {
          for (let y = 0; y < ay; y++) {
            const row = origin + sx * y + sxy * z;
            const pos = bx * (y + by * z);
            for (let x = 0; x < ax; x++) {
              const v = tile[row + x];
              if (v !== prev) {
                let h = Math.imul(v, 0x9e3779b1) >>> hashShift;
                for (;;) {
                  if (hashStamp[h] !== gen) {
                    hashStamp[h] = gen;
                    hashLo[h] = v;
                    uniq[n] = v;
                    hashSlot[h] = prevIndex = ++n;
                    break;
                  }
                  if (hashLo[h] === v) {
                    prevIndex = hashSlot[h];
                    break;
                  }
                  h = (h + 1) & hashMask;
                }
                prev = v;
              }
              idx[pos + x] = prevIndex;
            }
          }
        }
        sortTable32(s, n, tab);
        writeBlock(s, channelBase, headerAt, n, 1, tab, tab);
      }
    }
  }
}

function encodeChannel64(
  input: Uint32Array,
  inBase: number,
  shape: ChunkShape,
  blockSize: BlockSize,
  s: Scratch,
): void {
  const [sx, sy, sz] = shape;
  const [bx, by, bz] = blockSize;
  const gx = Math.ceil(sx / bx);
  const gy = Math.ceil(sy / by);
  const gz = Math.ceil(sz / bz);
  const channelBase = s.pos;
  s.pos += 2 * gx * gy * gz;
  s.cacheOffset.fill(-1);
  const idx = s.idx;
  const hashLo = s.hashLo;
  const hashHi = s.hashHi;
  const hashSlot = s.hashSlot;
  const hashStamp = s.hashStamp;
  const hashShift = s.hashShift;
  const hashMask = s.hashMask;
  const uniqLo = s.uniqLo;
  const uniqHi = s.uniqHi;
  const tabLo = new Uint32Array(s.bvox);
  const tabHi = new Uint32Array(s.bvox);
  // Word strides of the block row copy: two words per voxel.
  const tile = s.tile;
  const rowStride = 2 * sx;
  const sliceStride = 2 * sx * by;
  let headerAt = channelBase;
  for (let kz = 0; kz < gz; kz++) {
    const z0 = kz * bz;
    const az = Math.min(bz, sz - z0);
    for (let ky = 0; ky < gy; ky++) {
      const y0 = ky * by;
      const ay = Math.min(by, sy - y0);
      copyBlockRow(
        input,
        inBase + 2 * sx * (y0 + sy * z0),
        rowStride,
        2 * sx * sy,
        sliceStride,
        ay,
        az,
        tile,
      );
      for (let kx = 0; kx < gx; kx++, headerAt += 2) {
        const x0 = kx * bx;
        const ax = Math.min(bx, sx - x0);
        const ax2 = 2 * ax;
        const origin = 2 * x0;
        const firstLo = tile[origin];
        const firstHi = tile[origin + 1];
        let uniform = true;
        scan: for (let z = 0; z < az; z++) {
          for (let y = 0; y < ay; y++) {
            const row = origin + rowStride * y + sliceStride * z;
            for (let x = 0; x < ax2; x += 2)
              if (tile[row + x] !== firstLo || tile[row + x + 1] !== firstHi) {
                uniform = false;
                break scan;
              }
          }
        }
        if (uniform) {
          tabLo[0] = firstLo;
          tabHi[0] = firstHi;
          writeBlock(s, channelBase, headerAt, 1, 2, tabLo, tabHi);
          continue;
        }
        if (ax !== bx || ay !== by || az !== bz) idx.fill(0, 0, s.bvox);
        const gen = ++s.generation;
        let n = 0;
        let prevLo = firstLo;
        let prevHi = firstHi;
        let prevIndex = 0;
        {
          const h = Math.imul(firstLo ^ Math.imul(firstHi, 0x85ebca77), 0x9e3779b1) >>> hashShift;
          hashStamp[h] = gen;
          hashLo[h] = firstLo;
          hashHi[h] = firstHi;
          uniqLo[0] = firstLo;
          uniqHi[0] = firstHi;
          hashSlot[h] = prevIndex = ++n;
        }
        for (let z = 0; z < az; z++) {
          for (let y = 0; y < ay; y++) {
            const row = origin + rowStride * y + sliceStride * z;
            let pos = bx * (y + by * z);
            for (let x = 0; x < ax2; x += 2, pos++) {
              const lo = tile[row + x];
              const hi = tile[row + x + 1];
              if (lo !== prevLo || hi !== prevHi) {
                let h = Math.imul(lo ^ Math.imul(hi, 0x85ebca77), 0x9e3779b1) >>> hashShift;
                for (;;) {
                  if (hashStamp[h] !== gen) {
                    hashStamp[h] = gen;
                    hashLo[h] = lo;
                    hashHi[h] = hi;
                    uniqLo[n] = lo;
                    uniqHi[n] = hi;
                    hashSlot[h] = prevIndex = ++n;
                    break;
                  }
                  if (hashLo[h] === lo && hashHi[h] === hi) {
                    prevIndex = hashSlot[h];
                    break;
                  }
                  h = (h + 1) & hashMask;
                }
                prevLo = lo;
                prevHi = hi;
              }
              idx[pos] = prevIndex;
            }
          }
        }
        sortTable64(s, n, tabLo, tabHi);
        writeBlock(s, channelBase, headerAt, n, 2, tabLo, tabHi);
      }
    }
  }
}
