/**
 * The checks task creation functions make before writing: bounds against the
 * dataset, values against the data type, info rewrites that would strand
 * stored chunks, and a layer transferred onto itself. Each refusal leaves
 * every stored byte as it was.
 */
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { Bbox, closePool, NdArray, Volume } from "@ngpipe/precomputed";
import { openStorage } from "@ngpipe/storage";
import { createBlackoutTasks } from "./blackout";
import { StageInputError, sameLocation } from "./checks";
import { createDeleteTasks } from "./delete";
import { createDownsampleTasks } from "./downsample";
import { createQuantizeTasks } from "./quantize";
import { snapshotDir, tempDir } from "./testing";
import { createTouchTasks } from "./touch";
import { createTransferTasks } from "./transfer";

const tmp = tempDir();
let url: string;

beforeAll(async () => {
  url = tmp.url("img");
  const vol = await Volume.create(url, {
    type: "image",
    data_type: "uint8",
    num_channels: 1,
    scales: [
      {
        key: "1_1_1",
        resolution: [1, 1, 1],
        size: [64, 64, 16],
        voxel_offset: [0, 0, 0],
        chunk_sizes: [[16, 16, 16]],
        encoding: "raw",
      },
    ],
  });
  const a = NdArray.zeros("uint8", [64, 64, 16, 1]);
  (a.data as Uint8Array).fill(7);
  await vol.write(vol.bounds, a);
});
afterAll(async () => {
  tmp.cleanup();
  await closePool();
});

/** Expect `run` to throw StageInputError on `field` and to leave every file as it was. */
async function refused(run: () => Promise<unknown>, field: string, message: RegExp) {
  const before = snapshotDir(tmp.dir);
  const err = await run().then(
    () => undefined,
    (e) => e,
  );
  expect(err).toBeInstanceOf(StageInputError);
  expect(err.field).toBe(field);
  expect(err.message).toMatch(message);
  expect(snapshotDir(tmp.dir)).toEqual(before);
}

describe("bounds", () => {
  const outside = new Bbox([100, 0, 0], [200, 10, 10]);
  const negative = new Bbox([-64, 0, 0], [0, 64, 16]);
  test.each([
    ["downsample", () => createDownsampleTasks(url, { bounds: outside })],
    ["downsample, negative", () => createDownsampleTasks(url, { bounds: negative })],
    ["transfer", () => createTransferTasks(url, tmp.url("copy"), { bounds: outside })],
    ["delete", () => createDeleteTasks(url, { bounds: outside })],
    ["touch", () => createTouchTasks(url, { bounds: outside })],
    ["blackout", () => createBlackoutTasks(url, outside)],
  ])("entirely outside the dataset: %s refuses them, naming both boxes", async (_s, run) => {
    await refused(run, "bounds", /outside the dataset's bounds 0-64_0-64_0-16 of file:/);
  });

  test("partly outside: clipped with a notice, or refused when strict", async () => {
    const notices: string[] = [];
    const wide = new Bbox([0, 0, 0], [1000, 1000, 100]);
    const tasks = await createTouchTasks(url, { bounds: wide, onNotice: (m) => notices.push(m) });
    expect(tasks.bounds.toString()).toBe("0-64_0-64_0-16");
    expect(notices).toEqual([
      "bounds 0-1000_0-1000_0-100 clipped to the dataset's bounds 0-64_0-64_0-16: 0-64_0-64_0-16",
    ]);
    await refused(
      () => createDownsampleTasks(url, { bounds: wide, strictBounds: true }),
      "bounds",
      /reach outside the dataset's bounds 0-64_0-64_0-16/,
    );
  });
});

describe("values against the data type", () => {
  test.each([
    [300, /from 0 to 255 for a uint8 layer/],
    [-1, /from 0 to 255/],
    ["1.5", /whole number/],
    ["abc", /whole number/],
  ])("blackout value %p is refused", async (value, message) => {
    const box = new Bbox([0, 0, 0], [64, 64, 16]);
    await refused(() => createBlackoutTasks(url, box, { value }), "value", message);
  });

  test("a background the type cannot hold is refused by downsample and transfer", async () => {
    await refused(
      () => createDownsampleTasks(url, { skipBackground: true, background: 256 }),
      "background",
      /from 0 to 255/,
    );
    await refused(
      () => createTransferTasks(url, tmp.url("copy"), { skipBackground: true, background: -2 }),
      "background",
      /from 0 to 255/,
    );
  });
});

describe("info rewrites", () => {
  test.each([
    ["another encoding", { encoding: "png" }],
    ["another chunk size", { chunkSize: [16, 16, 8] as [number, number, number] }],
    ["a translation", { translate: [16, 0, 0] as [number, number, number] }],
    ["another compression", { compress: "br" as const }],
  ])("a transfer onto itself with %s is refused", async (_what, o) => {
    await refused(() => createTransferTasks(url, url, o), "dest", /onto itself/);
  });

  test("the same layer reached through a symbolic link or a trailing slash is itself", async () => {
    const link = join(tmp.dir, "link");
    symlinkSync(join(tmp.dir, "img"), link);
    expect(sameLocation(openStorage(url), openStorage(`file://${link}`))).toBe(true);
    expect(sameLocation(openStorage(url), openStorage(`${url}/`))).toBe(true);
    expect(sameLocation(openStorage(url), openStorage(tmp.url("copy")))).toBe(false);
    await refused(
      () => createTransferTasks(url, `file://${link}`, { encoding: "png" }),
      "dest",
      /onto itself/,
    );
  });

  test("quantize onto its source is refused", async () => {
    const aff = "mem://checks-quantize/aff";
    await Volume.fromArray(aff, NdArray.zeros("float32", [8, 8, 8]));
    const err = await createQuantizeTasks(aff, aff).catch((e) => e);
    expect(err).toBeInstanceOf(StageInputError);
    expect(err.message).toMatch(/quantizing it onto itself/);
    expect((await Volume.open(aff)).dataType).toBe("float32");
  });

  test("changing an existing scale for part of it is refused; for all of it, allowed", async () => {
    const dest = tmp.url("partial");
    for (const p of await createTransferTasks(url, dest, {})) expect(p.name).toBe("transfer");
    await refused(
      () =>
        createTransferTasks(url, dest, {
          chunkSize: [8, 8, 8],
          translate: [0, 0, 0],
          bounds: new Bbox([0, 0, 0], [32, 32, 16]),
        }),
      "info",
      /scale 1_1_1 exists and this would change its chunk_size \[16,16,16\] -> \[8,8,8\]/,
    );
    const whole = await createTransferTasks(url, dest, { chunkSize: [8, 8, 8] });
    expect(whole.count).toBeGreaterThan(0);
  });
});
