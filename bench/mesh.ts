/**
 * Meshing benchmark: a 256^3 uint32 Voronoi segmentation with 300 labels
 * separated by thin zero boundaries, resolution 4x4x40 nm, single thread.
 *
 *   (a) marching cubes only (welded per-label surfaces)
 *   (b) meshing every label, no simplification
 *   (c) meshing every label with reduction factor 100, max error 40 (Igneous defaults)
 *
 * Run: npx tsx bench/mesh.ts [size] [labels] [runs] [--built]
 *
 * `--built` runs the esbuild bundle in packages/mesh/dist (what `npm run
 * build` makes and pool workers load; build first) instead of the sources
 * through tsx: the same code, typically 5-10% faster.
 *
 * Each step runs `runs` times (default 3); the best wall and best CPU time
 * (process.cpuUsage, user + system) are printed with every run's figures.
 * On a shared machine compare CPU times: wall times include waiting for a core.
 */

import { createRequire } from "node:module";
import { resolve } from "node:path";
import * as meshSources from "@ngpipe/mesh";

/** x, y, z as the mesh kernels take them. */
type Vec3 = [number, number, number];

const BUILT = process.argv.includes("--built");
const { cutoutLockedPlanes, marchingCubes, simplifyMesh }: typeof meshSources = BUILT
  ? createRequire(__filename)(resolve(__dirname, "../packages/mesh/dist/index.js"))
  : meshSources;

/** Voronoi cells of `count` pseudo-random seeds; voxels whose +x/+y/+z neighbour differs become 0. */
export function voronoiLabels(n: number, count: number, seed = 12345): Uint32Array {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const sx = new Float64Array(count);
  const sy = new Float64Array(count);
  const sz = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    sx[i] = rand() * n;
    sy[i] = rand() * n;
    sz[i] = rand() * n;
  }
  const B = 8;
  const nb = Math.ceil(n / B);
  const nearest = new Uint32Array(n * n * n);
  const cand: number[] = [];
  for (let bz = 0; bz < nb; bz++)
    for (let by = 0; by < nb; by++)
      for (let bx = 0; bx < nb; bx++) {
        // Candidate seeds: those whose nearest distance to the block is within
        // the smallest farthest-distance of any seed.
        const lo = [bx * B, by * B, bz * B];
        const hi = lo.map((v) => Math.min(v + B, n) - 1 + 1);
        const minD = new Float64Array(count);
        let best = Number.POSITIVE_INFINITY;
        for (let i = 0; i < count; i++) {
          const p = [sx[i], sy[i], sz[i]];
          let dmin = 0;
          let dmax = 0;
          for (let a = 0; a < 3; a++) {
            const c = Math.max(lo[a], Math.min(p[a], hi[a]));
            dmin += (p[a] - c) ** 2;
            dmax += Math.max((p[a] - lo[a]) ** 2, (p[a] - hi[a]) ** 2);
          }
          minD[i] = dmin;
          if (dmax < best) best = dmax;
        }
        cand.length = 0;
        for (let i = 0; i < count; i++) if (minD[i] <= best) cand.push(i);
        for (let z = lo[2]; z < Math.min(lo[2] + B, n); z++)
          for (let y = lo[1]; y < Math.min(lo[1] + B, n); y++)
            for (let x = lo[0]; x < Math.min(lo[0] + B, n); x++) {
              let bi = 0;
              let bd = Number.POSITIVE_INFINITY;
              for (const i of cand) {
                const d = (x + 0.5 - sx[i]) ** 2 + (y + 0.5 - sy[i]) ** 2 + (z + 0.5 - sz[i]) ** 2;
                if (d < bd) {
                  bd = d;
                  bi = i;
                }
              }
              nearest[x + n * (y + n * z)] = bi + 1;
            }
      }
  const out = new Uint32Array(nearest.length);
  for (let z = 0; z < n; z++)
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) {
        const i = x + n * (y + n * z);
        const v = nearest[i];
        const boundary =
          (x + 1 < n && nearest[i + 1] !== v) ||
          (y + 1 < n && nearest[i + n] !== v) ||
          (z + 1 < n && nearest[i + n * n] !== v);
        out[i] = boundary ? 0 : v;
      }
  return out;
}

