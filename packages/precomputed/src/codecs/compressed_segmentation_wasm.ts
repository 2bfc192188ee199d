/**
 * The compressed_segmentation decoder's WebAssembly path
 * (`packages/precomputed/assembly/cseg_decode.ts`): the chunk's encoded words
 * are copied into this thread's module memory, the module decodes a slab of
 * block rows at a time into a scratch region laid out in the output's row
 * order, and each plane of the slab is copied out with one `set`.
 *
 * Why a slab and a copy instead of writing blocks straight into the output:
 * block by block, an 8x8x8 block writes 64 short rows that lie a whole output
 * row apart, and filling a fresh 256 MiB output in that order took twice the
 * user time of filling it in address order (bench/RESULTS.md, cseg3); the
 * slab (about 256 KiB) stays in cache while it is written, and the copies
 * then fill the output in address order. The decoding runs with
 * v128 stores, one table lookup per 16 output bytes for 1- and 2-bit blocks
 * of full 8-voxel rows.
 *
 * The module checks every block as the JavaScript decoder does and stops at
 * the first bad one; the caller then runs the JavaScript decoder, which
 * throws the typed error naming what is wrong.
 */
import { releaseArena, wasmArena } from "../wasm/cseg_decode.wasm";
import type { BlockSize } from "./compressed_segmentation_encode";
import type { ChunkShape } from "./types";

/** Scratch for one slab of block rows: a block row's planes, up to this many bytes, stay in L2. */
const SLAB_BYTES = 256 * 1024;

/** Chunks whose encoded words and slab need more module memory than this decode in JavaScript. */
const MAX_ARENA_BYTES = 2 ** 31;

/** An arena that grew past this is dropped after the call, so a pool thread does not keep it. */
const KEEP_ARENA_BYTES = 64 * 1024 * 1024;

type DecodeSlab = (
  data: number,
  nw: number,
  base: number,
  block: number,
  gx: number,
  rows: number,
  sx: number,
  yleft: number,
  az: number,
  bx: number,
  by: number,
  wpe: number,
  out: number,
  rs: number,
  ps: number,
) => number;

type Arena = ReturnType<typeof wasmArena>;

let arena: Arena | null | undefined;

/** This thread's module, or `null` when the runtime lacks WebAssembly SIMD (the module does not compile). */
function moduleArena(): Arena | null {
  if (arena === undefined) {
    try {
      arena = wasmArena();
    } catch {
      arena = null;
    }
  }
  return arena;
}

/**
 * Decodes every channel of a chunk whose channel offsets the caller has
 * checked (each leaves room for its block headers) into `out`: voxel
 * (x, y, z, c) goes to voxel `offset + x + sx * y + planeStride * z +
 * channelStride * c` of `out` (rows of the chunk are contiguous in `out`).
 * Returns false, with `out` partly written, when a block fails a check or
 * there is no WebAssembly SIMD; the caller then decodes with the JavaScript
 * decoder.
 */
export function decodeChannelsWasm(
  words: Uint32Array,
  shape: ChunkShape,
  blockSize: BlockSize,
  wpe: number,
  out: Uint32Array,
  offset: number,
  planeStride: number,
  channelStride: number,
): boolean {
  const a = moduleArena();
  if (a === null) return false;
  const [sx, sy, sz, nc] = shape;
  const [bx, by, bz] = blockSize;
  const gx = Math.ceil(sx / bx);
  const gy = Math.ceil(sy / by);
  const gz = Math.ceil(sz / bz);
  const nw = words.length;
  const dataBytes = (nw * 4 + 16 + 15) & ~15;
  const rowBytes = sx * Math.min(by, sy) * Math.min(bz, sz) * wpe * 4;
  const rows = Math.max(1, Math.min(gy, Math.floor(SLAB_BYTES / rowBytes)));
  if (dataBytes + rows * rowBytes > MAX_ARENA_BYTES) return false;
  const start = a.reserve(dataBytes + rows * rowBytes);
  const buffer = a.memory.buffer;
  new Uint32Array(buffer, start, nw).set(words);
  const slab = start + dataBytes;
  const decodeSlab = a.exports.decodeSlab as DecodeSlab;
  const rs = sx * wpe * 4;
  let ok = true;
  for (let c = 0; c < nc && ok; c++) {
    const base = words[c];
    let block = 0;
    for (let kz = 0; kz < gz && ok; kz++) {
      const z0 = kz * bz;
      const az = Math.min(bz, sz - z0);
      for (let ky = 0; ky < gy; ky += rows) {
        const y0 = ky * by;
        const n = Math.min(rows, gy - ky);
        const height = Math.min(n * by, sy - y0);
        const plane = sx * height * wpe;
        const ps = plane * 4;
        const bad = decodeSlab(
          start,
          nw,
          base,
          block,
          gx,
          n,
          sx,
          sy - y0,
          az,
          bx,
          by,
          wpe,
          slab,
          rs,
          ps,
        );
        if (bad >= 0) {
          ok = false;
          break;
        }
        block += n * gx;
        let at = (offset + c * channelStride + z0 * planeStride + y0 * sx) * wpe;
        for (let z = 0; z < az; z++, at += planeStride * wpe)
          out.set(new Uint32Array(buffer, slab + z * ps, plane), at);
      }
    }
  }
  if (buffer.byteLength > KEEP_ARENA_BYTES) {
    arena = undefined;
    releaseArena();
  }
  return ok;
}
