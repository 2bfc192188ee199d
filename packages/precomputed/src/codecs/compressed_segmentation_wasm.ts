/**
 * The compressed_segmentation decoder's WebAssembly path
 * (`packages/precomputed/assembly/cseg_decode.ts`). The chunk's encoded
 * words are copied into a module memory and the module decodes a slab of
 * block rows (about 256 KiB) a call, so each call's writes stay in cache.
 * Two places for the output:
 *
 * - A fresh output of 64 MiB or more, within the shared-output budget, is
 *   made the start of a new shared WebAssembly memory
 *   (`sharedOutputMemory` in fresh_words.ts) and the module decodes straight
 *   into it: nothing is copied out. The returned array views the first bytes
 *   of that memory, so its buffer (a SharedArrayBuffer) is longer than the
 *   array: the encoded words and the module's tables follow the output.
 * - Otherwise (an `into`, a smaller output, the budget spent) the module
 *   decodes each slab into scratch in this thread's module memory, laid out
 *   in the output's row order, and each plane of the slab is copied into the
 *   output with one `set`.
 *
 * Why slabs rather than whole blocks at a time into the output: block by
 * block, an 8x8x8 block writes 64 short rows that lie a whole output row
 * apart, and filling a fresh 256 MiB output in that order took twice the
 * user time of filling it in address order (bench/RESULTS.md, cseg3). A slab
 * writes one row of blocks, whose planes are each one contiguous stretch of
 * the output. The decoding runs with v128 stores, one table lookup per 16
 * output bytes for 1- and 2-bit blocks of full 8-voxel rows.
 *
 * The module checks every block as the JavaScript decoder does and stops at
 * the first bad one; the caller then runs the JavaScript decoder, which
 * throws the typed error naming what is wrong.
 */
import { releaseArena, wasmArena } from "../wasm/cseg_decode.wasm";
import { WasmArena as SharedArena } from "../wasm/cseg_decode_shared.wasm";
import type { BlockSize } from "./compressed_segmentation_encode";
import { sharedOutputMemory } from "./fresh_words";
import type { ChunkShape } from "./types";

/** Bytes one call of the module writes at most (unless one block row is larger): they stay in L2. */
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

/** What both modules' arenas give (one owns its memory, the other's is shared). */
interface Arena {
  readonly exports: Record<string, unknown>;
  readonly memory: { readonly buffer: ArrayBufferLike };
  readonly base: number;
  reserve(bytes: number): number;
}

/** A module instance whose lookup tables are laid out, and where its working space starts past them. */
interface Prepared {
  arena: Arena;
  /** First free byte past the tables. */
  free: number;
}

let thread: Prepared | null | undefined;

/** False once the shared-memory module failed to compile or instantiate here. */
let sharedModule = true;

/** Lays the module's lookup tables out at the arena's base. */
function prepare(arena: Arena): Prepared {
  const tables = (arena.exports.tablesBytes as () => number)();
  arena.reserve(tables);
  (arena.exports.setTables as (at: number) => void)(arena.base);
  return { arena, free: arena.base + tables };
}

/** This thread's arena with its tables, or `null` when the runtime lacks WebAssembly SIMD (the module does not compile). */
function threadArena(): Prepared | null {
  if (thread === undefined) {
    try {
      thread = prepare(wasmArena());
    } catch {
      thread = null;
    }
  }
  return thread;
}

/** Bytes of module memory the encoded words take (16 bytes of padding after them, see the module). */
function dataBytes(nw: number): number {
  return (nw * 4 + 16 + 15) & ~15;
}

/** Block rows a slab holds: as many as fit in {@link SLAB_BYTES}, at least one. */
function slabRows(shape: ChunkShape, blockSize: BlockSize, wpe: number): number {
  const [sx, sy, sz] = shape;
  const rowBytes = sx * Math.min(blockSize[1], sy) * Math.min(blockSize[2], sz) * wpe * 4;
  return Math.max(1, Math.min(Math.ceil(sy / blockSize[1]), Math.floor(SLAB_BYTES / rowBytes)));
}

/**
 * Runs the module over every channel, a slab of block rows
 * ({@link slabRows}) a call, the encoded words being at `data` of the
 * arena's memory. With `out`
 * undefined, voxel (x, y, z, c) goes to byte `4 * wpe * (offset + x + sx * y
 * + planeStride * z + channelStride * c)` of the memory; with `out`, each
 * slab is decoded at `slab` and its planes copied to that voxel of `out`.
 * Returns false at the first bad block.
 */
