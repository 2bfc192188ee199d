import { DownsampleError } from "./common";
import {
  downsample,
  downsampleAverage,
  downsampleInto,
  downsampleMax,
  downsampleMin,
  downsampleMode,
  downsampleStriding,
} from "./downsample";

/** A 2x2x1 block `a b / c d` (a at x=0,y=0; b at x=1; c at y=1). */
const block = (a: number, b: number, c: number, d: number) => new Uint32Array([a, b, c, d]);

describe("mode pooling 2x2x1 (COUNTLESS)", () => {
  test.each([
    ["a == b picks a", block(1, 1, 2, 2), 1],
    ["a == c picks a", block(1, 2, 1, 2), 1],
    ["b == c picks b", block(1, 2, 2, 3), 2],
    ["all different picks d", block(1, 2, 3, 4), 4],
    ["c == d (no rule) picks d", block(1, 2, 3, 3), 3],
    ["a == d only picks d", block(7, 2, 3, 7), 7],
  ])("%s", (_n, data, want) => {
    expect(downsampleMode(data, [2, 2, 1], [2, 2, 1], 1)[0]).toEqual(new Uint32Array([want]));
  });

  test("odd edges keep the first voxel of each cut block", () => {
    // 3x3: right column and bottom row are cut blocks.
    const data = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const [m] = downsampleMode(data, [3, 3, 1], [2, 2, 1], 1);
    expect([...m]).toEqual([5, 3, 7, 9]);
  });

  test("sparse mode lets a lone label beat background", () => {
    const data = block(0, 0, 0, 5);
    expect(downsampleMode(data, [2, 2, 1], [2, 2, 1], 1)[0][0]).toBe(0);
    expect(downsampleMode(data, [2, 2, 1], [2, 2, 1], 1, { sparse: true })[0][0]).toBe(5);
  });

  test("uint64 labels above 2^53 sharing a low word stay distinct", () => {
    const big = 2n ** 53n + 1n;
    const data = new BigUint64Array([big, 1n, big, 2n ** 32n + 1n]);
    const [m] = downsampleMode(data, [2, 2, 1], [2, 2, 1], 1);
    expect(m).toBeInstanceOf(BigUint64Array);
    expect(m[0]).toBe(big);
    const [n] = downsampleMode(
      new BigUint64Array([1n, big, 2n ** 63n + 1n, 2n ** 64n - 1n]),
      [2, 2, 1],
      [2, 2, 1],
      1,
    );
    expect(n[0]).toBe(2n ** 64n - 1n);
  });

  test("a uint64 subarray is read from its own offset", () => {
    const backing = new BigUint64Array([9n, 2n ** 60n, 2n ** 60n, 3n, 4n]);
    const [m] = downsampleMode(backing.subarray(1), [2, 2, 1], [2, 2, 1], 1);
    expect(m[0]).toBe(2n ** 60n);
  });

  test("mips cascade: each level pools the previous one", () => {
    const data = new Uint16Array(16).fill(3);
    data[0] = 9;
    const mips = downsampleMode(data, [4, 4, 1], [2, 2, 1], 2);
    expect(mips.map((m) => [...m])).toEqual([[3, 3, 3, 3], [3]]);
  });
});

describe("mode pooling 2x2x2", () => {
  test("the most frequent value wins", () => {
    const data = new Uint32Array([4, 1, 2, 4, 4, 3, 5, 6]);
    expect(downsampleMode(data, [2, 2, 2], [2, 2, 2], 1)[0][0]).toBe(4);
  });

  test("ties go to the first value in x-fastest order", () => {
    const data = new Uint32Array([8, 7, 7, 8, 1, 2, 3, 4]);
    expect(downsampleMode(data, [2, 2, 2], [2, 2, 2], 1)[0][0]).toBe(8);
  });

  test("sparse ignores zeros unless the block is all zero", () => {
    const data = new Uint32Array([0, 0, 0, 0, 0, 9, 8, 9]);
    expect(downsampleMode(data, [2, 2, 2], [2, 2, 2], 1)[0][0]).toBe(0);
    expect(downsampleMode(data, [2, 2, 2], [2, 2, 2], 1, { sparse: true })[0][0]).toBe(9);
    const zeros = new Uint32Array(8);
    expect(downsampleMode(zeros, [2, 2, 2], [2, 2, 2], 1, { sparse: true })[0][0]).toBe(0);
  });
});

