import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { closePool, fromTyped, Volume } from "@ngpipe/precomputed";
import { InvalidTaskParamsError } from "@ngpipe/tasks";
import { createHistogramTasks, histogramTask, main } from "./custom-task";

const sink = () =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

let dir: string;
const size: [number, number, number] = [40, 24, 20];
const pixels = new Uint8Array(size[0] * size[1] * size[2]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ngpipe-example-task-"));
  // Value = (x * 7 + y * 3 + z) mod 256: every block sees a different mix.
  for (let z = 0; z < size[2]; z++)
    for (let y = 0; y < size[1]; y++)
      for (let x = 0; x < size[0]; x++)
        pixels[x + size[0] * (y + size[1] * z)] = (x * 7 + y * 3 + z) % 256;
  await Volume.fromArray("mem://custom-task-example/img", fromTyped(pixels, size), {
    chunkSize: [16, 16, 16],
  });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await closePool();
});

test("one task per block, clipped to the dataset", async () => {
  const tasks = await createHistogramTasks("mem://custom-task-example/img", [16, 16, 16]);
  const blocks = [...tasks].map((t) => t.params.block);
  expect(tasks.count).toBe(3 * 2 * 2);
  expect(blocks).toHaveLength(12);
  expect(blocks).toContain("32-40_16-24_16-20");
  expect(new Set(blocks).size).toBe(12);
});

test("the worker loop runs every task once and the merged histogram counts every voxel", async () => {
  const queue = `fq://${join(dir, "queue")}`;
  const { inserted, summary, histogram } = await main({
    image: "mem://custom-task-example/img",
    queue,
    shape: [16, 16, 16],
    out: sink(),
  });
  expect(inserted).toBe(12);
  expect(summary).toMatchObject({ succeeded: 12, failed: 0, dead: 0, stoppedBy: "empty" });

  const expected = new Array<number>(256).fill(0);
  for (const v of pixels) expected[v]++;
  expect(histogram).toEqual(expected);
  // Completed tasks leave the queue directory's task folder empty.
  expect(await readdir(join(dir, "queue", "queue"))).toEqual([]);
});

test("running the tasks again overwrites the same per-block results: the sum does not double", async () => {
  const again = await main({
    image: "mem://custom-task-example/img",
    queue: `fq://${join(dir, "queue2")}`,
    shape: [16, 16, 16],
    out: sink(),
  });
  expect(again.histogram.reduce((a, b) => a + b, 0)).toBe(pixels.length);
});

test("params are validated before a task is queued", () => {
  expect(() => histogramTask.payload({ image: "mem://x", block: "0-16_0-16", mip: 0 })).toThrow(
    InvalidTaskParamsError,
  );
});
