/**
 * HyperSquare fixtures made here from the format's description (the seed's
 * HyperSquareTask and ChunkFlow's writer): 2x2x2 overlapping cubes with
 * metadata.json, segmentation.lzma (lzma1's encoder, .lzma "alone" format) and
 * greyscale jpg/{z}.jpg slices; read back and imported voxel for voxel.
 */
import { decodeJpeg, encodeJpeg, Volume } from "@ngpipe/precomputed";
import { openStorage, type Storage } from "@ngpipe/storage";
import { compress } from "lzma1";
import {
  ConsensusMapError,
  consensusTable,
  createConsensusTasks,
  parseConsensus,
} from "../../labels/consensus";
import type { TaskPhase } from "../../registry/stage";
import { runAll } from "../../stages/testing";
import { createHyperSquareTasks, nearestDivisor } from "../hypersquare-stage";
import { CorruptSourceError, MissingConfigError, ShapeMismatchError } from "./errors";
import { openHyperSquare } from "./hypersquare";

const CUBE = [24, 20, 16];
const OVERLAP = [8, 4, 4];
const STEP = CUBE.map((c, i) => c - OVERLAP[i]); // 16, 16, 12
const RES = [16, 16, 24];
/** Global voxel of the first kept voxel of cube (0, 0, 0). */
const START = [100, 200, 10];
const GRID = [2, 2, 2];

interface CubeFixture {
  name: string;
  idx: number[];
  origin: number[];
  seg: Uint16Array;
  /** The slices as a JPEG decoder reads them back (JPEG is lossy). */
  image: Uint8Array;
}

/** Segment id of local voxel (x, y, z) of cube `c`: cubes disagree in the overlap, as real ones do. */
function segId(c: number, x: number, y: number, z: number): number {
  return 1 + c * 4000 + ((x >> 2) + 7 * (y >> 2) + 49 * (z >> 2));
}

async function writeCubes(s: Storage, opts: { noMetaFor?: string } = {}): Promise<CubeFixture[]> {
  const cubes: CubeFixture[] = [];
  const n = CUBE[0] * CUBE[1] * CUBE[2];
  for (let k = 0; k < GRID[2]; k++)
    for (let j = 0; j < GRID[1]; j++)
      for (let i = 0; i < GRID[0]; i++) {
        const idx = [i, j, k];
        const c = i + 2 * j + 4 * k;
        const name = String(300 + c);
        const origin = idx.map((v, a) => START[a] + v * STEP[a] - OVERLAP[a] / 2);
        const seg = new Uint16Array(n);
        let p = 0;
        for (let z = 0; z < CUBE[2]; z++)
          for (let y = 0; y < CUBE[1]; y++)
            for (let x = 0; x < CUBE[0]; x++) seg[p++] = segId(c, x, y, z);
        await s.put(`${name}/segmentation.lzma`, compress(new Uint8Array(seg.buffer), 5));
        const image = new Uint8Array(n);
        const plane = CUBE[0] * CUBE[1];
        for (let z = 0; z < CUBE[2]; z++) {
          const slice = new Uint8Array(plane);
          for (let q = 0; q < plane; q++) slice[q] = (q * 3 + z * 17 + c * 29) & 0xff;
          const jpg = encodeJpeg(slice, [CUBE[0], CUBE[1], 1, 1], 90);
          await s.put(`${name}/jpg/${z}.jpg`, jpg);
          image.set(decodeJpeg(jpg, [CUBE[0], CUBE[1], 1, 1]), z * plane);
        }
        if (opts.noMetaFor !== name) {
          await s.putJson(`${name}/metadata.json`, {
            chunk_voxel_dimensions: CUBE,
            voxel_resolution: RES,
            resolution_units: "nanometers",
            physical_offset_min: origin.map((o, a) => o * RES[a]),
            physical_offset_max: origin.map((o, a) => (o + CUBE[a]) * RES[a]),
            image_type: "UInt8",
            segment_id_type: "UInt16",
            affinity_type: "Float32",
          });
        }
        cubes.push({ name, idx, origin, seg, image });
      }
  return cubes;
}

/** The expected layer voxel at global (x, y, z): from the cube that keeps it. */
function expected(cubes: CubeFixture[], x: number, y: number, z: number, what: "seg" | "image") {
  const g = [x, y, z];
  const idx = g.map((v, a) => Math.floor((v - START[a]) / STEP[a]));
  const cube = cubes.find((c) => c.idx.every((v, a) => v === idx[a]));
  if (!cube) throw new Error(`no cube keeps ${g}`);
  const l = g.map((v, a) => v - cube.origin[a]);
  const at = l[0] + CUBE[0] * (l[1] + CUBE[1] * l[2]);
  return what === "seg" ? cube.seg[at] : cube.image[at];
}

const EXTENT = GRID.map((g, a) => g * STEP[a]);

test("nearestDivisor picks the divisor of the kept cube size nearest 64", () => {
  expect(nearestDivisor(224, 64)).toBe(56);
  expect(nearestDivisor(16, 64)).toBe(16);
  expect(nearestDivisor(192, 64)).toBe(64);
});

