/**
 * Corrupt input never escapes as anything but ChunkDecodeError: random bytes,
 * every truncation and single-byte corruptions of valid encodings, into every
 * decoder. A decoder may also return an array (when the bytes happen to be
 * valid), but then of the chunk's exact length and type.
 */
import fc from "fast-check";
import { allocTyped, type DataType } from "../dtypes";
import { ChunkDecodeError } from "../errors";
import { decodeChunk, encodeChunk } from "./registry";
import type { ChunkContext, ChunkShape } from "./types";

interface Case {
  encoding: string;
  ctx: ChunkContext;
}

const shape1: ChunkShape = [9, 6, 3, 1];
const CASES: Case[] = [
  { encoding: "raw", ctx: { dtype: "uint16", shape: [5, 4, 3, 2] } },
  {
    encoding: "compressed_segmentation",
    ctx: { dtype: "uint32", shape: shape1, blockSize: [4, 4, 2] },
  },
  {
    encoding: "compressed_segmentation",
    ctx: { dtype: "uint64", shape: [7, 5, 4, 2], blockSize: [3, 2, 2] },
  },
  {
    encoding: "compressed_segmentation",
    ctx: { dtype: "uint32", shape: [8, 8, 8, 1], blockSize: [8, 8, 8] },
  },
  { encoding: "compresso", ctx: { dtype: "uint32", shape: shape1 } },
  { encoding: "compresso", ctx: { dtype: "uint64", shape: [7, 5, 4, 1] } },
  { encoding: "compresso", ctx: { dtype: "uint8", shape: [9, 9, 2, 1] } },
  { encoding: "jpeg", ctx: { dtype: "uint8", shape: [16, 8, 2, 1] } },
  { encoding: "jpeg", ctx: { dtype: "uint8", shape: [8, 8, 2, 3] } },
  { encoding: "png", ctx: { dtype: "uint8", shape: [9, 6, 3, 3] } },
  { encoding: "png", ctx: { dtype: "uint16", shape: shape1 } },
];

function voxels(c: Case): ReturnType<typeof allocTyped> {
  const [sx, sy, sz, nc] = c.ctx.shape;
  const n = sx * sy * sz * nc;
  const a = allocTyped(c.ctx.dtype as DataType, n);
  for (let i = 0; i < n; i++) {
    const label =
      Math.floor((i % sx) / 3) + 4 * Math.floor(i / (sx * sy)) + ((i * 7) % 11 === 0 ? 9 : 0);
    if (a instanceof BigUint64Array) a[i] = BigInt(label) * 0x100000001n;
    else (a as Uint32Array)[i] = c.encoding === "jpeg" || c.encoding === "png" ? label * 20 : label;
  }
  return a;
}

function expectDecodeErrorOrChunk(c: Case, bytes: Uint8Array): void {
  const [sx, sy, sz, nc] = c.ctx.shape;
  let out: unknown;
  try {
    out = decodeChunk(bytes, c.encoding, { ...c.ctx, key: "fuzz/key" });
  } catch (e) {
    if (!(e instanceof ChunkDecodeError)) throw new Error(`${c.encoding}: threw ${String(e)}`);
    expect(e.message.startsWith("fuzz/key: ")).toBe(true);
    return;
  }
  const expected = allocTyped(c.ctx.dtype as DataType, 0).constructor;
  expect((out as { constructor: unknown }).constructor).toBe(expected);
  expect((out as ArrayLike<unknown>).length).toBe(sx * sy * sz * nc);
}

describe.each(
  CASES.map((c) => [`${c.encoding} ${c.ctx.dtype} ${c.ctx.shape.join("x")}`, c] as const),
)("fuzzing %s", (_name, c) => {
  const valid = encodeChunk(voxels(c), c.encoding, c.ctx);

  it("every truncation gives ChunkDecodeError or a chunk of the right length", () => {
    for (let n = 0; n < valid.length; n++) expectDecodeErrorOrChunk(c, valid.slice(0, n));
  });

  it("random single-byte corruptions give ChunkDecodeError or a chunk of the right length", () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const bad = valid.slice();
        bad[at % bad.length] ^= xor;
        expectDecodeErrorOrChunk(c, bad);
      }),
      { numRuns: 150 },
    );
  });

  it("random bytes give ChunkDecodeError or a chunk of the right length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2 * valid.length + 16 }), (bytes) =>
        expectDecodeErrorOrChunk(c, bytes),
      ),
      { numRuns: 150 },
    );
  });
});

describe("fuzzing compressed_segmentation with plausible headers", () => {
  it("random small offsets and valid bit widths give ChunkDecodeError or a chunk", () => {
    const c: Case = {
      encoding: "compressed_segmentation",
      ctx: { dtype: "uint64", shape: [5, 5, 3, 1], blockSize: [4, 4, 2] },
    };
    const bitsChoices = [0, 1, 2, 4, 8, 16, 32, 3];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(40), fc.nat(7), fc.nat(40), fc.nat()), {
          minLength: 1,
          maxLength: 30,
        }),
        (entries) => {
          const words = new Uint32Array(1 + 2 * entries.length);
          words[0] = 1;
          entries.forEach(([table, bits, values, filler], i) => {
            words[1 + 2 * i] = table | (bitsChoices[bits] << 24);
            words[2 + 2 * i] = i % 3 === 2 ? filler : values;
          });
          expectDecodeErrorOrChunk(c, new Uint8Array(words.buffer));
        },
      ),
      { numRuns: 400 },
    );
  });
});
