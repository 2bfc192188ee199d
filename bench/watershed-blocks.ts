/**
 * Blockwise watershed against the whole volume: the watershed stage (default
 * context 16, Watershed.jl's default relative thresholds, in this process
 * with 2 tasks at once over mem:// layers) in 2x2x1 and 3x3x1 blocks of
 *
 *  - piriform (../shared/data/piriform.aff.h5, 200x200x5), when present, and
 *  - the synthetic map: float32 affinities [512, 512, 128, 3] from a
 *    Voronoi segmentation of 2000 cells (`voronoiSegmentation` +
 *    `voronoiAffinities`, as bench/watershed.ts),
 *
 * scored against `watershed` of the whole map: adapted Rand error and VOI,
 * the number of ids whose voxels form more than one 6-connected region,
 * the whole volume's face contacts (voxel pairs across block faces in one
 * whole-volume region) that the blockwise result cuts, and whether the
 * labels are equal voxel for voxel.
 *
 * Run: npx tsx bench/watershed-blocks.ts
 */
import { loadavg } from "node:os";
import { closePool, fromTyped, Volume } from "../packages/precomputed/src/index";
import {
  hasPiriform,
  PIRIFORM_PATH,
  readPiriform,
} from "../packages/segmentation/src/fixtures.testutil";
import { evaluateSegmentation, watershed } from "../packages/segmentation/src/index";
import { createTaskContext, executeTasks } from "../packages/tasks/src/runtime";
import { cutsAtFaces, disconnectedIds } from "../packages/tasks/src/seg/testing";
import { createWatershedTasks } from "../packages/tasks/src/seg/watershed-stage";
import { voronoiAffinities, voronoiSegmentation } from "../packages/tasks/src/synthetic";

type V3 = [number, number, number];
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");

let serial = 0;

async function compare(
  name: string,
  aff: Float32Array,
  size: V3,
  chunk: V3,
  grids: Array<[string, V3]>,
): Promise<void> {
  let t = performance.now();
  const whole = watershed(aff, size);
  console.log(
    `${name} ${size.join("x")}: whole volume ${whole.regions} regions from ${whole.basins} basins in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  const src = `mem://bench-${++serial}/aff`;
  await Volume.fromArray(src, fromTyped(aff, [...size, 3]), { chunkSize: chunk, compress: false });
  for (const [blocks, shape] of grids) {
    const dest = `mem://bench-${++serial}/ws`;
    t = performance.now();
    const ctx = createTaskContext();
    for (const phase of await createWatershedTasks(src, dest, { shape, groupSize: 2 }))
      await executeTasks(await phase.tasks(), { parallel: 2, context: ctx });
    const seconds = (performance.now() - t) / 1000;
    const vol = await Volume.open(dest);
    const labels = (await vol.read(vol.bounds)).data as Uint32Array;
    const s = evaluateSegmentation(labels, whole.labels);
    let equal = labels.length === whole.labels.length;
    for (let i = 0; equal && i < labels.length; i++) equal = labels[i] === whole.labels[i];
    console.log(
      `  ${blocks} blocks of ${shape.join("x")}: adapted Rand error ${s.adaptedRandError}, ` +
        `VOI split ${s.voiSplit} merge ${s.voiMerge}, ` +
        `ids with disconnected regions ${disconnectedIds(labels, size)}, ` +
        `face contacts cut ${cutsAtFaces(whole.labels, labels, size, shape)}, ` +
        `labels equal to the whole volume's: ${equal}, stage ${seconds.toFixed(1)} s (load ${load()})`,
    );
  }
}

async function main(): Promise<void> {
  console.log(`watershed blocks vs whole volume, load average ${load()}`);
  if (hasPiriform)
    await compare(
      "piriform",
      await readPiriform(),
      [200, 200, 5],
      [4, 4, 5],
      [
        ["2x2x1", [100, 100, 5]],
        ["3x3x1", [68, 68, 5]],
      ],
    );
  else console.log(`piriform skipped: ${PIRIFORM_PATH} not found`);
  const size: V3 = [512, 512, 128];
  const seg = voronoiSegmentation(size, { seeds: 2000, seed: 1 });
  await compare(
    "synthetic",
    voronoiAffinities(seg, size),
    size,
    [16, 16, 16],
    [
      ["2x2x1", [256, 256, 128]],
      ["3x3x1", [176, 176, 128]],
    ],
  );
  await closePool();
}

main();