/** Runs f; returns its result, wall-clock ms and CPU ms of this process (robust on a busy machine). */
function time<T>(f: () => T): [T, number, number] {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = f();
  const c = process.cpuUsage(c0);
  return [r, performance.now() - t0, (c.user + c.system) / 1000];
}

/** Runs f `runs` times; returns the last result, the best wall and best CPU ms, and all runs. */
function best<T>(runs: number, f: () => T): [T, number, number, string] {
  let result: T | undefined;
  let wall = Number.POSITIVE_INFINITY;
  let cpu = Number.POSITIVE_INFINITY;
  const all: string[] = [];
  for (let i = 0; i < runs; i++) {
    const [r, w, c] = time(f);
    result = r;
    wall = Math.min(wall, w);
    cpu = Math.min(cpu, c);
    all.push(`${w.toFixed(0)}/${c.toFixed(0)}`);
  }
  return [result as T, wall, cpu, `runs wall/CPU ms: ${all.join(" ")}`];
}

function main(): void {
  const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
  const n = Number(args[0] ?? 256);
  const count = Number(args[1] ?? 300);
  const runs = Math.max(1, Number(args[2] ?? 3));
  const shape: Vec3 = [n, n, n];
  const resolution: Vec3 = [4, 4, 40];
  const [labels, tGen] = time(() => voronoiLabels(n, count));
  console.log(
    `generated ${n}^3 Voronoi with ${count} labels in ${(tGen / 1000).toFixed(2)} s; kernels from ${BUILT ? "packages/mesh/dist (built)" : "sources (tsx)"}`,
  );
  const mv = (n * n * n) / 1e6;

  // Warm up the JIT on small cutouts first, as a long-running worker would be:
  // V8 needs a few dozen calls before the kernels run fully optimized code
  // (with one warm-up call, the first full-size runs took ~1.5x longer).
  const small = labels.subarray(0, n * n * 16);
  const smallShape: Vec3 = [n, n, 16];
  for (let i = 0; i < 20; i++) marchingCubes(small, smallShape, { resolution }).meshes();
  const lockedSmall = cutoutLockedPlanes(smallShape, { resolution });
  for (const m of marchingCubes(small, smallShape, { resolution }).meshes().values())
    simplifyMesh(m, { reductionFactor: 100, maxError: 40, locked: lockedSmall });

  const [surfaces, ta, ca, ra] = best(runs, () => marchingCubes(labels, shape, { resolution }));
  console.log(
    `(a) marching cubes: best ${ta.toFixed(0)} ms wall, ${ca.toFixed(0)} ms CPU (${(mv / (ca / 1000)).toFixed(1)} Mvx/s CPU), ` +
      `${surfaces.triangleCount} triangles, ${surfaces.vertexCount} vertices, ${surfaces.labels.length} labels; ${ra}`,
  );

  const [meshes, tb, cb, rb] = best(runs, () =>
    marchingCubes(labels, shape, { resolution }).meshes(),
  );
  let faces = 0;
  for (const m of meshes.values()) faces += m.faces.length / 3;
  console.log(
    `(b) mesh all labels, no simplification: best ${(tb / 1000).toFixed(2)} s wall, ${(cb / 1000).toFixed(2)} s CPU, ${faces} faces; ${rb}`,
  );

  const [simple, tc, cc, rc] = best(runs, () => {
    const locked = cutoutLockedPlanes(shape, { resolution });
    const out = new Map<number | bigint, number>();
    for (const [label, m] of marchingCubes(labels, shape, { resolution }).meshes()) {
      const s = simplifyMesh(m, { reductionFactor: 100, maxError: 40, locked });
      out.set(label, s.faces.length / 3);
    }
    return out;
  });
  let sfaces = 0;
  for (const f of simple.values()) sfaces += f;
  console.log(
    `(c) mesh + simplify (factor 100, max error 40): best ${(tc / 1000).toFixed(2)} s wall, ${(cc / 1000).toFixed(2)} s CPU, ${sfaces} faces; ${rc}`,
  );
  console.log(`reproduce: npx tsx bench/mesh.ts ${n} ${count} ${runs}${BUILT ? " --built" : ""}`);
}

if (process.argv[1]?.endsWith("mesh.ts")) main();
