import { randomBytes } from "node:crypto";
import { brotliCompressSync, gunzipSync, gzipSync } from "node:zlib";
import { compressSync, decompressInto } from "./compression";
import { DecompressionError, DecompressionLimitError } from "./errors";
import { gunzipInto, gzipReused, ZlibOutputFull, ZlibStreamError, zlibReuse } from "./zlib-reuse";

/** Bytes that compress some, not all: a ramp with noise. */
function mixed(n: number, seed: number): Uint8Array {
  const a = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = (i >> 6) + (s >>> 29);
  }
  return a;
}

test("zlib streams can be reused on this Node (else every call takes the public path)", () => {
  expect(zlibReuse).toBe(true);
});

test("gzipReused writes zlib.gzipSync's bytes at every level, sizes from empty to incompressible", () => {
  const inputs = [
    new Uint8Array(0),
    mixed(1, 1),
    mixed(70_000, 2),
    randomBytes(300_000),
    mixed(1 << 20, 3),
  ];
  for (const level of [1, 6, 9])
    for (const data of inputs) {
      const want = gzipSync(data, { level });
      const got = gzipReused(data, level);
      expect(Buffer.from(got).equals(want)).toBe(true);
      expect(got.buffer.byteLength).toBe(got.byteLength);
    }
});

test("gzipReused of a prefix of the last input is still gzipSync's bytes (no window kept between calls)", () => {
  // A kept deflate stream would see the previous input's bytes past this
  // one's end while searching matches, and choose others than a fresh one.
  let mismatches = 0;
  for (let t = 0; t < 20; t++) {
    const long = new Uint8Array(65536);
    let s = t + 1;
    for (let i = 0; i < long.length; i++) {
      if (i % 97 === 0) s = (s * 1103515245 + 12345) >>> 0;
      long[i] = (s >>> (i % 24)) & 7;
    }
    gzipReused(long, 6);
    for (const n of [300, 2048, 5000]) {
      const part = long.slice(0, n);
      if (!Buffer.from(gzipReused(part, 6)).equals(gzipSync(part, { level: 6 }))) mismatches++;
    }
  }
  expect(mismatches).toBe(0);
});

test("a gzipReused result is never overwritten by later calls (it owns its memory)", () => {
  const a = gzipReused(mixed(200_000, 4), 6);
  const copy = a.slice();
  gzipReused(mixed(200_000, 5), 6);
  gzipReused(randomBytes(50_000), 1);
  expect(Buffer.from(a).equals(Buffer.from(copy))).toBe(true);
  expect(Buffer.from(compressSync(mixed(1000, 6), "gzip")).equals(gzipSync(mixed(1000, 6)))).toBe(
    true,
  );
});

test("gunzipInto inflates into the buffer given, whole members in a row as zlib.gunzipSync does", () => {
  const data = mixed(1 << 20, 7);
  const out = new Uint8Array(1 << 20);
  // Exactly full: the output ends where the buffer does.
  expect(gunzipInto(gzipSync(data), out)).toBe(data.byteLength);
  expect(Buffer.from(out).equals(Buffer.from(data))).toBe(true);
  const two = Buffer.concat([gzipSync(Buffer.from("ab")), gzipSync(Buffer.from("cde"))]);
  expect(gunzipInto(two, out)).toBe(5);
  expect(Buffer.from(out.subarray(0, 5)).toString()).toBe("abcde");
  expect(gunzipInto(gzipSync(new Uint8Array(0)), out)).toBe(0);
});

test("gunzipInto stops at the end of the buffer, and the stream works on after every failure", () => {
  const data = mixed(100_000, 8);
  const gz = gzipSync(data);
  const out = new Uint8Array(100_000);
  expect(() => gunzipInto(gz, new Uint8Array(99_999))).toThrow(ZlibOutputFull);
  expect(gunzipInto(gz, out)).toBe(100_000);
  const cut = gz.subarray(0, gz.byteLength >> 1);
  expect(() => gunzipSync(cut)).toThrow("unexpected end of file");
  expect(() => gunzipInto(cut, out)).toThrow(
    new ZlibStreamError("unexpected end of file", "Z_BUF_ERROR"),
  );
  out.fill(0);
  expect(gunzipInto(gz, out)).toBe(100_000);
  expect(Buffer.from(out).equals(Buffer.from(data))).toBe(true);
  const bad = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff]);
  expect(() => gunzipInto(bad, out)).toThrow(ZlibStreamError);
  expect(() => gunzipInto(Buffer.from("hello"), out)).toThrow("incorrect header check");
  expect(gunzipInto(gz, out)).toBe(100_000);
});

test("decompressInto returns a view of the buffer for gzip, new memory for brotli, and typed errors", () => {
  const data = mixed(50_000, 9);
  const out = new Uint8Array(60_000);
  const got = decompressInto(gzipSync(data), "gzip", out);
  expect(got.buffer).toBe(out.buffer);
  expect(Buffer.from(got).equals(Buffer.from(data))).toBe(true);
  const br = decompressInto(brotliCompressSync(data), "br", out);
  expect(br.buffer).not.toBe(out.buffer);
  expect(Buffer.from(br).equals(Buffer.from(data))).toBe(true);
  const small = new Uint8Array(49_999);
  for (const codec of ["gzip", "br"] as const) {
    const packed = codec === "gzip" ? gzipSync(data) : brotliCompressSync(data);
    const err = (() => {
      try {
        decompressInto(packed, codec, small, { url: "file:///l", key: "c" });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DecompressionLimitError);
    expect((err as DecompressionLimitError).message).toContain("c under file:///l");
  }
  expect(() => decompressInto(Buffer.from("nope"), "gzip", out, { url: "u", key: "k" })).toThrow(
    DecompressionError,
  );
});

test("compressSync into memory that fits writes the same bytes there and returns a view of it; longer results come in new memory", () => {
  const data = mixed(300_000, 5);
  for (const codec of ["gzip", "br"] as const) {
    const want = compressSync(data, codec, 6);
    const into = new Uint8Array(new SharedArrayBuffer(want.byteLength + 100));
    const got = compressSync(data, codec, 6, into);
    expect(got.buffer).toBe(into.buffer);
    expect(got.byteOffset).toBe(0);
    expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
    const short = new Uint8Array(new SharedArrayBuffer(want.byteLength - 1));
    const fresh = compressSync(data, codec, 6, short);
    expect(fresh.buffer).not.toBe(short.buffer);
    expect(fresh.buffer.byteLength).toBe(fresh.byteLength);
    expect(Buffer.from(fresh).equals(Buffer.from(want))).toBe(true);
  }
  expect(
    Buffer.from(compressSync(data, "gzip", 1, new Uint8Array(1 << 20))).equals(
      gzipSync(data, { level: 1 }),
    ),
  ).toBe(true);
});
