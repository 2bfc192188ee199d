import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliTestbed } from "./capture.testutil";

const cli = cliTestbed("ngpipe-info-");
const { ngpipe } = cli;
beforeAll(() => {});
afterAll(() => rmSync(cli.tmp, { recursive: true, force: true }));

/** A layer's info file (no chunks: info reads only the info). */
function layer(dir: string, type: "image" | "segmentation", size: number[]): void {
  mkdirSync(dir, { recursive: true });
  const info = {
    type,
    data_type: type === "image" ? "uint8" : "uint32",
    num_channels: 1,
    scales: [
      {
        key: "4_4_40",
        size,
        voxel_offset: [0, 0, 0],
        resolution: [4, 4, 40],
        chunk_sizes: [[32, 32, 16]],
        encoding: "raw",
      },
    ],
  };
  writeFileSync(join(dir, "info"), JSON.stringify(info));
}

test("info on a directory of layers lists them and describes each", async () => {
  const dir = join(cli.tmp, "quickstart-like");
  layer(join(dir, "image"), "image", [64, 64, 32]);
  layer(join(dir, "segmentation"), "segmentation", [64, 64, 32]);
  mkdirSync(join(dir, "queue"));
  expect(await ngpipe("info", dir)).toBe(0);
  expect(cli.out).toMatch(/2 layer\(s\): image, segmentation/);
  expect(cli.out).toMatch(/image\n {2}type: image, data type: uint8/);
  expect(cli.out).toMatch(/segmentation\n {2}type: segmentation, data type: uint32/);
});

test("info on a directory without layers still fails with the missing info", async () => {
  const dir = join(cli.tmp, "empty");
  mkdirSync(dir);
  expect(await ngpipe("info", dir)).toBe(1);
  expect(cli.err).toMatch(/^ngpipe: InfoNotFoundError: .*empty\/info/);
});
