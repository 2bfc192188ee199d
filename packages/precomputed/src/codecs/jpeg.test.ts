import fc from "fast-check";
import * as jpegJs from "jpeg-js";
import { ChunkDecodeError, ChunkEncodeError } from "../errors";
import { jpegCodec } from "./jpeg";
import { encodeGrayJpeg } from "./jpeg_gray_encoder";
import type { ChunkShape } from "./types";

/** A smooth test image (JPEG's good case), planar channels. */
function smooth(shape: ChunkShape): Uint8Array {
  const [sx, sy, sz, nc] = shape;
  const n = sx * sy * sz;
  const out = new Uint8Array(n * nc);
  for (let c = 0; c < nc; c++)
    for (let i = 0; i < n; i++) {
      const x = i % sx;
      const y = Math.floor(i / sx) % sy;
      const z = Math.floor(i / (sx * sy));
      out[c * n + i] = Math.round(
        128 + 50 * Math.sin(x / 5 + c) * Math.cos(y / 7) + 2 * z - 20 * c,
      );
    }
  return out;
}

function errors(a: Uint8Array, b: Uint8Array): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]);
    max = Math.max(max, e);
    sum += e;
  }
  return { max, mean: sum / a.length };
}

/** Component count from the SOF0 marker of a baseline JPEG. */
function components(jpeg: Uint8Array): number {
  for (let i = 2; i < jpeg.length - 9; i++)
    if (jpeg[i] === 0xff && jpeg[i + 1] === 0xc0) return jpeg[i + 9];
  return -1;
}

describe("jpeg codec", () => {
  it.each([[[32, 32, 4, 1]], [[17, 9, 5, 1]], [[16, 16, 2, 3]], [[13, 7, 3, 3]]] as [ChunkShape][])(
    "round-trips %j within JPEG error bounds",
    (shape) => {
      const data = smooth(shape);
      const ctx = { dtype: "uint8" as const, shape, quality: 90 };
      const back = jpegCodec.decode(jpegCodec.encode(data, ctx), ctx);
      expect(back).toBeInstanceOf(Uint8Array);
      expect(back.length).toBe(data.length);
      const e = errors(data, back as Uint8Array);
      expect(e.mean).toBeLessThan(3);
      expect(e.max).toBeLessThan(shape[3] === 1 ? 16 : 48);
    },
  );

  it("writes 1-component JPEGs for 1 channel and 3-component for 3, width sx by sy*sz", () => {
    const one = jpegCodec.encode(smooth([8, 4, 2, 1]), { dtype: "uint8", shape: [8, 4, 2, 1] });
    const three = jpegCodec.encode(smooth([8, 4, 2, 3]), { dtype: "uint8", shape: [8, 4, 2, 3] });
    expect(components(one)).toBe(1);
    // jpeg-js (an independent decoder) reads our grayscale JPEG at the expected size.
    const img = jpegJs.decode(one, { useTArray: true });
    expect([img.width, img.height]).toEqual([8, 8]);
    expect(jpegJs.decode(three, { useTArray: true }).height).toBe(8);
  });

  it("higher quality gives smaller errors", () => {
    const shape: ChunkShape = [32, 32, 2, 1];
    const data = smooth(shape);
    const err = (quality: number) => {
      const ctx = { dtype: "uint8" as const, shape, quality };
      return errors(data, jpegCodec.decode(jpegCodec.encode(data, ctx), ctx) as Uint8Array).mean;
    };
    expect(err(95)).toBeLessThan(err(20));
  });

  it("decodes images of other orientations with the same pixel count (rows concatenated)", () => {
    const shape: ChunkShape = [8, 4, 4, 1];
    const data = smooth(shape);
    // Width sx*sy, height sz: the spec allows any size whose rows, concatenated, are x fastest.
    const wide = encodeGrayJpeg(data, 32, 4, 95);
    const e = errors(data, jpegCodec.decode(wide, { dtype: "uint8", shape }) as Uint8Array);
    expect(e.mean).toBeLessThan(3);
  });

  it("reads a 3-component image into a 1-channel chunk from its first component", () => {
    const shape: ChunkShape = [16, 4, 2, 1];
    const gray = smooth(shape);
    const rgb = new Uint8Array(3 * gray.length);
    rgb.set(gray, 0);
    rgb.set(gray, gray.length);
    rgb.set(gray, 2 * gray.length);
    const jpeg = jpegCodec.encode(rgb, { dtype: "uint8", shape: [16, 4, 2, 3], quality: 95 });
    const back = jpegCodec.decode(jpeg, { dtype: "uint8", shape }) as Uint8Array;
    expect(errors(gray, back).mean).toBeLessThan(4);
  });

  it("rejects images of the wrong size or component count, naming the key", () => {
    const jpeg = jpegCodec.encode(smooth([8, 4, 2, 1]), { dtype: "uint8", shape: [8, 4, 2, 1] });
    expect(() =>
      jpegCodec.decode(jpeg, { dtype: "uint8", shape: [8, 4, 3, 1], key: "k/1" }),
    ).toThrow(/k\/1: jpeg: image is 8x8 pixels/);
    expect(() => jpegCodec.decode(jpeg, { dtype: "uint8", shape: [8, 4, 2, 3] })).toThrow(
      ChunkDecodeError,
    );
    expect(() =>
      jpegCodec.decode(Uint8Array.of(1, 2, 3), { dtype: "uint8", shape: [8, 4, 2, 1] }),
    ).toThrow(/not a JPEG/);
  });

  it("refuses non-uint8 data, 2 channels and bad quality", () => {
    expect(() =>
      jpegCodec.encode(new Uint16Array(8), { dtype: "uint16", shape: [2, 2, 2, 1] }),
    ).toThrow(ChunkEncodeError);
    expect(() =>
      jpegCodec.encode(new Uint8Array(16), { dtype: "uint8", shape: [2, 2, 2, 2] }),
    ).toThrow(/1 or 3 channels/);
    expect(() =>
      jpegCodec.encode(new Uint8Array(8), { dtype: "uint8", shape: [2, 2, 2, 1], quality: 0 }),
    ).toThrow(/quality/);
  });
});

describe("jpeg codec (property)", () => {
  it("returns a uint8 chunk of the right length within error bounds for any shape", () => {
    fc.assert(
      fc.property(
        fc.tuple(
          fc.integer({ min: 1, max: 24 }),
          fc.integer({ min: 1, max: 9 }),
          fc.integer({ min: 1, max: 4 }),
          fc.constantFrom(1, 3),
        ),
        (shape) => {
          const data = smooth(shape);
          const ctx = { dtype: "uint8" as const, shape, quality: 92 };
          const back = jpegCodec.decode(jpegCodec.encode(data, ctx), ctx);
          expect(back).toBeInstanceOf(Uint8Array);
          expect(back.length).toBe(data.length);
          expect(errors(data, back as Uint8Array).mean).toBeLessThan(6);
        },
      ),
      { numRuns: 40 },
    );
  });
});
