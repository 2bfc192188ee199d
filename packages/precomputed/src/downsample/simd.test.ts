/**
 * The WebAssembly SIMD path of uint8 2x2x1 averaging (rows a multiple of 32
 * voxels, planes of 4 rows) against plain block means computed here, and
 * against the general integer path (taken for an array whose byte offset is
 * not a multiple of 4), which the numpy fixtures verify.
 */

import { downsampleAverage, downsampleMode } from "./downsample";
import { simdKernels } from "./simd";

function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** The same bytes at byte offset 1 of a fresh buffer (so the SWAR and SIMD paths are skipped). */
function misaligned(data: Uint8Array): Uint8Array {
  const buf = new Uint8Array(data.length + 1);
  buf.set(data, 1);
  return buf.subarray(1);
}

/** floor(mean) of the 2^k x 2^k blocks of a plane-major volume whose sizes 2^k divides. */
function blockMeans(data: Uint8Array, sx: number, sy: number, planes: number, k: number) {
  const b = 2 ** k;
  const ox = sx / b;
  const oy = sy / b;
  const out = new Uint8Array(ox * oy * planes);
  for (let p = 0; p < planes; p++)
    for (let y = 0; y < oy; y++)
      for (let x = 0; x < ox; x++) {
        let sum = 0;
        for (let yy = 0; yy < b; yy++)
          for (let xx = 0; xx < b; xx++) sum += data[(p * sy + y * b + yy) * sx + x * b + xx];
        out[(p * oy + y) * ox + x] = Math.floor(sum / (b * b));
      }
  return out;
}

describe("uint8 2x2x1 average, WebAssembly SIMD path", () => {
  test("is available on this runtime (Node >= 16.4 has WebAssembly SIMD)", () => {
    expect(simdKernels()).toBeDefined();
  });

  test("four mips equal the floored block means", () => {
    const [sx, sy, sz, sc] = [64, 32, 3, 2];
    const data = randomBytes(sx * sy * sz * sc, 7);
    const mips = downsampleAverage(data, [sx, sy, sz, sc], [2, 2, 1], 4);
    for (let k = 1; k <= 4; k++)
      expect(
        Buffer.from(mips[k - 1]).equals(Buffer.from(blockMeans(data, sx, sy, sz * sc, k))),
      ).toBe(true);
  });

  test.each([
    [[32, 4, 1, 1], 1],
    [[96, 36, 2, 1], 3],
    [[64, 16, 3, 2], 7],
    [[2048, 8, 2, 1], 5],
    // planes of 128 KiB: two calls of the kernel (32 planes, then 1)
    [[512, 256, 33, 1], 4],
    // later mips of 33 and 17 columns: vector steps plus an odd last column
    [[1056, 8, 1, 1], 6],
  ] as const)("shape %j, %i mips: same bytes as the general integer path", (shape, mips) => {
    const n = shape[0] * shape[1] * shape[2] * shape[3];
    const data = randomBytes(n, n);
    const fast = downsampleAverage(data, shape, [2, 2, 1], mips);
    const general = downsampleAverage(misaligned(data), shape, [2, 2, 1], mips);
    expect(fast).toHaveLength(mips);
    fast.forEach((m, i) => {
      expect(m.byteOffset).toBe(0);
      expect(m.byteLength).toBe(m.buffer.byteLength);
      expect(Buffer.from(m).equals(Buffer.from(general[i]))).toBe(true);
    });
  });

  test("all-255 input over 9 mips (the widest sums, truncated twice) gives 255 everywhere", () => {
    const shape = [1024, 512, 1, 1] as const;
    const data = new Uint8Array(1024 * 512).fill(255);
    const fast = downsampleAverage(data, shape, [2, 2, 1], 9);
    const general = downsampleAverage(misaligned(data), shape, [2, 2, 1], 9);
    fast.forEach((m, i) => {
      expect(m.every((v) => v === 255)).toBe(true);
      expect(Buffer.from(m).equals(Buffer.from(general[i]))).toBe(true);
    });
  });

  test("outputs do not share memory with each other or with the kernel", () => {
    const data = randomBytes(64 * 64 * 2, 3);
    const a = downsampleAverage(data, [64, 64, 2], [2, 2, 1], 2);
    const copy = a.map((m) => m.slice());
    downsampleAverage(randomBytes(64 * 64 * 2, 4), [64, 64, 2], [2, 2, 1], 2);
    expect(a[0].buffer).not.toBe(a[1].buffer);
    for (const [i, m] of a.entries())
      expect(Buffer.from(m).equals(Buffer.from(copy[i]))).toBe(true);
  });
});

