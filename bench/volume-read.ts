/**
 * Volume.read throughput: one 512^3 cutout of a file:// layer with 128^3
 * chunks, gzip transport compression, for a raw uint8 image and a
 * compressed_segmentation uint32 segmentation, with 1 and 2 pool workers.
 *
 *   npx tsx bench/volume-read.ts                 # 512^3
 *   npx tsx bench/volume-read.ts --size 256      # quicker look
 *   npx tsx bench/volume-read.ts --threads 1,2,4
 *
 * The layers are written once into .tmp/bench-volume-read-<size>/ and kept.
 * Each configuration runs in a fresh child process (peak RSS is its own); it
 * reads the whole cutout 3 times and reports the best round, plus the CPU
 * time of the process (all threads) per round, with a forced GC between
 * rounds so the peak RSS is that of one cutout.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { closePool, configurePool, Volume, type VoxelArray, zeros } from "@ngpipe/precomputed";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const N = Number(arg("size", "512"));
const THREADS = arg("threads", "1,2").split(",").map(Number);
const ROUNDS = 3;
const root = resolve(__dirname, "..", ".tmp", `bench-volume-read-${N}`);
const LAYERS = {
  raw: { dir: "raw", dtype: "uint8", type: "image", encoding: "raw" },
  cseg: { dir: "cseg", dtype: "uint32", type: "segmentation", encoding: "compressed_segmentation" },
} as const;
type LayerName = keyof typeof LAYERS;

const url = (name: LayerName) => pathToFileURL(join(root, LAYERS[name].dir)).href;

/** Smooth image with a little noise; segments are boxes of 40x40x24 voxels with ragged faces. */
function makeArray(name: LayerName): VoxelArray {
  const a = zeros(LAYERS[name].dtype, [N, N, N, 1]);
  const d = a.data as Uint8Array | Uint32Array;
  let seed = 7;
  let i = 0;
  for (let z = 0; z < N; z++)
    for (let y = 0; y < N; y++)
      for (let x = 0; x < N; x++, i++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        const noise = (seed >>> 24) & 3;
        d[i] =
          name === "raw"
            ? (((x + y) >> 3) + z * 3 + noise * 4) & 255
            : 1 +
              (((x + noise) / 40) | 0) +
              (((y + noise) / 40) | 0) * 1000 +
              (((z + noise) / 24) | 0) * 1000000;
      }
  return a;
}

async function makeLayers(): Promise<void> {
  for (const name of Object.keys(LAYERS) as LayerName[]) {
    if (existsSync(join(root, LAYERS[name].dir, "info"))) continue;
    const t = performance.now();
    await Volume.fromArray(url(name), makeArray(name), {
      type: LAYERS[name].type,
      encoding: LAYERS[name].encoding,
      chunkSize: [128, 128, 128],
    });
    console.log(`made ${url(name)} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  await closePool();
}

async function runOne(name: LayerName, threads: number): Promise<void> {
  configurePool({ threads });
  const vol = await Volume.open(url(name));
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const cpu0 = process.cpuUsage();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    let out: VoxelArray | undefined = await vol.read(vol.bounds);
    best = Math.min(best, (performance.now() - t) / 1000);
    if (out.data.length !== N * N * N) throw new Error("short read");
    out = undefined;
    // Peak RSS is that of one cutout, not of the previous one awaiting collection.
    (globalThis as { gc?: () => void }).gc?.();
  }
  const cpu = process.cpuUsage(cpu0);
  clearInterval(timer);
  await closePool();
  const maxRss = process.resourceUsage().maxRSS * 1024;
  console.log(
    JSON.stringify({
      seconds: best,
      cpuSecondsPerRound: (cpu.user + cpu.system) / 1e6 / ROUNDS,
      peakRssMiB: Math.max(peak, maxRss) / 2 ** 20,
    }),
  );
}

async function main(): Promise<void> {
  const child = process.argv.indexOf("--child");
  if (child >= 0) {
    return runOne(process.argv[child + 1] as LayerName, Number(process.argv[child + 2]));
  }
  await makeLayers();
  console.log(
    `Volume.read of ${N}^3 from file://, 128^3 chunks with gzip; best of ${ROUNDS} rounds, CPU per round`,
  );
  console.log(
    "command: npx tsx bench/volume-read.ts" +
      process.argv
        .slice(2)
        .map((a) => ` ${a}`)
        .join(""),
  );
  const mvox = N ** 3 / 1e6;
  for (const name of Object.keys(LAYERS) as LayerName[]) {
    for (const threads of THREADS) {
      const r = spawnSync(
        process.execPath,
        [
          "--expose-gc",
          "--require",
          "tsx/cjs",
          __filename,
          ...process.argv.slice(2),
          "--child",
          name,
          String(threads),
        ],
        { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
      );
      const j = JSON.parse(r.stdout.trim().split("\n").pop() ?? "");
      const bytes = mvox * (LAYERS[name].dtype === "uint8" ? 1 : 4);
      console.log(
        `  ${LAYERS[name].encoding} ${LAYERS[name].dtype}, pool workers ${threads}: ` +
          `${j.seconds.toFixed(2)} s, ${(mvox / j.seconds).toFixed(1)} Mvox/s, ` +
          `${(bytes / j.seconds).toFixed(1)} MB/s, CPU ${j.cpuSecondsPerRound.toFixed(2)} s, ` +
          `peak RSS ${j.peakRssMiB.toFixed(0)} MiB`,
      );
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
