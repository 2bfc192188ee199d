import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import fc from "fast-check";
import {
  type ReferenceDecoder,
  referenceCompresso,
} from "../../../../test/support/compresso-reference";
import { describeIf } from "../../../../test/support/skip";
import { ChunkDecodeError, ChunkEncodeError } from "../errors";
import { compressoCodec } from "./compresso";
import { decodeCompresso } from "./compresso_decode";
import { encodeCompresso } from "./compresso_encode";
import { readCompressoHeader } from "./compresso_format";
import { decodeChunk, encodeChunk } from "./registry";

const FIB25 = resolve(__dirname, "../../../../../shared/data/fib25-64x64x64-uint64.raw");

type Width = 1 | 2 | 4 | 8;

/** Labels of `width` bytes as words, from numbers (below 2^53). */
function wordsOf(values: readonly number[], width: Width): Uint32Array {
  if (width < 8) return Uint32Array.from(values, (v) => v % 2 ** (8 * width));
  const w = new Uint32Array(values.length * 2);
  values.forEach((v, i) => {
    w[2 * i] = v % 4294967296;
    w[2 * i + 1] = Math.floor(v / 4294967296);
  });
  return w;
}

/** The little-endian bytes of label words of `width` bytes. */
function bytesOf(words: Uint32Array, width: Width): Uint8Array {
  if (width >= 4) return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  return width === 2 ? new Uint8Array(Uint16Array.from(words).buffer) : Uint8Array.from(words);
}

function fib25(width: Width): Uint32Array {
  const raw = new Uint32Array(new Uint8Array(readFileSync(FIB25)).buffer);
  const n = raw.length / 2;
  if (width === 8) return raw;
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = raw[2 * i] % 2 ** (8 * width);
  return out;
}

/** A volume of a few labels in blobs, with rare labels near the type's maximum. */
const volumes = fc
  .record({
    sx: fc.integer({ min: 1, max: 13 }),
    sy: fc.integer({ min: 1, max: 11 }),
    sz: fc.integer({ min: 1, max: 5 }),
    width: fc.constantFrom<Width>(1, 2, 4, 8),
    seed: fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 40 }),
    blob: fc.integer({ min: 1, max: 4 }),
  })
  .map(({ sx, sy, sz, width, seed, blob }) => {
    const max = width === 8 ? 2 ** 53 - 1 : 2 ** (8 * width) - 1;
    const palette = [0, 1, 2, 7, max, max - 3, max - 6, max - 7];
    const values: number[] = [];
    for (let z = 0; z < sz; z++)
      for (let y = 0; y < sy; y++)
        for (let x = 0; x < sx; x++) {
          const cell = Math.floor(x / blob) + 3 * Math.floor(y / blob) + 5 * z;
          values.push(palette[seed[cell % seed.length]]);
        }
    return { shape: [sx, sy, sz] as [number, number, number], width, values };
  });

describe("compresso round trip", () => {
  it("decode(encode(x)) == x for any labels, widths and shapes", () => {
    fc.assert(
      fc.property(volumes, ({ shape, width, values }) => {
        const words = wordsOf(values, width);
        const stream = encodeCompresso({ words, wpe: width === 8 ? 2 : 1 }, width, shape);
        expect(decodeCompresso(stream, width, shape)).toEqual(words);
      }),
      { numRuns: 300 },
    );
  });

  it("labels that do not fit label + 7 round-trip through location code 6", () => {
    const max = 2 ** 32 - 1;
    // A checkerboard: every voxel is a boundary voxel with no equal neighbour.
    const values = Array.from({ length: 16 }, (_, i) =>
      ((i % 4) + Math.floor(i / 4)) % 2 ? max : max - 5,
    );
    const words = wordsOf(values, 4);
    const stream = encodeCompresso({ words, wpe: 1 }, 4, [4, 4, 1]);
    expect(readCompressoHeader(stream).locationSize).toBeGreaterThan(values.length);
    expect(decodeCompresso(stream, 4, [4, 4, 1])).toEqual(words);
  });

  it("64-bit labels keep their high words, up to 2^64 - 1", () => {
    const words = Uint32Array.of(5, 0x80000000, 5, 0x80000000, 0xfffffffb, 7, 1, 0);
    const stream = encodeCompresso({ words, wpe: 2 }, 8, [2, 2, 1]);
    expect(decodeCompresso(stream, 8, [2, 2, 1])).toEqual(words);
    // A checkerboard of 2^64 - 2 (stored after code 6) and 2^64 - 2^32 + 3 (stored + 7, no carry).
    const board = new Uint32Array(32);
    for (let i = 0; i < 16; i++) {
      board[2 * i] = ((i % 4) + Math.floor(i / 4)) % 2 ? 0xfffffffe : 3;
      board[2 * i + 1] = 0xffffffff;
    }
    const s2 = encodeCompresso({ words: board, wpe: 2 }, 8, [4, 4, 1]);
    expect(decodeCompresso(s2, 8, [4, 4, 1])).toEqual(board);
  });

  it("explicit 8x8x1 steps use 64-bit windows and round-trip", () => {
    const words = fib25(4);
    const stream = encodeCompresso({ words, wpe: 1 }, 4, [64, 64, 64], { steps: [8, 8, 1] });
    expect(readCompressoHeader(stream).steps).toEqual([8, 8, 1]);
    expect(decodeCompresso(stream, 4, [64, 64, 64])).toEqual(words);
  });

  it("an empty chunk is a bare header", () => {
    const stream = encodeCompresso({ words: new Uint32Array(0), wpe: 1 }, 2, [0, 4, 4]);
    expect(stream.length).toBe(36);
    expect(decodeCompresso(stream, 2, [0, 4, 4]).length).toBe(0);
  });
});