/** COUNTLESS on one plane of 64-bit labels, stated plainly (edges repeat the last row/column). */
function countlessRef(v: BigUint64Array, sx: number, sy: number, planes: number): BigUint64Array {
  const ox = Math.ceil(sx / 2);
  const oy = Math.ceil(sy / 2);
  const out = new BigUint64Array(ox * oy * planes);
  for (let p = 0; p < planes; p++)
    for (let y = 0; y < oy; y++)
      for (let x = 0; x < ox; x++) {
        const at = (xx: number, yy: number) =>
          v[(p * sy + Math.min(yy, sy - 1)) * sx + Math.min(xx, sx - 1)];
        const [a, b, c, d] = [
          at(2 * x, 2 * y),
          at(2 * x + 1, 2 * y),
          at(2 * x, 2 * y + 1),
          at(2 * x + 1, 2 * y + 1),
        ];
        out[(p * oy + y) * ox + x] = a === b || a === c ? a : b === c ? b : d;
      }
  return out;
}

describe("uint64 2x2x1 mode, WebAssembly SIMD path", () => {
  // Few labels (many ties), high words that differ where low words agree.
  function labels(n: number, seed: number): BigUint64Array {
    const bytes = randomBytes(n, seed);
    const out = new BigUint64Array(n);
    for (let i = 0; i < n; i++) out[i] = BigInt(bytes[i] & 3) + (BigInt(bytes[i] >> 7) << 40n);
    return out;
  }

  test.each([
    [[64, 32, 3, 2], 5],
    [[12, 6, 2, 1], 3],
    [[20, 10, 1, 1], 2],
    // planes of 32 KiB: two calls of the kernel (128 planes, then 2)
    [[64, 64, 130, 1], 2],
  ] as const)(
    "shape %j, %i mips: every level equals COUNTLESS of the previous one",
    (shape, mips) => {
      const [sx, sy, sz, sc] = shape;
      const data = labels(sx * sy * sz * sc, sx * sy + sz);
      const got = downsampleMode(data, shape, [2, 2, 1], mips);
      let prev = data;
      let [w, h]: number[] = [sx, sy];
      for (let k = 0; k < mips; k++) {
        const want = countlessRef(prev, w, h, sz * sc);
        expect(got[k]).toBeInstanceOf(BigUint64Array);
        expect(Buffer.from(got[k].buffer, got[k].byteOffset, got[k].byteLength)).toEqual(
          Buffer.from(want.buffer),
        );
        prev = want;
        [w, h] = [Math.ceil(w / 2), Math.ceil(h / 2)];
      }
    },
  );
});

describe("uint32 2x2x1 mode, WebAssembly SIMD path", () => {
  test.each([
    [[64, 32, 3, 2], 5],
    [[24, 6, 2, 1], 3],
    [[16, 10, 1, 1], 2],
  ] as const)(
    "shape %j, %i mips: every level equals COUNTLESS of the previous one",
    (shape, mips) => {
      const [sx, sy, sz, sc] = shape;
      const bytes = randomBytes(sx * sy * sz * sc, sx + sy);
      const data = Uint32Array.from(bytes, (b) => (b & 3) * 0x10001);
      const got = downsampleMode(data, shape, [2, 2, 1], mips);
      let prev: BigUint64Array = BigUint64Array.from(data, (v) => BigInt(v));
      let [w, h]: number[] = [sx, sy];
      for (let k = 0; k < mips; k++) {
        const want = countlessRef(prev, w, h, sz * sc);
        expect(got[k]).toBeInstanceOf(Uint32Array);
        expect([...got[k]]).toEqual(Array.from(want, Number));
        prev = want;
        [w, h] = [Math.ceil(w / 2), Math.ceil(h / 2)];
      }
    },
  );
});
