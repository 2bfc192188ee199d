import { readFileSync } from "node:fs";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import fc from "fast-check";
import { ChunkDecodeError, ChunkEncodeError } from "../errors";
import { decodePng, pngCodec } from "./png";
import type { ChunkShape } from "./types";

const DIR = join(__dirname, "fixtures", "png");
const manifest: {
  name: string;
  dtype: "uint8" | "uint16";
  shape: [number, number, number, number];
}[] = JSON.parse(readFileSync(join(DIR, "manifest.json"), "utf8"));

function read(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(DIR, name))).slice();
}

describe("png decoding of independent fixtures (make_png_fixtures.py)", () => {
  it.each(manifest.map((m) => [m.name, m] as const))("%s", (_name, m) => {
    const bytes = read(`${m.name}.png`);
    const raw = read(`${m.name}.in`);
    const expected = m.dtype === "uint16" ? new Uint16Array(raw.buffer) : raw;
    const got = decodePng(bytes, m.shape, m.dtype, m.name);
    expect(got.constructor).toBe(expected.constructor);
    expect(Array.from(got)).toEqual(Array.from(expected));
  });
});

describe("png codec", () => {
  it("decode(encode(x)) == x for uint8/uint16, 1..4 channels, any shape", () => {
    fc.assert(
      fc.property(
        fc.tuple(
          fc.integer({ min: 1, max: 9 }),
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 1, max: 4 }),
        ),
        fc.boolean(),
        fc.integer({ min: 0, max: 9 }),
        fc.integer(),
        (shape, wide, level, seed) => {
          const n = shape[0] * shape[1] * shape[2] * shape[3];
          const data = wide ? new Uint16Array(n) : new Uint8Array(n);
          let s = seed >>> 0;
          for (let i = 0; i < n; i++) {
            s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
            data[i] = i % 3 === 0 ? s >>> 16 : data[Math.max(0, i - 1)];
          }
          const ctx = {
            dtype: wide ? ("uint16" as const) : ("uint8" as const),
            shape,
            quality: level,
          };
          const back = pngCodec.decode(pngCodec.encode(data, ctx), ctx);
          expect(back).toEqual(data);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("writes width sx, height sy*sz, one channel per sample, 16-bit big-endian", () => {
    const shape: ChunkShape = [3, 2, 2, 2];
    const data = Uint16Array.from({ length: 24 }, (_, i) => 0x0102 * (i + 1));
    const png = pngCodec.encode(data, { dtype: "uint16", shape });
    const view = new DataView(png.buffer, png.byteOffset);
    expect(String.fromCharCode(...png.subarray(12, 16))).toBe("IHDR");
    expect([view.getUint32(16), view.getUint32(20), png[24], png[25]]).toEqual([3, 4, 16, 4]);
    // First pixel after inflating: filter byte, then channel 0 and channel 1 samples (big-endian).
    const idatLength = view.getUint32(33);
    const rows = inflateSync(png.subarray(41, 41 + idatLength));
    expect(rows.length).toBe(4 * (1 + 3 * 2 * 2));
    // Undo the first row's filter (no previous row: Up is None, Paeth is Sub).
    const f = rows[0];
    const row = Array.from(rows.subarray(1, 13));
    for (let i = 4; i < row.length; i++)
      if (f === 1 || f === 4) row[i] = (row[i] + row[i - 4]) & 0xff;
      else if (f === 3) row[i] = (row[i] + (row[i - 4] >> 1)) & 0xff;
    // Pixel 0: channel 0 = voxel 0 (0x0102), channel 1 = voxel 12 (0x0d1a), big-endian.
    expect(row.slice(0, 4)).toEqual([0x01, 0x02, 0x0d, 0x1a]);
  });

  it("accepts any image size with the chunk's pixel count", () => {
    const shape: ChunkShape = [4, 3, 2, 1];
    const data = Uint8Array.from({ length: 24 }, (_, i) => i * 10);
    // Encode as a 12x2 image: the rows concatenated are still x fastest.
    const png = pngCodec.encode(data, { dtype: "uint8", shape: [12, 1, 2, 1] });
    expect(pngCodec.decode(png, { dtype: "uint8", shape })).toEqual(data);
  });

  it("rejects wrong pixel count, channels and bit depth", () => {
    const png = pngCodec.encode(new Uint8Array(24), { dtype: "uint8", shape: [4, 3, 2, 1] });
    expect(() => pngCodec.decode(png, { dtype: "uint8", shape: [4, 3, 3, 1], key: "k" })).toThrow(
      /k: png: image is 4x6 pixels/,
    );
    expect(() => pngCodec.decode(png, { dtype: "uint8", shape: [4, 3, 2, 3] })).toThrow(
      /1 channels, chunk has 3/,
    );
    expect(() => pngCodec.decode(png, { dtype: "uint16", shape: [4, 3, 2, 1] })).toThrow(
      /8-bit image cannot hold uint16/,
    );
  });

  it("rejects a corrupted CRC and truncated data", () => {
    const png = pngCodec.encode(new Uint8Array(24).fill(3), {
      dtype: "uint8",
      shape: [4, 3, 2, 1],
    });
    const bad = png.slice();
    bad[20] ^= 1;
    expect(() => pngCodec.decode(bad, { dtype: "uint8", shape: [4, 3, 2, 1] })).toThrow(/CRC/);
    expect(() =>
      pngCodec.decode(png.subarray(0, png.length - 12), { dtype: "uint8", shape: [4, 3, 2, 1] }),
    ).toThrow(ChunkDecodeError);
  });

  it("refuses data types, channel counts and levels it cannot store", () => {
    expect(() =>
      pngCodec.encode(new Uint32Array(8), { dtype: "uint32", shape: [2, 2, 2, 1] }),
    ).toThrow(ChunkEncodeError);
    expect(() =>
      pngCodec.encode(new Uint8Array(40), { dtype: "uint8", shape: [2, 2, 2, 5] }),
    ).toThrow(/1 to 4 channels/);
    expect(() =>
      pngCodec.encode(new Uint8Array(8), { dtype: "uint8", shape: [2, 2, 2, 1], quality: 11 }),
    ).toThrow(/level/);
  });
});
