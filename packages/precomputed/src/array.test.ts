import fc from "fast-check";
import ndarray from "ndarray";
import ops from "ndarray-ops";
import {
  asFortran,
  channel,
  copyBox,
  crop,
  dataTypeOfInput,
  fillBox,
  fromTyped,
  type VoxelArray,
  voxelView,
  zeros,
} from "./array";
import { ArrayShapeError } from "./errors";

/** Every voxel of `a` read with scijs `get`, in Fortran order: the reference the copies must match. */
function voxels(a: VoxelArray): (number | bigint)[] {
  const [sx, sy, sz, sc] = a.shape.length === 3 ? [...a.shape, 1] : a.shape;
  const out: (number | bigint)[] = [];
  for (let c = 0; c < sc; c++)
    for (let z = 0; z < sz; z++)
      for (let y = 0; y < sy; y++)
        for (let x = 0; x < sx; x++)
          out.push(a.shape.length === 3 ? a.get(x, y, z) : a.get(x, y, z, c));
  return out;
}

test("zeros and fromTyped are scijs ndarrays [x, y, z, c] with Fortran strides", () => {
  const a = zeros("uint16", [3, 4, 5, 2]);
  expect(a.shape).toEqual([3, 4, 5, 2]);
  expect(a.stride).toEqual([1, 3, 12, 60]);
  expect(a.offset).toBe(0);
  expect(a.dtype).toBe("uint16");
  a.set(2, 1, 3, 1, 77);
  expect(a.data[2 + 3 * 1 + 12 * 3 + 60 * 1]).toBe(77);
  expect(a.get(2, 1, 3, 1)).toBe(77);
  const b = fromTyped(new Float32Array(24), [2, 3, 4]);
  expect(b.shape).toEqual([2, 3, 4, 1]);
  expect(b.stride).toEqual([1, 2, 6, 24]);
});

test("uint64 arrays are BigUint64Array, scijs calls them biguint64, get and set take bigints", () => {
  const a = zeros("uint64", [2, 2, 2]);
  expect(a.data).toBeInstanceOf(BigUint64Array);
  expect(a.dtype).toBe("biguint64");
  expect(dataTypeOfInput(a)).toBe("uint64");
  a.set(1, 1, 1, 0, (2n ** 60n + 3n) as unknown as number);
  expect(a.get(1, 1, 1, 0)).toBe(2n ** 60n + 3n);
  expect(zeros("int64", [1, 1, 1]).dtype).toBe("bigint64");
});

test("a shape that does not match the data is refused", () => {
  expect(() => fromTyped(new Uint8Array(7), [2, 2, 2])).toThrow(/needs 8 elements/);
  expect(() => fromTyped(new Uint8Array(4), [2, 2])).toThrow(ArrayShapeError);
});

test("views whose strides leave the data, and arrays of no voxel type, are refused", () => {
  const data = new Uint8Array(8);
  expect(() => voxelView({ data, shape: [2, 2, 2], stride: [1, 2, 5] })).toThrow(
    /address elements 0\.\.8, the data has 8/,
  );
  expect(() => voxelView({ data, shape: [2, 2, 2], offset: 1 })).toThrow(ArrayShapeError);
  expect(() => voxelView(ndarray(new Uint8ClampedArray(8), [2, 2, 2]) as never)).toThrow(
    /Uint8ClampedArray is not a voxel type/,
  );
  expect(() => voxelView({ data: [1, 2] as never, shape: [2, 1, 1] })).toThrow(
    /expected an ndarray over a typed array/,
  );
});

test("asFortran returns a contiguous input without copying", () => {
  const a = zeros("uint8", [4, 3, 2]);
  expect(asFortran(a).data).toBe(a.data);
  // A box of whole x-y planes starting at z = 1 is one run at an offset: a subarray.
  const planes = a.lo(0, 0, 1, 0);
  const f = asFortran(planes);
  expect(f.data.buffer).toBe(a.data.buffer);
  expect(f.data.byteOffset).toBe(12);
  expect(f.data.length).toBe(12);
  expect(f.offset).toBe(0);
});

