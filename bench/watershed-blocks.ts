/**
 * Blockwise watershed against the whole volume, on the synthetic
 * map: a float32 affinity map [512, 512, 128, 3] made from a Voronoi
 * segmentation of 2000 cells (`voronoiSegmentation` + `voronoiAffinities`,
 * as bench/watershed.ts). The watershed stage runs in 2x2x1 and 3x3x1
 * blocks (cores of 256x256x128 and 176x176x128, the last ones clipped) with
 * the default context (16) and Watershed.jl's default relative thresholds,
 * in this process with 2 tasks at once over mem:// layers; its result is
 * scored against `watershed` of the whole map: adapted Rand error and VOI,
 * whether every id is one connected region, and the fraction of the whole
 * volume's face contacts at block faces that the blockwise result cuts.
 *
 * Run: npx tsx bench/watershed-blocks.ts
 */
import { loadavg } from "node:os";
import { closePool, fromTyped, Volume } from "../packages/precomputed/src/index";
import { evaluateSegmentation, watershed } from "../packages/segmentation/src/index";
import { createTaskContext, executeTasks } from "../packages/tasks/src/runtime";
import { cutsAtFaces, idsConnected } from "../packages/tasks/src/seg/testing";
import { createWatershedTasks } from "../packages/tasks/src/seg/watershed-stage";
import { voronoiAffinities, voronoiSegmentation } from "../packages/tasks/src/synthetic";

const SIZE = [512, 512, 128] as const;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");

async function main(): Promise<void> {
  console.log(`watershed blocks vs whole, ${SIZE.join("x")}, load average ${load()}`);
  const seg = voronoiSegmentation(SIZE, { seeds: 2000, seed: 1 });
  const aff = voronoiAffinities(seg, SIZE);
  let t = performance.now();
  const whole = watershed(aff, SIZE);
  console.log(
    `whole volume: ${whole.regions} regions in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  await Volume.fromArray("mem://bench/aff", fromTyped(aff, [...SIZE, 3]), {
    chunkSize: [16, 16, 16],
    compress: false,
  });
  for (const [name, shape] of [
    ["2x2x1", [256, 256, 128]],
    ["3x3x1", [176, 176, 128]],
  ] as const) {
    const dest = `mem://bench/ws-${name}`;
    t = performance.now();
    const ctx = createTaskContext();
    for (const phase of await createWatershedTasks("mem://bench/aff", dest, {
      shape: [...shape],
      groupSize: 2,
    }))
      await executeTasks(await phase.tasks(), { parallel: 2, context: ctx });
    const seconds = (performance.now() - t) / 1000;
    const vol = await Volume.open(dest);
    const labels = (await vol.read(vol.bounds)).data as Uint32Array;
    const s = evaluateSegmentation(labels, whole.labels);
    console.log(
      `${name} blocks of ${shape.join("x")}: adapted Rand error ${s.adaptedRandError.toExponential(2)}, ` +
        `VOI split ${s.voiSplit.toFixed(4)} merge ${s.voiMerge.toFixed(4)}, ` +
        `ids connected: ${idsConnected(labels, SIZE)}, ` +
        `face contacts cut ${(100 * cutsAtFaces(whole.labels, labels, SIZE, shape)).toFixed(2)}%, ` +
        `${new Set(labels).size - 1} ids, stage ${seconds.toFixed(1)} s (load ${load()})`,
    );
  }
  await closePool();
}

main();
