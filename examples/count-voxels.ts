/**
 * Count the voxels of every label of a segmentation layer, over the whole
 * dataset: the count-voxels stage's phases (per-block counts, merges), then
 * the table read back with readVoxelCounts, and the largest labels printed.
 *
 * Run it on a synthetic layer it writes to a temporary directory:
 *
 *   npx tsx examples/count-voxels.ts
 *
 * or on your own layer (file://, gs://, s3://, ...; the table is written
 * under it, in LAYER/voxel-counts):
 *
 *   npx tsx examples/count-voxels.ts file:///data/seg
 *
 * The same from the command line: `ngpipe image count-voxels file:///data/seg`.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { closePool, NdArray, Volume } from "@ngpipe/precomputed";
import {
  createTaskContext,
  createVoxelCountTasks,
  executeTask,
  readVoxelCounts,
  type VoxelCountTable,
  voronoiSegmentation,
} from "@ngpipe/tasks";

/** Write a 128x128x32 Voronoi segmentation (80 cells) to `dir`; returns its URL. */
export async function makeSyntheticLayer(dir: string): Promise<string> {
  const url = pathToFileURL(join(dir, "seg")).href;
  const labels = voronoiSegmentation([128, 128, 32], { seeds: 80 });
  await Volume.fromArray(url, NdArray.from(labels, [128, 128, 32]), { chunkSize: [32, 32, 16] });
  return url;
}

/** Run the count-voxels stage on `layer` here, phase after phase, and read the table. */
export async function countLayer(layer: string): Promise<VoxelCountTable> {
  const ctx = createTaskContext();
  const dest = `${layer}/voxel-counts`;
  for (const phase of await createVoxelCountTasks(layer, { dest }))
    for await (const payload of await phase.tasks()) await executeTask(payload, ctx);
  return readVoxelCounts(dest);
}

/** The `n` largest labels (0 left out), largest first. */
export function largest(table: VoxelCountTable, n: number): { id: bigint; voxels: number }[] {
  const rows = Array.from(table.ids, (id, k) => ({ id, voxels: table.counts[k] })).filter(
    (r) => r.id !== 0n,
  );
  return rows.sort((a, b) => b.voxels - a.voxels || (a.id < b.id ? -1 : 1)).slice(0, n);
}

async function cli(): Promise<void> {
  const layer =
    process.argv[2] ?? (await makeSyntheticLayer(await mkdtemp(join(tmpdir(), "ngpipe-counts-"))));
  const table = await countLayer(layer);
  console.log(`${layer}: ${table.ids.length} labels, ${table.voxels} voxels`);
  for (const { id, voxels } of largest(table, 10)) console.log(`  label ${id}: ${voxels} voxels`);
  await closePool();
}

if (require.main === module) void cli();
