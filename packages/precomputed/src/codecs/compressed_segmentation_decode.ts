/**
 * compressed_segmentation decoder. Every channel offset, block header, table
 * index and encoded-value word is checked against the buffer before it is
 * read: corrupt or truncated input throws `ChunkDecodeError`, never yields a
 * wrong array. The common case (a block whose whole table range lies inside
 * the buffer) runs an unchecked loop specialised per bit width; a block whose
 * table could run past the end of the buffer first has its indices validated.
 */
import { ChunkDecodeError } from "../errors";
import {
  decodeBlock32,
  decodeBlock64,
  decodeBlockF64,
  fill32,
  fill64,
  fillF64,
  loadPairs32,
  loadTable64,
  pairRows1,
  pairRows2,
  TABLE64,
  uniformPair32,
} from "./compressed_segmentation_blocks";
import type { BlockSize } from "./compressed_segmentation_encode";
import { decodeChannelsWasm, decodeToSharedMemory } from "./compressed_segmentation_wasm";
import { freshWords } from "./fresh_words";
import type { ChunkShape } from "./types";

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
 *   Without `into`, a fresh array; one of 64 MiB or more is on a
 *   SharedArrayBuffer while the process holds under 1 GiB of array buffers
 *   (see `fresh_words.ts`: an ordinary one that large makes V8 collect
 *   inside the call). Such an array may view the first bytes of a longer
 *   buffer (the shared WebAssembly memory it was decoded in, the encoded
 *   words following it): use its `byteOffset` and `byteLength`, not its
 *   `buffer` alone.
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
  return decodeWith(true, bytes, shape, blockSize, dtype, key, into, layout);
}

/**
 * {@link decodeCompressedSegmentation} with the JavaScript decoder only: the
 * reference the tests compare the WebAssembly path against.
 *
 * @internal
 */
export function decodeCompressedSegmentationJs(
  ...args: Parameters<typeof decodeCompressedSegmentation>
): Uint32Array {
  return decodeWith(false, ...args);
}

function decodeWith(
  wasm: boolean,
  ...args: Parameters<typeof decodeCompressedSegmentation>
): Uint32Array {
  const [bytes, shape, blockSize, dtype, key, into, layout] = args;
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
  }
  // A large fresh output is decoded straight into the WebAssembly memory it
  // will live in (when within the shared-output budget).
  if (wasm && into === undefined) {
    const direct = decodeToSharedMemory(words, shape, blockSize, wpe);
    if (direct) return direct;
  }
  // Every voxel of every channel is written by exactly one block, so the
  // output needs no zero-filling.
  const out = into ?? freshWords(length);
  // The other WebAssembly path copies whole planes of its slabs out, so it
  // needs the chunk's rows contiguous in the output: copied row by row into a
  // cutout, the copies cost twice what the JavaScript decoder's direct
  // writes do. A bad block sends the call to the JavaScript decoder below,
  // which names the error.
  if (
    wasm &&
    rowStride === sx &&
    decodeChannelsWasm(words, shape, blockSize, wpe, out, offset, planeStride, channelStride)
  )
    return out;
  for (let c = 0; c < nc; c++) {
    const base = words[c];
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
  // uint64 voxels move as one float64 each where the output is 8-byte
  // aligned; uint32 voxels of 8-wide rows move in pairs where every row of
  // the chunk starts 8-byte aligned too.
  const out64 =
    (out.byteOffset & 7) === 0 && (wpe === 2 || (bx === 8 && ((outBase | rs | ps) & 1) === 0))
      ? new Float64Array(out.buffer, out.byteOffset, out.length >>> 1)
      : undefined;
  const rs2 = rs >>> 1;
  const ps2 = ps >>> 1;
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
          if (wpe === 1) {
            if (out64 === undefined || ax !== 8 || loadPairs32(words, table, 0, 1) === 0)
              fill32(out, o, words[table], ax, ay, az, rs, ps);
            else fillF64(out64, o >>> 1, uniformPair32(), 4, ay, az, rs2, ps2);
          } else if (out64 === undefined || loadTable64(words, table, 0, 1) === 0)
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
        // The largest index a voxel uses, computed only where it is needed
        // (-1 until then): to check a table that could run past the end, and
        // to use a float64 table cut short by a NaN pattern.
        let max = -1;
        if (bits === 32 || entries < 2 ** bits) {
          max = maxIndex(words, values, bits, ax, ay, az, bx, by);
          if (max >= entries)
            throw fail(key, block, `table index ${max} is past the end of the data`);
        }
        const full = Math.min(2 ** bits, entries);
        if (wpe === 1) {
          let usable = -1;
          if (out64 !== undefined && ax === 8 && bits <= 2) {
            usable = loadPairs32(words, table, bits, entries);
            if (
              usable < full &&
              (max < 0 ? maxIndex(words, values, bits, ax, ay, az, bx, by) : max) >= usable
            )
              usable = -1;
          }
          if (usable < 0)
            decodeBlock32(words, values, table, bits, out, o, ax, ay, az, bx, by, rs, ps);
          else if (bits === 1) pairRows1(words, values, out64!, o >>> 1, ay, az, by, rs2, ps2);
          else pairRows2(words, values, out64!, o >>> 1, ay, az, by, rs2, ps2);
        } else {
          let usable = -1;
          if (out64 !== undefined && bits <= 8) {
            usable = loadTable64(words, table, bits, entries);
            if (
              usable < full &&
              (max < 0 ? maxIndex(words, values, bits, ax, ay, az, bx, by) : max) >= usable
            )
              usable = -1;
          }
          if (usable < 0)
            decodeBlock64(words, values, table, bits, out, o, ax, ay, az, bx, by, rs, ps);
          else decodeBlockF64(words, values, bits, out64!, o >>> 1, ax, ay, az, bx, by, rs, ps);
        }
      }
    }
  }
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
