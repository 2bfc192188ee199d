import { hasPiriform, PIRIFORM_PATH, PIRIFORM_SHAPE, readPiriform } from "../fixtures.testutil";
import { AffinityInputError } from "./errors";
import { type WatershedOptions, type WatershedResult, watershedWith } from "./watershed";

/** The WebAssembly kernel against the JavaScript reference: every output, bit for bit. */
function expectSame(
  aff: Float32Array | Uint8Array,
  shape: readonly number[],
  options: WatershedOptions,
) {
  const js = watershedWith(aff, shape, options, "js");
  const wasm = watershedWith(aff, shape, options, "wasm");
  expect(wasm.thresholds).toEqual(js.thresholds);
  expect(wasm.basins).toBe(js.basins);
  expect(wasm.regions).toBe(js.regions);
  expect(Buffer.from(wasm.labels.buffer).equals(Buffer.from(js.labels.buffer))).toBe(true);
  expect(Array.from(wasm.counts)).toEqual(Array.from(js.counts));
  expect(Array.from(wasm.mst.weight)).toEqual(Array.from(js.mst.weight));
  expect(Array.from(wasm.mst.a)).toEqual(Array.from(js.mst.a));
  expect(Array.from(wasm.mst.b)).toEqual(Array.from(js.mst.b));
  return { js, wasm };
}

/** A seeded generator (mulberry32), so the maps are the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Affinities of a Voronoi segmentation of `cells` cells: `inside` within a
 * cell, `across` between cells, plus uniform noise of +-`noise`, clamped to
 * [0, 1] and optionally rounded to `levels` values (plateaus and ties).
 */
