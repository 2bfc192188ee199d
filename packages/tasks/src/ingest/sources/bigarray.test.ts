/**
 * BigArray fixtures are made here from the format's description
 * (BigArrays.jl: config.json, chunk keys x0:x1_y0:y1_z0:z1 in 1-based
 * inclusive coordinates, chunks x fastest; the seed's BigArrayTask layouts),
 * with the numcodecs and zlib encoders, then read back voxel for voxel.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { Volume } from "@ngpipe/precomputed";
import { openStorage } from "@ngpipe/storage";
import { GcsLoopbackServer } from "@ngpipe/storage/testing";
import { createDownsampleTasks } from "../../stages/downsample";
import { runAll } from "../../stages/testing";
import { createIngestTasks } from "../stage";
import { openBigArray } from "./bigarray";
import { CorruptSourceError, MissingConfigError, SourceError, UnknownCodingError } from "./errors";
import { mapEsmOnlyPackagesForJest } from "./esm-jest.testutil";
import { openSource } from "./open";

mapEsmOnlyPackagesForJest();

type Codec = { encode(d: Uint8Array): Promise<Uint8Array> | Uint8Array };
let Blosc: { fromConfig(c: object): Codec };
let Zstd: { fromConfig(c: object): Codec };
let h5: typeof import("h5wasm");
let dir: string;

beforeAll(async () => {
  Blosc = (await import("numcodecs/blosc")).default as never;
  Zstd = (await import("numcodecs/zstd")).default as never;
  h5 = await import("h5wasm/node");
  await h5.ready;
  dir = mkdtempSync(path.join(tmpdir(), "ngpipe-bigarray-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The dataset: global voxels [32, 80) x [16, 48) x [8, 24), chunks 16x16x8. */
const ORIGIN = [32, 16, 8];
const SIZE = [48, 32, 16];
const CHUNK = [16, 16, 8];

/** Value of global voxel (x, y, z), channel c: distinct enough to catch any misplaced copy. */
function truth(x: number, y: number, z: number, c = 0): number {
  return (x * 7 + y * 131 + z * 1031 + c * 20011) % 65521;
}

/** The chunks of the dataset: key and x-fastest uint16 data (channels planar). */
function chunks(channels = 1): { key: string; data: Uint16Array }[] {
  const out: { key: string; data: Uint16Array }[] = [];
  for (let z0 = ORIGIN[2]; z0 < ORIGIN[2] + SIZE[2]; z0 += CHUNK[2])
    for (let y0 = ORIGIN[1]; y0 < ORIGIN[1] + SIZE[1]; y0 += CHUNK[1])
      for (let x0 = ORIGIN[0]; x0 < ORIGIN[0] + SIZE[0]; x0 += CHUNK[0]) {
        const data = new Uint16Array(CHUNK[0] * CHUNK[1] * CHUNK[2] * channels);
        let i = 0;
        for (let c = 0; c < channels; c++)
          for (let z = 0; z < CHUNK[2]; z++)
            for (let y = 0; y < CHUNK[1]; y++)
              for (let x = 0; x < CHUNK[0]; x++) data[i++] = truth(x0 + x, y0 + y, z0 + z, c);
        const c = channels > 1 ? `_1:${channels}` : "";
        const key = `${x0 + 1}:${x0 + CHUNK[0]}_${y0 + 1}:${y0 + CHUNK[1]}_${z0 + 1}:${z0 + CHUNK[2]}${c}`;
        out.push({ key, data });
      }
  return out;
}

/** Write a dataset with `config` and each chunk encoded by `encode`. */
async function writeDataset(
  name: string,
  config: object | null,
  encode: (raw: Uint8Array) => Promise<Uint8Array> | Uint8Array,
  channels = 1,
): Promise<string> {
  const d = path.join(dir, name);
  mkdirSync(d, { recursive: true });
  if (config) writeFileSync(path.join(d, "config.json"), JSON.stringify(config));
  for (const { key, data } of chunks(channels)) {
    writeFileSync(path.join(d, key), await encode(new Uint8Array(data.buffer)));
  }
  return d;
}

