/**
 * Watershed kernel benchmark, single thread.
 *
 * Data: a float32 affinity map [512, 512, 128, 3] made from a Voronoi
 * segmentation of 2000 cells (`voronoiSegmentation` + `voronoiAffinities`:
 * 0.9 inside cells, 0.1 across, uniform noise of +-0.15, which gives far
 * more basins than a convnet's smooth output). It is written to a temporary
 * file once; each run is a fresh Node process that reads the file, notes its
 * resident set size, runs `watershed` once and reports CPU time, wall time
 * and its peak resident set size (getrusage's maxrss). Working memory per
 * voxel = (peak RSS - RSS before the call) / voxels; the 12 bytes per voxel
 * of input are already resident before the call, the labels returned are
 * counted.
 *
 * Modes: Watershed.jl's defaults (relative thresholds: one histogram pass
 * over the 100M affinities) and absolute thresholds (the seed's: low 0.003,
 * high 0.999987, merge (800, 0.3), dust 800).
 *
 * Run: npx tsx bench/watershed.ts [runs]
 *
 * `npx tsx bench/watershed.ts --engines [runs]` times the WebAssembly kernel
 * (what `watershed` runs) against the JavaScript reference on the same map,
 * alternating in one process, and checks that their labels are equal: a
 * ratio that the machine's load moves less than the rates.
 *
 * `npx tsx bench/watershed.ts --phases [runs]` runs each mode `runs` times in
 * one process (after one warm-up run) and prints the median CPU time of each
 * step of the WebAssembly kernel.
 *
 * `npx tsx bench/watershed.ts --thresholds [runs]` times the relative
 * thresholds alone on the same map, in one process, alternating the full
 * 10^6-bin histogram (`accumulateHistogram` + `quantileThreshold`, what the
 * watershed stage's histogram phase computes per block) and
 * `relativeThresholds`' two passes over the bit patterns.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import * as path from "node:path";
import {
  accumulateHistogram,
  histogramRange,
  quantileThreshold,
  RELATIVE_THRESHOLD_BINS,
  relativeThresholds,
  valueRange,
  watershed,
} from "../packages/segmentation/src/index";
import { onWatershedPhase } from "../packages/segmentation/src/watershed/wasm";
import { watershedWith } from "../packages/segmentation/src/watershed/watershed";
import { voronoiAffinities, voronoiSegmentation } from "../packages/tasks/src/synthetic";

const SHAPE = [512, 512, 128] as const;
const VOXELS = SHAPE[0] * SHAPE[1] * SHAPE[2];
const MODES = {
  relative: {},
  absolute: {
    relative: false,
    low: 0.003,
    high: 0.999987,
    merge: [[800, 0.3]] as [number, number][],
    dust: 800,
  },
} as const;
type Mode = keyof typeof MODES;

interface Measure {
  cpuMs: number;
  wallMs: number;
  bytesPerVoxel: number;
  regions: number;
  basins: number;
}

function measure(file: string, mode: Mode): void {
  const bytes = readFileSync(file);
  const aff = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const before = process.memoryUsage.rss();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = watershed(aff, SHAPE, MODES[mode]);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const peak = process.resourceUsage().maxRSS * 1024;
  const out: Measure = {
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs,
    bytesPerVoxel: (peak - before) / VOXELS,
    regions: r.regions,
    basins: r.basins,
  };
  process.stdout.write(JSON.stringify(out));
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function compareThresholds(runs: number): void {
  const seg = voronoiSegmentation(SHAPE, { seeds: 2000, seed: 1 });
  const aff = voronoiAffinities(seg, SHAPE);
  const fractions = { low: 0.1, high: 0.8, merge: [[800, 0.2]] as [number, number][] };
  const full = (): number[] => {
    const [lo, hi] = valueRange(aff);
    const range = histogramRange(lo, hi, RELATIVE_THRESHOLD_BINS);
    const counts = accumulateHistogram(aff, range, new Float64Array(range.length - 1));
    return [0.1, 0.8, 0.2].map((p) => quantileThreshold(counts, range, p));
  };
  const twoPass = (): number[] => {
    const t = relativeThresholds(aff, fractions);
    return [t.low, t.high, t.merge[0][1]];
  };
  const times: Record<string, number[]> = { full: [], twoPass: [] };
  let same = true;
  for (let k = 0; k < runs; k++) {
    const a = process.cpuUsage();
    const x = full();
    const b = process.cpuUsage(a);
    const y = twoPass();
    const c = process.cpuUsage(a);
    times.full.push((b.user + b.system) / 1000);
    times.twoPass.push((c.user + c.system - b.user - b.system) / 1000);
    same &&= x.every((v, i) => v === y[i]);
  }
  const f = median(times.full);
  const t = median(times.twoPass);
  console.log(
    `relative thresholds of ${aff.length / 1e6}M affinities, CPU ms (median of ${runs}): full histogram ${f.toFixed(0)}, two passes ${t.toFixed(0)}, ratio ${(t / f).toFixed(2)}; same thresholds: ${same}; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
}

function compareEngines(runs: number): void {
  const seg = voronoiSegmentation(SHAPE, { seeds: 2000, seed: 1 });
  const aff = voronoiAffinities(seg, SHAPE);
  for (const mode of Object.keys(MODES) as Mode[]) {
    const times: Record<"js" | "wasm", number[]> = { js: [], wasm: [] };
    let same = true;
    for (let k = 0; k < runs; k++) {
      const labels: Uint32Array[] = [];
      for (const engine of ["js", "wasm"] as const) {
        const c0 = process.cpuUsage();
        labels.push(watershedWith(aff, SHAPE, MODES[mode], engine).labels);
        const c = process.cpuUsage(c0);
        times[engine].push((c.user + c.system) / 1000);
      }
      same &&= Buffer.from(labels[0].buffer).equals(Buffer.from(labels[1].buffer));
    }
    const js = median(times.js);
    const wasm = median(times.wasm);
    console.log(
      `${mode.padEnd(8)}: CPU ms (median of ${runs}) JavaScript ${js.toFixed(0)}, WebAssembly ${wasm.toFixed(0)}, ratio ${(wasm / js).toFixed(2)} (${(js / wasm).toFixed(2)}x faster); same labels: ${same}; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
    );
  }
}

function phases(runs: number): void {
  const seg = voronoiSegmentation(SHAPE, { seeds: 2000, seed: 1 });
  const aff = voronoiAffinities(seg, SHAPE);
  for (const mode of Object.keys(MODES) as Mode[]) {
    const times = new Map<string, number[]>();
    const totals: number[] = [];
    for (let k = 0; k <= runs; k++) {
      let last = process.cpuUsage();
      const start = last;
      onWatershedPhase((name) => {
        const c = process.cpuUsage(last);
        last = process.cpuUsage();
        if (k === 0) return;
        const list = times.get(name) ?? [];
        list.push((c.user + c.system) / 1000);
        times.set(name, list);
      });
      watershed(aff, SHAPE, MODES[mode]);
      onWatershedPhase(undefined);
      const c = process.cpuUsage(start);
      if (k > 0) totals.push((c.user + c.system) / 1000);
    }
    const steps = [...times].map(([name, ms]) => `${name} ${median(ms).toFixed(0)}`).join(", ");
    console.log(
      `${mode.padEnd(8)}: CPU ms (median of ${runs}) ${steps}; whole call ${median(totals).toFixed(0)} (${(VOXELS / 1e3 / median(totals)).toFixed(1)} Mvox/s); load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
    );
  }
}

function main(): void {
  if (process.argv[2] === "--phases") {
    phases(Number(process.argv[3] ?? 3));
    return;
  }
  if (process.argv[2] === "--engines") {
    compareEngines(Number(process.argv[3] ?? 3));
    return;
  }
  if (process.argv[2] === "--thresholds") {
    compareThresholds(Number(process.argv[3] ?? 5));
    return;
  }
  if (process.argv[2] === "--measure") {
    measure(process.argv[3], process.argv[4] as Mode);
    return;
  }
  const runs = Number(process.argv[2] ?? 3);
  const dir = mkdtempSync(path.join(tmpdir(), "ngpipe-ws-bench-"));
  try {
    const file = path.join(dir, "aff.f32");
    {
      const seg = voronoiSegmentation(SHAPE, { seeds: 2000, seed: 1 });
      const aff = voronoiAffinities(seg, SHAPE);
      writeFileSync(file, new Uint8Array(aff.buffer, aff.byteOffset, aff.byteLength));
    }
    console.log(
      `watershed, ${SHAPE.join("x")} float32 affinities (${(VOXELS / 1e6).toFixed(1)} Mvox), ${runs} runs per mode, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
    );
    const results: Record<Mode, Measure[]> = { relative: [], absolute: [] };
    for (let k = 0; k < runs; k++) {
      for (const mode of Object.keys(MODES) as Mode[]) {
        const r = spawnSync(
          process.execPath,
          ["--require", "tsx/cjs", __filename, "--measure", file, mode],
          {
            encoding: "utf8",
            maxBuffer: 1 << 20,
          },
        );
        if (r.status !== 0) throw new Error(`measuring run failed: ${r.stderr}`);
        results[mode].push(JSON.parse(r.stdout) as Measure);
      }
    }
    for (const mode of Object.keys(MODES) as Mode[]) {
      const ms = results[mode];
      const cpuRates = ms.map((m) => VOXELS / 1e3 / m.cpuMs);
      const wallRates = ms.map((m) => VOXELS / 1e3 / m.wallMs);
      console.log(
        `${mode.padEnd(8)}: ${median(cpuRates).toFixed(1)} Mvox/s by CPU (median; best ${Math.max(...cpuRates).toFixed(1)}), ` +
          `${median(wallRates).toFixed(1)} Mvox/s wall (median), ` +
          `working memory ${Math.max(...ms.map((m) => m.bytesPerVoxel)).toFixed(1)} B/voxel (largest), ` +
          `${ms[0].basins} basins -> ${ms[0].regions} regions`,
      );
    }
    console.log(
      `load average after: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