describe("compresso streams the encoder does not write", () => {
  /** A stream of one label over `shape` with one all-zero window per step block. */
  function solidStream(
    shape: [number, number, number],
    connectivity: 4 | 6,
    regions: number,
  ): Uint8Array {
    const nblocks = Math.ceil(shape[0] / 4) * Math.ceil(shape[1] / 4) * shape[2];
    const out = new Uint8Array(36 + regions + 2 + 2);
    const v = new DataView(out.buffer);
    out.set([0x63, 0x70, 0x73, 0x6f, 0, 1]);
    v.setUint16(6, shape[0], true);
    v.setUint16(8, shape[1], true);
    v.setUint16(10, shape[2], true);
    out.set([4, 4, 1], 12);
    v.setUint32(15, regions, true);
    v.setUint32(23, 1, true);
    out[35] = connectivity;
    out.fill(9, 36, 36 + regions);
    v.setUint16(36 + regions + 2, nblocks * 2 + 1, true);
    return out;
  }

  it("connectivity 6 makes one region across slices", () => {
    const decoded = decodeCompresso(solidStream([5, 3, 4], 6, 1), 1, [5, 3, 4]);
    expect(decoded.every((v) => v === 9)).toBe(true);
  });

  it("with connectivity 4 the same boundaries make one region per slice, so one id is corrupt", () => {
    expect(() => decodeCompresso(solidStream([5, 3, 4], 4, 1), 1, [5, 3, 4], "a/key")).toThrow(
      /a\/key: .*lists 1 region labels, its boundaries make 4 regions/,
    );
    expect(decodeCompresso(solidStream([5, 3, 4], 4, 4), 1, [5, 3, 4]).every((v) => v === 9)).toBe(
      true,
    );
  });

  it("format version 1 (with the random-access z index at the tail) decodes like version 0", () => {
    const words = fib25(2).subarray(0, 64 * 64 * 4);
    const v0 = encodeCompresso({ words, wpe: 1 }, 2, [64, 64, 4]);
    // 2 * 64 * 64 = 8192 < 65535: two-byte index entries, two per slice.
    const v1 = new Uint8Array(v0.length + 2 * 4 * 2);
    v1.set(v0);
    v1[4] = 1;
    expect(decodeCompresso(v1, 2, [64, 64, 4])).toEqual(words);
  });
});

