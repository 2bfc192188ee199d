/**
 * TEASAR (Sato et al., "TEASAR: tree-structure extraction algorithm for
 * accurate and robust skeletons", 2000) over one object, in the form
 * kimimaro gives it: a root at the far end of the object, a penalised field
 * that keeps paths on the object's medial axis, and paths to the farthest
 * voxel not yet covered until every voxel is covered by a ball of radius
 * scale * DBF + const around some path vertex.
 */
import { type Grid, shortestPaths } from "./fields";

/** TEASAR's parameters (kimimaro's names in camel case). */
export interface TeasarParams {
  /** Invalidation ball radius: scale * DBF(v) + const. Default 4. */
  scale?: number;
  /** Invalidation ball radius constant, in physical units (nm). Default 500. */
  const?: number;
  /** Weight of the boundary penalty against path length. Default 100000. */
  pdrfScale?: number;
  /** Exponent of the boundary penalty. Default 8. */
  pdrfExponent?: number;
}

/** One object's tree in the crop's voxel indices. */
export interface TracedTree {
  /** Crop voxel index of each vertex. */
  voxels: number[];
  /** Vertex pairs, two entries an edge. */
  edges: number[];
}

/**
 * Trace one 26-connected object. `mask` marks its voxels in a crop, `dbf` is the distance
 * to its boundary there (physical units), `targetsFirst` are voxels that must
 * be reached (border targets); the first of them, if any, is the root.
 */
export function traceObject(
  mask: Uint8Array,
  dbf: Float32Array,
  grid: Grid,
  params: Required<TeasarParams>,
  fixBranching: boolean,
  targetsFirst: readonly number[],
): TracedTree {
  const n = mask.length;
  let first = -1;
  let dbfMax = 0;
  for (let i = 0; i < n; i++) {
    if (!mask[i]) continue;
    if (first < 0) first = i;
    if (dbf[i] > dbfMax) dbfMax = dbf[i];
  }
  if (first < 0) return { voxels: [], edges: [] };

  // Root: a border target, else the far end of the object from its first voxel.
  const root =
    targetsFirst.length > 0
      ? targetsFirst[0]
      : farthest(shortestPaths(mask, grid, [first]).dist, mask);
  const daf = shortestPaths(mask, grid, [root]).dist;
  let dafMax = 0;
  for (let i = 0; i < n; i++) if (mask[i] && daf[i] > dafMax) dafMax = daf[i];

  // Penalised distance from root: steep near the boundary, plus a trickle of
  // the distance from root so that wide open regions still have a gradient.
  const pdrf = new Float32Array(n);
  const m = 1 / dbfMax ** 1.01;
  for (let i = 0; i < n; i++) {
    if (!mask[i]) continue;
    pdrf[i] = params.pdrfScale * (1 - dbf[i] * m) ** params.pdrfExponent + daf[i] / (dafMax || 1);
  }
  const parents = fixBranching ? undefined : shortestPaths(mask, grid, [root], pdrf).parent;

  const valid = mask.slice();
  let remaining = 0;
  for (let i = 0; i < n; i++) remaining += valid[i];
  const vertexOf = new Int32Array(n).fill(-1);
  const voxels: number[] = [root];
  const edges: number[] = [];
  vertexOf[root] = 0;
  remaining -= invalidate(valid, dbf[root], root, grid, params);

  const pending = targetsFirst.slice(1);
  while (pending.length > 0 || remaining > 0) {
    const target = pending.length > 0 ? (pending.shift() as number) : farthest(daf, valid);
    if (target < 0) break; // only voxels no path reaches are left (not 26-connected)
    if (vertexOf[target] >= 0) continue; // a border target already on the tree
    // The path runs from the target back to the tree already built.
    const parent = parents ?? shortestPaths(mask, grid, voxels, pdrf, target).parent;
    let v = target;
    let prev = -1;
    while (v >= 0) {
      const known = vertexOf[v] >= 0;
      if (!known) {
        vertexOf[v] = voxels.length;
        voxels.push(v);
        remaining -= invalidate(valid, dbf[v], v, grid, params);
      }
      if (prev >= 0) edges.push(vertexOf[prev], vertexOf[v]);
      if (known) break;
      prev = v;
      v = parent[v];
    }
  }
  return { voxels, edges };
}

/** The voxel of `mask` with the largest finite `dist` (-1 when none is left). */
function farthest(dist: Float64Array, mask: Uint8Array): number {
  let best = -1;
  let bestDist = -1;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] && dist[i] > bestDist && dist[i] !== Number.POSITIVE_INFINITY) {
      bestDist = dist[i];
      best = i;
    }
  }
  return best;
}

/** Clears the ball of radius scale * dbf + const around voxel v; returns how many voxels it cleared. */
function invalidate(
  valid: Uint8Array,
  dbfV: number,
  v: number,
  grid: Grid,
  params: Required<TeasarParams>,
): number {
  const [sx, sy, sz] = grid.shape;
  const [wx, wy, wz] = grid.anisotropy;
  const r = params.scale * dbfV + params.const;
  const r2 = r * r;
  const plane = sx * sy;
  const z = (v / plane) | 0;
  const y = ((v - z * plane) / sx) | 0;
  const x = v - z * plane - y * sx;
  const ry = Math.floor(r / wy);
  const rz = Math.floor(r / wz);
  let cleared = 0;
  for (let k = Math.max(0, z - rz); k <= Math.min(sz - 1, z + rz); k++) {
    const dz2 = ((k - z) * wz) ** 2;
    for (let j = Math.max(0, y - ry); j <= Math.min(sy - 1, y + ry); j++) {
      const dyz2 = dz2 + ((j - y) * wy) ** 2;
      if (dyz2 > r2) continue;
      // The x extent of the ball on this row, then a plain run.
      const half = Math.floor(Math.sqrt(r2 - dyz2) / wx);
      const row = j * sx + k * plane;
      const lo = Math.max(0, x - half);
      const hi = Math.min(sx - 1, x + half);
      for (let i = row + lo; i <= row + hi; i++) {
        cleared += valid[i];
        valid[i] = 0;
      }
    }
  }
  return cleared;
}
