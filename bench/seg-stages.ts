/**
 * End to end: the watershed stage then the agglomerate stage on a
 * 1024x1024x128 float32 affinity layer on file:// (a Voronoi segmentation of
 * 8000 cells through `voronoiAffinities`, chunks of 128x128x64, raw,
 * gzipped), run in this machine's process with 1 and then 2 tasks at once
 * (the pool has one thread per core). Each configuration is a fresh Node
 * process; it reports wall time, Mvox/s (voxels of the layer / wall time of
 * both stages) and its peak resident set size (getrusage's maxrss, worker
 * threads included), and each phase's wall time, and what the watershed's
 * merge task reports: basins, distinct edges of the basin graph, and the
 * most edge records it held at once (it streams the graph from storage);
 * generating the input is timed too. Load averages are printed beside
 * each figure: the machine may be shared.
 *
 * Run: npx tsx bench/seg-stages.ts [size-x size-y size-z]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { closePool, fromTyped, Volume } from "../packages/precomputed/src/index";
import { createTaskContext, executeTasks } from "../packages/tasks/src/runtime";
import { createAgglomerationTasks } from "../packages/tasks/src/seg/agglomeration-stage";
import { createWatershedTasks } from "../packages/tasks/src/seg/watershed-stage";
import { voronoiAffinities, voronoiSegmentation } from "../packages/tasks/src/synthetic";

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");

async function measure(dir: string, parallel: number): Promise<void> {
  const aff = pathToFileURL(path.join(dir, "aff")).href;
  const ws = pathToFileURL(path.join(dir, `ws-${parallel}`)).href;
  const seg = pathToFileURL(path.join(dir, `seg-${parallel}`)).href;
  const ctx = createTaskContext();
  const phases: Array<[string, number]> = [];
  let merge: unknown;
  const run = async (list: Awaited<ReturnType<typeof createWatershedTasks>>) => {
    for (const phase of list) {
      const t = performance.now();
      const r = await executeTasks(await phase.tasks(), { parallel, context: ctx });
      if (phase.name === "watershed merge") merge = r.results[0];
      phases.push([phase.name, (performance.now() - t) / 1000]);
    }
  };
  const t0 = performance.now();
  await run(await createWatershedTasks(aff, ws));
  const t1 = performance.now();
  await run(await createAgglomerationTasks(ws, aff, seg, { threshold: 0.5 }));
  const t2 = performance.now();
  const vol = await Volume.open(aff);
  await closePool();
  process.stdout.write(
    JSON.stringify({
      voxels: vol.bounds.volume(),
      watershedS: (t1 - t0) / 1000,
      agglomerateS: (t2 - t1) / 1000,
      peakRss: process.resourceUsage().maxRSS * 1024,
      phases,
      merge,
    }),
  );
}

async function main(): Promise<void> {
  if (process.argv[2] === "--measure") {
    await measure(process.argv[3], Number(process.argv[4]));
    return;
  }
  const size = (
    process.argv.length >= 5 ? process.argv.slice(2, 5).map(Number) : [1024, 1024, 128]
  ) as [number, number, number];
  const dir = mkdtempSync(path.join(tmpdir(), "ngpipe-seg-bench-"));
  try {
    console.log(
      `seg stages end to end, ${size.join("x")} float32 affinities, load average ${load()}`,
    );
    {
      const t = performance.now();
      const labels = voronoiSegmentation(size, { seeds: 8000, seed: 2 });
      const aff = voronoiAffinities(labels, size);
      await Volume.fromArray(
        pathToFileURL(path.join(dir, "aff")).href,
        fromTyped(aff, [...size, 3]),
        {
          chunkSize: [128, 128, 64],
        },
      );
      await closePool();
      console.log(
        `input (Voronoi segmentation, affinities, layer written): ${((performance.now() - t) / 1000).toFixed(1)} s (load ${load()})`,
      );
    }
    for (const parallel of [1, 2]) {
      const r = spawnSync(
        process.execPath,
        ["--require", "tsx/cjs", __filename, "--measure", dir, String(parallel)],
        { encoding: "utf8", maxBuffer: 1 << 20 },
      );
      if (r.status !== 0) throw new Error(`measuring run failed: ${r.stderr}`);
      const m = JSON.parse(r.stdout);
      const total = m.watershedS + m.agglomerateS;
      console.log(
        `${parallel} task(s) at once: watershed ${m.watershedS.toFixed(1)} s + agglomerate ${m.agglomerateS.toFixed(1)} s = ` +
          `${(m.voxels / 1e6 / total).toFixed(2)} Mvox/s, peak RSS ${(m.peakRss / 2 ** 30).toFixed(2)} GiB (load ${load()})`,
      );
      console.log(`  watershed merge task: ${JSON.stringify(m.merge)}`);
      console.log(
        `  phases: ${(m.phases as Array<[string, number]>).map(([name, s]) => `${name} ${s.toFixed(1)} s`).join(", ")}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