/** Read `box` (source voxels) and compare with the truth. */
async function expectVoxels(url: string, min: number[], max: number[], channels = 1) {
  const src = await openSource({ url, format: "bigarray" });
  expect(src.format).toBe("bigarray");
  expect(src.shape).toEqual([...SIZE, channels]);
  expect(src.voxelOffset).toEqual(ORIGIN);
  expect(src.dataType).toBe("uint16");
  const block = await src.readBlock({ min: min as never, max: max as never });
  const data = block.data as Uint16Array;
  let i = 0;
  let bad = 0;
  for (let c = 0; c < channels; c++)
    for (let z = min[2]; z < max[2]; z++)
      for (let y = min[1]; y < max[1]; y++)
        for (let x = min[0]; x < max[0]; x++)
          if (data[i++] !== truth(x + ORIGIN[0], y + ORIGIN[1], z + ORIGIN[2], c)) bad++;
  expect(i).toBe(data.length);
  expect(bad).toBe(0);
  await src.close();
}

const blosc = (cname: string, shuffle: number) => async (raw: Uint8Array) =>
  Blosc.fromConfig({ id: "blosc", cname, clevel: 5, shuffle, blocksize: 0 }).encode(raw);

describe("BigArrays.jl chunk layout", () => {
  const cases: [string, object, (raw: Uint8Array) => Promise<Uint8Array> | Uint8Array][] = [
    ["raw", { coding: "raw" }, (r) => r],
    ["gzip", { coding: "gzip" }, (r) => gzipSync(r)],
    ["zstd", { coding: "zstd" }, (r) => Zstd.fromConfig({ id: "zstd", level: 3 }).encode(r)],
    ["blosc (blosclz)", { coding: "blosclz" }, blosc("blosclz", 2)],
    ["blosc (lz4)", { coding: "blosc" }, blosc("lz4", 1)],
    ["blosc (zstd)", { coding: "blosc" }, blosc("zstd", 0)],
  ];
  test.each(cases)(
    "%s chunks read voxel for voxel, across chunk borders",
    async (name, coding, enc) => {
      const url = await writeDataset(
        name.replace(/\W+/g, "_"),
        { dataType: "UInt16", chunkSize: CHUNK, ...coding },
        enc,
      );
      await expectVoxels(url, [0, 0, 0], SIZE);
      await expectVoxels(url, [5, 13, 3], [37, 29, 14]);
    },
  );

  test("the seed's image chunks: a 10-byte prefix before a Blosc frame, no coding recorded", async () => {
    const url = await writeDataset(
      "seed-image",
      { dataType: "UInt16", chunkSize: CHUNK },
      async (r) => {
        const frame = await blosc("blosclz", 1)(r);
        const out = new Uint8Array(10 + frame.length);
        out.set([0x51, 0x7e, 0x00, 0x09, 0xff, 0x12, 0x34, 0x56, 0x78, 0x9a]);
        out.set(frame, 10);
        return out;
      },
    );
    await expectVoxels(url, [0, 0, 0], SIZE);
  });

  test("4-D chunks (x, y, z, c) with `_1:c` keys give planar channels", async () => {
    const url = await writeDataset(
      "channels",
      { dataType: "uint16", chunkSize: [...CHUNK, 2], coding: "gzip" },
      (r) => gzipSync(r),
      2,
    );
    await expectVoxels(url, [3, 0, 1], [40, 20, 15], 2);
  });

  test("totalSize and offset in config.json set the extent; missing chunks read as 0", async () => {
    const url = path.join(dir, "sparse");
    mkdirSync(url);
    writeFileSync(
      path.join(url, "config.json"),
      JSON.stringify({
        dataType: "UInt8",
        chunkSize: [4, 4, 4],
        offset: [2, 2, 2],
        totalSize: [8, 8, 4],
      }),
    );
    // Only the second chunk along x: global [6, 10) x [2, 6) x [2, 6).
    writeFileSync(
      path.join(url, "7:10_3:6_3:6"),
      Uint8Array.from({ length: 64 }, (_, i) => i + 1),
    );
    const src = await openBigArray(url);
    expect(src.shape).toEqual([8, 8, 4, 1]);
    expect(src.voxelOffset).toEqual([2, 2, 2]);
    const b = (await src.readBlock({ min: [0, 0, 0], max: [8, 8, 4] })).data as Uint8Array;
    expect(b[0]).toBe(0);
    expect(b[4]).toBe(1); // global (6, 2, 2) is the chunk's first voxel
    expect(b[7 + 8 * 3 + 64 * 3]).toBe(64);
    expect(b[0 + 8 * 4]).toBe(0); // y = 6: no chunk there
  });
});

