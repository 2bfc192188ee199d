/**
 * The image-analysis stages (issue 17): contrast normalization Mvox/s with 1
 * and 2 workers, and the histogram stage for reference.
 *
 * Layer on file://: an EM-like uint8 image of 2048x1024x64 voxels in
 * 128x128x64 raw chunks with gzip (the CloudVolume/Igneous defaults).
 *
 * histogram  the histogram stage with coverage 1 (every voxel counted), run
 *            once: Mvox/s of the voxels counted.
 * kernel     `stretchContrast` on one 1024x1024x64 block on this thread
 *            (the CPU floor of a contrast task's own work).
 * contrast   `executeTask` of two contrast tasks of one 1024x1024x64 block
 *            each, writing the block and 3 average downsamples (the stage's
 *            normal output): 1 worker = pool of 1 thread, the tasks one after
 *            the other; 2 workers = pool of 2 threads, both tasks at once.
 * transfer   the same two blocks as transfer tasks with the same 3 mips (read,
 *            write, downsample: all of a contrast task but the stretch and
 *            the levels), 1 worker: the ratio contrast/transfer says what
 *            the normalization adds, and is less sensitive to the load.
 *
 * Printed: medians over the runs (runs alternate kernel, 1 worker, 2 workers,
 * transfer),
 * with the load average.
 *
 * Run: npx tsx bench/contrast.ts [runs]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import {
  closePool,
  configurePool,
  contrastLimits,
  crop,
  fromTyped,
  sliceHistograms,
  stretchContrast,
  Volume,
} from "@ngpipe/precomputed";
import {
  createContrastNormalizationTasks,
  createLuminanceLevelsTasks,
  createTaskContext,
  createTransferTasks,
  emLikeImage,
  executeTask,
  voronoiSegmentation,
} from "@ngpipe/tasks";

const runs = Number(process.argv[2] ?? 3);
const BLOCK = [1024, 1024, 64] as const;
const SHAPE = [2 * BLOCK[0], BLOCK[1], BLOCK[2]] as const;
const CHUNK = [128, 128, 64] as const;
const MIPS = 3;
const dir = mkdtempSync(join(tmpdir(), "ngpipe-bench-contrast-"));
const src = `file://${join(dir, "em")}`;
const dest = `file://${join(dir, "em-cn")}`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** An EM-like image over a 512x512x64 Voronoi partition tiled 4x2. */
function image(): Uint8Array {
  const tile = emLikeImage(
    voronoiSegmentation([512, 512, 64], { seeds: 300, seed: 5 }),
    [512, 512, 64],
  );
  const out = new Uint8Array(SHAPE[0] * SHAPE[1] * SHAPE[2]);
  for (let t = 0; t < 8; t++) {
    const x0 = (t % 4) * 512;
    const y0 = (t >> 2) * 512;
    for (let z = 0; z < 64; z++)
      for (let y = 0; y < 512; y++)
        out.set(
          tile.subarray(512 * (y + 512 * z), 512 * (y + 1 + 512 * z)),
          x0 + SHAPE[0] * (y0 + y + SHAPE[1] * z),
        );
  }
  return out;
}

async function payloads(kind: "contrast" | "transfer") {
  const set =
    kind === "contrast"
      ? await createContrastNormalizationTasks(src, dest, { mips: MIPS, memoryTarget: 8e9 })
      : await createTransferTasks(src, `${dest}-xfer`, { mips: MIPS, memoryTarget: 8e9 });
  const [first] = [...set];
  return [0, 1].map((i) => ({
    ...first,
    params: {
      ...first.params,
      bbox: `${i * BLOCK[0]}-${(i + 1) * BLOCK[0]}_0-${BLOCK[1]}_0-${BLOCK[2]}`,
    },
  }));
}

async function runTasks(
  workers: number,
  kind: "contrast" | "transfer" = "contrast",
): Promise<number> {
  const tasks = await payloads(kind);
  const ctx = createTaskContext();
  const t0 = performance.now();
  if (workers === 1) for (const p of tasks) await executeTask(p, ctx);
  else await Promise.all(tasks.map((p) => executeTask(p, ctx)));
  return performance.now() - t0;
}

async function main(): Promise<void> {
  console.log(
    `# npx tsx bench/contrast.ts ${runs}  (node ${process.version}, ${runs} runs, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")})`,
  );
  const img = image();
  await Volume.fromArray(src, fromTyped(img, [...SHAPE]), {
    chunkSize: [...CHUNK],
    resolution: [4, 4, 40],
  });
  const voxels = SHAPE[0] * SHAPE[1] * SHAPE[2];

  configurePool({ threads: 2 });
  const ctx = createTaskContext();
  const h0 = performance.now();
  for (const phase of await createLuminanceLevelsTasks(src, {
    coverage: 1,
    patchSize: [1024, 1024],
  }))
    await Promise.all(
      [...((await phase.tasks()) as Iterable<unknown>)].map((p) => executeTask(p, ctx)),
    );
  const hist = performance.now() - h0;
  console.log(
    `histogram (coverage 1, 2 threads)   ${(voxels / hist / 1e3).toFixed(1).padStart(6)} Mvox/s  load ${loadavg()[0].toFixed(1)}`,
  );

  // The kernel's input: the first block with its slices' limits (clip 0.01).
  const block = crop(fromTyped(img, [...SHAPE, 1]), [0, 0, 0], [...BLOCK]).data as Uint8Array;
  const h = sliceHistograms(block, BLOCK);
  const limits = new Float64Array(2 * BLOCK[2]);
  for (let z = 0; z < BLOCK[2]; z++)
    limits.set(contrastLimits(h.subarray(z * 256, (z + 1) * 256), 0.01), 2 * z);

  const k: number[] = [];
  const t1: number[] = [];
  const t2: number[] = [];
  const tx: number[] = [];
  const setThreads = async (threads: number) => {
    await closePool();
    configurePool({ threads });
    await runTasks(threads); // warm-up: starts the threads, loads the kernels
  };
  for (let r = 0; r < runs; r++) {
    const copy = block.slice();
    const k0 = performance.now();
    stretchContrast(copy, BLOCK, limits);
    k.push(performance.now() - k0);
    await setThreads(1);
    t1.push(await runTasks(1));
    await setThreads(2);
    t2.push(await runTasks(2));
    await setThreads(1);
    await runTasks(1, "transfer");
    tx.push(await runTasks(1, "transfer"));
  }
  const blockVoxels = BLOCK[0] * BLOCK[1] * BLOCK[2];
  const rate = (ms: number, n: number) => (n / ms / 1e3).toFixed(1).padStart(6);
  console.log(
    `contrast kernel (1 block, this thread) ${rate(median(k), blockVoxels)} Mvox/s\n` +
      `contrast tasks, ${MIPS} mips, 1 worker  ${rate(median(t1), 2 * blockVoxels)} Mvox/s\n` +
      `contrast tasks, ${MIPS} mips, 2 workers ${rate(median(t2), 2 * blockVoxels)} Mvox/s` +
      `  (speed-up ${(median(t1) / median(t2)).toFixed(2)})\n` +
      `transfer tasks, ${MIPS} mips, 1 worker  ${rate(median(tx), 2 * blockVoxels)} Mvox/s` +
      `  (contrast/transfer time ${(median(t1) / median(tx)).toFixed(2)})  load ${loadavg()[0].toFixed(1)}`,
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
