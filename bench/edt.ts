/**
 * distanceTransform throughput: a 512x512x128 uint32 Voronoi segmentation
 * (2000 cells with thin zero boundaries, as the native anchors' inputs),
 * anisotropy 4x4x40 nm, single thread.
 *
 *   npx tsx bench/edt.ts [reps]
 */
import { loadavg } from "node:os";
import { distanceTransform } from "@ngpipe/segmentation";
import { voronoiSegmentation } from "@ngpipe/tasks";

const reps = Number(process.argv[2] ?? 5);
const shape: [number, number, number] = [512, 512, 128];
const labels = voronoiSegmentation(shape, { seeds: 2000, seed: 7 });
const mvox = (shape[0] * shape[1] * shape[2]) / 1e6;

// Warm the JIT on a small volume first, as a running worker would be.
const small = voronoiSegmentation([64, 64, 32], { seeds: 40, seed: 3 });
for (let i = 0; i < 10; i++) distanceTransform(small, [64, 64, 32], { anisotropy: [4, 4, 40] });

// Wall and CPU time: on a busy machine CPU time is the steadier measure.
const wall: number[] = [];
const cpu: number[] = [];
for (let r = 0; r < reps; r++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  distanceTransform(labels, shape, { anisotropy: [4, 4, 40] });
  wall.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const w = median(wall);
const c = median(cpu);
console.log(
  `distanceTransform 512x512x128 uint32 (2000 cells), 4x4x40, median of ${reps}: ${w.toFixed(0)} ms wall = ${(mvox / (w / 1000)).toFixed(1)} Mvox/s, ${c.toFixed(0)} ms CPU = ${(mvox / (c / 1000)).toFixed(1)} Mvox/s (load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")})`,
);