describe("compresso errors", () => {
  const shape: [number, number, number] = [16, 16, 4];
  const words = fib25(4).subarray(0, 16 * 16 * 4);
  const stream = encodeCompresso({ words, wpe: 1 }, 4, shape);

  it("a truncated stream is a ChunkDecodeError naming the key", () => {
    for (const n of [0, 20, 36, stream.length - 1, stream.length - 4]) {
      expect(() =>
        decodeCompresso(stream.slice(0, n), 4, shape, "gs://b/seg/8_8_8/0-16_0-16_0-4"),
      ).toThrow(ChunkDecodeError);
    }
    expect(() => decodeCompresso(stream.slice(0, 30), 4, shape, "gs://b/seg/k")).toThrow(
      /^gs:\/\/b\/seg\/k: /,
    );
  });

  it("bad magic, version, width, connectivity and sizes are named", () => {
    const bad = (at: number, v: number) => {
      const b = stream.slice();
      b[at] = v;
      return b;
    };
    expect(() => decodeCompresso(bad(0, 0), 4, shape, "k")).toThrow(/magic/);
    expect(() => decodeCompresso(bad(4, 2), 4, shape, "k")).toThrow(/version 2/);
    expect(() => decodeCompresso(bad(5, 3), 4, shape, "k")).toThrow(/data width 3/);
    expect(() => decodeCompresso(bad(35, 5), 4, shape, "k")).toThrow(/connectivity 5/);
    expect(() => decodeCompresso(stream, 4, [16, 16, 5], "k")).toThrow(
      /16x16x4 voxels, the chunk is 16x16x5/,
    );
    expect(() => decodeCompresso(stream, 8, shape, "k")).toThrow(/4-byte labels/);
  });

  it("the codec refuses signed and multi-channel chunks", () => {
    expect(() =>
      encodeChunk(new Int32Array(8), "compresso", { dtype: "int32", shape: [2, 2, 2, 1] }),
    ).toThrow(ChunkEncodeError);
    expect(() =>
      compressoCodec.encode(new Uint32Array(16), {
        dtype: "uint32",
        shape: [2, 2, 2, 2],
        key: "k",
      }),
    ).toThrow(/one channel/);
  });
});

describe("the compresso codec in the registry", () => {
  it("round-trips uint8, uint16, uint32 and uint64 chunks", () => {
    const shape = [6, 5, 3, 1] as const;
    const n = 90;
    const label = (i: number) => Math.floor((i % 6) / 2) + 3 * Math.floor(i / 30);
    for (const [dtype, data] of [
      ["uint8", Uint8Array.from({ length: n }, (_, i) => label(i))],
      ["uint16", Uint16Array.from({ length: n }, (_, i) => 60000 + label(i))],
      ["uint32", Uint32Array.from({ length: n }, (_, i) => 4e9 + label(i))],
      ["uint64", BigUint64Array.from({ length: n }, (_, i) => 2n ** 63n + BigInt(label(i)))],
    ] as const) {
      const ctx = { dtype, shape } as const;
      const back = decodeChunk(encodeChunk(data, "compresso", ctx), "compresso", ctx);
      expect(back).toEqual(data);
    }
  });
});

const withFib = existsSync(FIB25);
let reference: { decode: ReferenceDecoder } | { missing: string } = { missing: "not loaded" };
beforeAll(async () => {
  reference = await referenceCompresso();
}, 180_000);

describeIf(withFib, `${FIB25} not found`)(
  "compresso against the reference decoder Neuroglancer runs",
  () => {
    const refTest = (name: string, fn: (decode: ReferenceDecoder) => void) =>
      test(name, () => {
        if ("missing" in reference) {
          process.stderr.write(`skipping "${name}": ${reference.missing}\n`);
          return;
        }
        fn(reference.decode);
      });

    for (const width of [1, 2, 4, 8] as const) {
      refTest(
        `the FIB-25 cutout as ${8 * width}-bit labels decodes to the same voxels`,
        (decode) => {
          const words = fib25(width);
          const stream = encodeCompresso({ words, wpe: width === 8 ? 2 : 1 }, width, [64, 64, 64]);
          expect(Buffer.from(decode(stream, words.length * (width === 8 ? 4 : width)))).toEqual(
            Buffer.from(bytesOf(words, width)),
          );
        },
      );
    }

    refTest("random volumes decode to the same voxels", (decode) => {
      fc.assert(
        fc.property(volumes, ({ shape, width, values }) => {
          const words = wordsOf(values, width);
          const stream = encodeCompresso({ words, wpe: width === 8 ? 2 : 1 }, width, shape);
          expect(Buffer.from(decode(stream, values.length * width))).toEqual(
            Buffer.from(bytesOf(words, width)),
          );
        }),
        { numRuns: 150 },
      );
    });

    refTest("8x8x1 windows decode to the same voxels", (decode) => {
      const words = fib25(8);
      const stream = encodeCompresso({ words, wpe: 2 }, 8, [64, 64, 64], { steps: [8, 8, 1] });
      expect(Buffer.from(decode(stream, words.byteLength))).toEqual(Buffer.from(bytesOf(words, 8)));
    });
  },
);

test("readCompressoHeader reads what the encoder wrote", () => {
  const stream = encodeCompresso({ words: Uint32Array.of(1, 2, 2, 2), wpe: 1 }, 2, [2, 2, 1]);
  expect(readCompressoHeader(stream)).toMatchObject({
    formatVersion: 0,
    dataWidth: 2,
    sx: 2,
    sy: 2,
    sz: 1,
    steps: [4, 4, 1],
    connectivity: 4,
  });
});