test("asFortran copies any view to exactly what scijs get reads from it", () => {
  fc.assert(
    fc.property(
      fc.tuple(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 2 }),
      ),
      fc.constantFrom("lo", "hi", "step", "negstep", "transpose", "corder"),
      ([nx, ny, nz, nc], how) => {
        const base = fromTyped(
          Uint16Array.from({ length: nx * ny * nz * nc }, (_, i) => (i * 7919) % 65521),
          [nx, ny, nz, nc],
        );
        let v: VoxelArray;
        if (how === "lo") v = base.lo(nx > 1 ? 1 : 0, ny > 1 ? 1 : 0, 0, 0);
        else if (how === "hi") v = base.hi(Math.max(1, nx - 1), ny, Math.max(1, nz - 1), nc);
        else if (how === "step") v = base.step(2, 1, 2, 1);
        else if (how === "negstep") v = base.step(-1, -1, 1, 1);
        else if (how === "transpose") {
          // A cube transposed is again [x, y, z, c] shaped, with x striding.
          const t = base.transpose(1, 0, 2, 3);
          v = t;
        } else {
          const data = base.data.slice();
          v = ndarray(data, [nx, ny, nz, nc]); // C order: the last axis fastest
        }
        const f = asFortran(v);
        expect(f.stride).toEqual([
          1,
          f.shape[0],
          f.shape[0] * f.shape[1],
          f.shape[0] * f.shape[1] * f.shape[2],
        ]);
        expect(f.data.length).toBe(f.size);
        return JSON.stringify(voxels(f)) === JSON.stringify(voxels(v));
      },
    ),
  );
});

test("copyBox copies exactly the box, every channel, between any views", () => {
  fc.assert(
    fc.property(
      fc.tuple(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
      ),
      fc.integer({ min: 1, max: 2 }),
      fc.integer({ min: 0, max: 1000 }),
      fc.boolean(),
      ([nx, ny, nz], channels, seed, transposed) => {
        const src = zeros("float32", [nx + 2, ny + 1, nz + 3, channels]);
        for (let i = 0; i < src.data.length; i++) src.data[i] = i + seed;
        // The same voxels seen through a transpose: x strides, so rows copy element by element.
        const from = transposed
          ? fromTyped(src.data, src.shape).transpose(1, 0, 2, 3).transpose(1, 0, 2, 3)
          : src;
        const dst = zeros("float32", [nx + 1, ny + 2, nz, channels]);
        copyBox(from, [2, 1, 3], dst, [1, 2, 0], [nx, ny, nz]);
        for (let c = 0; c < channels; c++)
          for (let z = 0; z < dst.shape[2]; z++)
            for (let y = 0; y < dst.shape[1]; y++)
              for (let x = 0; x < dst.shape[0]; x++) {
                const inside = x >= 1 && y >= 2;
                const want = inside ? src.get(x - 1 + 2, y - 2 + 1, z + 3, c) : 0;
                if (dst.get(x, y, z, c) !== want) return false;
              }
        return true;
      },
    ),
  );
});

