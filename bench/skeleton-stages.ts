/**
 * The skeleton stages: the merge's peak memory on many objects' fragments,
 * and the forge's throughput. Each mode is its own process, so peak RSS
 * (`process.resourceUsage().maxRSS`, worker threads included) is that of one
 * configuration.
 *
 *   npx tsx bench/skeleton-stages.ts make DIR [objects=10000]
 *       a segmentation layer (info only, 4096x2048x256 at 8x8x40 nm) and the
 *       fragments a forge in 512x512x256 blocks would leave of `objects`
 *       neurite-like objects (a path of ~1500 voxels along x with side branches,
 *       crossing 3-4 block faces), written straight as fragment files
 *   npx tsx bench/skeleton-stages.ts merge DIR [sharded|unsharded] [memory=1e9]
 *       the merge stage over those fragments, tasks run here one at a time:
 *       objects written, seconds, peak RSS
 *   npx tsx bench/skeleton-stages.ts forge [n=256] [cells=300] [parallel=2]
 *       forge then merge of an n^3 uint32 Voronoi layer (file://, 4x4x40 nm,
 *       blocks 128^3): Mvox/s of each stage
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  closePool,
  configurePool,
  createInfo,
  fromTyped,
  Volume,
} from "../packages/precomputed/src";
import { forEachLimit, openStorage } from "../packages/storage/src";
import {
  bucketOf,
  createSkeletonMergeTasks,
  createSkeletonTasks,
  createTaskContext,
  executeTask,
  mulberry32,
  voronoiSegmentation,
} from "../packages/tasks/src";
import {
  censusKey,
  FRAGMENT_MANIFEST,
  fragmentKey,
  type IdFragment,
  packFragments,
} from "../packages/tasks/src/skeletons/fragments";

const SIZE: [number, number, number] = [4096, 2048, 256];
const BLOCK: [number, number, number] = [512, 512, 256];
const RES: [number, number, number] = [8, 8, 40];
const rssMiB = () => process.resourceUsage().maxRSS / 1024;
const load = () => loadavg()[0].toFixed(1);

interface Neurite {
  /** Voxels of the main path and its branches, as [x, y, z] triples, and edges. */
  points: Int32Array;
  edges: Uint32Array;
}

/** Object k: a jittered path along x with a side branch every ~200 voxels. Deterministic in k. */
function neurite(k: number): Neurite {
  const rand = mulberry32(1000 + k);
  const length = 1300 + Math.floor(rand() * 400);
  const x0 = Math.floor(rand() * (SIZE[0] - length - 1));
  let y = 40 + Math.floor(rand() * (SIZE[1] - 80));
  let z = 20 + Math.floor(rand() * (SIZE[2] - 40));
  const pts: number[] = [];
  const edges: number[] = [];
  for (let i = 0; i < length; i++) {
    if (i > 0 && rand() < 0.1) y += rand() < 0.5 ? -1 : 1;
    if (i > 0 && rand() < 0.02) z += rand() < 0.5 ? -1 : 1;
    pts.push(x0 + i, y, z);
    if (i > 0) edges.push(i - 1, i);
  }
  for (let at = 100; at < length - 100; at += 150 + Math.floor(rand() * 100)) {
    const [bx, by, bz] = pts.slice(3 * at, 3 * at + 3);
    const dir = rand() < 0.5 ? -1 : 1;
    let prev = at;
    for (let j = 1; j <= 30; j++) {
      pts.push(bx, by + dir * j, bz);
      const v = pts.length / 3 - 1;
      edges.push(prev, v);
      prev = v;
    }
  }
  return { points: Int32Array.from(pts), edges: Uint32Array.from(edges) };
}

/** The part of `n` a forge of block [x0, x1) (with its +1 overlap plane) would see, in nm. */
function fragmentIn(n: Neurite, x0: number, x1: number): IdFragment["skeleton"] | null {
  const count = n.points.length / 3;
  const index = new Int32Array(count).fill(-1);
  const vertices: number[] = [];
  let m = 0;
  for (let v = 0; v < count; v++) {
    const x = n.points[3 * v];
    if (x < x0 || x > x1) continue;
    index[v] = m++;
    vertices.push(x * RES[0], n.points[3 * v + 1] * RES[1], n.points[3 * v + 2] * RES[2]);
  }
  if (m < 2) return null;
  const edges: number[] = [];
  for (let e = 0; e < n.edges.length; e += 2) {
    const a = index[n.edges[e]];
    const b = index[n.edges[e + 1]];
    if (a >= 0 && b >= 0) edges.push(a, b);
  }
  return {
    vertices: Float32Array.from(vertices),
    edges: Uint32Array.from(edges),
    radii: new Float32Array(m).fill(80),
  };
}

