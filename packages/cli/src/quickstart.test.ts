import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { MultiresMeshLayer } from "@ngpipe/mesh";
import { closePool, SkeletonLayer, Volume } from "@ngpipe/precomputed";
import { QUICKSTART_MARKER, quickstart } from "./quickstart";

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "ngpipe-qs-"));
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await closePool();
});

function sink(): { out: Writable; text: () => string } {
  let text = "";
  const out = new Writable({
    write(chunk, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { out, text: () => text };
}

test("the quickstart ingests, downsamples and meshes through an fq:// queue", async () => {
  const { out, text } = sink();
  const dir = join(tmp, "qs data");
  const steps = await quickstart(dir, { size: [96, 96, 32], workers: 2, quiet: true, out });
  expect(steps.map((s) => s.name)).toEqual([
    "ingest image",
    "ingest segmentation",
    "downsample image",
    "downsample segmentation",
    "mesh segmentation",
    "mesh multires merge",
    "skeletonize segmentation",
    "merge skeletons",
  ]);
  const image = await Volume.open(`file://${join(dir, "image")}`);
  const seg = await Volume.open(`file://${join(dir, "segmentation")}`);
  expect(image.mipCount).toBe(3);
  expect(seg.mipCount).toBe(3);
  // mip 1 of the image exists in full and is readable.
  const m1 = await image.withMip(1).read(image.withMip(1).bounds);
  expect(m1.shape).toEqual([48, 48, 32, 1]);
  const ids = (await seg.unique(seg.bounds)) as number[];
  const meshes = await MultiresMeshLayer.open(seg.url);
  expect(meshes.info.sharding).toBeDefined();
  const meshed = ids.filter((i) => i !== 0).slice(0, 3);
  for (const id of meshed) {
    expect((await meshes.get(id)).faces.length).toBeGreaterThan(0);
    const lods = (await meshes.manifest(id)).lods.length;
    expect((await meshes.get(id, lods - 1)).faces.length).toBeGreaterThan(0);
  }
  expect(seg.info.skeletons).toBe("skeletons");
  const skeletons = await SkeletonLayer.open(`${seg.url}/skeletons`);
  for (const s of await skeletons.getMany(meshed)) expect(s?.edges.length).toBeGreaterThan(0);
  expect(text()).toMatch(/skeletons: \d+ segments/);
  expect(text()).toContain("view");
}, 180_000);

test("the quickstart refuses a non-empty directory it did not make, and leaves it alone", async () => {
  const dir = join(tmp, "mine");
  mkdirSync(dir);
  writeFileSync(join(dir, "precious.txt"), "data");
  await expect(quickstart(dir, { quiet: true, out: sink().out })).rejects.toThrow(
    /mine is not empty and was not made by the quickstart/,
  );
  expect(readdirSync(dir)).toEqual(["precious.txt"]);
});

test("a second quickstart into the directory the first made starts afresh", async () => {
  const dir = join(tmp, "again");
  const o = { size: [32, 32, 16] as [number, number, number], quiet: true };
  await quickstart(dir, { ...o, out: sink().out });
  expect(existsSync(join(dir, QUICKSTART_MARKER))).toBe(true);
  writeFileSync(join(dir, "left-over"), "x");
  const steps = await quickstart(dir, { ...o, out: sink().out });
  expect(steps).toHaveLength(8);
  expect(existsSync(join(dir, "left-over"))).toBe(false);
  expect(readdirSync(dir).sort()).toEqual(
    [QUICKSTART_MARKER, "image", "queue", "segmentation", "source"].sort(),
  );
}, 120_000);
