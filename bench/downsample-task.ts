/**
 * End-to-end downsample task throughput from file://: read the block (chunk
 * fetch + gunzip + decode in the pool), pool the mips in the pool, encode and
 * write every new chunk (gzip) back to file://.
 *
 * Layouts (CloudVolume/Igneous defaults: 128x128x64 chunks, gzip on disk):
 *   image  512x512x128 uint8 raw,                      EM-like synthetic image
 *   seg    512x512x128 uint64 compressed_segmentation,  Voronoi segmentation
 * Both downsampled 2x2x1 by 2 mips with a memory target (32 MB for uint8,
 * 256 MB for uint64) that makes tasks of 512x512x64: two tasks, run
 * concurrently.
 *
 * Throughput = mip-0 voxels / wall time of all tasks, in Mvox/s, for 1 and 2
 * pool threads; best and median of the runs.
 *
 * Run: npx tsx bench/downsample-task.ts [runs]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closePool, configurePool, fromTyped, Volume } from "@ngpipe/precomputed";
import {
  createDownsampleTasks,
  createTaskContext,
  emLikeImage,
  executeTask,
  voronoiSegmentation,
} from "@ngpipe/tasks";

const runs = Number(process.argv[2] ?? 3);
const shape = [512, 512, 128] as const;
const voxels = shape[0] * shape[1] * shape[2];
const dir = mkdtempSync(join(tmpdir(), "ngpipe-bench-ds-"));

async function runTasks(url: string, memoryTarget: number): Promise<number> {
  const tasks = await createDownsampleTasks(url, { mips: 2, memoryTarget });
  const ctx = createTaskContext();
  const t0 = process.hrtime.bigint();
  await Promise.all([...tasks].map((p) => executeTask(p, ctx)));
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function bench(name: string, url: string, memoryTarget: number): Promise<void> {
  for (const threads of [1, 2]) {
    await closePool();
    configurePool({ threads });
    await runTasks(url, memoryTarget); // warm-up: starts the threads and loads the kernels
    const times: number[] = [];
    for (let r = 0; r < runs; r++) times.push(await runTasks(url, memoryTarget));
    times.sort((a, b) => a - b);
    const rate = (ms: number) => (voxels / 1e6 / (ms / 1e3)).toFixed(1);
    const best = times[0];
    const median = times[times.length >> 1];
    console.log(
      `${name.padEnd(44)} threads ${threads}  best ${best.toFixed(0).padStart(6)} ms ` +
        `${rate(best).padStart(6)} Mvox/s   median ${median.toFixed(0).padStart(6)} ms ` +
        `${rate(median).padStart(6)} Mvox/s`,
    );
  }
}

async function main(): Promise<void> {
  console.log(
    `# npx tsx bench/downsample-task.ts ${runs}  (node ${process.version}, ${runs} runs)`,
  );
  const labels = voronoiSegmentation(shape, { seeds: 400, seed: 5 });
  const image = emLikeImage(labels, shape);
  const imageUrl = `file://${join(dir, "image")}`;
  await Volume.fromArray(imageUrl, fromTyped(image, [...shape]), {
    chunkSize: [128, 128, 64],
    resolution: [4, 4, 40],
  });
  await bench("image uint8 raw 128x128x64, 2 mips 2x2x1", imageUrl, 32e6);

  const big = new BigUint64Array(labels.length);
  for (let i = 0; i < labels.length; i++) big[i] = BigInt(labels[i]) + (1n << 40n);
  const segUrl = `file://${join(dir, "seg")}`;
  await Volume.fromArray(segUrl, fromTyped(big, [...shape]), {
    type: "segmentation",
    chunkSize: [128, 128, 64],
    resolution: [4, 4, 40],
    encoding: "compressed_segmentation",
  });
  await bench("seg uint64 cseg 128x128x64, 2 mips 2x2x1", segUrl, 256e6);
}

main()
  .finally(async () => {
    await closePool();
    rmSync(dir, { recursive: true, force: true });
  })
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
