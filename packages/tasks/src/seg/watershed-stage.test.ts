import { existsSync } from "node:fs";
import * as path from "node:path";
import { closePool, fromTyped, readInfo, Volume } from "@ngpipe/precomputed";
import {
  evaluateSegmentation,
  relativeThresholds,
  SegmentationOptionError,
  watershed,
} from "@ngpipe/segmentation";
import { openStorage } from "@ngpipe/storage";
import { runPhases } from "../labels/testing";
import { createTaskContext } from "../runtime";
import { runAll, snapshotStorage } from "../stages/testing";
import { mulberry32, voronoiAffinities, voronoiSegmentation } from "../synthetic";
import { cutsAtFaces, disconnectedIds } from "./testing";
import { createWatershedTasks, WatershedStageError } from "./watershed-stage";

afterAll(() => closePool());

type V3 = [number, number, number];
let serial = 0;

const PIRIFORM = path.resolve(__dirname, "../../../../../shared/data/piriform.aff.h5");
const hasPiriform = existsSync(PIRIFORM);
if (!hasPiriform)
  console.warn(`skipping the piriform watershed-stage tests: ${PIRIFORM} not found`);

async function readPiriform(): Promise<Float32Array> {
  const h5 = await import("h5wasm/node");
  await h5.ready;
  const file = new h5.File(PIRIFORM, "r");
  try {
    return (file.get("main") as import("h5wasm").Dataset).value as Float32Array;
  } finally {
    file.close();
  }
}

async function affinityLayer(
  aff: Float32Array | Uint8Array,
  size: V3,
  chunk: V3,
  offset: V3 = [0, 0, 0],
): Promise<string> {
  const url = `mem://ws-${++serial}/aff`;
  await Volume.fromArray(url, fromTyped(aff, [...size, 3]), {
    chunkSize: chunk,
    voxelOffset: offset,
  });
  return url;
}

async function readAll(url: string): Promise<Uint32Array> {
  const vol = await Volume.open(url);
  return (await vol.read(vol.bounds)).data as Uint32Array;
}

const describePiriform = hasPiriform ? describe : describe.skip;

describePiriform("watershed stage on piriform", () => {
  let aff: Float32Array;
  let whole: Uint32Array;
  const size: V3 = [200, 200, 5];
  beforeAll(async () => {
    aff = await readPiriform();
    whole = watershed(aff, size).labels;
  });

  test("one block gives the whole-volume watershed exactly, thresholds from the histogram phases", async () => {
    const src = await affinityLayer(aff, size, [20, 20, 5]);
    const dest = `mem://ws-${++serial}/seg`;
    await runPhases(await createWatershedTasks(src, dest, { shape: [200, 200, 5] }));
    const seg = await readAll(dest);
    expect(evaluateSegmentation(seg, whole).adaptedRandError).toBe(0);
    expect(
      evaluateSegmentation(seg, whole).voiSplit + evaluateSegmentation(seg, whole).voiMerge,
    ).toBe(0);
    const info = await readInfo(openStorage(dest));
    expect(info.type).toBe("segmentation");
    expect(info.scales[0].encoding).toBe("compressed_segmentation");
    // The scratch objects are gone; the thresholds used are kept beside the layer.
    const keys: string[] = [];
    for await (const k of openStorage(dest).list("", { recursive: true })) keys.push(k);
    expect(keys.some((k) => k.startsWith("ws-scratch"))).toBe(false);
    const record = JSON.parse(
      new TextDecoder().decode((await openStorage(dest).get("watershed.json")) as Uint8Array),
    );
    expect(record.thresholds.low).toBe(watershed(aff, size).thresholds.low);
  });

  for (const [name, shape] of [
    ["2x2x1", [100, 100, 5]],
    ["3x3x1", [68, 68, 5]],
  ] as [string, V3][]) {
    test(`${name} blocks give the whole-volume watershed exactly: no cut at a face, ids connected`, async () => {
      const src = await affinityLayer(aff, size, [4, 4, 5]);
      const dest = `mem://ws-${++serial}/seg`;
      await runPhases(await createWatershedTasks(src, dest, { shape, groupSize: 2 }));
      const seg = await readAll(dest);
      const s = evaluateSegmentation(seg, whole);
      const cut = cutsAtFaces(whole, seg, size, shape);
      console.log(
        `piriform ${name} blocks vs whole: adapted Rand error ${s.adaptedRandError}, VOI split ${s.voiSplit} merge ${s.voiMerge}, ${cut} of the whole's face contacts cut`,
      );
      expect(cut).toBe(0);
      expect(disconnectedIds(seg, size)).toBe(0);
      // The basins are numbered by first voxel as Watershed.jl numbers them,
      // so even the ids are the whole volume's.
      expect(seg).toEqual(whole);
    });
  }
});

