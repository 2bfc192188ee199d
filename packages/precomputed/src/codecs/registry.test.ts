import { ChunkDecodeError, ChunkEncodeError, UnknownEncodingError } from "../errors";
import { decodeChunk, encodeChunk, getCodec, knownEncodings, registerCodec } from "./registry";

describe("codec registry", () => {
  it("has the built-in encodings registered at import", () => {
    expect(knownEncodings()).toEqual(
      expect.arrayContaining(["compressed_segmentation", "jpeg", "png", "raw"]),
    );
  });

  it("looks encodings up case-insensitively, as info files allow", () => {
    expect(getCodec("RAW").encoding).toBe("raw");
    expect(getCodec("Compressed_Segmentation").encoding).toBe("compressed_segmentation");
  });

  it("names the known encodings when one is unknown", () => {
    expect(() => getCodec("kempressed")).toThrow(UnknownEncodingError);
    expect(() => getCodec("kempressed")).toThrow(
      /"kempressed".*compressed_segmentation, compresso, crackle, jpeg, png, raw/,
    );
  });

  it("encodes and decodes through the registry", () => {
    const data = Uint32Array.from({ length: 4 * 4 * 2 }, (_, i) => (i < 16 ? 7 : 9));
    const ctx = {
      dtype: "uint32" as const,
      shape: [4, 4, 2, 1] as const,
      blockSize: [2, 2, 2] as const,
    };
    const bytes = encodeChunk(data, "compressed_segmentation", ctx);
    expect(decodeChunk(bytes, "compressed_segmentation", ctx)).toEqual(data);
  });

  it("refuses a data type the codec does not store", () => {
    expect(() =>
      encodeChunk(new Float32Array(8), "jpeg", { dtype: "float32", shape: [2, 2, 2, 1], key: "k" }),
    ).toThrow(ChunkEncodeError);
    expect(() =>
      encodeChunk(new Float32Array(8), "jpeg", { dtype: "float32", shape: [2, 2, 2, 1], key: "k" }),
    ).toThrow(/k: encoding jpeg does not store float32/);
  });

  it("decode errors name the chunk key", () => {
    expect(() =>
      decodeChunk(new Uint8Array(3), "png", { dtype: "uint8", shape: [2, 2, 2, 1], key: "a/b/c" }),
    ).toThrow(ChunkDecodeError);
    expect(() =>
      decodeChunk(new Uint8Array(3), "png", { dtype: "uint8", shape: [2, 2, 2, 1], key: "a/b/c" }),
    ).toThrow(/^a\/b\/c: /);
  });

  it("accepts user codecs", () => {
    registerCodec({
      encoding: "test_invert",
      dataTypes: ["uint8"],
      encode: (d) => (d as Uint8Array).map((v) => 255 - v),
      decode: (b) => b.map((v) => 255 - v),
    });
    const ctx = { dtype: "uint8" as const, shape: [2, 1, 1, 1] as const };
    expect(Array.from(encodeChunk(Uint8Array.of(1, 2), "test_invert", ctx))).toEqual([254, 253]);
    expect(knownEncodings()).toContain("test_invert");
  });
});
