/**
 * The WebAssembly SIMD kernels of the hottest downsampling paths, sixteen
 * bytes per instruction instead of the four a uint32 word gives plain
 * JavaScript: the AssemblyScript module `packages/precomputed/assembly/downsample.ts`
 * (built by `npm run wasm`), seen through a small interface whose addresses
 * count from the start of the region the caller lays its arrays out in. If
 * the runtime lacks WebAssembly SIMD, {@link simdKernels} returns `undefined`
 * and the JavaScript kernels run instead. Results are identical: both compute
 * exact integers.
 *
 * The kernels work on the module's own linear memory: callers copy a group of
 * planes in, run, and copy the results out into their output arrays.
 */
import { wasmArena } from "../wasm/downsample.wasm";

/** The kernels and their memory (one per thread), with views that follow its growth. */
export interface SimdKernels {
  /**
   * Makes the region at least `bytes` long; returns its bytes (a view of the
   * module's memory from the region's start: addresses below count from it).
   */
  reserve(bytes: number): Uint8Array;
  /** The region's bytes as uint16 (valid until the next `reserve`). */
  words16(): Uint16Array;
  /** The region's bytes as uint32 (valid until the next `reserve`). */
  words32(): Uint32Array;
  /**
   * uint8 average 2x2x1: runs `groups` groups of four rows of `rowBytes`
   * bytes (a multiple of 32) from `src`, writing mip 1 at `d1`, the mip-2
   * block sums (uint16) at `a2` and mip 2 at `i2` (byte addresses).
   */
  run(src: number, d1: number, a2: number, i2: number, groups: number, rowBytes: number): void;
  /**
   * 2x2 sums of `planes` planes of `w` x `h` uint16 block sums at `src`
   * (their 2x2 sums must fit 16 bits; an odd edge counts twice), as uint16 at
   * `dst` and as uint8 `sum >> shift` at `img`; with `truncate`, `dst` holds
   * the shifted sums.
   */
  sums16(
    src: number,
    w: number,
    h: number,
    planes: number,
    dst: number,
    img: number,
    shift: number,
    truncate: boolean,
  ): void;
  /**
   * COUNTLESS 2x2x1 over uint64 labels: `pairs` pairs of rows of `rowBytes`
   * bytes (a multiple of 32) from `src`, one output row per pair at `dst`.
   */
  countless64(src: number, dst: number, pairs: number, rowBytes: number): void;
  /** {@link SimdKernels.countless64} over uint32 labels. */
  countless32(src: number, dst: number, pairs: number, rowBytes: number): void;
}

let kernel: SimdKernels | null | undefined;

/** The SIMD kernels, or `undefined` when this runtime has no WebAssembly SIMD. */
export function simdKernels(): SimdKernels | undefined {
  if (kernel === undefined) kernel = build();
  return kernel ?? undefined;
}

type Fn = (...args: number[]) => void;

function build(): SimdKernels | null {
  let arena: ReturnType<typeof wasmArena>;
  try {
    arena = wasmArena();
  } catch {
    // No WebAssembly, or one without SIMD: the module does not compile.
    return null;
  }
  const base = arena.base;
  const e = arena.exports;
  const average = e.average2x2u8 as Fn;
  const sums = e.sum2x2u16 as Fn;
  const c64 = e.countless64 as Fn;
  const c32 = e.countless32 as Fn;
  let buffer: ArrayBuffer | undefined;
  let u8 = new Uint8Array(0);
  let u16 = new Uint16Array(0);
  let u32 = new Uint32Array(0);
  const views = () => {
    if (buffer === arena.memory.buffer) return;
    buffer = arena.memory.buffer;
    u8 = new Uint8Array(buffer, base);
    u16 = new Uint16Array(buffer, base, u8.length >>> 1);
    u32 = new Uint32Array(buffer, base, u8.length >>> 2);
  };
  arena.reserve(0);
  views();
  return {
    reserve(n: number): Uint8Array {
      arena.reserve(n);
      views();
      return u8;
    },
    words16: () => u16,
    words32: () => u32,
    run: (src, d1, a2, i2, groups, rowBytes) =>
      average(base + src, base + d1, base + a2, base + i2, groups, rowBytes),
    sums16: (src, w, h, planes, dst, img, shift, truncate) =>
      sums(base + src, w, h, planes, base + dst, base + img, shift, truncate ? 1 : 0),
    countless64: (src, dst, pairs, rowBytes) => c64(base + src, base + dst, pairs, rowBytes),
    countless32: (src, dst, pairs, rowBytes) => c32(base + src, base + dst, pairs, rowBytes),
  };
}