describe("HyperSquare source", () => {
  const url = "mem://hypersquare-test/cubes";
  let cubes: CubeFixture[];
  beforeAll(async () => {
    cubes = await writeCubes(openStorage(url));
  });

  test("finds the cubes, the overlap, the kept extent and the resolution", async () => {
    const src = await openHyperSquare(url, { dataset: "segmentation" });
    expect(src.cubes.length).toBe(8);
    expect(src.overlap).toEqual(OVERLAP);
    expect(src.voxelOffset).toEqual(START);
    expect(src.shape).toEqual([...EXTENT, 1]);
    expect(src.resolution).toEqual(RES);
    expect(src.dataType).toBe("uint16");
  });

  test.each(["segmentation", "image"] as const)(
    "%s: a block across all eight cubes is the trimmed cubes, voxel for voxel",
    async (dataset) => {
      const src = await openHyperSquare(url, { dataset });
      const min = [3, 5, 2];
      const max = [29, 31, 23];
      const block = await src.readBlock({ min: min as never, max: max as never });
      let i = 0;
      let bad = 0;
      for (let z = min[2]; z < max[2]; z++)
        for (let y = min[1]; y < max[1]; y++)
          for (let x = min[0]; x < max[0]; x++) {
            const want = expected(
              cubes,
              x + START[0],
              y + START[1],
              z + START[2],
              dataset === "segmentation" ? "seg" : "image",
            );
            if (block.data[i++] !== want) bad++;
          }
      expect(bad).toBe(0);
    },
  );
});

describe("HyperSquare import into precomputed layers, and the consensus remap", () => {
  const src = "mem://hypersquare-test/import-cubes";
  const dest = "mem://hypersquare-test/import";
  let cubes: CubeFixture[];

  async function runPhases(phases: TaskPhase[]): Promise<void> {
    for (const phase of phases) {
      const tasks: unknown[] = [];
      for await (const t of await phase.tasks()) tasks.push(t);
      await runAll(tasks);
    }
  }

  beforeAll(async () => {
    cubes = await writeCubes(openStorage(src));
  });

  test("image and segmentation layers reproduce the cubes and downsample", async () => {
    await runPhases(await createHyperSquareTasks(src, dest, { imageEncoding: "raw", mips: 1 }));
    for (const [layer, what] of [
      ["segmentation", "seg"],
      ["image", "image"],
    ] as const) {
      const vol = await Volume.open(`${dest}/${layer}`);
      expect(vol.chunkSize).toEqual([16, 16, 12]);
      expect([...vol.bounds.min]).toEqual(START);
      expect(vol.bounds.size()).toEqual(EXTENT);
      const data = (await vol.read(vol.bounds)).data;
      let i = 0;
      let bad = 0;
      for (let z = 0; z < EXTENT[2]; z++)
        for (let y = 0; y < EXTENT[1]; y++)
          for (let x = 0; x < EXTENT[0]; x++)
            if (data[i++] !== expected(cubes, x + START[0], y + START[1], z + START[2], what))
              bad++;
      expect(bad).toBe(0);
      const mip1 = await Volume.open(`${dest}/${layer}`, { mip: 1 });
      expect(mip1.bounds.size()).toEqual([16, 16, 24]);
      await mip1.read(mip1.bounds);
    }
  });

  test("the jpeg image layer opens and is close to the cubes", async () => {
    await runPhases(await createHyperSquareTasks(src, `${dest}-jpeg`));
    const vol = await Volume.open(`${dest}-jpeg/image`);
    expect(vol.info.scales[0].encoding).toBe("jpeg");
    const data = (await vol.read(vol.bounds)).data;
    let err = 0;
    let i = 0;
    for (let z = 0; z < EXTENT[2]; z++)
      for (let y = 0; y < EXTENT[1]; y++)
        for (let x = 0; x < EXTENT[0]; x++)
          err += Math.abs(
            Number(data[i++]) - expected(cubes, x + START[0], y + START[1], z + START[2], "image"),
          );
    expect(err / i).toBeLessThan(8);
  });

  test("consensus: listed segments become cell ids, the others (volume << 16) | segment", async () => {
    const mapUrl = "mem://hypersquare-test/consensus.json";
    // Cube "300" is volume 300, "301" volume 301, ... Volume 303 is absent.
    const consensus = {
      "300": { "7001": [segId(0, 0, 0, 0), segId(0, 4, 0, 0)] },
      "301": { "7002": [segId(1, 8, 8, 4)] },
    };
    await openStorage("mem://hypersquare-test").putJson("consensus.json", consensus);
    await runPhases(
      await createConsensusTasks(`${dest}/segmentation`, `${dest}/consensus`, {
        map: mapUrl,
        hypersquare: src,
        mips: 1,
      }),
    );
    const vol = await Volume.open(`${dest}/consensus`);
    expect(vol.dataType).toBe("uint32");
    expect(vol.info.scales[0].encoding).toBe("compressed_segmentation");
    const data = (await vol.read(vol.bounds)).data as Uint32Array;
    const listed = new Map<number, Map<number, number>>([
      [300, new Map(consensus["300"]["7001"].map((s) => [s, 7001]))],
      [301, new Map([[consensus["301"]["7002"][0], 7002]])],
    ]);
    let i = 0;
    let bad = 0;
    let cells = 0;
    for (let z = 0; z < EXTENT[2]; z++)
      for (let y = 0; y < EXTENT[1]; y++)
        for (let x = 0; x < EXTENT[0]; x++) {
          const seg = expected(cubes, x + START[0], y + START[1], z + START[2], "seg");
          const vid =
            300 +
            [0, 1, 2].reduce(
              (acc, a) => acc + Math.floor([x, y, z][a] / STEP[a]) * [1, 2, 4][a],
              0,
            );
          const cell = listed.get(vid)?.get(seg);
          const want = cell ?? vid * 65536 + seg;
          if (cell !== undefined) cells++;
          if (data[i++] !== want) bad++;
        }
    expect(cells).toBeGreaterThan(0);
    expect(bad).toBe(0);
  });
});

