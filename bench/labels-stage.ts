/**
 * The label stages end to end, and the memory of one reduce.
 *
 *   npx tsx bench/labels-stage.ts STAGE X,Y,Z WORKERS   STAGE (ccl, count-voxels, dust, remap) of an
 *       X*Y*Z uint64 Voronoi layer (file://, raw + gzip, 128^3 chunks; ccl blocks 256x256x128) with
 *       WORKERS tasks at once and a pool of WORKERS threads: Mvox/s of the stage (layer writing
 *       excluded) and the process's peak RSS
 *   npx tsx bench/labels-stage.ts reduce N            one level-0 reduce task's work on N links
 *       (64 blocks, links from components to plane nodes of the group): peak RSS over the baseline
 *
 * The layer is a 512x512x128 Voronoi partition (one cell per 130,000 voxels)
 * tiled over X*Y*Z with the ids of each tile offset, ids above 2^40 for two
 * thirds of the cells. It is written once to $TMPDIR/ngpipe-bench-labels-XxYxZ
 * and reused by later runs (delete the directory to write it again); the run
 * that writes it says so, as its peak RSS includes the writing.
 * remap applies a .bin map of every id to 1..N; dust removes the labels below
 * 20,000 voxels. Each run is its own process, so peak RSS is that of one
 * configuration.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { closePool, configurePool, fromTyped, Volume } from "../packages/precomputed/src";
import {
  createTaskContext,
  executeTask,
  mulberry32,
  type TaskPhase,
  voronoiSegmentation,
} from "../packages/tasks/src";
import { createConnectedComponentsTasks } from "../packages/tasks/src/labels/ccl";
import { nodeKey } from "../packages/tasks/src/labels/ccl-block";
import { createDustTasks } from "../packages/tasks/src/labels/dust";
import { reduceGroup } from "../packages/tasks/src/labels/reduce";
import { createRemapTasks } from "../packages/tasks/src/labels/remap-stage";
import { createVoxelCountTasks } from "../packages/tasks/src/labels/voxel-counts";

const rssMiB = () => process.resourceUsage().maxRSS / 1024;
type V3 = [number, number, number];
const TILE: V3 = [512, 512, 128];

const CELLS = Math.round((TILE[0] * TILE[1] * TILE[2]) / 130_000);

/** Tiles per axis of a layer of `size`. */
const tilesOf = (size: V3) => size.map((n, a) => Math.ceil(n / TILE[a])) as V3;

/** The layer's voxels: the tile partition, offset per tile, as uint64 (lo, hi) words. */
function labels(size: V3): Uint32Array {
  const tile = voronoiSegmentation(TILE, { seeds: CELLS });
  const words = new Uint32Array(2 * size[0] * size[1] * size[2]);
  const tiles = tilesOf(size);
  for (let tz = 0; tz < tiles[2]; tz++)
    for (let ty = 0; ty < tiles[1]; ty++)
      for (let tx = 0; tx < tiles[0]; tx++) {
        const offset = CELLS * (tx + tiles[0] * (ty + tiles[1] * tz));
        for (let z = 0; z < TILE[2] && tz * TILE[2] + z < size[2]; z++)
          for (let y = 0; y < TILE[1] && ty * TILE[1] + y < size[1]; y++) {
            const from = TILE[0] * (y + TILE[1] * z);
            const to = tx * TILE[0] + size[0] * (ty * TILE[1] + y + size[1] * (tz * TILE[2] + z));
            for (let x = 0; x < TILE[0] && tx * TILE[0] + x < size[0]; x++) {
              const v = tile[from + x];
              if (v === 0) continue;
              const id = v + offset;
              // (1 << 40) * (id % 3): bits 8 and 9 of the high word.
              words[2 * (to + x)] = id;
              words[2 * (to + x) + 1] = (id % 3) << 8;
            }
          }
      }
  return words;
}

/** Every id the layer can hold (a cell with no voxel left only adds an unused map entry). */
function layerIds(size: V3): number[] {
  const t = tilesOf(size);
  return Array.from({ length: CELLS * t[0] * t[1] * t[2] }, (_, k) => k + 1);
}

/** The layer's URL, written on first use (`written`: this process wrote it). */
async function layer(size: V3): Promise<{ url: string; written: boolean }> {
  const dir = join(tmpdir(), `ngpipe-bench-labels-${size.join("x")}`);
  const url = pathToFileURL(join(dir, "seg")).href;
  if (existsSync(join(dir, "seg", "info"))) return { url, written: false };
  const big = new BigUint64Array(labels(size).buffer);
  await Volume.fromArray(url, fromTyped(big, size), { chunkSize: [128, 128, 128] });
  return { url, written: true };
}