describe("the seed's affinity blocks (block_x0-x1_y0-y1_z0-z1_1-3.h5, dataset img)", () => {
  test("read voxel for voxel with three channels, from file:// and mem://", async () => {
    const d = path.join(dir, "aff");
    mkdirSync(d);
    const mem = openStorage("mem://bigarray-test/aff");
    const bs = [24, 16, 8];
    for (let z0 = ORIGIN[2]; z0 < ORIGIN[2] + SIZE[2]; z0 += bs[2])
      for (let y0 = ORIGIN[1]; y0 < ORIGIN[1] + SIZE[1]; y0 += bs[1])
        for (let x0 = ORIGIN[0]; x0 < ORIGIN[0] + SIZE[0]; x0 += bs[0]) {
          const data = new Float32Array(bs[0] * bs[1] * bs[2] * 3);
          let i = 0;
          for (let c = 0; c < 3; c++)
            for (let z = 0; z < bs[2]; z++)
              for (let y = 0; y < bs[1]; y++)
                for (let x = 0; x < bs[0]; x++) data[i++] = truth(x0 + x, y0 + y, z0 + z, c);
          const name = `block_${x0 + 1}-${x0 + bs[0]}_${y0 + 1}-${y0 + bs[1]}_${z0 + 1}-${z0 + bs[2]}_1-3.h5`;
          const f = new h5.File(path.join(d, name), "w");
          // Julia writes [x, y, z, c]: HDF5 (and h5py) see (c, z, y, x).
          f.create_dataset({ name: "img", data, shape: [3, bs[2], bs[1], bs[0]], dtype: "<f" });
          f.close();
          await mem.put(name, new Uint8Array(require("node:fs").readFileSync(path.join(d, name))));
        }
    for (const url of [d, "mem://bigarray-test/aff"]) {
      const src = await openBigArray(url);
      expect(src.shape).toEqual([...SIZE, 3]);
      expect(src.dataType).toBe("float32");
      expect(src.voxelOffset).toEqual(ORIGIN);
      const min = [7, 3, 2];
      const max = [45, 30, 15];
      const got = (await src.readBlock({ min: min as never, max: max as never }))
        .data as Float32Array;
      let i = 0;
      let bad = 0;
      for (let c = 0; c < 3; c++)
        for (let z = min[2]; z < max[2]; z++)
          for (let y = min[1]; y < max[1]; y++)
            for (let x = min[0]; x < max[0]; x++)
              if (got[i++] !== truth(x + ORIGIN[0], y + ORIGIN[1], z + ORIGIN[2], c)) bad++;
      expect(bad).toBe(0);
      await src.close();
    }
  });
});

describe("on gs:// (loopback GCS server)", () => {
  test("a Blosc BigArray reads voxel for voxel, listing and all", async () => {
    const server = await GcsLoopbackServer.start();
    try {
      const url = `gs://${server.endpoint}/bkt/zfish/bigarray`;
      const s = openStorage(url);
      await s.put(
        "config.json",
        JSON.stringify({ dataType: "UInt16", chunkSize: CHUNK, coding: "blosclz" }),
      );
      for (const { key, data } of chunks()) {
        await s.put(key, await blosc("blosclz", 2)(new Uint8Array(data.buffer)));
      }
      await expectVoxels(url, [0, 0, 0], SIZE);
    } finally {
      await server.stop();
    }
  });
});

