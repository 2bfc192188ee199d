/**
 * The decoder's specialised block loops (per bit width, float64 tables for
 * uint64, float64 pairs for 8-wide uint32 rows) against the one-voxel-at-a-time
 * reference decoder in test/support, on every bit width, edge blocks, odd
 * output layouts and values whose bits a float64 could not carry; and its
 * WebAssembly path against the JavaScript decoder, on the same volumes, real
 * data and corrupt input.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import fc from "fast-check";
import { referenceDecode } from "../../../../test/support/cseg-reference";
import { ChunkDecodeError } from "../errors";
import {
  decodeCompressedSegmentation,
  decodeCompressedSegmentationJs,
} from "./compressed_segmentation_decode";
import { encodeCompressedSegmentation } from "./compressed_segmentation_encode";
import { decodeChannelsWasm } from "./compressed_segmentation_wasm";
import { setSharedOutputLimits } from "./fresh_words";
import type { ChunkShape } from "./types";

type Shape = [number, number, number, number];
type Block = [number, number, number];

function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/** A small deterministic generator (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Words with the bits of a float64 NaN or infinity in the high half of a pair. */
const NAN_WORDS = [0x7ff00000, 0x7ff80001, 0xfff00000, 0xffffffff, 0x7fffffff];

/**
 * A volume whose block `b` uses `distinct(b)` different labels, so that the
 * encoder picks that block's bit width; `special` mixes in NaN-pattern words.
 */
function blockwise(
  shape: Shape,
  block: Block,
  dtype: "uint32" | "uint64",
  distinct: (b: number) => number,
  seed: number,
  special = false,
): Uint32Array {
  const [sx, sy, sz, nc] = shape;
  const wpe = dtype === "uint64" ? 2 : 1;
  const next = rng(seed);
  // Label i's word: distinct words (an odd multiplier is a bijection of
  // 32-bit integers), every third one a NaN pattern when `special`.
  const salt = next();
  const word = (i: number): number =>
    special && i % 3 === 0
      ? NAN_WORDS[i % NAN_WORDS.length]
      : (Math.imul(i + 1, 0x9e3779b1) ^ salt) >>> 0;
  const gx = Math.ceil(sx / block[0]);
  const gy = Math.ceil(sy / block[1]);
  const out = new Uint32Array(sx * sy * sz * nc * wpe);
  let i = 0;
  for (let c = 0; c < nc; c++)
    for (let z = 0; z < sz; z++)
      for (let y = 0; y < sy; y++)
        for (let x = 0; x < sx; x++, i++) {
          const b =
            Math.floor(x / block[0]) +
            gx * (Math.floor(y / block[1]) + gy * Math.floor(z / block[2]));
          const k = next() % distinct(b + 7 * c);
          const label = k + b * 13;
          out[i * wpe] = word(label);
          if (wpe === 2) out[i * wpe + 1] = label % 4 === 0 ? 0 : word(label * 31);
        }
  return out;
}

/** A Voronoi-like segmentation with one-voxel zero boundaries between cells. */
function cells(
  shape: Shape,
  nCells: number,
  seed: number,
  dtype: "uint32" | "uint64",
): Uint32Array {
  const [sx, sy, sz, nc] = shape;
  const wpe = dtype === "uint64" ? 2 : 1;
  const next = rng(seed);
  const seeds = Array.from({ length: nCells }, () => [next() % sx, next() % sy, next() % sz]);
  const nearest = new Int32Array(sx * sy * sz);
  for (let z = 0, i = 0; z < sz; z++)
    for (let y = 0; y < sy; y++)
      for (let x = 0; x < sx; x++, i++) {
        let best = 0;
        let bestD = Infinity;
        seeds.forEach(([a, b, c], k) => {
          const d = (x - a) ** 2 + (y - b) ** 2 + 4 * (z - c) ** 2;
          if (d < bestD) {
            bestD = d;
            best = k;
          }
        });
        nearest[i] = best + 1;
      }
  const out = new Uint32Array(sx * sy * sz * nc * wpe);
  for (let c = 0; c < nc; c++)
    for (let z = 0, i = 0; z < sz; z++)
      for (let y = 0; y < sy; y++)
        for (let x = 0; x < sx; x++, i++) {
          const l = nearest[i];
          const edge =
            (x + 1 < sx && nearest[i + 1] !== l) || (y + 1 < sy && nearest[i + sx] !== l);
          const o = (i + c * sx * sy * sz) * wpe;
          out[o] = edge ? 0 : l * 1000 + c;
          if (wpe === 2) out[o + 1] = edge ? 0 : 256;
        }
  return out;
}

