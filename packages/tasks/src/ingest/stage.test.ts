import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Bbox, channel, closePool, Volume } from "@ngpipe/precomputed";
import UTIF from "utif";
import { executeTask } from "../runtime/define";
import { createDownsampleTasks } from "../stages/downsample";
import { createQuantizeTasks } from "../stages/quantize";
import { openSource } from "./sources/open";
import { closeIngestSources, createIngestTasks, IngestConfigError, ingest } from "./stage";

const AFF = join(__dirname, "../../../../../shared/data/piriform.aff.h5");
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "ngpipe-ingest-"));
});
afterAll(async () => {
  // Ingest tasks run here keep their sources (file handles) open between
  // blocks, as a worker does; close them rather than leave them to the GC.
  await closeIngestSources();
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
  const all = (await src.readBlock({ min: [0, 0, 0], max: [200, 200, 5] })).data as Float32Array;
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
  const set = await createIngestTasks(file, url, {
    chunkSize: [16, 16, 8],
    taskShape: [32, 32, 8],
  });
  const tasks = [...set];
  expect(set.count).toBe(3 * 1 * 2);
  expect(tasks.length).toBe(set.count);
  expect(tasks.map((t) => (t.params as { bbox: string }).bbox)).toContain("64-70_0-30_8-9");
  for (const t of tasks) await executeTask(JSON.parse(JSON.stringify(t)));
  const vol = await Volume.open(url);
  expect(vol.layerType).toBe("segmentation");
  expect(vol.scale.encoding).toBe("compressed_segmentation");
  const got = await vol.read(new Bbox([0, 0, 0], [70, 30, 9]));
  expect(Buffer.from(got.data.buffer).equals(Buffer.from(labels.buffer))).toBe(true);
});

test("an encoding that cannot hold the source's data type is refused before anything is written", async () => {
  await expect(
    createIngestTasks(`${AFF}#/main`, "mem://ingest-test/bad", { encoding: "jpeg" }),
  ).rejects.toThrow(IngestConfigError);
  await expect(
    createIngestTasks(`${AFF}#/main`, "mem://ingest-test/bad2", { encoding: "jpeg" }),
  ).rejects.toThrow(/jpeg encoding cannot hold float32/);
});

test("a missing dataset path lists the datasets present", async () => {
  await expect(createIngestTasks(`${AFF}#/nope`, "mem://ingest-test/x")).rejects.toThrow(/main/);
});

async function runAll(tasks: Iterable<unknown> | AsyncIterable<unknown>): Promise<void> {
  for await (const t of tasks) await executeTask(JSON.parse(JSON.stringify(t)));
}

test("every ingested layer downsamples through the downsample stage and still reads back identical at mip 0", async () => {
  const url = `file://${join(tmp, "aff-ds")}`;
  const vol = await ingest(`${AFF}#/main`, url, { resolution: [4, 4, 40], chunkSize: [32, 32, 5] });
  const before = await vol.read(vol.bounds);
  await runAll(await createDownsampleTasks(url, { mips: 2 }));
  const after = await Volume.open(url);
  expect(after.mipCount).toBe(3);
  const again = await after.read(after.bounds);
  expect(Buffer.from(again.data.buffer).equals(Buffer.from(before.data.buffer))).toBe(true);
  const m2 = await after.withMip(2).read(after.withMip(2).bounds);
  expect(m2.shape).toEqual([50, 50, 5, 3]);
});

test("the piriform affinities quantize to an 8-bit image of one channel (value x 255, truncated)", async () => {
  const aff = `file://${join(tmp, "aff-q")}`;
  const vol = await ingest(`${AFF}#/main`, aff, { resolution: [4, 4, 40], chunkSize: [64, 64, 5] });
  const dest = `file://${join(tmp, "aff-q8")}`;
  await runAll(await createQuantizeTasks(aff, dest, { channel: 2 }));
  const q = await Volume.open(dest);
  expect(q.dataType).toBe("uint8");
  expect(q.numChannels).toBe(1);
  const src = channel(await vol.read(vol.bounds), 2).data as Float32Array;
  const got = (await q.read(q.bounds)).data as Uint8Array;
  let mismatches = 0;
  for (let i = 0; i < src.length; i++)
    if (got[i] !== Math.min(255, Math.max(0, Math.trunc(Math.fround(src[i] * 255))))) mismatches++;
  expect(mismatches).toBe(0);
});

/** A grey 8-bit TIFF slice with one raw strip. */
function tiffSlice(w: number, h: number, px: Uint8Array): Uint8Array {
  const ifd = (offset: number) => [
    {
      t256: [w],
      t257: [h],
      t258: [8],
      t259: [1],
      t262: [1],
      t273: [offset],
      t277: [1],
      t278: [h],
      t279: [px.length],
    },
  ];
  const head = UTIF.encode(ifd(0)).byteLength;
  const out = new Uint8Array(head + px.length);
  out.set(new Uint8Array(UTIF.encode(ifd(head))));
  out.set(px, head);
  return out;
}