describe("average pooling", () => {
  test("integers truncate; an odd column averages its two voxels", () => {
    const data = new Uint8Array([1, 2, 3, 4, 5, 6]); // 3x2
    expect([...downsampleAverage(data, [3, 2, 1], [2, 2, 1], 1)[0]]).toEqual([3, 4]);
  });

  test("mip 2 comes from full-resolution sums, not the rounded mip 1", () => {
    // 2x2 block sums 7, 7, 7, 3: mip 1 = [1, 1, 1, 0], mip 2 = floor(24 / 16) = 1.
    const data = new Uint8Array(16);
    const put = (x: number, y: number, v: number) => {
      data[x + 4 * y] = v;
    };
    put(0, 0, 7);
    put(2, 0, 7);
    put(0, 2, 7);
    put(2, 2, 3);
    const [m1, m2] = downsampleAverage(data, [4, 4, 1], [2, 2, 1], 2);
    expect([...m1]).toEqual([1, 1, 1, 0]);
    expect([...m2]).toEqual([1]);
  });

  test("sparse averages only the nonzero voxels", () => {
    const data = new Uint16Array([0, 0, 10, 5]);
    expect(downsampleAverage(data, [2, 2, 1], [2, 2, 1], 1)[0][0]).toBe(3);
    expect(downsampleAverage(data, [2, 2, 1], [2, 2, 1], 1, { sparse: true })[0][0]).toBe(7);
  });

  test("channels are pooled independently", () => {
    const data = new Float32Array([1, 1, 1, 1, 8, 8, 8, 4]); // 2x2x1, 2 channels
    const [m] = downsampleAverage(data, [2, 2, 1, 2], [2, 2, 1], 1);
    expect([...m]).toEqual([1, 7]);
  });

  test("an unaligned uint8 view gives the same pyramid as an aligned copy", () => {
    const backing = new Uint8Array(1 + 16 * 6 * 2);
    for (let i = 0; i < backing.length; i++) backing[i] = (i * 37) % 251;
    const unaligned = backing.subarray(1);
    const aligned = unaligned.slice();
    const a = downsampleAverage(unaligned, [16, 6, 2], [2, 2, 1], 3);
    const b = downsampleAverage(aligned, [16, 6, 2], [2, 2, 1], 3);
    expect(a).toEqual(b);
  });

  test("rejects 64-bit and signed types", () => {
    expect(() => downsampleAverage(new BigUint64Array(4), [2, 2, 1], [2, 2, 1], 1)).toThrow(
      DownsampleError,
    );
    expect(() => downsampleAverage(new Int16Array(4), [2, 2, 1], [2, 2, 1], 1)).toThrow(/dtype/);
  });
});

describe("min, max and striding", () => {
  test("min and max over uint64 compare the high word first", () => {
    const data = new BigUint64Array([2n ** 40n, 2n ** 32n - 1n, 2n ** 60n + 5n, 7n]);
    expect(downsampleMin(data, [2, 2, 1], [2, 2, 1], 1)[0][0]).toBe(7n);
    expect(downsampleMax(data, [2, 2, 1], [2, 2, 1], 1)[0][0]).toBe(2n ** 60n + 5n);
  });

  test("int64 min is signed", () => {
    const data = new BigInt64Array([5n, -(2n ** 62n), 3n, 2n ** 62n]);
    expect(downsampleMin(data, [4, 1, 1], [2, 1, 1], 1)[0]).toEqual(
      new BigInt64Array([-(2n ** 62n), 3n]),
    );
  });

  test("blocks cut by the edge use the voxels they have", () => {
    const data = new Int16Array([5, -3, 9]);
    expect([...downsampleMax(data, [3, 1, 1], [2, 1, 1], 1)[0]]).toEqual([5, 9]);
    expect([...downsampleMin(data, [3, 1, 1], [2, 1, 1], 1)[0]]).toEqual([-3, 9]);
  });

  test("striding keeps every factor-th voxel from the origin", () => {
    const data = Float64Array.from({ length: 10 }, (_, i) => i);
    const [m1, m2] = downsampleStriding(data, [10, 1, 1], [3, 1, 1], 2);
    expect([...m1]).toEqual([0, 3, 6, 9]);
    expect([...m2]).toEqual([0, 9]);
  });
});

