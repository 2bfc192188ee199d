import fc from "fast-check";
import { type DistanceLabels, DistanceTransformError, distanceTransform } from "./edt";
import { distanceTransformJs } from "./edt-js";
import { distanceTransformWasm } from "./edt-wasm";

/** Brute force: the nearest voxel with another label (or outside, with a black border). */
function bruteForce(
  labels: ArrayLike<number | bigint>,
  [sx, sy, sz]: [number, number, number],
  [wx, wy, wz]: [number, number, number],
  blackBorder: boolean,
): Float64Array {
  const out = new Float64Array(sx * sy * sz);
  for (let z = 0; z < sz; z++) {
    for (let y = 0; y < sy; y++) {
      for (let x = 0; x < sx; x++) {
        const i = x + sx * (y + sy * z);
        const l = labels[i];
        if (l === 0 || l === 0n) continue;
        let best = Number.POSITIVE_INFINITY;
        // Outside voxels lie one step beyond each face.
        for (let zz = blackBorder ? -1 : 0; zz < sz + (blackBorder ? 1 : 0); zz++) {
          for (let yy = blackBorder ? -1 : 0; yy < sy + (blackBorder ? 1 : 0); yy++) {
            for (let xx = blackBorder ? -1 : 0; xx < sx + (blackBorder ? 1 : 0); xx++) {
              const inside = xx >= 0 && yy >= 0 && zz >= 0 && xx < sx && yy < sy && zz < sz;
              if (inside && labels[xx + sx * (yy + sy * zz)] === l) continue;
              const d = ((xx - x) * wx) ** 2 + ((yy - y) * wy) ** 2 + ((zz - z) * wz) ** 2;
              if (d < best) best = d;
            }
          }
        }
        out[i] = Math.sqrt(best);
      }
    }
  }
  return out;
}

function expectClose(actual: Float32Array, expected: Float64Array): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i];
    if (e === Number.POSITIVE_INFINITY) {
      expect(actual[i]).toBe(Number.POSITIVE_INFINITY);
    } else if (Math.abs(actual[i] - e) > 1e-4 * Math.max(1, e)) {
      throw new Error(`voxel ${i}: got ${actual[i]}, expected ${e}`);
    }
  }
}