describe("watershed stage on synthetic affinities", () => {
  const size: V3 = [64, 64, 16];
  const seg = voronoiSegmentation(size, { seeds: 30, seed: 3 });
  const aff = voronoiAffinities(seg, size);
  const options = {
    absolute: true,
    low: 0.05,
    high: 0.95,
    merge: [[50, 0.3]] as [number, number][],
    dust: 20,
  };

  test("absolute thresholds in 2x2x2 blocks with a voxel offset match the whole volume", async () => {
    const whole = watershed(aff, size, { relative: false, ...options }).labels;
    const src = await affinityLayer(aff, size, [8, 8, 8], [3, -5, 7]);
    const dest = `mem://ws-${++serial}/seg`;
    await runPhases(await createWatershedTasks(src, dest, { ...options, shape: [32, 32, 8] }));
    const out = await readAll(dest);
    expect(cutsAtFaces(whole, out, size, [32, 32, 8])).toBe(0);
    expect(disconnectedIds(out, size)).toBe(0);
    expect(out).toEqual(whole);
  });

  test("Watershed.jl's default relative thresholds in 3x3x1 blocks give the whole volume's labels", async () => {
    const big: V3 = [96, 96, 16];
    const cells = voronoiAffinities(voronoiSegmentation(big, { seeds: 40, seed: 5 }), big);
    const whole = watershed(cells, big).labels;
    const src = await affinityLayer(cells, big, [16, 16, 16]);
    const dest = `mem://ws-${++serial}/seg`;
    await runPhases(await createWatershedTasks(src, dest, { shape: [32, 32, 16], context: 8 }));
    const out = await readAll(dest);
    expect(cutsAtFaces(whole, out, big, [32, 32, 16])).toBe(0);
    expect(disconnectedIds(out, big)).toBe(0);
    expect(out).toEqual(whole);
  });

  test("rerunning every phase writes the same bytes", async () => {
    const src = await affinityLayer(aff, size, [8, 8, 8]);
    const dest = `mem://ws-${++serial}/seg`;
    const o = { ...options, shape: [32, 32, 8] as V3 };
    await runPhases(await createWatershedTasks(src, dest, o));
    const first = await snapshotStorage(dest);
    await runPhases(await createWatershedTasks(src, dest, o));
    expect(await snapshotStorage(dest)).toEqual(first);
  });

  test("uint8 affinities are accepted and divided by 255", async () => {
    const q = Uint8Array.from(aff, (v) => Math.round(v * 255));
    const whole = watershed(q, size, { relative: false, ...options }).labels;
    const src = await affinityLayer(q, size, [8, 8, 8]);
    const dest = `mem://ws-${++serial}/seg`;
    await runPhases(await createWatershedTasks(src, dest, { ...options, shape: [32, 32, 8] }));
    expect(await readAll(dest)).toEqual(whole);
  });
});

