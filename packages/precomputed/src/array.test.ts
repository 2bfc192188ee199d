import fc from "fast-check";
import { copyBox, fillBox, NdArray } from "./array";

test("get and set address voxels x fastest, then y, z, channel", () => {
  const a = NdArray.zeros("uint16", [3, 4, 5, 2]);
  a.set(2, 1, 3, 1, 77);
  expect(a.data[2 + 3 * 1 + 12 * 3 + 60 * 1]).toBe(77);
  expect(a.get(2, 1, 3, 1)).toBe(77);
  expect(a.stride).toEqual([1, 3, 12, 60]);
});

test("uint64 arrays hold bigints above 2^53", () => {
  const a = NdArray.zeros("uint64", [2, 2, 2]);
  a.set(1, 1, 1, 0, 2n ** 60n + 3n);
  expect(a.get(1, 1, 1)).toBe(2n ** 60n + 3n);
});

test("a shape that does not match the data is refused", () => {
  expect(() => NdArray.from(new Uint8Array(7), [2, 2, 2])).toThrow(/needs 8 elements/);
});

test("copyBox copies exactly the box, every channel, in both directions", () => {
  fc.assert(
    fc.property(
      fc.tuple(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
      ),
      fc.integer({ min: 1, max: 2 }),
      fc.integer({ min: 0, max: 1000 }),
      ([nx, ny, nz], channels, seed) => {
        const src = NdArray.zeros("float32", [nx + 2, ny + 1, nz + 3, channels]);
        for (let i = 0; i < src.data.length; i++) src.data[i] = i + seed;
        const dst = NdArray.zeros("float32", [nx + 1, ny + 2, nz, channels]);
        copyBox(src, [2, 1, 3], dst, [1, 2, 0], [nx, ny, nz]);
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

test("crop of whole planes and fillBox agree with voxel loops", () => {
  const a = NdArray.zeros("uint8", [4, 3, 5]);
  for (let i = 0; i < a.data.length; i++) a.data[i] = i;
  const c = a.crop([0, 0, 2], [4, 3, 2]);
  expect(Array.from(c.data as Uint8Array)).toEqual(
    Array.from((a.data as Uint8Array).subarray(24, 48)),
  );
  fillBox(a, [1, 1, 1], [2, 2, 2], 255);
  let n = 0;
  for (const v of a.data) if (v === 255) n++;
  expect(n).toBe(8);
  expect(a.get(2, 2, 2)).toBe(255);
  expect(a.get(0, 0, 0)).toBe(0);
});
