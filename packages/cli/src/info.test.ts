import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureOutput } from "./capture.testutil";
import { main } from "./program";

let tmp: string;
let out = "";
let err = "";
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "ngpipe-info-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
captureOutput({
  reset: () => {
    out = "";
    err = "";
  },
  out: (s) => {
    out += s;
  },
  err: (s) => {
    err += s;
  },
});

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

const ngpipe = (...args: string[]) => main(["node", "ngpipe", "--quiet", ...args]);

test("info on a directory of layers lists them and describes each", async () => {
  const dir = join(tmp, "quickstart-like");
  layer(join(dir, "image"), "image", [64, 64, 32]);
  layer(join(dir, "segmentation"), "segmentation", [64, 64, 32]);
  mkdirSync(join(dir, "queue"));
  expect(await ngpipe("info", dir)).toBe(0);
  expect(out).toMatch(/2 layer\(s\): image, segmentation/);
  expect(out).toMatch(/image\n {2}type: image, data type: uint8/);
  expect(out).toMatch(/segmentation\n {2}type: segmentation, data type: uint32/);
});

test("info on a directory without layers still fails with the missing info", async () => {
  const dir = join(tmp, "empty");
  mkdirSync(dir);
  expect(await ngpipe("info", dir)).toBe(1);
  expect(err).toMatch(/^ngpipe: InfoNotFoundError: .*empty\/info/);
});
