import { emLikeImage, mulberry32, voronoiAffinities, voronoiSegmentation } from "./synthetic";

test("a Voronoi segmentation labels every cell and separates cells with zero boundaries", () => {
  const shape = [48, 40, 20] as const;
  const seg = voronoiSegmentation(shape, { seeds: 30, seed: 3 });
  const ids = new Set(seg);
  expect(ids.has(0)).toBe(true);
  expect(ids.size).toBeGreaterThan(25);
  // No two different non-zero labels touch along x: a boundary always separates them.
  let touching = 0;
  for (let i = 0; i + 1 < seg.length; i++) {
    if ((i + 1) % shape[0] === 0) continue;
    if (seg[i] && seg[i + 1] && seg[i] !== seg[i + 1]) touching++;
  }
  expect(touching).toBe(0);
});

test("synthetic data is deterministic for a seed", () => {
  const shape = [16, 16, 8] as const;
  const a = voronoiSegmentation(shape, { seeds: 5, seed: 9 });
  const b = voronoiSegmentation(shape, { seeds: 5, seed: 9 });
  expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
  const img = emLikeImage(a, shape, 1);
  expect(Buffer.from(img).equals(Buffer.from(emLikeImage(b, shape, 1)))).toBe(true);
});

test("membranes are darker than cell interiors in the EM-like image", () => {
  const shape = [32, 32, 16] as const;
  const seg = voronoiSegmentation(shape, { seeds: 12, seed: 5, boundary: 1.5 });
  const img = emLikeImage(seg, shape);
  let mem = 0;
  let nm = 0;
  let cell = 0;
  let nc = 0;
  for (let i = 0; i < seg.length; i++) {
    if (seg[i] === 0) {
      mem += img[i];
      nm++;
    } else {
      cell += img[i];
      nc++;
    }
  }
  expect(mem / nm).toBeLessThan(cell / nc - 50);
});

test("Voronoi affinities are high inside cells and low across boundaries, in [0, 1]", () => {
  const shape = [24, 20, 10] as const;
  const seg = voronoiSegmentation(shape, { seeds: 8, seed: 2 });
  const aff = voronoiAffinities(seg, shape, { noise: 0.05 });
  expect(aff.length).toBe(3 * seg.length);
  const n = seg.length;
  let inside = 0;
  let across = 0;
  for (let i = 1; i < n; i++) {
    if (i % shape[0] === 0) continue;
    const v = aff[i];
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThanOrEqual(1);
    if (seg[i] !== 0 && seg[i] === seg[i - 1]) {
      expect(v).toBeGreaterThan(0.8);
      inside++;
    } else {
      expect(v).toBeLessThan(0.2);
      across++;
    }
  }
  expect(inside).toBeGreaterThan(across);
  expect(voronoiAffinities(seg, shape, { noise: 0.05 })).toEqual(aff);
});

/** The nearest two seeds of every voxel by looking at every seed of the cells within 2 of its own. */
function voronoiByBruteForce(
  shape: [number, number, number],
  seeds: number,
  seed: number,
  scale: [number, number, number],
): Uint32Array {
  const rand = mulberry32(seed);
  const p = Array.from({ length: seeds }, () => [
    rand() * shape[0] * scale[0],
    rand() * shape[1] * scale[1],
    rand() * shape[2] * scale[2],
  ]);
  const extent = shape.map((s, a) => s * scale[a]);
  const spacing = Math.cbrt((extent[0] * extent[1] * extent[2]) / seeds);
  const g = extent.map((e) => Math.max(1, Math.ceil(e / spacing)));
  const cw = extent.map((e, a) => e / g[a]);
  const cell = (v: number, a: number) => Math.min(g[a] - 1, Math.floor(v / cw[a]));
  const out = new Uint32Array(shape[0] * shape[1] * shape[2]);
  let i = 0;
  for (let z = 0; z < shape[2]; z++)
    for (let y = 0; y < shape[1]; y++)
      for (let x = 0; x < shape[0]; x++, i++) {
        const w = [(x + 0.5) * scale[0], (y + 0.5) * scale[1], (z + 0.5) * scale[2]];
        const near = [0, 1, 2].map((a) => cell(w[a], a));
        let best = Number.POSITIVE_INFINITY;
        let second = Number.POSITIVE_INFINITY;
        let bestId = 0;
        for (let s = 0; s < seeds; s++) {
          const q = p[s];
          if (
            Math.abs(cell(q[0], 0) - near[0]) > 2 ||
            Math.abs(cell(q[1], 1) - near[1]) > 2 ||
            Math.abs(cell(q[2], 2) - near[2]) > 2
          )
            continue;
          const d = (q[0] - w[0]) ** 2 + (q[1] - w[1]) ** 2 + (q[2] - w[2]) ** 2;
          if (d < best) [second, best, bestId] = [best, d, s + 1];
          else if (d < second) second = d;
        }
        out[i] = Math.sqrt(second) - Math.sqrt(best) < 1 ? 0 : bestId;
      }
  return out;
}

test("the Voronoi segmentation's pruned search finds the nearest two seeds within reach", () => {
  for (const [shape, seeds, scale] of [
    [[40, 32, 10], 60, [1, 1, 1]],
    [[30, 24, 8], 30, [1, 1, 4]],
  ] as Array<[[number, number, number], number, [number, number, number]]>) {
    const got = voronoiSegmentation(shape, { seeds, seed: 6, scale });
    const want = voronoiByBruteForce(shape, seeds, 6, scale);
    expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true);
  }
});
