/**
 * skeletonize against meshing, in one run on the same input: a 256^3 uint32
 * Voronoi segmentation (300 cells) at 4x4x40 nm. The target is
 * skeletonize <= 3x the time of marching cubes + simplification (factor 100,
 * max error 40) of the same volume. CPU times (robust on a busy machine).
 *
 *   npx tsx bench/skeleton.ts [n=256] [cells=300] [runs=2]
 */
import { loadavg } from "node:os";
import { cutoutLockedPlanes, marchingCubes, simplifyMesh } from "@ngpipe/mesh";
import { skeletonize } from "@ngpipe/segmentation";
import { voronoiSegmentation } from "@ngpipe/tasks";

function cpu<T>(f: () => T): [T, number] {
  const c0 = process.cpuUsage();
  const r = f();
  const c = process.cpuUsage(c0);
  return [r, (c.user + c.system) / 1000];
}

const n = Number(process.argv[2] ?? 256);
const cells = Number(process.argv[3] ?? 300);
const runs = Number(process.argv[4] ?? 2);
const shape: [number, number, number] = [n, n, n];
const resolution: [number, number, number] = [4, 4, 40];
const labels = voronoiSegmentation(shape, { seeds: cells, seed: 1, scale: [1, 1, 10] });
const mvox = (n * n * n) / 1e6;

// Warm both on a small slab first.
const slab = labels.subarray(0, n * n * 8);
skeletonize(slab, [n, n, 8], { anisotropy: resolution });
marchingCubes(slab, [n, n, 8], { resolution }).meshes();

const skelMs: number[] = [];
const meshMs: number[] = [];
let objects = 0;
let vertices = 0;
for (let r = 0; r < runs; r++) {
  const [skels, ts] = cpu(() => skeletonize(labels, shape, { anisotropy: resolution }));
  skelMs.push(ts);
  objects = skels.length;
  vertices = skels.reduce((a, s) => a + s.radii.length, 0);
  const [, tm] = cpu(() => {
    const locked = cutoutLockedPlanes(shape, { resolution });
    for (const m of marchingCubes(labels, shape, { resolution }).meshes().values()) {
      simplifyMesh(m, { reductionFactor: 100, maxError: 40, locked });
    }
  });
  meshMs.push(tm);
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const s = med(skelMs);
const m = med(meshMs);
console.log(
  `skeletonize ${n}^3 (${cells} cells, 4x4x40): ${(s / 1000).toFixed(2)} s CPU = ${(mvox / (s / 1000)).toFixed(1)} Mvox/s, ${(s / objects).toFixed(0)} ms per object (${objects} objects, ${vertices} vertices); mesh + simplify ${(m / 1000).toFixed(2)} s CPU; ratio skeleton/mesh ${(s / m).toFixed(2)} (median of ${runs}; load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")})`,
);
