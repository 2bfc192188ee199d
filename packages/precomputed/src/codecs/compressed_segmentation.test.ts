import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { testIf } from "../../../../test/support/skip";
import { ChunkDecodeError, ChunkEncodeError } from "../errors";
import { compressedSegmentationCodec } from "./compressed_segmentation";
import { decodeCompressedSegmentation } from "./compressed_segmentation_decode";
import { encodeCompressedSegmentation } from "./compressed_segmentation_encode";
import type { ChunkShape } from "./types";

const FIXTURES = join(__dirname, "fixtures");
const FIB25 = resolve(__dirname, "../../../../../shared/data/fib25-64x64x64-uint64.raw");

interface Fixture {
  name: string;
  dtype: "uint32" | "uint64";
  shape: [number, number, number, number];
  blockSize: [number, number, number];
  generator?: string;
  bytes?: number;
  sha256?: string;
}

const manifest: Fixture[] = JSON.parse(readFileSync(join(FIXTURES, "manifest.json"), "utf8"));

/** Reads a file into a fresh, aligned buffer. */
function readAligned(path: string): Uint8Array {
  const b = readFileSync(path);
  return new Uint8Array(b).slice();
}

/** Byte-wise equality of two typed arrays (jest's toEqual is slow on large arrays). */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

