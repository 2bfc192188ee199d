import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fromTyped, readInfo, Volume } from "@ngpipe/precomputed";
import { openStorage } from "@ngpipe/storage";
import { cliTestbed } from "./capture.testutil";

const cli = cliTestbed("ngpipe-cli-sharded-");
const { ngpipe } = cli;

beforeAll(() => {});

let n = 0;
/** A 40x40x12 uint8 image in 16x16x4 chunks (a size the chunks do not divide). */
async function imageLayer(): Promise<{ url: string; data: Uint8Array }> {
  const data = new Uint8Array(40 * 40 * 12);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251;
  const url = `file://${join(cli.tmp, `src${n++}`)}`;
  await Volume.fromArray(url, fromTyped(data, [40, 40, 12]), {
    chunkSize: [16, 16, 4],
    resolution: [4, 4, 40],
  });
  return { url, data };
}
const dir = () => join(cli.tmp, `out${n++}`);

test("image xfer --sharded, then --unsharded, keeps every voxel; downsample --sharded adds a sharded mip", async () => {
  const { url, data } = await imageLayer();
  const sharded = dir();
  const back = dir();
  expect(await ngpipe("image", "xfer", url, sharded, "--sharded", "--shard-bytes", "8K")).toBe(0);
  const info = await readInfo(openStorage(`file://${sharded}`));
  expect(info.scales[0].sharding?.hash).toBe("identity");
  expect(readdirSync(join(sharded, "4_4_40")).every((f) => f.endsWith(".shard"))).toBe(true);
  expect(await ngpipe("image", "downsample", sharded, "--sharded")).toBe(0);
  expect((await readInfo(openStorage(`file://${sharded}`))).scales[1].sharding).toBeDefined();
  expect(await ngpipe("image", "xfer", sharded, back, "--unsharded")).toBe(0);
  const vol = await Volume.open(`file://${back}`);
  expect(vol.scale.sharding).toBeUndefined();
  expect(
    Buffer.from((await vol.read(vol.bounds)).data.buffer).equals(Buffer.from(data.buffer)),
  ).toBe(true);
});

test("--shard-bytes below one chunk is a usage error naming the scale and field, writing nothing", async () => {
  const { url } = await imageLayer();
  const dest = dir();
  expect(await ngpipe("image", "xfer", url, dest, "--sharded", "--shard-bytes", "100")).toBe(2);
  expect(cli.err).toMatch(/scale 4_4_40: shardBytes: 100 bytes is less than one chunk/);
  expect(readdirSync(cli.tmp)).not.toContain(dest.split("/").pop());
});

test("--shard-bytes without --sharded, and --sharded with --unsharded, are usage errors", async () => {
  const { url } = await imageLayer();
  expect(await ngpipe("image", "xfer", url, dir(), "--shard-bytes", "1M")).toBe(2);
  expect(cli.err).toMatch(/--shard-bytes sizes the shards of --sharded/);
  expect(await ngpipe("image", "xfer", url, dir(), "--sharded", "--unsharded")).toBe(2);
  expect(cli.err).toMatch(/exclude each other/);
});

test("downsample --sharded into a mip that exists unsharded names --dest", async () => {
  const { url } = await imageLayer();
  expect(await ngpipe("image", "downsample", url)).toBe(0);
  expect(await ngpipe("image", "downsample", url, "--sharded")).toBe(2);
  expect(cli.err).toMatch(/scale 8_8_40: sharding: exists unsharded.*\(dest\)/);
  expect(await ngpipe("image", "downsample", url, "--sharded", "--dest", dir())).toBe(0);
});

test("image ccl and image remap --sharded write their layer and its mips in shard files", async () => {
  const labels = new Uint32Array(40 * 40 * 12);
  // Slabs of 5 voxels in x: 8 components, each labelled 1 or 2.
  for (let i = 0; i < labels.length; i++) labels[i] = 1 + (Math.floor((i % 40) / 5) % 2);
  const src = `file://${join(cli.tmp, `seg${n++}`)}`;
  await Volume.fromArray(src, fromTyped(labels, [40, 40, 12]), {
    chunkSize: [16, 16, 4],
    resolution: [4, 4, 40],
  });
  const cc = dir();
  const args = ["--sharded", "--shard-bytes", "32K", "--num-mips", "1"];
  expect(await ngpipe("image", "ccl", src, cc, ...args)).toBe(0);
  const map = join(cli.tmp, `map${n++}.json`);
  await openStorage(`file://${cli.tmp}`).put(map.split("/").pop()!, JSON.stringify({ 1: 7, 2: 9 }));
  const remapped = dir();
  expect(await ngpipe("image", "remap", src, remapped, "--map", map, ...args)).toBe(0);
  for (const layer of [cc, remapped]) {
    const info = await readInfo(openStorage(`file://${layer}`));
    expect(info.scales.length).toBe(2);
    for (const s of info.scales) {
      expect(s.sharding?.hash).toBe("identity");
      expect(readdirSync(join(layer, s.key)).every((f) => f.endsWith(".shard"))).toBe(true);
    }
  }
  const ccVol = await Volume.open(`file://${cc}`);
  const ids = (await ccVol.read(ccVol.bounds)).data as Uint32Array;
  expect(new Set(ids).size).toBe(8);
  const vol = await Volume.open(`file://${remapped}`);
  const got = (await vol.read(vol.bounds)).data as Uint32Array;
  expect(got.every((v, i) => v === (labels[i] === 1 ? 7 : 9))).toBe(true);
});

test("--shape with --sharded on ccl and remap is a usage error", async () => {
  const { url } = await imageLayer();
  expect(await ngpipe("image", "ccl", url, dir(), "--sharded", "--shape", "16,16,4")).toBe(2);
  expect(cli.err).toMatch(/--shape is the shard's with --sharded/);
});
