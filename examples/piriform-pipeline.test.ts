import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closePool, Volume } from "@ngpipe/precomputed";
import { evaluateSegmentation, watershed } from "@ngpipe/segmentation";
import { openStorage } from "@ngpipe/storage";
import { PIRIFORM, runPiriformPipeline } from "./piriform-pipeline";

const run = existsSync(PIRIFORM) ? test : test.skip;
if (!existsSync(PIRIFORM))
  console.warn(`skipping the piriform pipeline example: ${PIRIFORM} not found`);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ngpipe-example-piriform-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await closePool();
});

async function readAll(url: string): Promise<Uint32Array> {
  const vol = await Volume.open(url);
  return (await vol.read(vol.bounds)).data as Uint32Array;
}

run(
  "ingest -> watershed -> agglomerate -> mesh -> manifest on piriform: blockwise supervoxels close to the whole-volume watershed, fewer segments, meshes",
  async () => {
    const layers = await runPiriformPipeline(dir);
    const aff = (
      await (
        await Volume.open(layers.affinities)
      ).read((await Volume.open(layers.affinities)).bounds)
    ).data as Float32Array;
    const whole = watershed(aff, [200, 200, 5]).labels;
    const supervoxels = await readAll(layers.supervoxels);
    expect(evaluateSegmentation(supervoxels, whole).adaptedRandError).toBeLessThanOrEqual(0.01);
    const segmentation = await readAll(layers.segmentation);
    const ids = new Set(segmentation);
    expect(ids.size).toBeLessThan(new Set(supervoxels).size);
    // Every segment has a manifest listing its fragments.
    ids.delete(0);
    const mesh = openStorage(`${layers.segmentation}/mesh`);
    for (const id of ids) expect(await mesh.get(`${id}:0`)).not.toBeNull();
  },
);