describe("sources of every format ingest, downsample, and read back identical at mip 0", () => {
  const shape = [37, 29, 6] as const;
  const n = shape[0] * shape[1] * shape[2];

  async function check(source: string, want: ArrayLike<number>, name: string) {
    const url = `file://${join(tmp, name)}`;
    await ingest(source, url, { chunkSize: [16, 16, 4], layerType: "image" });
    await runAll(await createDownsampleTasks(url, { mips: 1 }));
    const vol = await Volume.open(url);
    expect(vol.mipCount).toBe(2);
    const got = (await vol.read(vol.bounds)).data;
    expect(got.length).toBe(n);
    let diff = 0;
    for (let i = 0; i < n; i++) if (Number(got[i]) !== want[i]) diff++;
    expect(diff).toBe(0);
  }

  test("npy (uint16, C order)", async () => {
    const v = new Uint16Array(n);
    for (let i = 0; i < n; i++) v[i] = (i * 37) % 65521;
    const file = join(tmp, "v.npy");
    writeNpy(file, "<u2", [shape[2], shape[1], shape[0]], new Uint8Array(v.buffer));
    await check(file, v, "from-npy");
  });

  test("zarr v3 (uint32, written by zarrita)", async () => {
    const zarr = await import("zarrita");
    const FileSystemStore = (await import("@zarrita/storage/fs")).default;
    const dir = join(tmp, "v.zarr");
    const arr = await zarr.create(zarr.root(new FileSystemStore(dir)).resolve("/vol"), {
      shape: [shape[2], shape[1], shape[0]],
      chunkShape: [4, 16, 16],
      dtype: "uint32",
    });
    const v = new Uint32Array(n);
    for (let i = 0; i < n; i++) v[i] = (i * 7919) % 100003;
    await zarr.set(arr, null, {
      data: v,
      shape: [shape[2], shape[1], shape[0]],
      stride: [shape[0] * shape[1], shape[0], 1],
    });
    await check(`${dir}#/vol`, v, "from-zarr");
  });

  test("a TIFF slice stack (uint8)", async () => {
    const dir = join(tmp, "stack");
    mkdirSync(dir);
    const v = new Uint8Array(n);
    for (let i = 0; i < n; i++) v[i] = (i * 13) & 255;
    const plane = shape[0] * shape[1];
    for (let z = 0; z < shape[2]; z++)
      writeFileSync(
        join(dir, `s${z + 1}.tif`),
        tiffSlice(shape[0], shape[1], v.subarray(z * plane, (z + 1) * plane)),
      );
    await check(dir, v, "from-tiff");
  });
});

test("a worker running tasks of more sources at once than it keeps open never closes one in use", async () => {
  // Six HDF5 sources, their 48 tasks interleaved and run 8 at a time, as
  // `ngpipe execute -c 8` would: the source cache holds 4, so sources must
  // be kept open while any task still reads them.
  const h5 = await import("h5wasm/node");
  await h5.ready;
  const sources: string[] = [];
  for (let i = 0; i < 6; i++) {
    const file = join(tmp, `many-${i}.h5`);
    const w = new h5.File(file, "w");
    w.create_dataset({
      name: "v",
      data: new Uint8Array(32 * 32 * 32).fill(i + 1),
      shape: [32, 32, 32],
      dtype: "<B",
      chunks: [16, 16, 16],
      compression: 1,
    });
    w.close();
    sources.push(file);
  }
  const queue: unknown[][] = [];
  for (let i = 0; i < 6; i++)
    queue.push([
      ...(await createIngestTasks(sources[i], `mem://ingest-many/${i}`, {
        chunkSize: [16, 16, 16],
        taskShape: [16, 16, 16],
      })),
    ]);
  const order: unknown[] = [];
  for (let k = 0; k < 8; k++) for (const q of queue) order.push(q[k]);
  let next = 0;
  const failures: string[] = [];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < order.length) {
        const t = order[next++];
        await executeTask(JSON.parse(JSON.stringify(t))).catch((e) => failures.push(String(e)));
      }
    }),
  );
  expect(failures).toEqual([]);
  for (let i = 0; i < 6; i++) {
    const vol = await Volume.open(`mem://ingest-many/${i}`);
    const got = await vol.read(vol.bounds);
    expect((got.data as Uint8Array).every((v) => v === i + 1)).toBe(true);
  }
  await closeIngestSources();
});

test("re-ingesting a region keeps the layer's info and pyramid; a different layer at the path is refused", async () => {
  const file = join(tmp, "again.npy");
  const labels = new Uint8Array(32 * 32 * 8).fill(9);
  writeNpy(file, "|u1", [8, 32, 32], labels);
  const url = "mem://ingest-test/again";
  const opts = { chunkSize: [16, 16, 8] as [number, number, number] };
  for (const t of await createIngestTasks(file, url, opts)) await executeTask(t);
  for (const t of await createDownsampleTasks(url, { mips: 1 })) await executeTask(t);
  const before = (await Volume.open(url)).info;
  expect(before.scales).toHaveLength(2);
  const again = await createIngestTasks(file, url, {
    ...opts,
    bounds: new Bbox([0, 0, 0], [16, 16, 8]),
  });
  expect(again.count).toBe(1);
  expect((await Volume.open(url)).info).toEqual(before);
  await expect(createIngestTasks(file, url, { chunkSize: [8, 8, 8] })).rejects.toThrow(
    /mem:\/\/ingest-test\/again already holds a layer whose scales\[0\]\.chunk_sizes is \[\[16,16,8\]\]/,
  );
});

test("an HDF5 source in a directory whose name holds '#' and a space ingests", async () => {
  const h5 = await import("h5wasm/node");
  await h5.ready;
  const dir = join(tmp, "run #2 of 3");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "cells.h5");
  const w = new h5.File(file, "w");
  w.create_dataset({
    name: "raw",
    data: new Uint8Array(16 * 16 * 4).fill(6),
    shape: [4, 16, 16],
    dtype: "<B",
  });
  w.close();
  for (const spec of [file, `${file}#/raw`]) {
    const url = `mem://ingest-hash/${spec.endsWith("raw") ? "a" : "b"}`;
    const vol = await ingest(spec, url, { chunkSize: [16, 16, 4] });
    expect((await vol.read(vol.bounds)).data.every((v) => v === 6)).toBe(true);
  }
});