function decodeAll(
  arena: Arena,
  data: number,
  words: Uint32Array,
  shape: ChunkShape,
  blockSize: BlockSize,
  wpe: number,
  offset: number,
  planeStride: number,
  channelStride: number,
  out: Uint32Array | undefined,
  slab: number,
): boolean {
  const rows = slabRows(shape, blockSize, wpe);
  const [sx, sy, sz, nc] = shape;
  const [bx, by, bz] = blockSize;
  const gx = Math.ceil(sx / bx);
  const gy = Math.ceil(sy / by);
  const gz = Math.ceil(sz / bz);
  const decodeSlab = arena.exports.decodeSlab as DecodeSlab;
  const buffer = arena.memory.buffer;
  const rs = sx * wpe * 4;
  for (let c = 0; c < nc; c++) {
    const base = words[c];
    let block = 0;
    for (let kz = 0; kz < gz; kz++) {
      const z0 = kz * bz;
      const az = Math.min(bz, sz - z0);
      for (let ky = 0; ky < gy; ky += rows) {
        const y0 = ky * by;
        const n = Math.min(rows, gy - ky);
        const at = (offset + c * channelStride + z0 * planeStride + y0 * sx) * wpe;
        const plane = sx * Math.min(n * by, sy - y0) * wpe;
        const to = out ? slab : at * 4;
        const ps = out ? plane * 4 : planeStride * wpe * 4;
        const bad = decodeSlab(
          data,
          words.length,
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
          to,
          rs,
          ps,
        );
        if (bad >= 0) return false;
        block += n * gx;
        if (out)
          for (let z = 0; z < az; z++)
            out.set(new Uint32Array(buffer, slab + z * ps, plane), at + z * planeStride * wpe);
      }
    }
  }
  return true;
}

/**
 * Decodes every channel of a chunk whose channel offsets the caller has
 * checked (each leaves room for its block headers) into `out`: voxel
 * (x, y, z, c) goes to voxel `offset + x + sx * y + planeStride * z +
 * channelStride * c` of `out` (rows of the chunk are contiguous in `out`).
 * Returns false, with `out` partly written, when a block fails a check or
 * the module is not available; the caller then decodes with the JavaScript
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
  const t = threadArena();
  if (t === null) return false;
  const { arena, free } = t;
  const rows = slabRows(shape, blockSize, wpe);
  const slabBytes =
    shape[0] * Math.min(rows * blockSize[1], shape[1]) * Math.min(blockSize[2], shape[2]) * wpe * 4;
  const dataLength = dataBytes(words.length);
  if (free + dataLength + slabBytes > MAX_ARENA_BYTES) return false;
  arena.reserve(free - arena.base + dataLength + slabBytes);
  new Uint32Array(arena.memory.buffer, free, words.length).set(words);
  const ok = decodeAll(
    arena,
    free,
    words,
    shape,
    blockSize,
    wpe,
    offset,
    planeStride,
    channelStride,
    out,
    free + dataLength,
  );
  if (arena.memory.buffer.byteLength > KEEP_ARENA_BYTES) {
    thread = undefined;
    releaseArena();
  }
  return ok;
}

/**
 * Decodes a whole chunk (channel offsets checked by the caller) into a new
 * array at the start of a new shared WebAssembly memory, when the output is
 * large enough and within the budget (`sharedOutputMemory`); else, or when
 * a block fails a check or the module is not available, `undefined` (the
 * caller then takes the other path, which finds a bad block again and
 * throws). The array's buffer is the whole memory, longer than the array.
 */
export function decodeToSharedMemory(
  words: Uint32Array,
  shape: ChunkShape,
  blockSize: BlockSize,
  wpe: number,
): Uint32Array | undefined {
  const t = threadArena();
  if (t === null || !sharedModule) return undefined;
  const [sx, sy, sz, nc] = shape;
  const length = sx * sy * sz * nc * wpe;
  const outBytes = (length * 4 + 15) & ~15;
  // The two modules' tables are the same.
  const tables = (t.arena.exports.tablesBytes as () => number)();
  const dataLength = dataBytes(words.length);
  const memory = sharedOutputMemory(length * 4, outBytes - length * 4 + tables + dataLength);
  if (memory === undefined) return undefined;
  // The array is made on the memory's first buffer, which the budget's ledger follows.
  const out = new Uint32Array(memory.buffer, 0, length);
  let prepared: Prepared;
  try {
    prepared = prepare(new SharedArena(memory, outBytes));
  } catch {
    // No shared WebAssembly memory in this runtime (the module does not compile).
    sharedModule = false;
    return undefined;
  }
  const { arena, free } = prepared;
  arena.reserve(free - arena.base + dataLength);
  new Uint32Array(arena.memory.buffer, free, words.length).set(words);
  const ok = decodeAll(
    arena,
    free,
    words,
    shape,
    blockSize,
    wpe,
    0,
    sx * sy,
    sx * sy * sz,
    undefined,
    0,
  );
  return ok ? out : undefined;
}