/** The bit widths the encoder used, read from the block headers of channel 0. */
function bitWidths(bytes: Uint8Array, nblocks: number): Set<number> {
  const words = new Uint32Array(bytes.slice().buffer);
  const seen = new Set<number>();
  for (let b = 0; b < nblocks; b++) seen.add(words[words[0] + 2 * b] >>> 24);
  return seen;
}

function blocks(shape: Shape, block: Block): number {
  return [0, 1, 2].reduce((n, i) => n * Math.ceil(shape[i] / block[i]), 1);
}

/** Decodes with the real decoder and the reference, fresh and into an aligned and an odd-offset buffer. */
function expectSameAsReference(
  data: Uint32Array,
  shape: Shape,
  block: Block,
  dtype: "uint32" | "uint64",
): Uint8Array {
  const bytes = encodeCompressedSegmentation(data, shape, block, dtype);
  const ref = referenceDecode(bytes, shape, block, dtype);
  expect(sameWords(ref, data)).toBe(true);
  expect(sameWords(decodeCompressedSegmentation(bytes, shape, block, dtype), ref)).toBe(true);
  const aligned = new Uint32Array(data.length).fill(0xdeadbeef);
  decodeCompressedSegmentation(bytes, shape, block, dtype, "k", aligned);
  expect(sameWords(aligned, ref)).toBe(true);
  const odd = new Uint32Array(data.length + 1).fill(0xdeadbeef).subarray(1);
  decodeCompressedSegmentation(bytes, shape, block, dtype, "k", odd);
  expect(sameWords(odd, ref)).toBe(true);
  return bytes;
}

/** Chunk shapes and block sizes: whole blocks, edge blocks, two channels, blocks of other sizes. */
const EDGE_CASES: [Shape, Block][] = [
  [
    [32, 16, 16, 1],
    [8, 8, 8],
  ],
  [
    [29, 19, 11, 2],
    [8, 8, 8],
  ],
  [
    [21, 13, 10, 1],
    [4, 8, 2],
  ],
  [
    [17, 9, 9, 1],
    [16, 4, 8],
  ],
];

