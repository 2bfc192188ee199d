import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import { MeshLayer } from "@ngpipe/mesh";
import { closePool, Volume } from "@ngpipe/precomputed";
import { quickstart } from "./quickstart";

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "ngpipe-qs-"));
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await closePool();
});

test("the quickstart ingests, downsamples and meshes through an fq:// queue", async () => {
  let text = "";
  const out = new Writable({
    write(chunk, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  const dir = join(tmp, "qs");
  const steps = await quickstart(dir, { size: [96, 96, 32], workers: 2, quiet: true, out });
  expect(steps.map((s) => s.name)).toEqual([
    "ingest image",
    "ingest segmentation",
    "downsample image",
    "downsample segmentation",
    "mesh segmentation",
    "mesh manifests",
  ]);
  const image = await Volume.open(pathToFileURL(join(dir, "image")).href);
  const seg = await Volume.open(pathToFileURL(join(dir, "segmentation")).href);
  expect(image.mipCount).toBe(3);
  expect(seg.mipCount).toBe(3);
  // mip 1 of the image exists in full and is readable.
  const m1 = await image.withMip(1).read(image.withMip(1).bounds);
  expect(m1.shape).toEqual([48, 48, 32, 1]);
  const ids = (await seg.unique(seg.bounds)) as number[];
  const meshes = await MeshLayer.open(seg.url);
  const meshed = ids.filter((i) => i !== 0).slice(0, 3);
  for (const id of meshed) expect((await meshes.get(id)).faces.length).toBeGreaterThan(0);
  expect(text).toContain("view");
}, 180_000);
