/**
 * distanceTransform throughput: a 512x512x128 uint32 Voronoi segmentation
 * (2000 cells with thin zero boundaries, as the native anchors' inputs),
 * anisotropy 4x4x40 nm, single thread.
 *
 *   npx tsx bench/edt.ts [reps] [--ab]
 *
 * Each round runs distanceTransform twice: returning a new array, and into
 * one `out` array reused across rounds (no allocation, pages already
 * touched).
 *
 * With --ab, the JavaScript reference kernel (edt-js.ts, the path of float
 * labels) and distanceTransform (WebAssembly for these uint32 labels) run
 * alternately in this process on the same volume: their ratio, and whether
 * the outputs are equal bit for bit.
 */
import { loadavg } from "node:os";
import { distanceTransform } from "@ngpipe/segmentation";
import { voronoiSegmentation } from "@ngpipe/tasks";
import { distanceTransformJs } from "../packages/segmentation/src/edt-js";

const reps = Number(process.argv[2] ?? 5);
const ab = process.argv.includes("--ab");
const shape: [number, number, number] = [512, 512, 128];
const anisotropy: [number, number, number] = [4, 4, 40];
const labels = voronoiSegmentation(shape, { seeds: 2000, seed: 7 });
const mvox = (shape[0] * shape[1] * shape[2]) / 1e6;

// Warm the JIT on a small volume first, as a running worker would be.
const small = voronoiSegmentation([64, 64, 32], { seeds: 40, seed: 3 });
for (let i = 0; i < 10; i++) distanceTransform(small, [64, 64, 32], { anisotropy });

// Wall and CPU time: on a busy machine CPU time is the steadier measure.
function timed(run: () => Float32Array): { wall: number; cpu: number; out: Float32Array } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = run();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000, out };
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");

const wall: number[] = [];
const cpu: number[] = [];
const outWall: number[] = [];
const outCpu: number[] = [];
const out = new Float32Array(labels.length);
distanceTransform(labels, shape, { anisotropy, out });
const jsCpu: number[] = [];
let differing = 0;
for (let r = 0; r < reps; r++) {
  const t = timed(() => distanceTransform(labels, shape, { anisotropy }));
  wall.push(t.wall);
  cpu.push(t.cpu);
  const o = timed(() => distanceTransform(labels, shape, { anisotropy, out }));
  outWall.push(o.wall);
  outCpu.push(o.cpu);
  if (ab) {
    const j = timed(() => distanceTransformJs(labels, shape, anisotropy, false, false));
    jsCpu.push(j.cpu);
    differing = 0;
    for (let i = 0; i < t.out.length; i++) if (!Object.is(t.out[i], j.out[i])) differing++;
  }
}
const w = median(wall);
const c = median(cpu);
console.log(
  `distanceTransform 512x512x128 uint32 (2000 cells), 4x4x40, median of ${reps}: ${w.toFixed(0)} ms wall = ${(mvox / (w / 1000)).toFixed(1)} Mvox/s, ${c.toFixed(0)} ms CPU = ${(mvox / (c / 1000)).toFixed(1)} Mvox/s (load ${load()})`,
);
const ow = median(outWall);
const oc = median(outCpu);
console.log(
  `  into a reused out array: ${ow.toFixed(0)} ms wall = ${(mvox / (ow / 1000)).toFixed(1)} Mvox/s, ${oc.toFixed(0)} ms CPU = ${(mvox / (oc / 1000)).toFixed(1)} Mvox/s (load ${load()})`,
);
if (ab) {
  const j = median(jsCpu);
  console.log(
    `JavaScript reference, alternating: ${j.toFixed(0)} ms CPU = ${(mvox / (j / 1000)).toFixed(1)} Mvox/s; reference / distanceTransform = ${(j / c).toFixed(2)}; voxels differing: ${differing}`,
  );
}