describe("distanceTransform", () => {
  test("a single object in a background: distance to the nearest background voxel", () => {
    const shape: [number, number, number] = [7, 6, 5];
    const labels = new Uint8Array(7 * 6 * 5);
    for (let z = 1; z < 4; z++)
      for (let y = 1; y < 5; y++) for (let x = 1; x < 6; x++) labels[x + 7 * (y + 6 * z)] = 1;
    expectClose(distanceTransform(labels, shape), bruteForce(labels, shape, [1, 1, 1], false));
    // The centre voxel (3, 2, 2) is two voxels from the background along x and y.
    expect(distanceTransform(labels, shape)[3 + 7 * (2 + 6 * 2)]).toBeCloseTo(2);
  });

  test("neighbouring labels are each other's boundary", () => {
    const labels = new Uint32Array([5, 5, 5, 9, 9, 9, 9, 9]);
    expect(Array.from(distanceTransform(labels, [8, 1, 1]))).toEqual([3, 2, 1, 1, 2, 3, 4, 5]);
  });

  test("the volume's faces are boundaries only with blackBorder", () => {
    const labels = new Uint16Array(4).fill(3);
    expect(Array.from(distanceTransform(labels, [4, 1, 1]))).toEqual(
      new Array(4).fill(Number.POSITIVE_INFINITY),
    );
    expect(
      Array.from(
        distanceTransform(labels, [4, 1, 1], { blackBorder: true, anisotropy: [1, 10, 10] }),
      ),
    ).toEqual([1, 2, 2, 1]);
    // One voxel thick along y and z: the outside is one voxel away along those axes.
    expect(
      Array.from(
        distanceTransform(labels, [4, 1, 1], { blackBorder: true, anisotropy: [10, 3, 4] }),
      ),
    ).toEqual([3, 3, 3, 3]);
  });

  test("uint64 labels differing only in the high word are different objects", () => {
    const labels = new BigUint64Array([7n, 7n, 7n | (1n << 40n), 7n | (1n << 40n)]);
    expect(Array.from(distanceTransform(labels, [4, 1, 1]))).toEqual([2, 1, 1, 2]);
  });

  test("squared returns the squares", () => {
    const labels = new Uint8Array([0, 1, 1, 1, 1, 1, 0]);
    expect(Array.from(distanceTransform(labels, [7, 1, 1], { squared: true }))).toEqual([
      0, 1, 4, 9, 4, 1, 0,
    ]);
  });

  test("matches brute force on random segmentations, anisotropic, both border modes", () => {
    fc.assert(
      fc.property(
        fc.tuple(
          fc.integer({ min: 1, max: 7 }),
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 5 }),
        ),
        fc.integer({ min: 1, max: 4 }),
        fc.tuple(
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 20 }),
        ),
        fc.boolean(),
        fc.boolean(),
        fc.integer(),
        (shape, nLabels, anisotropy, blackBorder, wide, seed) => {
          const n = shape[0] * shape[1] * shape[2];
          let s = seed >>> 0;
          const rand = () => {
            s = (Math.imul(s, 1103515245) + 12345) >>> 0;
            return s >>> 16;
          };
          // Blocky labels so that runs of more than one voxel occur.
          const plain = new Uint32Array(n);
          for (let i = 0; i < n; i++)
            plain[i] = i > 0 && rand() % 3 ? plain[i - 1] : rand() % (nLabels + 1);
          const labels: DistanceLabels = wide
            ? BigUint64Array.from(plain, (v) => (v === 0 ? 0n : BigInt(v) << 33n))
            : plain;
          const expected = bruteForce(
            wide ? Array.from(labels as BigUint64Array) : plain,
            shape,
            anisotropy,
            blackBorder,
          );
          expectClose(distanceTransform(labels, shape, { anisotropy, blackBorder }), expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  test("long runs (parabola envelope) and short ones (direct search) match brute force", () => {
    // Large blobs give runs whose far voxels are many steps from a boundary;
    // a thin wall and strong anisotropy give runs searched directly.
    const shape: [number, number, number] = [24, 20, 7];
    const labels = labelsFrom(shape, (x, y, z) => {
      const inBlob = (x - 10) ** 2 + (y - 9) ** 2 + 4 * (z - 3) ** 2 < 70;
      return x === 21 ? 0 : inBlob ? 7 : x > 21 ? 3 : 5;
    });
    for (const anisotropy of [
      [1, 1, 1],
      [4, 4, 40],
      [9, 2, 0.5],
    ] as [number, number, number][]) {
      for (const blackBorder of [false, true]) {
        expectClose(
          distanceTransform(labels, shape, { anisotropy, blackBorder }),
          bruteForce(labels, shape, anisotropy, blackBorder),
        );
      }
    }
  });

  test("a shape that does not match the labels is refused", () => {
    expect(() => distanceTransform(new Uint8Array(10), [3, 3, 1])).toThrow(DistanceTransformError);
    expect(() =>
      distanceTransform(new Uint8Array(9), [3, 3, 1], { anisotropy: [1, 0, 1] }),
    ).toThrow(/anisotropy/);
  });

  test("uint64 labels with one high word take the WebAssembly path and match brute force", () => {
    const shape: [number, number, number] = [6, 5, 4];
    const plain = blocky(6 * 5 * 4, 3, 11);
    for (const hi of [0n, 5n]) {
      // With a nonzero high word, a low word of 0 is an object, not background.
      const wide = BigUint64Array.from(plain, (v) =>
        hi === 0n && v === 0 ? 0n : (hi << 32n) | BigInt(v),
      );
      const viaWasm = distanceTransformWasm(wide, shape, [2, 2, 3], true, false);
      expect(viaWasm === undefined).toBe(hi !== 0n && plain.includes(0));
      expectClose(
        distanceTransform(wide, shape, { anisotropy: [2, 2, 3], blackBorder: true }),
        bruteForce(Array.from(wide), shape, [2, 2, 3], true),
      );
    }
  });
});

/** A uint32 volume whose label at (x, y, z) is `at(x, y, z)`, x fastest. */
function labelsFrom(
  [sx, sy, sz]: [number, number, number],
  at: (x: number, y: number, z: number) => number,
): Uint32Array {
  const labels = new Uint32Array(sx * sy * sz);
  let i = 0;
  for (let z = 0; z < sz; z++) {
    for (let y = 0; y < sy; y++) for (let x = 0; x < sx; x++) labels[i++] = at(x, y, z);
  }
  return labels;
}

/** Blocky random labels in [0, nLabels]: runs of more than one voxel along x. */
function blocky(n: number, nLabels: number, seed: number, zeroShare = 1): Uint32Array {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 16;
  };
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    if (i > 0 && rand() % 4) out[i] = out[i - 1];
    else out[i] = rand() % (nLabels + zeroShare) >= nLabels ? 0 : 1 + (rand() % nLabels);
  }
  return out;
}

/** Bit-for-bit equality, NaN-free: the same float32 at every voxel. */
function expectSame(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      throw new Error(`voxel ${i}: WebAssembly ${actual[i]}, JavaScript ${expected[i]}`);
    }
  }
}

