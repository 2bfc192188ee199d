/**
 * Sharded stage outputs against unsharded ones, and shard-task memory
 * against the planner's rule.
 *
 * Layer: 1024x1024x128 uint8 raw EM-like image, 128x128x64 chunks, gzip,
 * file://. Stages, each run sharded and unsharded into fresh layers:
 *   xfer        transfer with decoding (fastPath off), the same spec both ways
 *   downsample  one mip, 2x2x1
 * The sharded runs use --memory 400 MB, so the planner picks shards of 64
 * chunks for xfer (64 MiB, 5x = 320 MiB per task) and 32 for downsample
 * (4x read + 4 buffers). Throughput = voxels read / wall time (tasks run one
 * at a time, 2 pool threads); ratio = sharded / unsharded time.
 * Memory: the peak RSS growth over the RSS before each sharded task set
 * (sampled every 5 ms), against the plan's taskMemory.
 *
 * Run: npx tsx bench/sharded-stages.ts [runs]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  closePool,
  configurePool,
  NdArray,
  planImageSharding,
  readInfo,
  Volume,
} from "@ngpipe/precomputed";
import { openStorage } from "@ngpipe/storage";
import {
  createDownsampleTasks,
  createTaskContext,
  createTransferTasks,
  emLikeImage,
  executeTask,
  voronoiSegmentation,
} from "@ngpipe/tasks";

const runs = Number(process.argv[2] ?? 3);
const shape: [number, number, number] = [1024, 1024, 128];
const voxels = shape[0] * shape[1] * shape[2];
const MEMORY = 400e6;
const dir = mkdtempSync(join(tmpdir(), "ngpipe-bench-sharded-"));
let n = 0;

async function run(tasks: Iterable<unknown>): Promise<{ ms: number; peak: number }> {
  global.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  const ctx = createTaskContext();
  const t0 = process.hrtime.bigint();
  for (const t of tasks) {
    await executeTask(JSON.parse(JSON.stringify(t)), ctx);
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  clearInterval(timer);
  return { ms, peak: peak - base };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];

async function stage(
  name: string,
  make: (dest: string, sharded: boolean) => Promise<Iterable<unknown>>,
  read: number,
  readFactor: number,
): Promise<void> {
  const times = { sharded: [] as number[], plain: [] as number[] };
  let peak = 0;
  let dest = "";
  for (let r = 0; r < runs; r++) {
    // Alternate, so load changes hit both alike.
    for (const sharded of [false, true]) {
      dest = `file://${dir}/out-${n++}`;
      const res = await run(await make(dest, sharded));
      (sharded ? times.sharded : times.plain).push(res.ms);
      if (sharded) peak = Math.max(peak, res.peak);
    }
  }
  const info = await readInfo(openStorage(dest));
  const s = info.scales[info.scales.length - 1];
  const plan = planImageSharding({
    scale: s.key,
    size: s.size,
    chunkSize: s.chunk_sizes[0],
    dataType: "uint8",
    numChannels: 1,
    encoding: s.encoding,
    memoryTarget: MEMORY,
    readFactor,
  });
  const rate = (ms: number) => (read / 1e6 / (ms / 1e3)).toFixed(1);
  const ps = median(times.plain);
  const ss = median(times.sharded);
  console.log(
    `${name.padEnd(11)} unsharded ${ps.toFixed(0).padStart(6)} ms ${rate(ps).padStart(6)} Mvox/s | ` +
      `sharded ${ss.toFixed(0).padStart(6)} ms ${rate(ss).padStart(6)} Mvox/s | ratio ${(ss / ps).toFixed(2)} | ` +
      `shard ${plan.taskShape.join("x")} (${(plan.shardBytes / 2 ** 20).toFixed(0)} MiB), planned task ` +
      `${(plan.taskMemory / 1e6).toFixed(0)} MB, peak RSS growth ${(peak / 1e6).toFixed(0)} MB, memory ${MEMORY / 1e6} MB`,
  );
}

async function main(): Promise<void> {
  configurePool({ threads: 2 });
  const labels = voronoiSegmentation(shape, { seeds: 400, seed: 3 });
  const src = `file://${dir}/src`;
  await Volume.fromArray(src, NdArray.from(emLikeImage(labels, shape), shape), {
    type: "image",
    chunkSize: [128, 128, 64],
  });
  console.log(
    `load: ${(await import("node:os"))
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  await stage(
    "xfer",
    (dest, sharded) =>
      createTransferTasks(src, dest, {
        fastPath: false,
        ...(sharded ? { sharded: true, memoryTarget: MEMORY } : {}),
      }),
    voxels,
    1,
  );
  await stage(
    "downsample",
    (dest, sharded) =>
      createDownsampleTasks(src, {
        dest,
        mips: 1,
        ...(sharded ? { sharded: true, memoryTarget: MEMORY } : {}),
      }),
    voxels,
    4,
  );
  console.log(
    `load: ${(await import("node:os"))
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
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