describe("consensus files", () => {
  test("consensusTable: 0 stays 0, listed -> cell, others -> (volume << 16) | s", () => {
    const t = consensusTable(
      parseConsensus(new TextEncoder().encode('{"5": {"99": [3, 4]}}'), "c.json"),
      5,
    );
    expect([t[0], t[1], t[3], t[4], t[65535]]).toEqual([
      0,
      5 * 65536 + 1,
      99,
      99,
      5 * 65536 + 65535,
    ]);
  });

  test.each([
    ["not json", "{"],
    ["a list", "[]"],
    ["a volume id over 16 bits", '{"70000": {}}'],
    ["a segment id over 16 bits", '{"1": {"2": [65536]}}'],
    ["a cell without a list", '{"1": {"2": 3}}'],
  ])("%s is a ConsensusMapError naming the file", (_what, text) => {
    expect(() => parseConsensus(new TextEncoder().encode(text), "mem://x/c.json")).toThrow(
      ConsensusMapError,
    );
    expect(() => parseConsensus(new TextEncoder().encode(text), "mem://x/c.json")).toThrow(
      /c\.json/,
    );
  });
});

describe("bad cubes are typed errors naming the key", () => {
  test("a truncated segmentation.lzma", async () => {
    const url = "mem://hypersquare-bad/truncated";
    const s = openStorage(url);
    await writeCubes(s);
    const whole = (await s.get("301/segmentation.lzma")) as Uint8Array;
    await s.put("301/segmentation.lzma", whole.subarray(0, whole.length >> 1));
    const src = await openHyperSquare(url, { dataset: "segmentation" });
    const err = await src.readBlock({ min: [16, 0, 0], max: [32, 16, 12] }).catch((e) => e);
    expect(err).toBeInstanceOf(CorruptSourceError);
    expect(err.source).toBe(`${url}/301/segmentation.lzma`);
    expect(err.message).toMatch(/truncated/);
  });

  test("a cube whose size disagrees with its physical extent", async () => {
    const url = "mem://hypersquare-bad/sizes";
    const s = openStorage(url);
    await writeCubes(s);
    const meta = JSON.parse(
      new TextDecoder().decode((await s.get("302/metadata.json")) as Uint8Array),
    );
    meta.chunk_voxel_dimensions = [24, 20, 15];
    await s.putJson("302/metadata.json", meta);
    const err = await openHyperSquare(url).catch((e) => e);
    expect(err).toBeInstanceOf(ShapeMismatchError);
    expect(err.message).toContain("302/metadata.json");
  });

  test("cube data without metadata.json, and no cubes at all", async () => {
    const url = "mem://hypersquare-bad/nometa";
    await writeCubes(openStorage(url), { noMetaFor: "303" });
    const err = await openHyperSquare(url).catch((e) => e);
    expect(err).toBeInstanceOf(MissingConfigError);
    expect(err.message).toContain("303: metadata.json");
    await expect(openHyperSquare("mem://hypersquare-bad/empty")).rejects.toThrow(
      MissingConfigError,
    );
  });

  test("a cube without a volume id for the consensus", async () => {
    const url = "mem://hypersquare-bad/named";
    const s = openStorage(url);
    await s.putJson("cube-a/metadata.json", {
      chunk_voxel_dimensions: [8, 8, 8],
      voxel_resolution: [1, 1, 1],
      physical_offset_min: [0, 0, 0],
      physical_offset_max: [8, 8, 8],
      image_type: "uint8",
      segment_id_type: "uint16",
    });
    await Volume.fromArray(
      "mem://hypersquare-bad/seg",
      (await import("@ngpipe/precomputed")).fromTyped(new Uint16Array(512), [8, 8, 8]),
      {
        type: "segmentation",
        chunkSize: [8, 8, 8],
      },
    );
    await openStorage("mem://hypersquare-bad").putJson("c.json", {});
    const err = await createConsensusTasks(
      "mem://hypersquare-bad/seg",
      "mem://hypersquare-bad/out",
      {
        map: "mem://hypersquare-bad/c.json",
        hypersquare: url,
      },
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ConsensusMapError);
    expect(err.message).toContain("cube-a");
  });
});