describe("bad input is a typed error naming the key", () => {
  test("chunks without config.json", async () => {
    const url = await writeDataset("noconfig", null, (r) => r);
    const err = await openBigArray(url).catch((e) => e);
    expect(err).toBeInstanceOf(MissingConfigError);
    expect(err.key).toBe("config.json");
    expect(err.message).toContain(url);
  });

  test("an unknown coding", async () => {
    const url = await writeDataset(
      "jpegcoding",
      { dataType: "UInt16", chunkSize: CHUNK, coding: "jp2k" },
      (r) => r,
    );
    const err = await openBigArray(url).catch((e) => e);
    expect(err).toBeInstanceOf(UnknownCodingError);
    expect(err.coding).toBe("jp2k");
    expect(err.message).toContain("config.json");
  });

  test("a chunk whose stream decodes to the wrong size names that chunk", async () => {
    const url = await writeDataset(
      "short",
      { dataType: "UInt16", chunkSize: CHUNK, coding: "gzip" },
      (r) => gzipSync(r.subarray(0, r.length - 2)),
    );
    const src = await openBigArray(url);
    const err = await src.readBlock({ min: [0, 0, 0], max: [4, 4, 4] }).catch((e) => e);
    expect(err).toBeInstanceOf(CorruptSourceError);
    expect(err.message).toContain("33:48_17:32_9:16");
  });

  test("a truncated Blosc chunk names that chunk", async () => {
    const url = await writeDataset(
      "cut-blosc",
      { dataType: "UInt16", chunkSize: CHUNK, coding: "blosclz" },
      async (r) => (await blosc("blosclz", 1)(r)).subarray(0, 40),
    );
    const src = await openBigArray(url);
    const err = await src.readBlock({ min: [20, 0, 0], max: [24, 4, 4] }).catch((e) => e);
    expect(err).toBeInstanceOf(CorruptSourceError);
    expect(err.source).toContain("49:64_17:32_9:16");
  });

  test("a config.json without dataType, and a directory that is no BigArray", async () => {
    const url = await writeDataset("nodtype", { chunkSize: CHUNK }, (r) => r);
    await expect(openBigArray(url)).rejects.toThrow(MissingConfigError);
    const empty = path.join(dir, "empty");
    mkdirSync(empty);
    await expect(openBigArray(empty)).rejects.toThrow(SourceError);
  });
});

describe("ingest into a precomputed layer", () => {
  test("a blosc BigArray becomes a layer at the dataset's offset, voxel for voxel, that downsamples", async () => {
    const url = await writeDataset(
      "ingest",
      { dataType: "UInt16", chunkSize: CHUNK, coding: "blosclz" },
      blosc("lz4", 1),
    );
    const layer = "mem://bigarray-test/layer";
    await runAll(
      await createIngestTasks({ url, format: "bigarray" }, layer, {
        resolution: [4, 4, 40],
        chunkSize: [16, 16, 8],
      }),
    );
    const vol = await Volume.open(layer);
    expect([...vol.bounds.min]).toEqual(ORIGIN);
    expect([...vol.bounds.max]).toEqual(ORIGIN.map((o, i) => o + SIZE[i]));
    const got = (await vol.read(vol.bounds)).data as Uint16Array;
    let i = 0;
    let bad = 0;
    for (let z = 0; z < SIZE[2]; z++)
      for (let y = 0; y < SIZE[1]; y++)
        for (let x = 0; x < SIZE[0]; x++)
          if (got[i++] !== truth(x + ORIGIN[0], y + ORIGIN[1], z + ORIGIN[2])) bad++;
    expect(bad).toBe(0);
    await runAll(await createDownsampleTasks(layer, { mips: 1 }));
    const mip1 = await Volume.open(layer, { mip: 1 });
    expect([...mip1.bounds.min]).toEqual([16, 8, 8]);
    expect(mip1.bounds.size()).toEqual([24, 16, 16]);
  });
});
