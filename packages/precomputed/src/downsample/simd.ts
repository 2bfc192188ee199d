/**
 * WebAssembly SIMD kernels for the hottest downsampling paths: sixteen bytes
 * per instruction instead of the four a uint32 word gives plain JavaScript.
 * The module is a few hundred bytes, assembled below from its instructions (no
 * toolchain, no binary blob); if the runtime lacks WebAssembly SIMD,
 * {@link simdKernels} returns `undefined` and the JavaScript kernels run
 * instead. Results are identical: both compute exact integers.
 *
 * - `f`: uint8 average 2x2x1. Reads groups of four input rows (`rowBytes` a
 *   multiple of 32) and writes the two mip-1 rows (`floor(sum/4)`), the mip-2
 *   block sums (uint16) and mip 2 (`floor(sum/16)`).
 * - `g`, `h`: COUNTLESS 2x2x1 over uint64 / uint32 labels (a if a == b or
 *   a == c, else b if b == c, else d), one output row per pair of input rows.
 *
 * The kernels work on the module's own linear memory: callers copy a group of
 * planes in, run, and copy the results out into their output arrays.
 */

/** Unsigned LEB128, as WebAssembly encodes integers. */
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const simd = (op: number) => [0xfd, ...leb(op)];
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const i32 = (v: number) => [0x41, ...leb(v)];
const ADD = 0x6a;
const SHL = 0x74;
const SHR_U = 0x76;
const LT_U = 0x49;
const GE_U = 0x4f;
const load = (offset: number) => [...simd(0x00), 4, ...leb(offset)];
const store = (offset: number) => [...simd(0x0b), 4, ...leb(offset)];
const store64Lane0 = [...simd(0x5b), 3, 0, 0];
const extaddU8 = simd(0x7d); // i16x8.extadd_pairwise_i8x16_u
const extaddU16 = simd(0x7f); // i32x4.extadd_pairwise_i16x8_u
const add16 = simd(0x8e); // i16x8.add
const shr16 = simd(0x8d); // i16x8.shr_u
const narrow8 = simd(0x66); // i8x16.narrow_i16x8_u
const narrow16 = simd(0x86); // i16x8.narrow_i32x4_u

// Parameters: src, mip-1 dst, mip-2 sums dst, mip-2 dst, groups, rowBytes.
const [SRC, D1, A2, I2, GROUPS, R] = [0, 1, 2, 3, 4, 5];
// Locals: i32 i, g, q, h, 2R, 3R, R/2; v128 ab0, ab1, cd0, cd1, acc.
const [I, G, Q, H, R2, R3, RH, AB0, AB1, CD0, CD1, ACC] = [
  6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
];

/** ext(row at q + `row` bytes, chunk at +off) + ext(next row): eight 2x2 sums. */
function pairSum(rowA: number[], rowB: number[], off: number): number[] {
  return [
    ...get(Q),
    ...rowA,
    ...load(off),
    ...extaddU8,
    ...get(Q),
    ...rowB,
    ...load(off),
    ...extaddU8,
    ...add16,
  ];
}

