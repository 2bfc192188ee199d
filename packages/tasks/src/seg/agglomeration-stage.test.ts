import { closePool, fromTyped, Volume } from "@ngpipe/precomputed";
import {
  agglomerate,
  regionGraph,
  remap,
  SegmentationOptionError,
  watershed,
} from "@ngpipe/segmentation";
import { openStorage } from "@ngpipe/storage";
import { runPhases } from "../labels/testing";
import { snapshotStorage } from "../stages/testing";
import { voronoiAffinities, voronoiSegmentation } from "../synthetic";
import {
  createAgglomerationTasks,
  createRegionGraphTasks,
  readRegionGraph,
} from "./agglomeration-stage";

afterAll(() => closePool());

type V3 = [number, number, number];
let serial = 0;
const size: V3 = [48, 40, 16];
const truth = voronoiSegmentation(size, { seeds: 25, seed: 5 });
const aff = voronoiAffinities(truth, size);
// Many small supervoxels: no merging, little dust.
const supervoxels = watershed(aff, size, {
  relative: false,
  low: 0.05,
  high: 0.99,
  merge: [],
  dust: 5,
}).labels;

async function layers(): Promise<{ ws: string; aff: string }> {
  const base = `mem://agg-${++serial}`;
  await Volume.fromArray(`${base}/ws`, fromTyped(supervoxels, size), {
    chunkSize: [8, 8, 8],
    voxelOffset: [4, 0, -8],
  });
  await Volume.fromArray(`${base}/aff`, fromTyped(aff, [...size, 3]), {
    chunkSize: [8, 8, 8],
    voxelOffset: [4, 0, -8],
  });
  return { ws: `${base}/ws`, aff: `${base}/aff` };
}

test("the region graph in blocks equals regionGraph of the whole volume", async () => {
  const { ws, aff: a } = await layers();
  await runPhases(await createRegionGraphTasks(ws, a, { shape: [16, 16, 8] }));
  const g = await readRegionGraph(`${ws}/region-graph`);
  const whole = regionGraph(aff, supervoxels, size);
  expect(g.a.length).toBeGreaterThan(50);
  expect(Array.from(g.a)).toEqual(Array.from(whole.a));
  expect(Array.from(g.b)).toEqual(Array.from(whole.b));
  expect(Array.from(g.count)).toEqual(Array.from(whole.count));
  expect(Array.from(g.max)).toEqual(Array.from(whole.max));
  g.sum.forEach((s, i) => {
    expect(s).toBeCloseTo(whole.sum[i], 9);
  });
});

test("agglomeration writes the table and the layer that agglomerate + remap give on the whole volume", async () => {
  const { ws, aff: a } = await layers();
  const dest = `mem://agg-${++serial}/seg`;
  await runPhases(
    await createAgglomerationTasks(ws, a, dest, { threshold: 0.5, shape: [16, 16, 8] }),
  );
  const table = agglomerate(regionGraph(aff, supervoxels, size), { threshold: 0.5 });
  const expected = remap(supervoxels, table, { preserveMissing: true });
  const vol = await Volume.open(dest);
  const got = (await vol.read(vol.bounds)).data as Uint32Array;
  expect(Array.from(got)).toEqual(Array.from(expected as Uint32Array));
  expect(new Set(got).size).toBeLessThan(new Set(supervoxels).size);
  const bin = (await openStorage(`${dest}/agglomeration`).get("remap.bin")) as Uint8Array;
  expect(bin.length).toBe(16 * table.from.length);
  // The graph stays in storage beside the table.
  expect(await openStorage(`${dest}/agglomeration/region-graph`).get("edges")).not.toBeNull();
});

test("rerunning the agglomeration writes the same bytes", async () => {
  const { ws, aff: a } = await layers();
  const dest = `mem://agg-${++serial}/seg`;
  const o = { threshold: 0.3, method: "max" as const, shape: [16, 16, 8] as V3 };
  await runPhases(await createAgglomerationTasks(ws, a, dest, o));
  const first = await snapshotStorage(dest);
  await runPhases(await createAgglomerationTasks(ws, a, dest, o));
  expect(await snapshotStorage(dest)).toEqual(first);
});

test("bad input is refused before anything is written", async () => {
  const { ws, aff: a } = await layers();
  const dest = `mem://agg-${++serial}/seg`;
  for (const threshold of [-0.5, 1.5, Number.NaN])
    await expect(createAgglomerationTasks(ws, a, dest, { threshold })).rejects.toBeInstanceOf(
      SegmentationOptionError,
    );
  await expect(createAgglomerationTasks(ws, ws, dest, { threshold: 0.5 })).rejects.toThrow(
    /1 channel\(s\); an affinity layer has 3/,
  );
  const other = `mem://agg-${++serial}/aff`;
  await Volume.fromArray(other, fromTyped(aff, [...size, 3]), { chunkSize: [8, 8, 8] });
  await expect(createAgglomerationTasks(ws, other, dest, { threshold: 0.5 })).rejects.toThrow(
    /the graph needs both over the same voxels/,
  );
  const keys: string[] = [];
  for await (const k of openStorage(dest).list("", { recursive: true })) keys.push(k);
  expect(keys).toEqual([]);
});