test("copyBox moves every row bit for bit, word-aligned or not, short or long, on any buffer", () => {
  const types = [Uint8Array, Uint16Array, Uint32Array, BigUint64Array, Float64Array] as const;
  fc.assert(
    fc.property(
      fc.constantFrom(...types),
      fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 500, max: 4200 })),
      fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 })),
      fc.integer({ min: 1, max: 2 }),
      fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 })),
      fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 7 })),
      fc.boolean(),
      (Type, nx, [ny, nz], channels, [sx0, dx0], [srcPad, dstPad], shared) => {
        const bpe = Type.BYTES_PER_ELEMENT;
        // Arrays that start `pad` elements into their buffer, so rows start on every alignment.
        const make = (shape: number[], pad: number) => {
          const n = shape[0] * shape[1] * shape[2] * shape[3];
          const bytes = (n + pad) * bpe;
          const buffer = (
            shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes)
          ) as ArrayBuffer;
          return fromTyped(new Type(buffer, pad * bpe, n), shape);
        };
        const src = make([nx + sx0, ny + 1, nz, channels], srcPad);
        const dst = make([nx + dx0 + 1, ny, nz + 1, channels], dstPad);
        // Random bytes: for float64 and uint64 these include NaN payloads, which must survive.
        const srcBytes = new Uint8Array(src.data.buffer, src.data.byteOffset, src.data.byteLength);
        for (let i = 0; i < srcBytes.length; i++) srcBytes[i] = (i * 151 + 7) & 255;
        const dstBytes = new Uint8Array(dst.data.buffer, dst.data.byteOffset, dst.data.byteLength);
        dstBytes.fill(0xab);
        const want = dstBytes.slice();
        const [, ssy, ssz, ssc] = src.stride;
        const [, dsy, dsz, dsc] = dst.stride;
        for (let c = 0; c < channels; c++)
          for (let z = 0; z < nz; z++)
            for (let y = 0; y < ny; y++) {
              const so = (sx0 + ssy * (y + 1) + ssz * z + ssc * c) * bpe;
              const dof = (dx0 + dsy * y + dsz * (z + 1) + dsc * c) * bpe;
              want.set(srcBytes.subarray(so, so + nx * bpe), dof);
            }
        copyBox(src, [sx0, 1, 0], dst, [dx0, 0, 1], [nx, ny, nz]);
        return Buffer.compare(Buffer.from(dstBytes), Buffer.from(want)) === 0;
      },
    ),
    { numRuns: 300 },
  );
});

test("copyBox into a strided destination writes only the view's voxels", () => {
  const big = zeros("uint8", [6, 4, 2]);
  const src = fromTyped(
    Uint8Array.from({ length: 3 * 4 * 2 }, (_, i) => i + 1),
    [3, 4, 2],
  );
  copyBox(src, [0, 0, 0], big.step(2, 1, 1, 1), [0, 0, 0], [3, 4, 2]);
  expect(voxels(big.step(2, 1, 1, 1))).toEqual(voxels(src));
  expect(ops.sum(big.lo(1, 0, 0, 0).step(2, 1, 1, 1))).toBe(0);
});

test("crop of whole planes and fillBox agree with voxel loops", () => {
  const a = zeros("uint8", [4, 3, 5]);
  for (let i = 0; i < a.data.length; i++) a.data[i] = i;
  const c = crop(a, [0, 0, 2], [4, 3, 2]);
  expect(Array.from(c.data as Uint8Array)).toEqual(
    Array.from((a.data as Uint8Array).subarray(24, 48)),
  );
  fillBox(a, [1, 1, 1], [2, 2, 2], 255);
  let n = 0;
  for (const v of a.data) if (v === 255) n++;
  expect(n).toBe(8);
  expect(a.get(2, 2, 2, 0)).toBe(255);
  expect(a.get(0, 0, 0, 0)).toBe(0);
});

test("fillBox fills a strided view, bigints included", () => {
  const a = zeros("uint64", [4, 2, 1]);
  fillBox(a.step(2, 1, 1, 1), [0, 0, 0], [2, 2, 1], 2n ** 63n);
  expect(Array.from(a.data as BigUint64Array)).toEqual([
    2n ** 63n,
    0n,
    2n ** 63n,
    0n,
    2n ** 63n,
    0n,
    2n ** 63n,
    0n,
  ]);
});

test("channel is a contiguous [x, y, z, 1] array sharing the data", () => {
  const a = fromTyped(
    Uint8Array.from({ length: 2 * 2 * 1 * 3 }, (_, i) => i),
    [2, 2, 1, 3],
  );
  const c1 = channel(a, 1);
  expect(c1.shape).toEqual([2, 2, 1, 1]);
  expect(Array.from(c1.data)).toEqual([4, 5, 6, 7]);
  expect(c1.data.buffer).toBe(a.data.buffer);
  expect(() => channel(a, 3)).toThrow(/channel 3 of an array with 3 channel/);
});