describe("distanceTransform in WebAssembly against the JavaScript reference", () => {
  // Sizes that are not multiples of the four-column groups nor of the 4x4
  // transposes, lines longer than the direct search's 32 steps (a big blob
  // sends its groups to the envelope), and voxel sizes whose squares are
  // exact in float32 (SIMD paths) or not (float64 paths only).
  const anisotropies: [number, number, number][] = [
    [1, 1, 1],
    [4, 4, 40],
    [0.5, 3, 2],
    [9, 2, 0.5],
    [3.7, 1.3, 2.9],
  ];

  test("bit for bit on random labels, blobs and both border modes", () => {
    for (const [shape, seed] of [
      [[37, 70, 4], 1],
      [[21, 6, 75], 2],
      [[5, 3, 2], 3],
      [[1, 13, 6], 4],
      [[19, 1, 1], 5],
    ] as [[number, number, number], number][]) {
      const [sx, sy, sz] = shape;
      const n = sx * sy * sz;
      const random = blocky(n, 5, seed);
      // One large object with a few holes: long runs, far boundaries.
      const blob = new Uint32Array(n).fill(7);
      for (let i = 0; i < n; i += 997) blob[i] = 0;
      for (const labels of [random, blob]) {
        for (const anisotropy of anisotropies) {
          for (const blackBorder of [false, true]) {
            for (const squared of blackBorder ? [false, true] : [false]) {
              const got = distanceTransformWasm(labels, shape, anisotropy, blackBorder, squared);
              expect(got).toBeDefined();
              expectSame(
                got as Float32Array,
                distanceTransformJs(labels, shape, anisotropy, blackBorder, squared),
              );
            }
          }
        }
      }
    }
  });

  test("within float32 rounding of brute force for voxel sizes not exact in float32", () => {
    const shape: [number, number, number] = [9, 7, 6];
    const labels = blocky(9 * 7 * 6, 3, 21);
    for (const blackBorder of [false, true]) {
      expectClose(
        distanceTransformWasm(labels, shape, [3.7, 1.3, 2.9], blackBorder, false) as Float32Array,
        bruteForce(labels, shape, [3.7, 1.3, 2.9], blackBorder),
      );
    }
  });

  test("a label filling the volume stays infinite without a black border", () => {
    const labels = new Uint16Array(9 * 8 * 5).fill(4);
    const got = distanceTransformWasm(labels, [9, 8, 5], [4, 4, 40], false, false);
    expect(Array.from(new Set(got))).toEqual([Number.POSITIVE_INFINITY]);
  });

  test("columns of one plane mix the SIMD searches and the line path, bit for bit", () => {
    // A large object beside small cells and thin walls, in one volume. In
    // the large one, a voxel 41 rows from the comb of background at y < 5
    // is nearest to it, beyond the y search's 32 steps: its column takes
    // the line path, as do z columns far from every boundary, while the
    // small cells' columns are searched directly; the paths meet in groups.
    const shape: [number, number, number] = [90, 66, 20];
    const labels = labelsFrom(shape, (x, y, z) => {
      if (x < 70) return y < 5 && x % 3 === 0 ? 0 : 9;
      return x === 77 || y % 7 === 0 ? 0 : 100 + ((x >> 2) ^ (y >> 3) ^ (z >> 1));
    });
    for (const anisotropy of [
      [1, 1, 1],
      [4, 4, 40],
      [2, 1, 0.5],
    ] as [number, number, number][]) {
      for (const blackBorder of [false, true]) {
        expectSame(
          distanceTransformWasm(labels, shape, anisotropy, blackBorder, false) as Float32Array,
          distanceTransformJs(labels, shape, anisotropy, blackBorder, false),
        );
      }
    }
  });

  test("out: the distances go into the caller's array, even one over the labels' memory", () => {
    const shape: [number, number, number] = [13, 9, 7];
    const n = 13 * 9 * 7;
    const labels = blocky(n, 4, 31);
    const expected = distanceTransform(labels, shape, { anisotropy: [4, 4, 40] });
    const out = new Float32Array(n).fill(-1);
    expect(distanceTransform(labels, shape, { anisotropy: [4, 4, 40], out })).toBe(out);
    expectSame(out, expected);
    // The output over the labels' own bytes: WebAssembly and JavaScript paths.
    const shared = labels.slice();
    const over = new Float32Array(shared.buffer);
    expect(distanceTransform(shared, shape, { anisotropy: [4, 4, 40], out: over })).toBe(over);
    expectSame(over, expected);
    const floats = Float32Array.from(labels);
    expectSame(distanceTransform(floats, shape, { anisotropy: [4, 4, 40], out: floats }), expected);
    expect(() => distanceTransform(labels, shape, { out: new Float32Array(n - 1) })).toThrow(
      DistanceTransformError,
    );
    expect(() =>
      distanceTransform(labels, shape, { out: new Float64Array(n) as unknown as Float32Array }),
    ).toThrow(/out must be a Float32Array/);
  });

  test("signed labels: negative values are objects like any other", () => {
    const plain = blocky(11 * 6 * 5, 4, 9);
    const signed = Int16Array.from(plain, (v) => (v === 0 ? 0 : v % 2 ? -v : v));
    const shape: [number, number, number] = [11, 6, 5];
    expectClose(
      distanceTransform(signed, shape, { anisotropy: [1, 2, 3] }),
      bruteForce(signed, shape, [1, 2, 3], false),
    );
  });
});