describe("the dispatcher and argument checks", () => {
  test("returns each level with its shape", () => {
    const data = new Uint8Array(9 * 6 * 3 * 2);
    const pyramid = downsample("average", data, [9, 6, 3, 2], [2, 2, 2], 2);
    expect(pyramid.map((m) => m.shape)).toEqual([
      [5, 3, 2, 2],
      [3, 2, 1, 2],
    ]);
    expect(pyramid[1].data).toHaveLength(3 * 2 * 1 * 2);
  });

  test("outputs are fresh arrays and the input is untouched", () => {
    const data = Uint32Array.from({ length: 16 }, (_, i) => i % 3);
    const before = data.slice();
    for (const method of ["average", "mode", "min", "max", "striding"] as const) {
      const [m] = downsample(method, data, [4, 4, 1], [1, 1, 1], 1);
      expect(m.data.buffer).not.toBe(data.buffer);
      expect(m.data).toEqual(data);
    }
    expect(data).toEqual(before);
  });

  test("zero mips gives an empty pyramid", () => {
    expect(downsampleMode(new Uint8Array(4), [2, 2, 1], [2, 2, 1], 0)).toEqual([]);
  });

  test.each([
    ["shape", () => downsampleMode(new Uint8Array(5), [2, 2, 1], [2, 2, 1], 1)],
    ["factor", () => downsampleMode(new Uint8Array(4), [2, 2, 1], [2, 0, 1], 1)],
    ["mips", () => downsampleMode(new Uint8Array(4), [2, 2, 1], [2, 2, 1], -1)],
    ["method", () => downsample("median" as "mode", new Uint8Array(4), [2, 2, 1], [2, 2, 1], 1)],
  ])("a bad %s throws DownsampleError naming it", (field, fn) => {
    expect(fn).toThrow(DownsampleError);
    try {
      fn();
    } catch (e) {
      expect((e as DownsampleError).field).toBe(field);
      expect((e as Error).message).toContain(field);
    }
  });
});

test("downsampleInto writes each level into its output array, as downsample returns them", () => {
  const data = new BigUint64Array(12 * 10 * 3);
  for (let i = 0; i < data.length; i++) data[i] = BigInt((i * 7) % 5) * 2n ** 50n + 1n;
  const want = downsample("mode", data, [12, 10, 3], [2, 2, 1], 2);
  const outs = want.map(({ data: d }) =>
    new BigUint64Array(new SharedArrayBuffer(d.byteLength)).fill(9n),
  );
  const shapes = downsampleInto("mode", data, [12, 10, 3], [2, 2, 1], 2, outs);
  expect(shapes).toEqual(want.map((w) => w.shape));
  outs.forEach((o, k) => {
    expect(Array.from(o)).toEqual(Array.from(want[k].data));
  });
});

test("2x2x1 mode pooling into given arrays writes every voxel of each level there (SIMD and plain paths, sparse or not)", () => {
  for (const shape of [
    [64, 32, 4],
    [13, 7, 2],
  ] as const)
    for (const wide of [false, true])
      for (const sparse of [false, true]) {
        const n = shape[0] * shape[1] * shape[2];
        const data = wide ? new BigUint64Array(n) : new Uint32Array(n);
        for (let i = 0; i < n; i++) {
          const v = ((i * 13) >> 3) % 5;
          if (data instanceof BigUint64Array) data[i] = BigInt(v) * 2n ** 40n;
          else data[i] = v;
        }
        const want = downsample("mode", data, [...shape], [2, 2, 1], 3, { sparse });
        const outs = want.map(({ data: d }) =>
          d instanceof BigUint64Array
            ? new BigUint64Array(new SharedArrayBuffer(d.byteLength)).fill(7n)
            : new Uint32Array(new SharedArrayBuffer(d.byteLength)).fill(7),
        );
        const got = downsampleMode(data, [...shape], [2, 2, 1], 3, { sparse }, outs);
        got.forEach((level, k) => {
          expect(level.buffer).toBe(outs[k].buffer);
          expect(Array.from(outs[k] as ArrayLike<unknown>)).toEqual(
            Array.from(want[k].data as ArrayLike<unknown>),
          );
        });
      }
});

test("downsampleInto refuses output arrays that do not fit the levels", () => {
  const data = new Uint8Array(8 * 8);
  const fit = [new Uint8Array(16), new Uint8Array(4)];
  expect(() => downsampleInto("average", data, [8, 8, 1], [2, 2, 1], 2, fit.slice(0, 1))).toThrow(
    DownsampleError,
  );
  expect(() =>
    downsampleInto("average", data, [8, 8, 1], [2, 2, 1], 2, [fit[0], new Uint8Array(5)]),
  ).toThrow(/mip 2 has 4 voxels of 1 bytes; its output array holds 5 of 1/);
  expect(() =>
    downsampleInto("average", new Uint16Array(64), [8, 8, 1], [2, 2, 1], 1, [
      new Uint16Array(8) as unknown as Uint16Array,
    ]),
  ).toThrow(DownsampleError);
});
