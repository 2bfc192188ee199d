import { emLikeImage, voronoiAffinities, voronoiSegmentation } from "./synthetic";

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
