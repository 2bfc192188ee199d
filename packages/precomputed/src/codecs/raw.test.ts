import fc from "fast-check";
import { allocTyped, DATA_TYPES, type DataType } from "../dtypes";
import { ChunkDecodeError, ChunkEncodeError } from "../errors";
import { decodeRaw, encodeRaw } from "./raw";
import type { ChunkShape } from "./types";

const shape: ChunkShape = [3, 2, 2, 2];

function sample(dtype: DataType): ReturnType<typeof allocTyped> {
  const a = allocTyped(dtype, 24);
  for (let i = 0; i < 24; i++) {
    const v = i * 3 + 1;
    if (a instanceof BigUint64Array || a instanceof BigInt64Array) a[i] = BigInt(v) << 40n;
    else (a as Float64Array)[i] = dtype.startsWith("int") ? -v : v;
  }
  return a;
}

describe("raw codec", () => {
  it.each(DATA_TYPES)("round-trips %s", (dtype) => {
    const data = sample(dtype);
    const back = decodeRaw(encodeRaw(data, { dtype, shape }), { dtype, shape });
    expect(back.constructor).toBe(data.constructor);
    expect(back).toEqual(data);
  });

  it("stores little-endian, x fastest, then y, z, channel", () => {
    const data = Uint16Array.from({ length: 24 }, (_, i) => 0x0100 + i);
    const bytes = encodeRaw(data, { dtype: "uint16", shape });
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x00, 0x01, 0x01, 0x01]);
    expect(bytes.length).toBe(48);
  });

  it("encodes and decodes without copying when aligned", () => {
    const data = sample("uint32") as Uint32Array;
    const bytes = encodeRaw(data, { dtype: "uint32", shape });
    expect(bytes.buffer).toBe(data.buffer);
    const back = decodeRaw(bytes, { dtype: "uint32", shape });
    expect(back.buffer).toBe(data.buffer);
  });

  it("copies unaligned bytes instead of failing", () => {
    const data = sample("float64");
    const bytes = encodeRaw(data, { dtype: "float64", shape });
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    expect(decodeRaw(shifted.subarray(3), { dtype: "float64", shape })).toEqual(data);
  });

  it("rejects a byte length that does not match the shape, naming the key", () => {
    expect(() =>
      decodeRaw(new Uint8Array(47), { dtype: "uint16", shape, key: "img/4_4_40/0-3_0-2_0-2" }),
    ).toThrow(ChunkDecodeError);
    expect(() =>
      decodeRaw(new Uint8Array(47), { dtype: "uint16", shape, key: "img/4_4_40/0-3_0-2_0-2" }),
    ).toThrow(/img\/4_4_40\/0-3_0-2_0-2: raw chunk is 47 bytes, .* needs 48/);
  });

  it("rejects voxels of the wrong count or type", () => {
    expect(() => encodeRaw(new Uint16Array(23), { dtype: "uint16", shape })).toThrow(
      ChunkEncodeError,
    );
    expect(() => encodeRaw(new Uint8Array(24), { dtype: "uint16", shape })).toThrow(
      ChunkEncodeError,
    );
  });
});

describe("raw codec (property)", () => {
  it("decode(encode(x)) == x for every data type and shape", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...DATA_TYPES),
        fc.tuple(
          fc.integer({ min: 0, max: 7 }),
          fc.integer({ min: 0, max: 5 }),
          fc.integer({ min: 0, max: 4 }),
          fc.integer({ min: 1, max: 3 }),
        ),
        fc.integer(),
        (dtype, shape, seed) => {
          const n = shape[0] * shape[1] * shape[2] * shape[3];
          const data = allocTyped(dtype, n);
          const bytes = new Uint8Array(data.buffer);
          let s = seed >>> 0;
          for (let i = 0; i < bytes.length; i++) {
            s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
            bytes[i] = s >>> 24;
          }
          const ctx = { dtype, shape };
          const back = decodeRaw(encodeRaw(data, ctx).slice(), ctx);
          expect(Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(bytes)).toBe(
            true,
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
