import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Bbox, closePool, fromTyped, Volume } from "@ngpipe/precomputed";
import { emLikeImage, voronoiSegmentation } from "@ngpipe/tasks";
import { main, makeSyntheticLayers, segmentStats } from "./cutout-analysis";

const sink = () =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ngpipe-example-cutout-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await closePool();
});

test("counts, centroids and mean intensities of two boxes match their geometry", async () => {
  // Segment 5 fills [0,8)^3; segment 7 fills x 16..31, y 0..3, z 0..1.
  const shape: [number, number, number] = [32, 32, 16];
  const labels = new Uint32Array(32 * 32 * 16);
  const pixels = new Uint8Array(labels.length);
  for (let z = 0; z < 16; z++)
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) {
        const i = x + 32 * (y + 32 * z);
        if (x < 8 && y < 8 && z < 8) [labels[i], pixels[i]] = [5, 100];
        else if (x >= 16 && y < 4 && z < 2) [labels[i], pixels[i]] = [7, 50 + x];
      }
  await Volume.fromArray("mem://cutout-example/seg", fromTyped(labels, shape), {
    chunkSize: [16, 16, 16],
    encoding: "compressed_segmentation",
  });
  await Volume.fromArray("mem://cutout-example/img", fromTyped(pixels, shape), {
    chunkSize: [16, 16, 16],
  });

  const { stats } = await main({
    segmentation: "mem://cutout-example/seg",
    image: "mem://cutout-example/img",
    bbox: "0-32_0-32_0-16",
    out: sink(),
  });
  expect(stats).toEqual([
    { id: 5, voxels: 512, centroid: [3.5, 3.5, 3.5], meanIntensity: 100 },
    { id: 7, voxels: 16 * 4 * 2, centroid: [23.5, 1.5, 0.5], meanIntensity: 73.5 },
  ]);
});

test("an unaligned box reports dataset coordinates and only the voxels inside it", async () => {
  const { stats } = await main({
    segmentation: "mem://cutout-example/seg",
    bbox: "4-20_2-10_1-5",
    out: sink(),
  });
  // Segment 5: x 4..7, y 2..7, z 1..4. Segment 7: x 16..19, y 2..3, z 1.
  expect(stats.map((s) => [s.id, s.voxels, s.centroid])).toEqual([
    [5, 4 * 6 * 4, [5.5, 4.5, 2.5]],
    [7, 4 * 2 * 1, [17.5, 2.5, 1]],
  ]);
  expect(Number.isNaN(stats[0].meanIntensity)).toBe(true);
});

test("uint64 labels above 2^32 are measured under their full id", () => {
  const data = new BigUint64Array([0n, 2n ** 40n + 3n, 2n ** 40n + 3n, 3n]);
  const stats = segmentStats(fromTyped(data, [4, 1, 1]), undefined, [10, 0, 0]);
  expect(stats.map((s) => [s.id, s.voxels, s.centroid[0]])).toEqual([
    [2 ** 40 + 3, 2, 11.5],
    [3, 1, 13],
  ]);
});

test("the synthetic file:// dataset is measured like a direct count over the source arrays", async () => {
  const size: [number, number, number] = [64, 64, 32];
  const layers = await makeSyntheticLayers(dir, size);
  const { bbox, stats, range } = await main({ ...layers, out: sink() });
  expect(bbox.equals(new Bbox([16, 16, 8], [48, 48, 24]))).toBe(true);

  // Independent reference: the generator's own arrays, cropped by index.
  const labels = voronoiSegmentation(size, { seeds: 40, seed: 3, scale: [1, 1, 5] });
  const pixels = emLikeImage(labels, size, 5);
  const count = new Map<number, number>();
  const sum = new Map<number, number>();
  let [min, max, total] = [Infinity, -Infinity, 0];
  for (let z = 8; z < 24; z++)
    for (let y = 16; y < 48; y++)
      for (let x = 16; x < 48; x++) {
        const i = x + 64 * (y + 64 * z);
        [min, max, total] = [Math.min(min, pixels[i]), Math.max(max, pixels[i]), total + pixels[i]];
        if (labels[i] === 0) continue;
        count.set(labels[i], (count.get(labels[i]) ?? 0) + 1);
        sum.set(labels[i], (sum.get(labels[i]) ?? 0) + pixels[i]);
      }
  expect(range).toEqual({ min, max, mean: total / (32 * 32 * 16) });
  expect(stats.length).toBe(count.size);
  for (const s of stats) {
    expect(s.voxels).toBe(count.get(s.id));
    expect(s.meanIntensity).toBeCloseTo(sum.get(s.id)! / s.voxels, 9);
  }
});

test("segmentStats takes ndarray views: a transposed cutout measures like the cutout", () => {
  // Labels 1..4 along x of a 4x2x1 array, seen through a [y, x] transpose.
  const yx = fromTyped(Uint32Array.of(1, 1, 2, 2, 3, 3, 4, 4), [2, 4, 1]);
  const stats = segmentStats(yx.transpose(1, 0, 2, 3), undefined, [0, 0, 0]);
  expect(stats.map((s) => [s.id, s.voxels, s.centroid])).toEqual([
    [1, 2, [0, 0.5, 0]],
    [2, 2, [1, 0.5, 0]],
    [3, 2, [2, 0.5, 0]],
    [4, 2, [3, 0.5, 0]],
  ]);
});
