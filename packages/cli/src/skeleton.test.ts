import { join } from "node:path";
import { fromTyped, SkeletonLayer, Volume } from "@ngpipe/precomputed";
import { skeletonStats } from "@ngpipe/segmentation";
import { voronoiSegmentation } from "@ngpipe/tasks";
import { cliTestbed } from "./capture.testutil";

const cli = cliTestbed("ngpipe-cli-skel-");
const { ngpipe } = cli;
beforeAll(() => {});

const SIZE = [48, 48, 24] as const;

async function seg(name: string): Promise<string> {
  const labels = voronoiSegmentation(SIZE, { seeds: 6, seed: 3 });
  const url = `file://${join(cli.tmp, name)}`;
  await Volume.fromArray(url, fromTyped(labels, SIZE), {
    chunkSize: [24, 24, 24],
    resolution: [8, 8, 16],
  });
  return url;
}

test("skeleton forge, merge --sharded and stats run end to end and agree with the stored skeletons", async () => {
  const url = await seg("sharded");
  expect(
    await ngpipe("skeleton", "forge", url, "--shape", "24,24,24", "--dust", "100", "-p", "2"),
  ).toBe(0);
  expect(cli.err).not.toMatch(/error/i);
  expect(
    await ngpipe(
      "skeleton",
      "merge",
      url,
      "--sharded",
      "--tick-threshold",
      "50",
      "--dust-threshold",
      "0",
    ),
  ).toBe(0);
  const layer = await SkeletonLayer.open(`${url}/skeletons`);
  expect(layer.sharded).toBe(true);
  const vol = await Volume.open(url);
  const ids = (await vol.unique(vol.bounds)).map(String).filter((id) => id !== "0");
  const stored = await layer.getMany(ids.map(BigInt));
  const present = ids.filter((_, i) => stored[i] !== null);
  expect(present.length).toBeGreaterThan(3);
  cli.clear();
  expect(await ngpipe("skeleton", "stats", url, ...present, "--json")).toBe(0);
  const rows = JSON.parse(cli.out) as { id: string; cableLength: number; endPoints: number }[];
  expect(rows.map((r) => r.id)).toEqual(present);
  for (const r of rows) {
    const s = stored[ids.indexOf(r.id)];
    expect(r).toMatchObject(skeletonStats(s as NonNullable<typeof s>));
    expect(r.cableLength).toBeGreaterThan(0);
  }
  cli.clear();
  expect(await ngpipe("skeleton", "stats", url, present[0])).toBe(0);
  expect(cli.out).toMatch(/cable \(nm\)/);
  expect(cli.out).toContain(present[0]);
});

test("skeleton stats of an id without a skeleton, or of a layer without skeletons, is one line and exit 2", async () => {
  const url = await seg("none");
  expect(await ngpipe("skeleton", "stats", url, "1")).toBe(2);
  expect(cli.err).toMatch(/no skeletons/);
  cli.clear();
  await ngpipe("skeleton", "forge", url, "--shape", "48,48,24", "--dust", "100");
  await ngpipe("skeleton", "merge", url);
  expect(await ngpipe("skeleton", "stats", url, "999999")).toBe(2);
  expect(cli.err).toMatch(/no skeleton for segment 999999/);
});

test("skeleton forge refuses an image layer and anisotropy that is not the layer's", async () => {
  const img = `file://${join(cli.tmp, "img")}`;
  await Volume.fromArray(img, fromTyped(new Uint8Array(8 * 8 * 8), [8, 8, 8]));
  expect(await ngpipe("skeleton", "forge", img)).not.toBe(0);
  expect(cli.err).toMatch(/image layer; skeletons are made from segmentation layers/);
  cli.clear();
  const url = await seg("aniso");
  expect(await ngpipe("skeleton", "forge", url, "--anisotropy", "4,4,40")).not.toBe(0);
  expect(cli.err).toMatch(/anisotropy \[4,4,40\] is not the resolution \[8,8,16\]/);
});