describe("watershed stage: the merge streams the basin graph from storage", () => {
  const size: V3 = [48, 48, 16];
  const rand = mulberry32(4);
  const cells = voronoiAffinities(voronoiSegmentation(size, { seeds: 60, seed: 4 }), size);
  // uint8 with noise: equal weights everywhere, so the order of ties
  // (each pair at its first face in the whole volume) decides merges.
  const noisy = Uint8Array.from(cells, (v) =>
    Math.max(0, Math.min(255, Math.round(v * 255 * 0.7 + rand() * 80))),
  );
  const options = {
    absolute: true,
    low: 0.05,
    high: 0.98,
    merge: [
      [60, 0.3],
      [200, 0.5],
    ] as [number, number][],
    dust: 10,
  };

  /** Runs the stage, keeping its scratch; returns the merge task's result. */
  async function run(src: string, dest: string, shape: V3) {
    const phases = await createWatershedTasks(src, dest, {
      ...options,
      shape,
      groupSize: 2,
      keepScratch: true,
      mergeLimits: { page: 2, fanIn: 3 },
    });
    const ctx = createTaskContext();
    let merged: { edges: number; peakEdges: number } | undefined;
    for (const phase of phases) {
      const results = await runAll((await phase.tasks()) as Iterable<unknown>, ctx);
      if (phase.name === "watershed merge") merged = results[0] as typeof merged;
    }
    return merged as { edges: number; peakEdges: number };
  }

  /** The (a, b) pairs of a stored run. */
  function pairsOf(bytes: Uint8Array): string[] {
    const u32 = new Uint32Array(bytes.slice().buffer);
    const out: string[] = [];
    for (let r = 0; r < bytes.length / 24; r++) out.push(`${u32[6 * r + 4]},${u32[6 * r + 5]}`);
    return out;
  }

  test("ties decided as the whole volume does, from 18 blocks' runs in pages of 2 edges, never holding more than 18", async () => {
    const whole = watershed(noisy, size, { relative: false, ...options }).labels;
    const src = await affinityLayer(noisy, size, [8, 8, 8]);
    const dest = `mem://ws-${++serial}/seg`;
    const merged = await run(src, dest, [16, 16, 8]);
    expect(await readAll(dest)).toEqual(whole);
    // Pages of 2 records, one ahead, one output buffer of 6, 3 runs at a time.
    expect(merged.peakEdges).toBeLessThanOrEqual(3 * 2 * 3);
    expect(merged.edges).toBeGreaterThan(50 * 18);
    // An edge filed as a block's own is seen by no other block: its pair is
    // in no other run, so its weight and first face are final.
    const scratch = openStorage(`${dest}/ws-scratch`);
    const own = new Set<string>();
    const shared = new Set<string>();
    let ownRecords = 0;
    let sharedRuns = 0;
    for await (const key of scratch.list("edges/", { recursive: true })) {
      const pairs = pairsOf((await scratch.get(key)) as Uint8Array);
      if (key.endsWith("/own")) {
        ownRecords += pairs.length;
        for (const p of pairs) own.add(p);
      } else {
        sharedRuns++;
        for (const p of pairs) shared.add(p);
      }
    }
    expect(own.size).toBe(ownRecords);
    expect([...shared].filter((p) => own.has(p))).toEqual([]);
    expect(sharedRuns).toBeGreaterThan(3);
    expect(own.size + shared.size).toBe(merged.edges);
  });

  test("float32 affinities in 2x2x2 blocks with an offset give the whole volume's labels", async () => {
    const whole = watershed(cells, size, { relative: false, ...options }).labels;
    const src = await affinityLayer(cells, size, [8, 8, 8], [5, 0, -3]);
    const dest = `mem://ws-${++serial}/seg`;
    const merged = await run(src, dest, [24, 24, 8]);
    expect(await readAll(dest)).toEqual(whole);
    expect(merged.peakEdges).toBeLessThanOrEqual(3 * 2 * 3);
  });
});