function voronoiAffinities(
  shape: [number, number, number],
  cells: number,
  seed: number,
  noise: number,
  levels = 0,
): Float32Array {
  const [sx, sy, sz] = shape;
  const rnd = random(seed);
  const centres = Array.from({ length: cells }, () => [rnd() * sx, rnd() * sy, rnd() * sz]);
  const n = sx * sy * sz;
  const cell = new Int32Array(n);
  for (let z = 0; z < sz; z++)
    for (let y = 0; y < sy; y++)
      for (let x = 0; x < sx; x++) {
        let best = 0;
        let bestD = Number.POSITIVE_INFINITY;
        centres.forEach(([cx, cy, cz], k) => {
          const d = (x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2;
          if (d < bestD) {
            bestD = d;
            best = k;
          }
        });
        cell[x + sx * (y + sy * z)] = best;
      }
  const aff = new Float32Array(3 * n);
  const steps = [1, sx, sx * sy];
  for (let i = 0; i < n; i++) {
    const x = i % sx;
    const y = Math.floor(i / sx) % sy;
    const z = Math.floor(i / (sx * sy));
    [x, y, z].forEach((coord, c) => {
      if (coord === 0) return;
      const same = cell[i] === cell[i - steps[c]];
      let v = (same ? 0.9 : 0.1) + (rnd() * 2 - 1) * noise;
      v = Math.min(1, Math.max(0, v));
      if (levels > 0) v = Math.round(v * levels) / levels;
      aff[c * n + i] = v;
    });
  }
  return aff;
}

const SEED_OPTIONS: WatershedOptions = {
  relative: false,
  low: 0.003,
  high: 0.999987,
  merge: [[800, 0.3]],
  dust: 800,
};

describe("the WebAssembly watershed equals the JavaScript kernel", () => {
  const shapes: Array<[number, number, number]> = [
    [37, 29, 11],
    [64, 48, 20],
    [1, 40, 30],
    [5, 1, 60],
    [18, 17, 1],
  ];
  for (const shape of shapes) {
    test(`noisy Voronoi map ${shape.join("x")}: relative and absolute thresholds`, () => {
      const aff = voronoiAffinities(shape, 12, shape[0] * 7 + shape[2], 0.15);
      expectSame(aff, shape, {});
      expectSame(aff, shape, SEED_OPTIONS);
      expectSame(aff, shape, {
        relative: false,
        low: 0.2,
        high: 0.85,
        merge: [
          [20, 0.5],
          [60, 0.3],
        ],
        dust: 10,
      });
    });
  }

  test("maps with few distinct values (plateaus and ties everywhere)", () => {
    const shape: [number, number, number] = [40, 33, 17];
    for (const levels of [4, 10, 255]) {
      const aff = voronoiAffinities(shape, 20, levels, 0.3, levels);
      expectSame(aff, shape, {
        relative: false,
        low: 0.1,
        high: 0.95,
        merge: [[50, 0.4]],
        dust: 5,
      });
      expectSame(aff, shape, { relative: false, low: 0.2, high: 0.6, merge: [], dust: 0 });
      const r = expectSame(aff, shape, { low: 0.05, high: 0.9, merge: [[100, 0.3]], dust: 20 });
      expect(r.wasm.regions).toBeGreaterThan(1);
    }
  });

  test("uint8 affinities", () => {
    const shape: [number, number, number] = [33, 30, 9];
    const f = voronoiAffinities(shape, 10, 5, 0.2);
    const q = Uint8Array.from(f, (v) => Math.round(v * 255));
    expectSame(q, shape, { relative: false, low: 0.2, high: 0.9, merge: [[30, 0.5]], dust: 10 });
    expectSame(q, shape, {});
  });

  test("uniform noise over more voxels and edges than one call of each loop takes", () => {
    // 266,240 voxels (pieces of 2^18) and, with a basin every few voxels, over 2^16 edges.
    const shape: [number, number, number] = [80, 64, 52];
    const rnd = random(21);
    const aff = new Float32Array(3 * 80 * 64 * 52);
    for (let i = 0; i < aff.length; i++) aff[i] = rnd();
    const r = expectSame(aff, shape, SEED_OPTIONS);
    expect(r.wasm.basins).toBeGreaterThan(50_000);
    expectSame(aff, shape, {});
  });

  test("a large call, then a small one, in the same arena", () => {
    const big: [number, number, number] = [80, 64, 20];
    expectSame(voronoiAffinities(big, 30, 11, 0.15), big, SEED_OPTIONS);
    const small: [number, number, number] = [9, 7, 5];
    expectSame(voronoiAffinities(small, 3, 12, 0.15), small, {});
  });

  test("negative affinities take the JavaScript kernel; NaN is reported as before", () => {
    const shape: [number, number, number] = [20, 10, 6];
    const aff = voronoiAffinities(shape, 5, 3, 0.15);
    aff[17] = -0.25;
    expect(() => watershedWith(aff, shape, {}, "wasm")).toThrow(AffinityInputError);
    const auto = watershedWith(aff, shape, {}, "auto");
    const js = watershedWith(aff, shape, {}, "js");
    expect(Array.from(auto.labels)).toEqual(Array.from(js.labels));
    aff[17] = Number.NaN;
    expect(() => watershedWith(aff, shape, SEED_OPTIONS, "auto")).toThrow(/NaN/);
    expect(() => watershedWith(aff, shape, {}, "auto")).toThrow(/NaN/);
  });
});

describe("the WebAssembly kernel's input check with absolute thresholds", () => {
  // The ascent checks the values it reads (sixteen voxels at a time, then
  // the rest of the row); the edges leaving the volume are checked apart.
  test("a negative value anywhere takes the JavaScript kernel", () => {
    const shape: [number, number, number] = [37, 6, 4];
    const [sx, sy, sz] = shape;
    const n = sx * sy * sz;
    const clean = voronoiAffinities(shape, 5, 4, 0.15);
    expect(() => watershedWith(clean, shape, SEED_OPTIONS, "wasm")).not.toThrow();
    for (let c = 0; c < 3; c++) {
      for (const z of [0, sz - 1]) {
        for (const y of [0, 1, sy - 1]) {
          for (const x of [0, 1, 20, 33, sx - 1]) {
            const aff = clean.slice();
            aff[c * n + x + sx * (y + sy * z)] = -0.25;
            expect(() => watershedWith(aff, shape, SEED_OPTIONS, "wasm")).toThrow(
              AffinityInputError,
            );
          }
        }
      }
    }
  });
});

const describePiriform = hasPiriform ? describe : describe.skip;
if (!hasPiriform) console.warn(`skipping piriform wasm comparison: ${PIRIFORM_PATH} not found`);

describePiriform("the WebAssembly watershed on piriform", () => {
  let aff: Float32Array;
  beforeAll(async () => {
    aff = await readPiriform();
  });

  test("Watershed.jl's defaults and the seed's absolute thresholds give the JavaScript result", () => {
    const same: WatershedResult[] = [
      expectSame(aff, [...PIRIFORM_SHAPE], {}).wasm,
      expectSame(aff, [...PIRIFORM_SHAPE], SEED_OPTIONS).wasm,
    ];
    for (const r of same) expect(r.regions).toBeGreaterThan(10);
  });
});