describe("compressed_segmentation decoder against the reference decoder", () => {
  const widths: [number, number][] = [
    [1, 0],
    [2, 1],
    [4, 2],
    [16, 4],
    [256, 8],
    [512, 16],
  ];
  for (const dtype of ["uint32", "uint64"] as const)
    for (const [shape, block] of EDGE_CASES)
      it(`${dtype} ${shape.join("x")}, blocks ${block.join("x")}: every bit width, one per block`, () => {
        const nb = blocks(shape, block);
        const seenAll = new Set<number>();
        for (const [k, bits] of widths) {
          // All blocks at this width, then the widths mixed block by block.
          const data = blockwise(shape, block, dtype, () => k, 11 + bits);
          const bytes = expectSameAsReference(data, shape, block, dtype);
          for (const b of bitWidths(bytes, nb)) seenAll.add(b);
        }
        const mixed = blockwise(shape, block, dtype, (b) => widths[b % widths.length][0], 5);
        expectSameAsReference(mixed, shape, block, dtype);
        const full = block[0] * block[1] * block[2];
        const expected = widths.filter(([k]) => k <= full).map(([, bits]) => bits);
        for (const bits of expected) expect(seenAll).toContain(bits);
      });

  it("32-bit indices (a block of more than 65,536 labels), uint32 and uint64", () => {
    const shape: Shape = [70, 35, 30, 1];
    const block: Block = [68, 33, 30];
    const n = 70 * 35 * 30;
    for (const dtype of ["uint32", "uint64"] as const) {
      const wpe = dtype === "uint64" ? 2 : 1;
      const data = new Uint32Array(n * wpe);
      for (let i = 0; i < n; i++) {
        data[i * wpe] = Math.imul(i, 0x9e3779b1) >>> 0;
        if (wpe === 2) data[i * wpe + 1] = i & 1 ? 0x7ff80000 : i;
      }
      const bytes = expectSameAsReference(data, shape, block, dtype);
      expect(bitWidths(bytes, blocks(shape, block))).toContain(32);
    }
  });

  it("values with the bits of a float64 NaN or infinity, in every bit width", () => {
    const shape: Shape = [24, 16, 9, 1];
    const block: Block = [8, 8, 8];
    for (const dtype of ["uint32", "uint64"] as const)
      for (const k of [1, 2, 3, 4, 9, 40])
        expectSameAsReference(
          blockwise(shape, block, dtype, () => k, k, true),
          shape,
          block,
          dtype,
        );
  });

  it("structured segmentations: cells with zero boundaries, uniform, stripes", () => {
    const block: Block = [8, 8, 8];
    for (const dtype of ["uint32", "uint64"] as const) {
      for (const shape of [
        [64, 48, 24, 1],
        [37, 30, 13, 2],
      ] as Shape[])
        expectSameAsReference(cells(shape, 40, 9, dtype), shape, block, dtype);
      const shape: Shape = [40, 24, 12, 1];
      const wpe = dtype === "uint64" ? 2 : 1;
      const uniform = new Uint32Array(40 * 24 * 12 * wpe).fill(77);
      expectSameAsReference(uniform, shape, block, dtype);
      const stripes = new Uint32Array(40 * 24 * 12 * wpe);
      for (let i = 0; i < 40 * 24 * 12; i++) stripes[i * wpe] = (i % 40) * 3 + 1;
      expectSameAsReference(stripes, shape, block, dtype);
    }
  });

  it("into a larger array at any offset and strides (even and odd), touching nothing else", () => {
    fc.assert(
      fc.property(
        fc.record({
          shape: fc.tuple(
            fc.integer({ min: 1, max: 20 }),
            fc.integer({ min: 1, max: 12 }),
            fc.integer({ min: 1, max: 10 }),
            fc.integer({ min: 1, max: 2 }),
          ),
          block: fc.constantFrom<Block>([8, 8, 8], [8, 4, 2], [4, 4, 4], [3, 5, 2]),
          pad: fc.tuple(
            fc.integer({ min: 0, max: 3 }),
            fc.integer({ min: 0, max: 3 }),
            fc.integer({ min: 0, max: 2 }),
          ),
          at: fc.integer({ min: 0, max: 3 }),
          distinct: fc.constantFrom(1, 2, 3, 4, 7, 16, 300),
          wide: fc.boolean(),
          seed: fc.integer(),
        }),
        ({ shape, block, pad, at, distinct, wide, seed }) => {
          const dtype = wide ? "uint64" : "uint32";
          const wpe = wide ? 2 : 1;
          const data = blockwise(shape, block, dtype, () => distinct, seed);
          const bytes = encodeCompressedSegmentation(data, shape, block, dtype);
          const X = shape[0] + pad[0];
          const Y = shape[1] + pad[1];
          const Z = shape[2] + pad[2];
          const layout = {
            offset: at,
            rowStride: X,
            planeStride: X * Y,
            channelStride: X * Y * Z,
          };
          const size = (at + X * Y * Z * shape[3]) * wpe;
          const got = new Uint32Array(size).fill(0xdeadbeef);
          const want = new Uint32Array(size).fill(0xdeadbeef);
          decodeCompressedSegmentation(bytes, shape, block, dtype, "k", got, layout);
          referenceDecode(bytes, shape, block, dtype, want, layout);
          expect(sameWords(got, want)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("random volumes of any shape and block size (property)", () => {
    fc.assert(
      fc.property(
        fc.record({
          shape: fc.tuple(
            fc.integer({ min: 1, max: 19 }),
            fc.integer({ min: 1, max: 11 }),
            fc.integer({ min: 1, max: 9 }),
            fc.integer({ min: 1, max: 2 }),
          ),
          block: fc.tuple(
            fc.integer({ min: 1, max: 9 }),
            fc.integer({ min: 1, max: 9 }),
            fc.integer({ min: 1, max: 9 }),
          ),
          distinct: fc.integer({ min: 1, max: 600 }),
          wide: fc.boolean(),
          special: fc.boolean(),
          seed: fc.integer(),
        }),
        ({ shape, block, distinct, wide, special, seed }) => {
          const dtype = wide ? "uint64" : "uint32";
          const data = blockwise(shape, block, dtype, (b) => 1 + (b % distinct), seed, special);
          const s: ChunkShape = shape;
          const bytes = encodeCompressedSegmentation(data, s, block, dtype);
          const ref = referenceDecode(bytes, shape, block, dtype);
          expect(sameWords(ref, data)).toBe(true);
          expect(sameWords(decodeCompressedSegmentation(bytes, s, block, dtype), ref)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

/**
 * Decodes with the WebAssembly path alone (it must accept the data) into a
 * chunk-sized array and, at an offset with padded planes and channels, into a
 * larger one; both must equal the JavaScript decoder's output and leave the
 * padding alone.
 */
function expectWasmSameAsJs(
  bytes: Uint8Array,
  shape: Shape,
  block: Block,
  dtype: "uint32" | "uint64",
): Uint32Array {
  const [sx, sy, sz, nc] = shape;
  const wpe = dtype === "uint64" ? 2 : 1;
  const words = new Uint32Array(bytes.slice().buffer);
  const js = decodeCompressedSegmentationJs(bytes, shape, block, dtype);
  const out = new Uint32Array(js.length).fill(0xdeadbeef);
  expect(decodeChannelsWasm(words, shape, block, wpe, out, 0, sx * sy, sx * sy * sz)).toBe(true);
  expect(sameWords(out, js)).toBe(true);
  const layout = {
    offset: 3,
    rowStride: sx,
    planeStride: sx * sy + 5,
    channelStride: (sx * sy + 5) * sz + 2,
  };
  const size = (layout.offset + layout.channelStride * nc) * wpe;
  const got = new Uint32Array(size).fill(0xdeadbeef);
  const want = new Uint32Array(size).fill(0xdeadbeef);
  const { offset, planeStride, channelStride } = layout;
  expect(
    decodeChannelsWasm(words, shape, block, wpe, got, offset, planeStride, channelStride),
  ).toBe(true);
  decodeCompressedSegmentationJs(bytes, shape, block, dtype, "k", want, layout);
  expect(sameWords(got, want)).toBe(true);
  return out;
}

/** What a decode gives: its words, or its error's class and message. */
function outcome(decode: () => Uint32Array): string {
  try {
    const out = decode();
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString("base64");
  } catch (e) {
    return `${(e as Error).constructor.name}: ${(e as Error).message}`;
  }
}

/**
 * Property: with any word of an encoding overwritten by any value (and the
 * data maybe cut after it), the decoder gives the same voxels or the same
 * typed error as the JavaScript decoder.
 */
function expectSameOutcomeWhenCorrupted(numRuns: number): void {
  const shape: Shape = [20, 17, 9, 2];
  const block: Block = [8, 8, 8];
  const widths = [1, 2, 4, 16, 256, 512];
  const encoded = (["uint32", "uint64"] as const).map((dtype) =>
    encodeCompressedSegmentation(
      blockwise(shape, block, dtype, (b) => widths[b % widths.length], 4),
      shape,
      block,
      dtype,
    ),
  );
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.nat(),
      fc.oneof(fc.nat({ max: 4096 }), fc.nat({ max: 0xffffffff })),
      fc.boolean(),
      (wide, at, value, truncate) => {
        const dtype = wide ? "uint64" : "uint32";
        const w = new Uint32Array(encoded[wide ? 1 : 0].slice().buffer);
        const i = at % w.length;
        w[i] = value >>> 0;
        const bytes = new Uint8Array(w.buffer, 0, truncate ? (i + 1) * 4 : w.byteLength);
        const js = outcome(() => decodeCompressedSegmentationJs(bytes, shape, block, dtype, "k"));
        expect(outcome(() => decodeCompressedSegmentation(bytes, shape, block, dtype, "k"))).toBe(
          js,
        );
      },
    ),
    { numRuns },
  );
}

describe("compressed_segmentation decoder: WebAssembly path against the JavaScript decoder", () => {
  const widths = [1, 2, 4, 16, 256, 512];
  for (const dtype of ["uint32", "uint64"] as const)
    it(`${dtype}: bit widths 0-16 block by block, edge blocks, two channels, odd block sizes`, () => {
      for (const [shape, block] of [
        ...EDGE_CASES,
        [
          [19, 11, 7, 2],
          [3, 5, 2],
        ] as [Shape, Block],
      ]) {
        for (const k of widths)
          expectWasmSameAsJs(
            encodeCompressedSegmentation(
              blockwise(shape, block, dtype, () => k, k),
              shape,
              block,
              dtype,
            ),
            shape,
            block,
            dtype,
          );
        const mixed = blockwise(shape, block, dtype, (b) => widths[b % widths.length], 3);
        const bytes = encodeCompressedSegmentation(mixed, shape, block, dtype);
        expect(sameWords(expectWasmSameAsJs(bytes, shape, block, dtype), mixed)).toBe(true);
      }
    });

  it("32-bit indices, uint32 and uint64", () => {
    const shape: Shape = [70, 35, 30, 1];
    const block: Block = [68, 33, 30];
    for (const dtype of ["uint32", "uint64"] as const) {
      const wpe = dtype === "uint64" ? 2 : 1;
      const data = new Uint32Array(70 * 35 * 30 * wpe);
      for (let i = 0; i < 70 * 35 * 30; i++) {
        data[i * wpe] = Math.imul(i, 0x9e3779b1) >>> 0;
        if (wpe === 2) data[i * wpe + 1] = i % 3;
      }
      const bytes = encodeCompressedSegmentation(data, shape, block, dtype);
      expect(bitWidths(bytes, blocks(shape, block))).toContain(32);
      expect(sameWords(expectWasmSameAsJs(bytes, shape, block, dtype), data)).toBe(true);
    }
  });

  it("slabs: rows wider than one slab, and several block rows a slab with a short last one", () => {
    const block: Block = [8, 8, 8];
    for (const [shape, dtype] of [
      [[1100, 12, 9, 1], "uint64"],
      [[64, 200, 9, 1], "uint32"],
      [[40, 203, 17, 2], "uint64"],
    ] as [Shape, "uint32" | "uint64"][]) {
      const data = cells(shape, 30, 2, dtype);
      const bytes = encodeCompressedSegmentation(data, shape, block, dtype);
      expect(sameWords(expectWasmSameAsJs(bytes, shape, block, dtype), data)).toBe(true);
    }
  });

  const fib25 = join(__dirname, "../../../../../shared/data/fib25-64x64x64-uint64.raw");
  const hasFib25 = existsSync(fib25);
  if (!hasFib25) console.warn(`skipping the FIB-25 cases: ${fib25} is missing`);
  (hasFib25 ? it : it.skip)(
    "real data: the FIB-25 cutout, uint64 and its low words as uint32",
    () => {
      const raw = readFileSync(fib25);
      const u64 = new Uint32Array(
        raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength),
      );
      const u32 = new Uint32Array(64 * 64 * 64).map((_, i) => u64[2 * i]);
      for (const block of [
        [8, 8, 8],
        [4, 4, 4],
        [7, 5, 3],
        [16, 16, 16],
      ] as Block[])
        for (const [data, dtype] of [
          [u64, "uint64"],
          [u32, "uint32"],
        ] as [Uint32Array, "uint32" | "uint64"][]) {
          const shape: Shape = [64, 64, 64, 1];
          const bytes = encodeCompressedSegmentation(data, shape, block, dtype);
          expect(sameWords(expectWasmSameAsJs(bytes, shape, block, dtype), data)).toBe(true);
        }
    },
  );

  it("corrupt input: the module refuses the block, the decoder throws the JavaScript decoder's error", () => {
    const shape: Shape = [24, 16, 9, 1];
    const block: Block = [8, 8, 8];
    const data = blockwise(shape, block, "uint64", (b) => widths[b % widths.length], 9);
    const good = encodeCompressedSegmentation(data, shape, block, "uint64");
    // Block b's header is words base + 2b and base + 2b + 1 (base = word 0,
    // one channel); offsets in it count from base. Block 0 is uniform (0 bits),
    // block 1 has 1-bit indices.
    const cases: [(w: Uint32Array, base: number) => void, RegExp][] = [
      [(w, base) => (w[base + 2] = (w[base + 2] & 0xffffff) | (3 << 24)), /invalid encoded bits 3/],
      [
        (w, base) => (w[base + 4] = (w[base + 4] & 0xffffff) | (64 << 24)),
        /invalid encoded bits 64/,
      ],
      [
        (w, base) => (w[base + 2] = (w.length - base - 1) | (w[base + 2] & 0xff000000)),
        /table index \d+ is past the end/,
      ],
      [(w, base) => (w[base + 3] = w.length - base - 2), /encoded values at .* run past the end/],
      [(w, base) => (w[base] = w.length - base - 1), /table offset .* is past the end/],
    ];
    for (const [corrupt, message] of cases) {
      const w = new Uint32Array(good.slice().buffer);
      expect(w[w[0]] >>> 24).toBe(0);
      expect(w[w[0] + 2] >>> 24).toBe(1);
      corrupt(w, w[0]);
      const bytes = new Uint8Array(w.buffer);
      const out = new Uint32Array(data.length);
      expect(decodeChannelsWasm(w, shape, block, 2, out, 0, 24 * 16, 24 * 16 * 9)).toBe(false);
      expect(() => decodeCompressedSegmentation(bytes, shape, block, "uint64", "a/key")).toThrow(
        ChunkDecodeError,
      );
      expect(
        outcome(() => decodeCompressedSegmentation(bytes, shape, block, "uint64", "a/key")),
      ).toMatch(message);
    }
  });

  it("any word of the data overwritten (property): the same voxels or the same typed error as the JavaScript decoder", () => {
    expectSameOutcomeWhenCorrupted(500);
  });
});

/** Whether a decode's output is the start of a shared WebAssembly memory (its buffer is longer). */
function inMemory(out: Uint32Array): boolean {
  return (
    out.buffer instanceof SharedArrayBuffer &&
    out.byteOffset === 0 &&
    out.buffer.byteLength > out.byteLength
  );
}

describe("compressed_segmentation decoder: straight into a shared WebAssembly memory", () => {
  // Outputs of 1 KiB and more take this path here (64 MiB in use), with no
  // budget, except where a test sets one.
  beforeEach(() => setSharedOutputLimits(1024, Number.MAX_SAFE_INTEGER));
  afterAll(() => setSharedOutputLimits());

  /** Decodes fresh (into a memory, which must happen) and compares with the JavaScript decoder. */
  function expectMemorySameAsJs(
    bytes: Uint8Array,
    shape: Shape,
    block: Block,
    dtype: "uint32" | "uint64",
  ): Uint32Array {
    const out = decodeCompressedSegmentation(bytes, shape, block, dtype);
    expect(inMemory(out)).toBe(true);
    expect(sameWords(out, decodeCompressedSegmentationJs(bytes, shape, block, dtype))).toBe(true);
    return out;
  }

  for (const dtype of ["uint32", "uint64"] as const)
    it(`${dtype}: bit widths 0-16, edge blocks, two channels, odd block sizes, several block rows a slab`, () => {
      const widths = [1, 2, 4, 16, 256, 512];
      for (const [shape, block] of [
        ...EDGE_CASES,
        [
          [19, 11, 7, 2],
          [3, 5, 2],
        ] as [Shape, Block],
        [
          [40, 203, 17, 2],
          [8, 8, 8],
        ] as [Shape, Block],
      ]) {
        if (shape[0] * shape[1] * shape[2] * shape[3] * 4 < 1024) continue;
        const mixed = blockwise(shape, block, dtype, (b) => widths[b % widths.length], 3);
        const bytes = encodeCompressedSegmentation(mixed, shape, block, dtype);
        expect(sameWords(expectMemorySameAsJs(bytes, shape, block, dtype), mixed)).toBe(true);
      }
      const shape: Shape = [70, 35, 30, 1];
      const data = cells(shape, 40, 5, dtype);
      const bytes = encodeCompressedSegmentation(data, shape, [68, 33, 30], dtype);
      expect(sameWords(expectMemorySameAsJs(bytes, shape, [68, 33, 30], dtype), data)).toBe(true);
    });

  const fib25 = join(__dirname, "../../../../../shared/data/fib25-64x64x64-uint64.raw");
  const hasFib25 = existsSync(fib25);
  if (!hasFib25) console.warn(`skipping the FIB-25 case: ${fib25} is missing`);
  (hasFib25 ? it : it.skip)("real data: the FIB-25 cutout, uint64", () => {
    const raw = readFileSync(fib25);
    const u64 = new Uint32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const shape: Shape = [64, 64, 64, 1];
    for (const block of [
      [8, 8, 8],
      [7, 5, 3],
    ] as Block[]) {
      const bytes = encodeCompressedSegmentation(u64, shape, block, "uint64");
      expect(sameWords(expectMemorySameAsJs(bytes, shape, block, "uint64"), u64)).toBe(true);
    }
  });

  it("any word of the data overwritten (property): the same voxels or the same typed error as the JavaScript decoder", () => {
    expectSameOutcomeWhenCorrupted(200);
  });

  it("a long synchronous loop spends the budget, falls back to ordinary outputs, and gets the budget back once V8 collects", () => {
    // A full collection that frees array buffers before it returns, called
    // without leaving this synchronous test: the budget must come back
    // without the event loop turning.
    setFlagsFromString("--expose-gc");
    setFlagsFromString("--no-concurrent-array-buffer-sweeping");
    const collect = runInNewContext("gc") as () => void;
    const shape: Shape = [64, 64, 64, 1];
    const data = cells(shape, 60, 8, "uint64");
    const bytes = encodeCompressedSegmentation(data, shape, [8, 8, 8], "uint64");
    const first = decodeCompressedSegmentation(bytes, shape, [8, 8, 8], "uint64");
    expect(inMemory(first)).toBe(true);
    const memoryBytes = first.buffer.byteLength;
    collect();
    // Room for three output memories above what the process holds now.
    const budget = process.memoryUsage().arrayBuffers + 3.5 * memoryBytes;
    setSharedOutputLimits(1024, budget);
    const paths: string[] = [];
    for (let i = 0; i < 40; i++) {
      const out = decodeCompressedSegmentation(bytes, shape, [8, 8, 8], "uint64");
      expect(sameWords(out, data)).toBe(true);
      paths.push(inMemory(out) ? "memory" : out.buffer instanceof ArrayBuffer ? "ordinary" : "?");
      // An output memory is made only while what the process holds (output
      // memories included) stays within the budget.
      if (inMemory(out))
        expect(process.memoryUsage().arrayBuffers).toBeLessThanOrEqual(budget + 65536);
    }
    expect(paths.slice(0, 4)).toEqual(["memory", "memory", "memory", "ordinary"]);
    expect(paths).not.toContain("?");
    collect();
    const again = decodeCompressedSegmentation(bytes, shape, [8, 8, 8], "uint64");
    expect(inMemory(again)).toBe(true);
    expect(sameWords(again, data)).toBe(true);
  });
});