function wordsOf(bytes: Uint8Array): Uint32Array {
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

describe("compressed_segmentation conformance (fixtures from make_fixtures.py)", () => {
  for (const f of manifest.filter((m) => !m.generator)) {
    const input = wordsOf(readAligned(join(FIXTURES, `${f.name}.in`)));
    const expected = readAligned(join(FIXTURES, `${f.name}.cseg`));

    it(`${f.name}: encode gives the reference bytes`, () => {
      const bytes = encodeCompressedSegmentation(input, f.shape, f.blockSize, f.dtype);
      expect(sameBytes(bytes, expected)).toBe(true);
    });

    it(`${f.name}: decode of the reference bytes gives the input`, () => {
      const words = decodeCompressedSegmentation(expected, f.shape, f.blockSize, f.dtype, f.name);
      expect(words).toEqual(input);
    });
  }

  it("a block with more than 65536 values is encoded with 32 bits, byte-exact", () => {
    const f = manifest.find((m) => m.generator === "distinct_65600")!;
    const n = f.shape[0] * f.shape[1] * f.shape[2];
    const input = new Uint32Array(n);
    for (let i = 0; i < n; i++) input[i] = Number((BigInt(i) * 2654435761n) % 2n ** 32n);
    const bytes = encodeCompressedSegmentation(input, f.shape, f.blockSize, "uint32");
    expect(bytes.length).toBe(f.bytes);
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(f.sha256);
    expect(wordsOf(bytes)[1] >>> 24).toBe(32);
    expect(decodeCompressedSegmentation(bytes, f.shape, f.blockSize, "uint32")).toEqual(input);
  });
});

describe("compressed_segmentation format details", () => {
  it("writes a single-channel chunk as channel offset 1, headers, then values and table", () => {
    // 2x2x1 block of a 2x2x1 chunk with values 4,3,4,4: 1 bit per value, table [3, 4].
    const bytes = encodeCompressedSegmentation(
      Uint32Array.of(4, 3, 4, 4),
      [2, 2, 1, 1],
      [2, 2, 1],
      "uint32",
    );
    expect(Array.from(wordsOf(bytes))).toEqual([1, 3 | (1 << 24), 2, 0b1101, 3, 4]);
  });

  it("a one-value block uses 0 bits and shares an identical earlier table", () => {
    const bytes = encodeCompressedSegmentation(
      new Uint32Array(16).fill(7),
      [4, 4, 1, 1],
      [2, 2, 1],
      "uint32",
    );
    const w = wordsOf(bytes);
    // 4 headers; every block points at the one table right after the headers.
    expect(Array.from(w)).toEqual([1, 8, 8, 8, 9, 8, 9, 8, 9, 7]);
  });
});

describe("compressed_segmentation round trips (property)", () => {
  const arbCase = fc.record({
    shape: fc.tuple(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 10 }),
      fc.integer({ min: 1, max: 7 }),
      fc.integer({ min: 1, max: 3 }),
    ),
    block: fc.tuple(
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 5 }),
    ),
    distinct: fc.integer({ min: 1, max: 300 }),
    seed: fc.integer(),
    wide: fc.boolean(),
  });

  it("decode(encode(x)) == x for uint32 and uint64 with any block size and edge chunks", () => {
    fc.assert(
      fc.property(arbCase, ({ shape, block, distinct, seed, wide }) => {
        const wpe = wide ? 2 : 1;
        const n = shape[0] * shape[1] * shape[2] * shape[3];
        const data = new Uint32Array(n * wpe);
        let s = seed >>> 0;
        for (let i = 0; i < n; i++) {
          s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
          const label = s % distinct;
          data[i * wpe] = Math.imul(label, 0x9e3779b1) >>> 0;
          if (wide) data[i * 2 + 1] = label % 5 === 0 ? 0 : (label * 7919) >>> 0;
        }
        const dtype = wide ? "uint64" : "uint32";
        const bytes = encodeCompressedSegmentation(data, shape, block, dtype);
        const back = decodeCompressedSegmentation(bytes, shape, block, dtype);
        expect(sameBytes(back, data)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps uint64 values whose bits are a float64 NaN, infinity, -0 or denormal", () => {
    // The decoder moves uint64 voxels as float64 values where that is exact;
    // these bit patterns are the ones a float64 might not carry unchanged.
    const specials = [
      [0x00000001, 0x7ff80000], // quiet NaN with a payload
      [0x00000001, 0x7ff00000], // signalling NaN
      [0x00000000, 0x7ff00000], // +infinity
      [0xffffffff, 0xffffffff], // 2^64 - 1, a NaN
      [0x00000000, 0x80000000], // -0
      [0x00000001, 0x00000000], // smallest denormal
      [0x12345678, 0x000fffff], // largest-exponent-zero denormal
      [0x00000000, 0x00000000],
    ];
    const shape: ChunkShape = [16, 8, 8, 1];
    const n = 16 * 8 * 8;
    const data = new Uint32Array(2 * n);
    for (let i = 0; i < n; i++) {
      // Left half: one value per 8^3 block (bits 0); right half: a mix (bits 4).
      const k = i % 16 < 8 ? (i >> 10) % 8 : (i * 7 + (i >> 4)) % 8;
      data[2 * i] = specials[k][0];
      data[2 * i + 1] = specials[k][1];
    }
    const bytes = encodeCompressedSegmentation(data, shape, [8, 8, 8], "uint64");
    // A fresh output, an 8-byte aligned one, and one at a 4-byte offset (word pairs).
    for (const into of [
      undefined,
      new Uint32Array(2 * n),
      new Uint32Array(2 * n + 1).subarray(1),
    ]) {
      const back = decodeCompressedSegmentation(bytes, shape, [8, 8, 8], "uint64", "k", into);
      expect(sameBytes(back, data)).toBe(true);
    }
  });

  it("the codec returns BigUint64Array for uint64 and keeps ids above 2^53", () => {
    const data = BigUint64Array.of(
      2n ** 60n + 1n,
      2n ** 53n + 1n,
      2n ** 64n - 1n,
      0n,
      5n,
      2n ** 60n + 1n,
    );
    const ctx = {
      dtype: "uint64" as const,
      shape: [3, 2, 1, 1] as const,
      blockSize: [2, 2, 1] as const,
    };
    const back = compressedSegmentationCodec.decode(
      compressedSegmentationCodec.encode(data, ctx),
      ctx,
    );
    expect(back).toBeInstanceOf(BigUint64Array);
    expect(back).toEqual(data);
  });
});

describe("compressed_segmentation on real data (FIB-25 64^3 cutout)", () => {
  const run = testIf(existsSync(FIB25), `${FIB25} not found (the shared FIB-25 cutout)`);

  run("round-trips with several block sizes and chunk subdivisions", () => {
    const all = new BigUint64Array(readAligned(FIB25).buffer);
    const full = new Uint32Array(all.buffer);
    for (const block of [
      [8, 8, 8],
      [4, 4, 2],
      [16, 16, 16],
      [3, 5, 7],
    ] as const) {
      for (const chunk of [64, 48, 27]) {
        for (let z0 = 0; z0 < 64; z0 += chunk)
          for (let y0 = 0; y0 < 64; y0 += chunk)
            for (let x0 = 0; x0 < 64; x0 += chunk) {
              const shape: ChunkShape = [
                Math.min(chunk, 64 - x0),
                Math.min(chunk, 64 - y0),
                Math.min(chunk, 64 - z0),
                1,
              ];
              const sub = new Uint32Array(2 * shape[0] * shape[1] * shape[2]);
              let o = 0;
              for (let z = 0; z < shape[2]; z++)
                for (let y = 0; y < shape[1]; y++) {
                  const from = 2 * (x0 + 64 * (y0 + y + 64 * (z0 + z)));
                  sub.set(full.subarray(from, from + 2 * shape[0]), o);
                  o += 2 * shape[0];
                }
              const bytes = encodeCompressedSegmentation(sub, shape, block, "uint64");
              const back = decodeCompressedSegmentation(bytes, shape, block, "uint64");
              if (!sameBytes(back, sub)) throw new Error(`mismatch: block ${block} chunk ${shape}`);
            }
      }
    }
  });

  run("encodes to the bytes compressedseg writes, and decodes them back", () => {
    // fib25_u64_8x8x8.cseg was written by seung-lab/compressedseg's CompressChannels
    // (the native anchor: `cseg enc_u64 --in fib25-64x64x64-uint64.raw
    // --shape 64,64,64 --write-enc fib25_u64_8x8x8.cseg`).
    const full = new Uint32Array(readAligned(FIB25).buffer);
    const expected = readAligned(join(FIXTURES, "fib25_u64_8x8x8.cseg"));
    const bytes = encodeCompressedSegmentation(full, [64, 64, 64, 1], [8, 8, 8], "uint64");
    expect(sameBytes(bytes, expected)).toBe(true);
    const back = decodeCompressedSegmentation(expected, [64, 64, 64, 1], [8, 8, 8], "uint64");
    expect(sameBytes(back, full)).toBe(true);
  });

  run("compresses the full cutout well below raw size with 8^3 blocks", () => {
    const full = new Uint32Array(readAligned(FIB25).buffer);
    const bytes = encodeCompressedSegmentation(full, [64, 64, 64, 1], [8, 8, 8], "uint64");
    // The spec's README reports ~0.018 of raw size for FIB-25 at 8 nm.
    expect(bytes.length / (64 ** 3 * 8)).toBeLessThan(0.05);
  });
});

describe("compressed_segmentation errors", () => {
  const shape: ChunkShape = [8, 8, 4, 1];
  const block = [4, 4, 4] as const;
  const data = new Uint32Array(8 * 8 * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 13;
  const good = encodeCompressedSegmentation(data, shape, block, "uint32");

  function decodeWords(words: Uint32Array): Uint32Array {
    return decodeCompressedSegmentation(
      new Uint8Array(words.buffer),
      shape,
      block,
      "uint32",
      "k/0-8_0-8_0-4",
    );
  }

  it("rejects a byte length that is not a whole number of words, naming the key", () => {
    expect(() =>
      decodeCompressedSegmentation(
        good.subarray(0, good.length - 1),
        shape,
        block,
        "uint32",
        "the/key",
      ),
    ).toThrow(/the\/key: .*not a whole number of 32-bit words/);
  });

  it("rejects a channel offset past the end", () => {
    const w = wordsOf(good.slice());
    w[0] = w.length;
    expect(() => decodeWords(w)).toThrow(ChunkDecodeError);
  });

  it("rejects invalid encoded bits", () => {
    const w = wordsOf(good.slice());
    w[1] = (w[1] & 0xffffff) | (3 << 24);
    expect(() => decodeWords(w)).toThrow(/invalid encoded bits 3/);
  });

  it("rejects a table index past the end of the data", () => {
    const w = wordsOf(good.slice());
    w[1] = (w.length - 2) | (w[1] & 0xff000000);
    expect(() => decodeWords(w)).toThrow(/table index .* past the end/);
  });

  it("rejects encoded values past the end", () => {
    const w = wordsOf(good.slice());
    w[2] = w.length;
    expect(() => decodeWords(w)).toThrow(/encoded values .* past the end/);
  });

  it("decodes input at an unaligned byte offset", () => {
    const shifted = new Uint8Array(good.length + 1);
    shifted.set(good, 1);
    expect(decodeCompressedSegmentation(shifted.subarray(1), shape, block, "uint32")).toEqual(data);
  });

  it("the codec rejects other data types and wrong lengths with ChunkEncodeError", () => {
    const ctx = { dtype: "uint32" as const, shape, key: "k" };
    expect(() => compressedSegmentationCodec.encode(new Uint16Array(256), ctx)).toThrow(
      ChunkEncodeError,
    );
    expect(() => compressedSegmentationCodec.encode(new Uint32Array(5), ctx)).toThrow(
      /k: .*needs 256/,
    );
    expect(() =>
      compressedSegmentationCodec.encode(data, { ...ctx, blockSize: [0, 4, 4] }),
    ).toThrow(/block size/);
    expect(() => compressedSegmentationCodec.encode(data, { ...ctx, dtype: "uint64" })).toThrow(
      ChunkEncodeError,
    );
  });
});

describe("compressed_segmentation decoding into a given buffer", () => {
  it("fills the caller's buffer and returns it", () => {
    const data = Uint32Array.from({ length: 6 * 5 * 4 }, (_, i) => (i % 7) * 1000);
    const shape: ChunkShape = [6, 5, 4, 1];
    const bytes = encodeCompressedSegmentation(data, shape, [4, 4, 4], "uint32");
    const into = new Uint32Array(data.length).fill(0xdeadbeef);
    expect(decodeCompressedSegmentation(bytes, shape, [4, 4, 4], "uint32", "k", into)).toBe(into);
    expect(into).toEqual(data);
    expect(() =>
      decodeCompressedSegmentation(bytes, shape, [4, 4, 4], "uint32", "k", new Uint32Array(3)),
    ).toThrow(RangeError);
  });
});

describe("compressed_segmentation encoder scratch reuse", () => {
  const shape: ChunkShape = [16, 12, 8, 1];
  const labelsOf = (seed: number, wpe: number) => {
    const a = new Uint32Array(16 * 12 * 8 * wpe);
    for (let i = 0; i < a.length; i++) a[i] = ((i >> 2) * seed) % (3 + seed);
    return a;
  };
  test.each(["uint32", "uint64"] as const)(
    "%s: back-to-back encodes of other chunks and geometries give each chunk's own bytes, results untouched",
    (dtype) => {
      const wpe = dtype === "uint64" ? 2 : 1;
      /** A chunk's bytes from a fresh scratch: another geometry is encoded first. */
      const alone = (data: Uint32Array, bs: [number, number, number], sh = shape) => {
        encodeCompressedSegmentation(labelsOf(1, 1), [4, 4, 4, 1], [2, 2, 2], "uint32");
        return Buffer.from(encodeCompressedSegmentation(data, sh, bs, dtype));
      };
      const wants = [5, 9, 13].map((seed) => alone(labelsOf(seed, wpe), [8, 8, 8]));
      const odd = alone(labelsOf(7, wpe), [4, 4, 2]);
      // One block, then the same labels met in the opposite order: no index
      // of the last call may carry over.
      const one: ChunkShape = [8, 8, 8, 1];
      const forward = Uint32Array.from({ length: 512 * wpe }, (_, i) => 1 + ((i >> 3) % 9));
      const backward = forward.slice().reverse();
      const wantBack = alone(backward, [8, 8, 8], one);
      const got = [5, 9, 13].map((seed) =>
        encodeCompressedSegmentation(labelsOf(seed, wpe), shape, [8, 8, 8], dtype),
      );
      const between = encodeCompressedSegmentation(labelsOf(7, wpe), shape, [4, 4, 2], dtype);
      const again = encodeCompressedSegmentation(labelsOf(5, wpe), shape, [8, 8, 8], dtype);
      encodeCompressedSegmentation(forward, one, [8, 8, 8], dtype);
      const gotBack = encodeCompressedSegmentation(backward, one, [8, 8, 8], dtype);
      got.forEach((g, i) => {
        expect(Buffer.from(g).equals(wants[i])).toBe(true);
      });
      expect(Buffer.from(between).equals(odd)).toBe(true);
      expect(Buffer.from(again).equals(wants[0])).toBe(true);
      expect(Buffer.from(gotBack).equals(wantBack)).toBe(true);
      const round = decodeCompressedSegmentation(got[1], shape, [8, 8, 8], dtype);
      expect(
        Array.from(new Uint32Array(round.buffer, round.byteOffset, 16 * 12 * 8 * wpe)),
      ).toEqual(Array.from(labelsOf(9, wpe)));
    },
  );
});