describe("watershed stage: relative thresholds from the rank-count phases", () => {
  const size: V3 = [24, 20, 12];
  const fractions = {
    low: 0.1,
    high: 0.8,
    merge: [
      [10, 0.2],
      [50, 0.999987],
    ] as [number, number][],
  };

  async function stageThresholds(aff: Float32Array | Uint8Array): Promise<number[]> {
    const src = await affinityLayer(aff, size, [8, 4, 4]);
    const dest = `mem://ws-${++serial}/seg`;
    const phases = await createWatershedTasks(src, dest, { ...fractions, shape: [8, 8, 4] });
    // Up to and including the blocks phase, which records the thresholds.
    await runPhases(phases.slice(0, 3));
    const t = JSON.parse(
      new TextDecoder().decode((await openStorage(dest).get("watershed.json")) as Uint8Array),
    ).thresholds;
    return [t.low, t.high, ...t.merge.map(([, v]: [number, number]) => v)];
  }

  function wholeThresholds(aff: Float32Array): number[] {
    const t = relativeThresholds(aff, fractions);
    return [t.low, t.high, ...t.merge.map(([, v]) => v)];
  }

  test("equal the whole map's, with values piled at 0, 1 and on bin edges (27 blocks)", async () => {
    const rand = mulberry32(4);
    const aff = Float32Array.from({ length: 3 * size[0] * size[1] * size[2] }, () => {
      const r = rand();
      return r < 0.2 ? 0 : r < 0.4 ? 1 : r < 0.6 ? Math.round(rand() * 1e6) / 1e6 : rand();
    });
    expect(await stageThresholds(aff)).toEqual(wholeThresholds(aff));
  });

  test("a map with negative values takes the histogram and still equals the whole map's", async () => {
    const rand = mulberry32(8);
    const aff = Float32Array.from(
      { length: 3 * size[0] * size[1] * size[2] },
      () => rand() * 1.1 - 0.1,
    );
    expect(await stageThresholds(aff)).toEqual(wholeThresholds(aff));
  });

  test("uint8 maps are counted as value / 255", async () => {
    const rand = mulberry32(2);
    const q = Uint8Array.from({ length: 3 * size[0] * size[1] * size[2] }, () =>
      Math.floor(rand() * 256),
    );
    expect(await stageThresholds(q)).toEqual(wholeThresholds(Float32Array.from(q, (v) => v / 255)));
  });
});

describe("watershed stage: bad input is refused before anything is written", () => {
  const size: V3 = [16, 16, 8];
  const aff = new Float32Array(16 * 16 * 8 * 3).fill(0.5);

  async function nothingWritten(dest: string): Promise<boolean> {
    const keys: string[] = [];
    for await (const k of openStorage(dest).list("", { recursive: true })) keys.push(k);
    return keys.length === 0;
  }

  test("an affinity layer without 3 channels", async () => {
    const url = `mem://ws-${++serial}/one`;
    await Volume.fromArray(url, fromTyped(new Float32Array(16 * 16 * 8), size), {
      chunkSize: [8, 8, 8],
    });
    const dest = `mem://ws-${++serial}/seg`;
    await expect(createWatershedTasks(url, dest)).rejects.toThrow(
      /1 channel\(s\); an affinity layer has 3/,
    );
    expect(await nothingWritten(dest)).toBe(true);
  });

  test("integer affinities other than uint8", async () => {
    const url = `mem://ws-${++serial}/u16`;
    await Volume.fromArray(url, fromTyped(new Uint16Array(16 * 16 * 8 * 3), [...size, 3]), {
      chunkSize: [8, 8, 8],
    });
    await expect(createWatershedTasks(url, `mem://ws-${++serial}/seg`)).rejects.toThrow(
      /holds uint16; affinities are float32, or uint8/,
    );
  });

  test("thresholds outside [0, 1]", async () => {
    const src = await affinityLayer(aff, size, [8, 8, 8]);
    const dest = `mem://ws-${++serial}/seg`;
    for (const o of [{ low: -0.1 }, { high: 1.5 }, { merge: [[800, 2]] as [number, number][] }]) {
      await expect(createWatershedTasks(src, dest, o)).rejects.toBeInstanceOf(
        SegmentationOptionError,
      );
    }
    await expect(createWatershedTasks(src, dest, { context: 0 })).rejects.toBeInstanceOf(
      WatershedStageError,
    );
    await expect(createWatershedTasks(src, dest, { shape: [12, 8, 8] })).rejects.toThrow(
      /must be a multiple of the chunk size/,
    );
    expect(await nothingWritten(dest)).toBe(true);
  });

  test("a dest that exists with another layout", async () => {
    const src = await affinityLayer(aff, size, [8, 8, 8]);
    const dest = `mem://ws-${++serial}/img`;
    await Volume.fromArray(dest, fromTyped(new Uint8Array(8 * 8 * 8), [8, 8, 8]), {
      chunkSize: [8, 8, 8],
    });
    await expect(createWatershedTasks(src, dest)).rejects.toThrow(
      /exists with another layout than a watershed of the affinities: type is image/,
    );
  });
});