/** A .bin map (little-endian uint64 (from, to) pairs) of 0 and every id to 0 and 1..N. */
function writeMap(path: string, ids: number[]): void {
  const pairs = new Uint32Array(4 * (ids.length + 1));
  ids.forEach((id, k) => {
    const at = 4 * (k + 1);
    pairs[at] = id;
    pairs[at + 1] = (id % 3) << 8;
    pairs[at + 2] = k + 1;
  });
  writeFileSync(path, pairs);
}

async function stage(name: string, size: V3, workers: number): Promise<void> {
  const { url: src, written } = await layer(size);
  const ids = layerIds(size);
  const out = mkdtempSync(join(tmpdir(), "ngpipe-bench-labels-out-"));
  const dest = pathToFileURL(join(out, "dest")).href;
  try {
    configurePool({ threads: workers });
    let phases: TaskPhase[];
    if (name === "ccl")
      phases = await createConnectedComponentsTasks(src, dest, {
        shape: [256, 256, 128],
        connectivity: 26,
      });
    else if (name === "count-voxels")
      phases = await createVoxelCountTasks(src, { dest: `${dest}-counts` });
    else if (name === "dust") phases = await createDustTasks(src, dest, { minSize: 20_000 });
    else if (name === "remap") {
      const map = join(out, "map.bin");
      writeMap(map, ids);
      phases = await createRemapTasks(src, dest, { map: pathToFileURL(map).href });
    } else throw new Error(`unknown stage ${name}`);
    const ctx = createTaskContext();
    const started = performance.now();
    for (const phase of phases) {
      const queue = [...((await phase.tasks()) as Iterable<Parameters<typeof executeTask>[0]>)];
      await Promise.all(
        Array.from({ length: workers }, async () => {
          for (let t = queue.shift(); t; t = queue.shift()) await executeTask(t, ctx);
        }),
      );
    }
    const seconds = (performance.now() - started) / 1000;
    const mvox = (size[0] * size[1] * size[2]) / 1e6;
    console.log(
      JSON.stringify({
        bench: name,
        size,
        workers,
        labels: ids.length,
        seconds: +seconds.toFixed(2),
        mvoxPerS: +(mvox / seconds).toFixed(2),
        peakRssMiB: Math.round(rssMiB()),
        ...(written ? { note: "this run wrote the layer: its peak RSS includes that" } : {}),
      }),
    );
  } finally {
    await closePool();
    rmSync(out, { recursive: true, force: true });
  }
}

function reduce(links: number): void {
  const blocks = 64;
  const rand = mulberry32(7);
  const base = rssMiB();
  const perBlock = Math.ceil(links / blocks);
  const comps = Math.max(1, Math.floor(perBlock / 4));
  const members = Array.from({ length: blocks }, (_, b) => {
    const pairA = new Float64Array(perBlock);
    const pairB = new Float64Array(perBlock);
    for (let e = 0; e < perBlock; e++) {
      pairA[e] = nodeKey(b, 0, 1 + Math.floor(rand() * comps));
      pairB[e] = nodeKey(
        Math.floor(rand() * blocks),
        1 + Math.floor(rand() * 3),
        1 + Math.floor(rand() * comps),
      );
    }
    return {
      count: comps,
      minFirst: Float64Array.from({ length: comps }, (_, l) => b * 1e6 + l),
      extComp: new Uint32Array(0),
      extNode: new Float64Array(0),
      pairA,
      pairB,
      expNode: new Float64Array(0),
      expComp: new Uint32Array(0),
    };
  });
  const started = performance.now();
  const r = reduceGroup(
    members,
    { contains: () => true, onLowFace: () => false },
    Array.from({ length: blocks }, (_, b) => b),
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({
      bench: "reduce",
      links: blocks * perBlock,
      classes: r.closed.length,
      seconds: +seconds.toFixed(2),
      peakRssOverBaselineMiB: Math.round(rssMiB() - base),
    }),
  );
}

const [mode, a, b] = process.argv.slice(2);
if (mode === "reduce") reduce(Number(a));
else if (["ccl", "count-voxels", "dust", "remap"].includes(mode))
  void stage(mode, a.split(",").map(Number) as V3, Number(b ?? 1));
else
  console.error(
    "usage: bench/labels-stage.ts ccl|count-voxels|dust|remap X,Y,Z WORKERS | reduce N",
  );
