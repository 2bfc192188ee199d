import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closePool, Volume } from "@ngpipe/precomputed";
import { countLayer, largest, makeSyntheticLayer } from "./count-voxels";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ngpipe-example-counts-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await closePool();
});

test("the table counts every voxel of the layer once, and the largest label is the most frequent id", async () => {
  const layer = await makeSyntheticLayer(dir);
  const table = await countLayer(layer);
  expect(table.voxels).toBe(128 * 128 * 32);
  const vol = await Volume.open(layer);
  const labels = (await vol.read(vol.bounds)).data as Uint32Array;
  const [top] = largest(table, 1);
  expect(labels.filter((v) => v === Number(top.id)).length).toBe(top.voxels);
  expect(table.ids.length).toBe(new Set(labels).size);
});
