/**
 * A downsample task end to end against its CPU floor (issue 13).
 *
 * Layers on file://, 2048x1024x64 voxels in 128x128x64 chunks with gzip (the
 * CloudVolume/Igneous defaults), read as two tasks of one 1024x1024x64 block
 * each, downsampled 2x2x1 by 3 mips (16 + 4 + 1 new chunks per task):
 *   image  uint8  raw                      EM-like synthetic image, average pooling
 *   seg    uint64 compressed_segmentation  Voronoi labels above 2^40, mode pooling
 *
 * floor    the CPU calls of one task, back to back on this thread, nothing
 *          else: gunzip + decode of its 64 stored chunks (decodeStoredChunk),
 *          the pooling kernel over the block (downsample), encode + gzip of
 *          its 21 new chunks (encodeStoredChunk). No IO, no painting, no
 *          cropping, no worker hand-offs.
 * task     `executeTask` of the real payloads, as a worker process runs a
 *          queue: N tasks (the two blocks' payloads in turn, `--tasks N`,
 *          default 4) taken from a list by w tasks in flight over a pool of
 *          w threads (`ngpipe execute --concurrency w` on a w-thread pool):
 *          1 worker = w 1, 2 workers = w 2. Throughput is wall time per task.
 *
 * With `sharded`, the tasks are those of a sharded downsample into a new
 * layer (one mip per task set, Igneous' ImageShardDownsampleTask): each
 * reads the same 1024x1024x64 block and writes one 512x512x64 shard of
 * mip 1 (16 chunks, gzip data); the floor then pools and encodes one mip.
 *
 * Printed per layer: medians over the runs of the floor per task, the task
 * time per task, task/floor efficiency (floor time / task time, >= 0.8 is the
 * goal for 1 worker) and the 2-worker speed-up (>= 1.8 the goal), with the
 * load average. Runs alternate floor, 1 worker, 2 workers.
 *
 * On Linux it also prints each run's CPU per task by thread (from
 * /proc/self/task): the main thread, the pool's threads (those started with
 * the pool) and the rest (V8's GC and compiler helpers, libuv's file IO).
 * On two cores the 2-worker speed-up cannot pass 2 x (1-worker task time) /
 * (2-worker CPU per task, all threads); with the 1-worker task time taken
 * as its pool thread's CPU (a worker that never waits), that is the "2-core
 * ceiling" printed: 2 x pool CPU (1 worker) / all CPU (2 workers), which
 * the load of other processes changes much less than wall times.
 *
 * Run: npx tsx bench/downsample-task.ts [runs] [image|seg|both] [sharded] [--tasks N]
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import {
  closePool,
  configurePool,
  crop,
  downsample,
  fromTyped,
  type TypedArray,
  Volume,
} from "@ngpipe/precomputed";
import { forEachLimit } from "@ngpipe/storage";
import {
  createDownsampleTasks,
  createTaskContext,
  emLikeImage,
  executeTask,
  voronoiSegmentation,
} from "@ngpipe/tasks";
import { decodeStoredChunk, encodeStoredChunk } from "../packages/precomputed/src/chunks/stored";

const tasksAt = process.argv.indexOf("--tasks");
const TASKS = tasksAt > 0 ? Number(process.argv[tasksAt + 1]) : 4;
const args = process.argv
  .slice(2)
  .filter((_, i, a) => a[i] !== "--tasks" && a[i - 1] !== "--tasks");
const runs = Number(args[0] ?? 3);
const only = args[1];
const sharded = args[2] === "sharded";
const BLOCK = [1024, 1024, 64] as const;
const SHAPE = [2 * BLOCK[0], BLOCK[1], BLOCK[2]] as const;
const CHUNK = [128, 128, 64] as const;
const MIPS = sharded ? 1 : 3;
const dir = mkdtempSync(join(tmpdir(), "ngpipe-bench-ds-"));

/** Voronoi labels for the layer: a 512x512x64 partition tiled 4x2, each tile's ids offset. */
function labels(): Uint32Array {
  const [tx, ty, tz] = [512, 512, 64];
  const tile = voronoiSegmentation([tx, ty, tz], { seeds: 300, seed: 5 });
  const out = new Uint32Array(SHAPE[0] * SHAPE[1] * SHAPE[2]);
  for (let t = 0; t < 8; t++) {
    const x0 = (t % 4) * tx;
    const y0 = (t >> 2) * ty;
    for (let z = 0; z < tz; z++)
      for (let y = 0; y < ty; y++) {
        const from = tx * (y + ty * z);
        const to = x0 + SHAPE[0] * (y0 + y + SHAPE[1] * z);
        for (let x = 0; x < tx; x++) {
          const v = tile[from + x];
          out[to + x] = v === 0 ? 0 : v + 1000 * t;
        }
      }
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

interface Layer {
  name: string;
  url: string;
  path: string;
  encoding: "raw" | "compressed_segmentation";
  dtype: "uint8" | "uint64";
  method: "average" | "mode";
}

/** The two task payloads: one per 1024x1024x64 block. */
async function payloads(layer: Layer) {
  if (sharded) {
    // Shards of 512x512x64 voxels of mip 1: each task reads one block.
    const bytes = layer.dtype === "uint64" ? 8 : 1;
    const set = await createDownsampleTasks(layer.url, {
      dest: `${layer.url}-sharded`,
      mips: 1,
      sharded: true,
      // Under 512x512x64 voxels: the planner rounds a power of two up to the next shard size.
      shardBytes: 0.75 * 512 * 512 * 64 * bytes,
      memoryTarget: 8e9,
    });
    const tasks = [...set];
    if (tasks.length !== 2) throw new Error(`expected 2 shard tasks, got ${tasks.length}`);
    return tasks;
  }
  const set = await createDownsampleTasks(layer.url, { mips: MIPS, memoryTarget: 8e9 });
  const [first] = [...set];
  return [0, 1].map((i) => ({
    ...first,
    params: {
      ...first.params,
      bbox: `${i * BLOCK[0]}-${(i + 1) * BLOCK[0]}_0-${BLOCK[1]}_0-${BLOCK[2]}`,
    },
  }));
}

/** The stored bytes of the first block's chunks, read once (the floor excludes IO). */
function storedChunks(layer: Layer): { bytes: Uint8Array; key: string }[] {
  const out: { bytes: Uint8Array; key: string }[] = [];
  const key0 = "4_4_40";
  for (let y = 0; y < BLOCK[1]; y += CHUNK[1])
    for (let x = 0; x < BLOCK[0]; x += CHUNK[0]) {
      const name = `${x}-${x + CHUNK[0]}_${y}-${y + CHUNK[1]}_0-${CHUNK[2]}`;
      const b = readFileSync(join(layer.path, key0, `${name}.gz`));
      out.push({ bytes: new Uint8Array(b), key: name });
    }
  return out;
}

/** The floor of one task: its decode, pooling and encode calls back to back. */
function floor(
  layer: Layer,
  stored: { bytes: Uint8Array; key: string }[],
  block: TypedArray,
): number {
  const ctx = (shape: readonly number[]) => ({
    dtype: layer.dtype,
    shape: [shape[0], shape[1], shape[2], 1] as [number, number, number, number],
    blockSize: [8, 8, 8] as const,
  });
  const t0 = performance.now();
  for (const s of stored) decodeStoredChunk(s.bytes, "gzip", layer.encoding, ctx(CHUNK));
  const levels = downsample(layer.method, block, [...BLOCK, 1], [2, 2, 1], MIPS);
  const t1 = performance.now();
  // Encoding reads each chunk from a copy cut beforehand (cutting is not a floor call).
  const crops: TypedArray[] = [];
  for (const { data, shape } of levels) {
    const a = fromTyped(data, shape);
    for (let y = 0; y < shape[1]; y += CHUNK[1])
      for (let x = 0; x < shape[0]; x += CHUNK[0])
        crops.push(crop(a, [x, y, 0], [CHUNK[0], CHUNK[1], CHUNK[2]]).data);
  }
  const t2 = performance.now();
  for (const c of crops) encodeStoredChunk(c, layer.encoding, ctx(CHUNK), "gzip");
  return t1 - t0 + (performance.now() - t2);
}

/** CPU milliseconds of each thread of this process, by thread id (Linux; empty elsewhere). */
function threadCpu(): Map<number, number> {
  const out = new Map<number, number>();
  if (!existsSync("/proc/self/task")) return out;
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      // Fields after the command name: utime and stime are the 12th and 13th, in 10 ms ticks.
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(Number(tid), (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** CPU per task of one run, split by thread. */
interface CpuSplit {
  main: number;
  pool: number;
  other: number;
}

/** Threads of this process that are not the pool's (set before each pool starts). */
let beforePool = new Set<number>();

/**
 * Wall time per task of running TASKS tasks, `workers` at a time over a
 * pool of `workers` threads; the CPU per task (all threads of the process),
 * its split by thread and the main thread's busy time go into `stats`.
 */
async function runTasks(
  layer: Layer,
  workers: number,
  stats?: { cpu: number[]; split: CpuSplit[]; main: number[] },
): Promise<number> {
  const blocks = await payloads(layer);
  const queue = Array.from({ length: TASKS }, (_, i) => blocks[i % blocks.length]);
  const ctx = createTaskContext();
  const c0 = process.cpuUsage();
  const th0 = threadCpu();
  const e0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  await forEachLimit(queue, workers, (p) => executeTask(p, ctx));
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const th1 = threadCpu();
  if (stats) {
    stats.cpu.push((c.user + c.system) / 1e3 / TASKS);
    stats.main.push(performance.eventLoopUtilization(e0).active / TASKS);
    const split = { main: 0, pool: 0, other: 0 };
    for (const [tid, ms] of th1) {
      const used = (ms - (th0.get(tid) ?? 0)) / TASKS;
      if (tid === process.pid) split.main += used;
      else if (beforePool.has(tid)) split.other += used;
      else split.pool += used;
    }
    stats.split.push(split);
  }
  return wall / TASKS;
}

function medianSplit(xs: CpuSplit[]): CpuSplit {
  return {
    main: median(xs.map((x) => x.main)),
    pool: median(xs.map((x) => x.pool)),
    other: median(xs.map((x) => x.other)),
  };
}

function showSplit(x: CpuSplit): string {
  return `main ${x.main.toFixed(0)} + pool ${x.pool.toFixed(0)} + other ${x.other.toFixed(0)} ms`;
}

async function bench(layer: Layer, block: TypedArray): Promise<void> {
  const stored = storedChunks(layer);
  const f: number[] = [];
  const t1: number[] = [];
  const t2: number[] = [];
  const fc: number[] = [];
  const ff: number[] = [];
  const s1 = { cpu: [] as number[], split: [] as CpuSplit[], main: [] as number[] };
  const s2 = { cpu: [] as number[], split: [] as CpuSplit[], main: [] as number[] };
  const setThreads = async (threads: number) => {
    await closePool();
    beforePool = new Set(threadCpu().keys());
    configurePool({ threads });
    await runTasks(layer, threads); // warm-up: starts the threads, loads the kernels
  };
  floor(layer, stored, block);
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const f0 = process.resourceUsage().minorPageFault;
    f.push(floor(layer, stored, block));
    const c = process.cpuUsage(c0);
    fc.push((c.user + c.system) / 1e3);
    ff.push(process.resourceUsage().minorPageFault - f0);
    await setThreads(1);
    t1.push(await runTasks(layer, 1, s1));
    await setThreads(2);
    t2.push(await runTasks(layer, 2, s2));
  }
  const [mf, m1, m2] = [median(f), median(t1), median(t2)];
  const split1 = medianSplit(s1.split);
  const split2 = medianSplit(s2.split);
  const all2 = split2.main + split2.pool + split2.other;
  const ceiling = all2 > 0 ? `; 2-core ceiling ${((2 * split1.pool) / all2).toFixed(2)}` : "";
  console.log(
    `${layer.name.padEnd(34)} floor ${mf.toFixed(0).padStart(5)} ms/task` +
      `  1 worker ${m1.toFixed(0).padStart(5)} ms/task (efficiency ${(mf / m1).toFixed(2)})` +
      `  2 workers ${m2.toFixed(0).padStart(5)} ms/task (speed-up ${(m1 / m2).toFixed(2)})` +
      `  load ${loadavg()[0].toFixed(1)}` +
      `\n${"".padEnd(34)} CPU: floor ${median(fc).toFixed(0)} ms (cutting included),` +
      ` 1-worker task ${median(s1.cpu).toFixed(0)} ms (all threads; main thread busy ${median(s1.main).toFixed(0)} ms);` +
      ` minor page faults of the floor ${median(ff)}` +
      `\n${"".padEnd(34)} CPU per task by thread: 1 worker ${showSplit(split1)};` +
      ` 2 workers ${showSplit(split2)}${ceiling}`,
  );
}

async function main(): Promise<void> {
  console.log(
    `# npx tsx bench/downsample-task.ts ${process.argv.slice(2).join(" ")}  (node ${process.version}, ${runs} runs of ${TASKS} tasks, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")})`,
  );
  const seg = labels();
  if (only !== "seg") {
    const image = emLikeImage(seg, SHAPE);
    const imageLayer: Layer = {
      name: `image uint8 raw, ${MIPS} mips${sharded ? ", sharded" : ""}`,
      url: `file://${join(dir, "image")}`,
      path: join(dir, "image"),
      encoding: "raw",
      dtype: "uint8",
      method: "average",
    };
    await Volume.fromArray(imageLayer.url, fromTyped(image, [...SHAPE]), {
      chunkSize: [...CHUNK],
      resolution: [4, 4, 40],
    });
    const imageBlock = crop(fromTyped(image, [...SHAPE, 1]), [0, 0, 0], [...BLOCK]).data;
    await bench(imageLayer, imageBlock);
  }
  if (only === "image") return;

  const big = new BigUint64Array(seg.length);
  for (let i = 0; i < seg.length; i++) big[i] = seg[i] === 0 ? 0n : BigInt(seg[i]) + (1n << 40n);
  const segLayer: Layer = {
    name: `seg uint64 cseg, ${MIPS} mips${sharded ? ", sharded" : ""}`,
    url: `file://${join(dir, "seg")}`,
    path: join(dir, "seg"),
    encoding: "compressed_segmentation",
    dtype: "uint64",
    method: "mode",
  };
  await Volume.fromArray(segLayer.url, fromTyped(big, [...SHAPE]), {
    type: "segmentation",
    chunkSize: [...CHUNK],
    resolution: [4, 4, 40],
    encoding: "compressed_segmentation",
  });
  const segBlock = crop(fromTyped(big, [...SHAPE, 1]), [0, 0, 0], [...BLOCK]).data;
  await bench(segLayer, segBlock);
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
