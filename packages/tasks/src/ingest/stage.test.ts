import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Bbox, closePool, Volume } from "@ngpipe/precomputed";
import { executeTask } from "../runtime/define";
import { openSource } from "./sources/open";
import { createIngestTasks, IngestConfigError, ingest } from "./stage";

const AFF = join(__dirname, "../../../../../shared/data/piriform.aff.h5");
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "ngpipe-ingest-"));
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await closePool();
});

/** A little .npy file (C order) written by hand: header + data. */
function writeNpy(file: string, descr: string, shape: number[], data: Uint8Array): void {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")},), }`;
  const total = 10 + header.length + 1;
  header += `${" ".repeat((64 - (total % 64)) % 64)}\n`;
  const head = Buffer.alloc(10);
  head.write("\x93NUMPY", 0, "latin1");
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  writeFileSync(file, Buffer.concat([head, Buffer.from(header, "latin1"), Buffer.from(data)]));
}

test("the piriform affinity map ingests to a 3-channel float32 layer equal to the HDF5 dataset voxel for voxel", async () => {
  const url = `file://${join(tmp, "aff")}`;
  const vol = await ingest(`${AFF}#/main`, url, { resolution: [4, 4, 40], chunkSize: [64, 64, 4] });
  expect(vol.dataType).toBe("float32");
  expect(vol.numChannels).toBe(3);
  expect(vol.bounds.toString()).toBe("0-200_0-200_0-5");
  expect(vol.layerType).toBe("image");
  const got = await vol.read(vol.bounds);
  // The reference: the whole dataset through the HDF5 reader (C shape (3, 5, 200, 200) = [c, z, y, x]).
  const src = await openSource(`${AFF}#/main`);
  const all = (await src.readBlock({ min: [0, 0, 0], max: [200, 200, 5] })) as Float32Array;
  await src.close();
  expect(
    Buffer.from(got.data.buffer).equals(Buffer.from(all.buffer, all.byteOffset, all.byteLength)),
  ).toBe(true);
  // Spot-check the axis mapping against the element order of the file: channel 2 of voxel (7, 3, 4).
  expect(got.get(7, 3, 4, 2)).toBe(all[7 + 200 * (3 + 200 * (4 + 5 * 2))]);
});

test("ingest tasks are payloads that any worker can execute, one per block, clamped to the dataset", async () => {
  const file = join(tmp, "labels.npy");
  const labels = new Uint32Array(70 * 30 * 9);
  for (let i = 0; i < labels.length; i++) labels[i] = (i % 13) + 1;
  writeNpy(file, "<u4", [9, 30, 70], new Uint8Array(labels.buffer));
  const url = `mem://ingest-test/labels`;
  const tasks = [];
  for await (const t of createIngestTasks(file, url, {
    chunkSize: [16, 16, 8],
    taskShape: [32, 32, 8],
  }))
    tasks.push(t);
  expect(tasks.length).toBe(3 * 1 * 2);
  expect(tasks.map((t) => (t.params as { bbox: string }).bbox)).toContain("64-70_0-30_8-9");
  for (const t of tasks) await executeTask(JSON.parse(JSON.stringify(t)));
  const vol = await Volume.open(url);
  expect(vol.layerType).toBe("segmentation");
  expect(vol.scale.encoding).toBe("compressed_segmentation");
  const got = await vol.read(new Bbox([0, 0, 0], [70, 30, 9]));
  expect(Buffer.from(got.data.buffer).equals(Buffer.from(labels.buffer))).toBe(true);
});

test("an encoding that cannot hold the source's data type is refused before anything is written", async () => {
  const gen = createIngestTasks(`${AFF}#/main`, "mem://ingest-test/bad", { encoding: "jpeg" });
  await expect(gen.next()).rejects.toThrow(IngestConfigError);
  await expect(
    createIngestTasks(`${AFF}#/main`, "mem://ingest-test/bad2", { encoding: "jpeg" }).next(),
  ).rejects.toThrow(/jpeg encoding cannot hold float32/);
});

test("a missing dataset path lists the datasets present", async () => {
  await expect(createIngestTasks(`${AFF}#/nope`, "mem://ingest-test/x").next()).rejects.toThrow(
    /main/,
  );
});
