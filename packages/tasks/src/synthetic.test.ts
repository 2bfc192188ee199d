import { emLikeImage, voronoiSegmentation } from "./synthetic";

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