function body(): number[] {
  const row0: number[] = [];
  const row1 = [...get(R), ADD];
  const row2 = [...get(R2), ADD];
  const row3 = [...get(R3), ADD];
  const mip1Row = (lo: number, hi: number) => [
    ...get(lo),
    ...i32(2),
    ...shr16,
    ...get(hi),
    ...i32(2),
    ...shr16,
    ...narrow8,
  ];
  return [
    2,
    7,
    0x7f,
    5,
    0x7b,
    ...get(R),
    ...i32(1),
    SHL,
    ...set(R2),
    ...get(R2),
    ...get(R),
    ADD,
    ...set(R3),
    ...get(R),
    ...i32(1),
    SHR_U,
    ...set(RH),
    0x02,
    0x40, // block
    0x03,
    0x40, // loop over groups
    ...get(G),
    ...get(GROUPS),
    GE_U,
    0x0d,
    1, // br_if out
    ...i32(0),
    ...set(I),
    0x03,
    0x40, // loop over 32-byte columns
    ...get(SRC),
    ...get(I),
    ADD,
    ...set(Q),
    ...pairSum(row0, row1, 0),
    ...set(AB0),
    ...pairSum(row0, row1, 16),
    ...set(AB1),
    ...pairSum(row2, row3, 0),
    ...set(CD0),
    ...pairSum(row2, row3, 16),
    ...set(CD1),
    ...get(D1),
    ...get(I),
    ...i32(1),
    SHR_U,
    ADD,
    ...set(H),
    ...get(H),
    ...mip1Row(AB0, AB1),
    ...store(0),
    ...get(H),
    ...get(RH),
    ADD,
    ...mip1Row(CD0, CD1),
    ...store(0),
    // mip-2 sums: the two row pairs added, then adjacent lanes.
    ...get(AB0),
    ...get(CD0),
    ...add16,
    ...extaddU16,
    ...get(AB1),
    ...get(CD1),
    ...add16,
    ...extaddU16,
    ...narrow16,
    ...set(ACC),
    ...get(A2),
    ...get(I),
    ...i32(1),
    SHR_U,
    ADD,
    ...get(ACC),
    ...store(0),
    ...get(I2),
    ...get(I),
    ...i32(2),
    SHR_U,
    ADD,
    ...get(ACC),
    ...i32(4),
    ...shr16,
    ...get(ACC),
    ...i32(4),
    ...shr16,
    ...narrow8,
    ...store64Lane0,
    ...get(I),
    ...i32(32),
    ADD,
    0x22,
    I, // local.tee i
    ...get(R),
    LT_U,
    0x0d,
    0, // br_if columns
    0x0b, // end columns
    ...get(SRC),
    ...get(R),
    ...i32(2),
    SHL,
    ADD,
    ...set(SRC),
    ...get(D1),
    ...get(R),
    ADD,
    ...set(D1),
    ...get(A2),
    ...get(RH),
    ADD,
    ...set(A2),
    ...get(I2),
    ...get(R),
    ...i32(2),
    SHR_U,
    ADD,
    ...set(I2),
    ...get(G),
    ...i32(1),
    ADD,
    ...set(G),
    0x0c,
    0, // br groups
    0x0b, // end loop
    0x0b, // end block
    0x0b, // end function
  ];
}

// COUNTLESS 2x2x1 over uint64 (uint32) labels, two (four) output voxels per
// step. Parameters: src, dst, row pairs, rowBytes (a multiple of 32). Locals:
// i32 i, g, q; v128 aa, bb, cc, dd (the a, b, c, d voxels of the blocks, one
// per lane).
const [CQ, CI, CG] = [4, 5, 6];
const [AA, BB, CC, DD] = [7, 8, 9, 10];
const shuffle = (lanes: number[]) => [...simd(0x0d), ...lanes];
const range = (from: number) => Array.from({ length: 8 }, (_, k) => from + k);
const evenLanes = shuffle([...range(0), ...range(16)]); // lane 0 of each input
const oddLanes = shuffle([...range(8), ...range(24)]); // lane 1 of each input
const eq64 = simd(0xd6); // i64x2.eq
const eq32 = simd(0x37); // i32x4.eq
const lanes32 = (first: number) =>
  shuffle([0, 8, 16, 24].flatMap((b) => [0, 1, 2, 3].map((k) => b + first + k)));
const or128 = simd(0x50);
const bitselect = simd(0x52);

function countlessBody(evenLanes: number[], oddLanes: number[], eq64: number[]): number[] {
  const rows = (extra: number[], lanes: number[]) => [
    ...get(CQ),
    ...extra,
    ...load(0),
    ...get(CQ),
    ...extra,
    ...load(16),
    ...lanes,
  ];
  const below = [...get(R_C), ADD];
  return [
    2,
    3,
    0x7f,
    4,
    0x7b,
    0x02,
    0x40,
    0x03,
    0x40, // loop over row pairs
    ...get(CG),
    ...get(PAIRS_C),
    GE_U,
    0x0d,
    1,
    ...i32(0),
    ...set(CI),
    0x03,
    0x40, // loop over 32-byte steps (two blocks)
    ...get(SRC_C),
    ...get(CI),
    ADD,
    ...set(CQ),
    ...rows([], evenLanes),
    ...set(AA),
    ...rows([], oddLanes),
    ...set(BB),
    ...rows(below, evenLanes),
    ...set(CC),
    ...rows(below, oddLanes),
    ...set(DD),
    // a if a == b or a == c, else b if b == c, else d
    ...get(DST_C),
    ...get(CI),
    ...i32(1),
    SHR_U,
    ADD,
    ...get(AA),
    ...get(BB),
    ...get(DD),
    ...get(BB),
    ...get(CC),
    ...eq64,
    ...bitselect,
    ...get(AA),
    ...get(BB),
    ...eq64,
    ...get(AA),
    ...get(CC),
    ...eq64,
    ...or128,
    ...bitselect,
    ...store(0),
    ...get(CI),
    ...i32(32),
    ADD,
    0x22,
    CI,
    ...get(R_C),
    LT_U,
    0x0d,
    0,
    0x0b,
    ...get(SRC_C),
    ...get(R_C),
    ...i32(1),
    SHL,
    ADD,
    ...set(SRC_C),
    ...get(DST_C),
    ...get(R_C),
    ...i32(1),
    SHR_U,
    ADD,
    ...set(DST_C),
    ...get(CG),
    ...i32(1),
    ADD,
    ...set(CG),
    0x0c,
    0,
    0x0b,
    0x0b,
    0x0b,
  ];
}
const [SRC_C, DST_C, PAIRS_C, R_C] = [0, 1, 2, 3];

