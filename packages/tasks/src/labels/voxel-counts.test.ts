import { closePool, NdArray, Volume } from "@ngpipe/precomputed";
import { countVoxels } from "@ngpipe/segmentation";
import { openStorage } from "@ngpipe/storage";
import { voronoiSegmentation } from "../synthetic";
import { createDustTasks } from "./dust";
import { runPhases } from "./testing";
import { COUNT_CHUNK, createVoxelCountTasks, readVoxelCounts } from "./voxel-counts";

afterAll(() => closePool());

const SIZE = [40, 36, 12] as const;
let serial = 0;

async function layer(labels: Uint32Array | BigUint64Array): Promise<string> {
  const url = `mem://counts-${++serial}/seg`;
  await Volume.fromArray(url, NdArray.from(labels, SIZE), {
    chunkSize: [8, 8, 4],
    voxelOffset: [3, 0, -2],
  });
  return url;
}

test("dataset-wide counts equal countVoxels of the whole volume, over several merge levels", async () => {
  const labels = voronoiSegmentation(SIZE, { seeds: 50 });
  const url = await layer(labels);
  await runPhases(await createVoxelCountTasks(url, { shape: [8, 8, 4], groupSize: 2 }));
  const got = await readVoxelCounts(`${url}/voxel-counts`);
  const want = countVoxels(labels);
  expect(Array.from(got.ids, Number)).toEqual(Array.from(want.ids as Uint32Array));
  expect(Array.from(got.counts)).toEqual(Array.from(want.counts));
  expect(got.voxels).toBe(labels.length);
  // The scratch tables are gone; the table is one chunk (fewer than COUNT_CHUNK labels) and an index.
  const keys: string[] = [];
  for await (const k of openStorage(`mem://counts-${serial}`).list("", { recursive: true }))
    keys.push(k);
  expect(keys.filter((k) => k.includes("voxel-counts"))).toEqual([
    "seg/voxel-counts/chunk-0",
    "seg/voxel-counts/index.json",
  ]);
  expect(want.ids.length).toBeLessThan(COUNT_CHUNK);
});

test("uint64 ids keep their high words", async () => {
  const labels = BigUint64Array.from(
    voronoiSegmentation(SIZE, { seeds: 9 }),
    (v) => (BigInt(v) << 40n) | 3n,
  );
  const url = await layer(labels);
  await runPhases(await createVoxelCountTasks(url, { shape: [16, 16, 8] }));
  const got = await readVoxelCounts(`${url}/voxel-counts`);
  expect(Array.from(got.ids)).toEqual(Array.from(countVoxels(labels).ids as BigUint64Array));
});

test("dust removes labels small in the whole dataset, not per block", async () => {
  // Label 5: a bar across every block (large overall, small in each block); label 9: 3 voxels.
  const labels = new Uint32Array(SIZE[0] * SIZE[1] * SIZE[2]).fill(1);
  for (let x = 0; x < SIZE[0]; x++) labels[x + SIZE[0] * 10] = 5;
  labels[100] = 9;
  labels[101] = 9;
  labels[102] = 9;
  const url = await layer(labels);
  const dest = `mem://counts-${serial}/dusted`;
  await runPhases(await createDustTasks(url, dest, { minSize: 10, shape: [8, 8, 4] }));
  const vol = await Volume.open(dest);
  const got = (await vol.read(vol.bounds)).data as Uint32Array;
  const want = Uint32Array.from(labels, (v) => (v === 9 ? 0 : v));
  expect(Array.from(got)).toEqual(Array.from(want));
});
