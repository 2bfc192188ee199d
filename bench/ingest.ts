/**
 * Ingest throughput: a chunked, deflate-compressed uint8 HDF5 file (1 GiB by
 * default) into a file:// precomputed layer (raw chunks, gzip), with 1 and 2
 * pool workers, and the peak resident memory of each run.
 *
 *   npx tsx bench/ingest.ts                      # 2048x2048x256 uint8 = 1 GiB
 *   npx tsx bench/ingest.ts --size 1024 --z 64   # 64 MiB, for a quick look
 *   npx tsx bench/ingest.ts --level 1            # gzip level 1 instead of 6
 *   npx tsx bench/ingest.ts --threads 1,2,4      # pool sizes to try
 *   npx tsx bench/ingest.ts --built              # children run the dist/ builds
 *                                                # (npm run build first)
 *
 * Each configuration runs in a fresh child process so its peak RSS is its own.
 * Besides wall time it reports the CPU time of the whole process (main
 * thread, pool workers and libuv threads): on a shared machine that figure
 * moves much less than wall time. The child loads TypeScript through tsx's
 * CommonJS hook only: tsx's ESM loader would transform h5wasm's 4 MB
 * Emscripten module on every start, costing ~600 MiB of RSS and seconds of
 * CPU that a built package never pays.
 * The HDF5 file is made once (chunks 64^3, deflate level 1) and kept in
 * .tmp/bench-ingest-<size>x<size>x<z>.h5.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { closePool, configurePool } from "@ngpipe/precomputed";
import { ingest } from "@ngpipe/tasks";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const N = arg("size", 2048);
const LEVEL = arg("level", 6);
const BUILT = process.argv.includes("--built");
const THREADS = (() => {
  const i = process.argv.indexOf("--threads");
  return i >= 0 ? process.argv[i + 1].split(",").map(Number) : [1, 2];
})();
const Z = arg("z", 256);
const root = resolve(__dirname, "..", ".tmp");
const h5file = join(root, `bench-ingest-${N}x${N}x${Z}.h5`);

async function makeFile(): Promise<void> {
  if (existsSync(h5file)) return;
  mkdirSync(root, { recursive: true });
  const h5 = await import("h5wasm/node");
  await h5.ready;
  const t = performance.now();
  const f = new h5.File(`${h5file}.part`, "w");
  const slab = 64;
  const block = new Uint8Array(slab * N * N);
  let seed = 1;
  const fill = (z0: number) => {
    for (let z = 0; z < slab; z++)
      for (let y = 0; y < N; y++) {
        const row = (z * N + y) * N;
        for (let x = 0; x < N; x++) {
          seed = (seed * 1103515245 + 12345) >>> 0;
          block[row + x] = (((x + y) >> 3) + (z0 + z) * 3 + ((seed >>> 24) & 15)) & 255;
        }
      }
  };
  fill(0);
  f.create_dataset({
    name: "raw",
    data: block,
    shape: [slab, N, N],
    maxshape: [Z, N, N],
    dtype: "<B",
    chunks: [64, 64, 64],
    compression: 1,
  });
  const ds = f.get("raw") as import("h5wasm").Dataset;
  ds.resize([Z, N, N]);
  for (let z0 = slab; z0 < Z; z0 += slab) {
    fill(z0);
    ds.write_slice(
      [
        [z0, z0 + slab],
        [0, N],
        [0, N],
      ],
      block,
    );
  }
  f.close();
  const { renameSync } = await import("node:fs");
  renameSync(`${h5file}.part`, h5file);
  console.log(`made ${h5file} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

async function runOne(threads: number): Promise<void> {
  configurePool({ threads });
  const dest = join(root, `bench-ingest-out-${threads}`);
  rmSync(dest, { recursive: true, force: true });
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const t = performance.now();
  const cpu0 = process.cpuUsage();
  await ingest(`${h5file}#/raw`, pathToFileURL(dest).href, {
    chunkSize: [128, 128, 64],
    taskShape: [512, 512, 64],
    parallel: 2,
    compressLevel: LEVEL,
  });
  const s = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(timer);
  await closePool();
  const bytes = N * N * Z;
  const maxRss = process.resourceUsage().maxRSS * 1024;
  console.log(
    JSON.stringify({
      threads,
      seconds: s,
      mbPerS: bytes / 1e6 / s,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      peakRssMiB: Math.max(peak, maxRss) / 2 ** 20,
    }),
  );
  rmSync(dest, { recursive: true, force: true });
}

/**
 * The child of a `--built` run: plain node importing the packages' dist/
 * builds (package `exports`), the same ingest call as {@link runOne}.
 */
function builtChild(threads: number): string {
  const dest = join(root, `bench-ingest-out-${threads}`);
  return `
import { rmSync } from "node:fs";
import { closePool, configurePool } from "@ngpipe/precomputed";
import { ingest } from "@ngpipe/tasks";
configurePool({ threads: ${threads} });
rmSync(${JSON.stringify(dest)}, { recursive: true, force: true });
let peak = 0;
const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
const t = performance.now();
const cpu0 = process.cpuUsage();
await ingest(${JSON.stringify(`${h5file}#/raw`)}, ${JSON.stringify(pathToFileURL(dest).href)}, {
  chunkSize: [128, 128, 64], taskShape: [512, 512, 64], parallel: 2, compressLevel: ${LEVEL},
});
const s = (performance.now() - t) / 1000;
const cpu = process.cpuUsage(cpu0);
clearInterval(timer);
await closePool();
rmSync(${JSON.stringify(dest)}, { recursive: true, force: true });
const peakRssMiB = Math.max(peak, process.resourceUsage().maxRSS * 1024) / 2 ** 20;
console.log(JSON.stringify({ threads: ${threads}, seconds: s, mbPerS: ${N * N * Z} / 1e6 / s,
  cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMiB }));
`;
}

async function main(): Promise<void> {
  const child = process.argv.indexOf("--child");
  if (child >= 0) return runOne(Number(process.argv[child + 1]));
  await makeFile();
  const bytes = N * N * Z;
  const gib = bytes / 2 ** 30;
  console.log(
    `ingest ${N}x${N}x${Z} uint8 (${gib.toFixed(2)} GiB) HDF5 (64^3 chunks, deflate 1) -> file:// raw+gzip level ${LEVEL}, 128x128x64 chunks, tasks 512x512x64, 2 tasks at once${BUILT ? ", built packages" : ""}`,
  );
  console.log(
    "command: npx tsx bench/ingest.ts" +
      process.argv
        .slice(2)
        .map((a) => ` ${a}`)
        .join(""),
  );
  for (const threads of THREADS) {
    const r = spawnSync(
      process.execPath,
      BUILT
        ? ["--input-type=module", "-e", builtChild(threads)]
        : [
            "--require",
            "tsx/cjs",
            __filename,
            ...process.argv.slice(2),
            "--child",
            String(threads),
          ],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const line = r.stdout.trim().split("\n").pop() ?? "";
    const j = JSON.parse(line);
    console.log(
      `  pool workers ${threads}: ${j.seconds.toFixed(1)} s, ${j.mbPerS.toFixed(1)} MB/s, ` +
        `CPU ${j.cpuSeconds.toFixed(1)} s (${(bytes / 1e6 / j.cpuSeconds).toFixed(1)} MB per CPU-second), ` +
        `peak RSS ${j.peakRssMiB.toFixed(0)} MiB`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