function moduleBytes(): Uint8Array {
  const code = body();
  const code2 = countlessBody(evenLanes, oddLanes, eq64);
  const code3 = countlessBody(lanes32(0), lanes32(4), eq32);
  const i32x6 = [6, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f];
  const i32x4 = [4, 0x7f, 0x7f, 0x7f, 0x7f];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...section(1, [2, 0x60, ...i32x6, 0, 0x60, ...i32x4, 0]),
    ...section(2, [1, 1, 0x6d, 1, 0x6d, 0x02, 0x00, 1]), // import "m" "m": memory, min 1 page
    ...section(3, [3, 0, 1, 1]),
    ...section(7, [3, 1, 0x66, 0x00, 0, 1, 0x67, 0x00, 1, 1, 0x68, 0x00, 2]), // export "f", "g", "h"
    ...section(10, [
      3,
      ...leb(code.length),
      ...code,
      ...leb(code2.length),
      ...code2,
      ...leb(code3.length),
      ...code3,
    ]),
  ]);
}

/** The kernel and its memory (one per thread), with views that follow its growth. */
export interface SimdKernels {
  /** Makes the memory at least `bytes` long; returns its bytes. */
  reserve(bytes: number): Uint8Array;
  /** The memory's bytes as uint16 (valid until the next `reserve`). */
  words16(): Uint16Array;
  /** The memory's bytes as uint32 (valid until the next `reserve`). */
  words32(): Uint32Array;
  /**
   * Runs `groups` groups of four rows of `rowBytes` bytes from `src`,
   * writing mip 1 at `d1`, the mip-2 sums (uint16) at `a2` and mip 2 at `i2`
   * (byte addresses).
   */
  run(src: number, d1: number, a2: number, i2: number, groups: number, rowBytes: number): void;
  /**
   * COUNTLESS 2x2x1 over uint64 labels: `pairs` pairs of rows of `rowBytes`
   * bytes (a multiple of 32) from `src`, one output row per pair at `dst`.
   */
  countless64(src: number, dst: number, pairs: number, rowBytes: number): void;
  /** {@link SimdKernels.countless64} over uint32 labels. */
  countless32(src: number, dst: number, pairs: number, rowBytes: number): void;
}

let kernel: SimdKernels | null | undefined;

/** The SIMD kernel, or `undefined` when this runtime has no WebAssembly SIMD. */
export function simdKernels(): SimdKernels | undefined {
  if (kernel === undefined) kernel = build();
  return kernel ?? undefined;
}

/** The part of the WebAssembly API used here (the repo's TypeScript libs do not declare it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer; grow(pages: number): number };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
}

function build(): SimdKernels | null {
  try {
    const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
    const bytes = moduleBytes();
    if (!wasm?.validate(bytes)) return null;
    const memory = new wasm.Memory({ initial: 1 });
    const instance = new wasm.Instance(new wasm.Module(bytes), { m: { m: memory } });
    const f = instance.exports.f as (...args: number[]) => void;
    const g = instance.exports.g as (...args: number[]) => void;
    const h = instance.exports.h as (...args: number[]) => void;
    let u8 = new Uint8Array(memory.buffer);
    let u16 = new Uint16Array(memory.buffer);
    let u32 = new Uint32Array(memory.buffer);
    return {
      reserve(n: number): Uint8Array {
        const have = memory.buffer.byteLength;
        if (n > have) memory.grow(Math.ceil((n - have) / 65536));
        if (u8.buffer !== memory.buffer) {
          u8 = new Uint8Array(memory.buffer);
          u16 = new Uint16Array(memory.buffer);
          u32 = new Uint32Array(memory.buffer);
        }
        return u8;
      },
      words16: () => u16,
      words32: () => u32,
      run: f,
      countless64: g,
      countless32: h,
    };
  } catch {
    return null;
  }
}
