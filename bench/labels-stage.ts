/**
 * The connected-components stage end to end, and the memory of one reduce.
 *
 *   npx tsx bench/labels-stage.ts ccl X,Y,Z WORKERS   ccl of an X*Y*Z uint64 Voronoi layer (file://,
 *       raw + gzip, 128^3 chunks, blocks 256x256x128) with WORKERS tasks at once: Mvox/s of the
 *       stage (layer writing excluded) and the process's peak RSS
 *   npx tsx bench/labels-stage.ts reduce N            one level-0 reduce task's work on N links
 *       (64 blocks, links from components to plane nodes of the group): peak RSS over the baseline
 *
 * Each run is its own process, so peak RSS is that of one configuration.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { closePool, configurePool, NdArray, Volume } from "../packages/precomputed/src";
import {
  createTaskContext,
  executeTask,
  mulberry32,
  voronoiSegmentation,
} from "../packages/tasks/src";
import { createConnectedComponentsTasks } from "../packages/tasks/src/labels/ccl";
import { nodeKey } from "../packages/tasks/src/labels/ccl-block";
import { reduceGroup } from "../packages/tasks/src/labels/reduce";

const rssMiB = () => process.resourceUsage().maxRSS / 1024;

async function ccl(size: [number, number, number], workers: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ngpipe-bench-ccl-"));
  try {
    configurePool({ threads: workers });
    const src = pathToFileURL(join(dir, "seg")).href;
    const cells = Math.round((size[0] * size[1] * size[2]) / 130_000);
    const ids = voronoiSegmentation(size, { seeds: cells });
    const labels = BigUint64Array.from(
      { length: ids.length },
      (_, i) => BigInt(ids[i]) + (1n << 40n) * BigInt(ids[i] % 3),
    );
    await Volume.fromArray(src, NdArray.from(labels, size), { chunkSize: [128, 128, 128] });
    const ctx = createTaskContext();
    const started = performance.now();
    for (const phase of await createConnectedComponentsTasks(
      src,
      pathToFileURL(join(dir, "cc")).href,
      {
        shape: [256, 256, 128],
        connectivity: 26,
      },
    )) {
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
        bench: "ccl",
        size,
        workers,
        cells,
        seconds: +seconds.toFixed(2),
        mvoxPerS: +(mvox / seconds).toFixed(2),
        peakRssMiB: Math.round(rssMiB()),
      }),
    );
  } finally {
    await closePool();
    rmSync(dir, { recursive: true, force: true });
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
if (mode === "ccl") void ccl(a.split(",").map(Number) as [number, number, number], Number(b ?? 1));
else if (mode === "reduce") reduce(Number(a));
else console.error("usage: bench/labels-stage.ts ccl X,Y,Z WORKERS | reduce N");