async function make(dir: string, objects: number): Promise<void> {
  const url = pathToFileURL(join(dir, "seg")).href;
  const info = createInfo({
    type: "segmentation",
    dataType: "uint32",
    resolution: RES,
    size: SIZE,
    chunkSize: [128, 128, 64],
    encoding: "compressed_segmentation",
  });
  await Volume.create(url, info);
  const store = openStorage(`${url}/skeletons`);
  const blocks = [Math.ceil(SIZE[0] / BLOCK[0]), Math.ceil(SIZE[1] / BLOCK[1])];
  const bucketBits = Math.ceil(Math.log2(blocks[0] * blocks[1]));
  await store.putJson(FRAGMENT_MANIFEST, {
    mip: 0,
    shape: BLOCK,
    bounds: `0-${SIZE[0]}_0-${SIZE[1]}_0-${SIZE[2]}`,
    origin: [0, 0, 0],
    resolution: RES,
    bucketBits,
  });
  const neurites = Array.from({ length: objects }, (_, k) => neurite(k + 1));
  let fragments = 0;
  let bytes = 0;
  const scratch = new Uint32Array(2);
  for (let by = 0; by < blocks[1]; by++)
    for (let bx = 0; bx < blocks[0]; bx++) {
      const x0 = bx * BLOCK[0];
      const x1 = x0 + BLOCK[0];
      const y0 = by * BLOCK[1];
      const name = `${x0}-${x1}_${y0}-${y0 + BLOCK[1]}_0-${SIZE[2]}`;
      const buckets = new Map<number, IdFragment[]>();
      let here = 0;
      let blockBytes = 0;
      neurites.forEach((n, k) => {
        const y = n.points[1];
        if (y < y0 || y >= y0 + BLOCK[1]) return;
        const skeleton = fragmentIn(n, x0, x1);
        if (!skeleton) return;
        const b = bucketOf(k + 1, 0, bucketBits, scratch);
        if (!buckets.has(b)) buckets.set(b, []);
        buckets.get(b)?.push({ lo: k + 1, hi: 0, skeleton });
        here++;
      });
      await forEachLimit([...buckets], 16, async ([b, list]) => {
        const packed = packFragments(list);
        blockBytes += packed.length;
        await store.put(fragmentKey(b, name), packed);
      });
      await store.putJson(censusKey(name), { fragments: here, bytes: blockBytes });
      fragments += here;
      bytes += blockBytes;
    }
  console.log(
    JSON.stringify({
      layer: url,
      objects,
      fragments,
      fragmentMB: +(bytes / 1e6).toFixed(1),
      bucketBits,
      load: load(),
    }),
  );
}

async function merge(dir: string, sharded: boolean, memory: number): Promise<void> {
  const url = pathToFileURL(join(dir, "seg")).href;
  const baseline = rssMiB();
  const t0 = performance.now();
  const ctx = createTaskContext();
  const tasks = await createSkeletonMergeTasks(url, { sharded, memory }, ctx);
  let objects = 0;
  for (const payload of tasks) {
    const r = (await executeTask(JSON.parse(JSON.stringify(payload)), ctx)) as { objects: number };
    objects += r.objects;
  }
  const seconds = (performance.now() - t0) / 1000;
  await closePool();
  console.log(
    JSON.stringify({
      mode: sharded ? "sharded" : "unsharded",
      memory,
      tasks: tasks.count,
      objects,
      seconds: +seconds.toFixed(1),
      objectsPerSecond: Math.round(objects / seconds),
      baselineMiB: Math.round(baseline),
      peakRssMiB: Math.round(rssMiB()),
      load: load(),
    }),
  );
}

async function forge(n: number, cells: number, parallel: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ngpipe-bench-skel-"));
  try {
    configurePool({ threads: parallel });
    const url = pathToFileURL(join(dir, "seg")).href;
    const shape: [number, number, number] = [n, n, n];
    const labels = voronoiSegmentation(shape, { seeds: cells, seed: 1, scale: [1, 1, 10] });
    await Volume.fromArray(url, fromTyped(labels, shape), {
      chunkSize: [128, 128, 64],
      resolution: [4, 4, 40],
      encoding: "compressed_segmentation",
    });
    const ctx = createTaskContext();
    // Wall seconds, and CPU seconds of the process (worker threads included).
    const run = async (tasks: Iterable<unknown>) => {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await forEachLimit(tasks, parallel, (p) => executeTask(JSON.parse(JSON.stringify(p)), ctx));
      const c = process.cpuUsage(c0);
      return [(performance.now() - t0) / 1000, (c.user + c.system) / 1e6];
    };
    const [forgeS, forgeCpu] = await run(
      await createSkeletonTasks(url, { shape: [128, 128, 128] }, ctx),
    );
    const [mergeS] = await run(await createSkeletonMergeTasks(url, { dustThreshold: 0 }, ctx));
    const mvox = n ** 3 / 1e6;
    console.log(
      JSON.stringify({
        size: n,
        cells,
        parallel,
        forgeSeconds: +forgeS.toFixed(1),
        forgeMvoxPerSecond: +(mvox / forgeS).toFixed(2),
        forgeCpuSeconds: +forgeCpu.toFixed(1),
        forgeMvoxPerCpuSecond: +(mvox / forgeCpu).toFixed(2),
        mergeSeconds: +mergeS.toFixed(1),
        peakRssMiB: Math.round(rssMiB()),
        load: load(),
      }),
    );
  } finally {
    await closePool();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const [mode, a, b, c] = process.argv.slice(2);
  if (mode === "make") await make(a, Number(b ?? 10000));
  else if (mode === "merge") await merge(a, b === "sharded", Number(c ?? 1e9));
  else if (mode === "forge") await forge(Number(a ?? 256), Number(b ?? 300), Number(c ?? 2));
  else {
    console.error(
      "usage: skeleton-stages.ts make DIR [objects] | merge DIR [sharded|unsharded] [memory] | forge [n] [cells] [parallel]",
    );
    process.exitCode = 2;
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
