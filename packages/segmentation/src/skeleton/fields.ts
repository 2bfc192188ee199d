/**
 * Shortest-path fields over the voxels of one object (a mask in a cropped
 * box), 26-connected: the Dijkstra searches TEASAR runs. A step into a voxel
 * costs either its physical length (Euclidean distance fields) or that
 * voxel's weight (the penalised field), the two costs TEASAR uses.
 */

/** A box of voxels, x fastest, with its physical voxel size. */
export interface Grid {
  readonly shape: readonly [number, number, number];
  readonly anisotropy: readonly [number, number, number];
}

/** A binary min-heap of voxel indices keyed by distance; stale entries are skipped by the caller. */
class MinHeap {
  private keys = new Float64Array(1024);
  private vals = new Int32Array(1024);
  size = 0;

  push(key: number, val: number): void {
    if (this.size === this.keys.length) {
      const keys = new Float64Array(this.size * 2);
      keys.set(this.keys);
      this.keys = keys;
      const vals = new Int32Array(this.size * 2);
      vals.set(this.vals);
      this.vals = vals;
    }
    const { keys, vals } = this;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p] <= key) break;
      keys[i] = keys[p];
      vals[i] = vals[p];
      i = p;
    }
    keys[i] = key;
    vals[i] = val;
  }

  /** Removes the smallest entry; its key is left in `topKey`. */
  pop(): number {
    const { keys, vals } = this;
    const top = vals[0];
    this.topKey = keys[0];
    const n = --this.size;
    const key = keys[n];
    const val = vals[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && keys[c + 1] < keys[c]) c++;
      if (keys[c] >= key) break;
      keys[i] = keys[c];
      vals[i] = vals[c];
      i = c;
    }
    keys[i] = key;
    vals[i] = val;
    return top;
  }

  topKey = 0;
}

/** The 26 neighbour offsets of a grid: dx, dy, dz per neighbour and the step lengths. */
function neighbourhood(grid: Grid): { d: Int8Array; step: Float64Array } {
  const [wx, wy, wz] = grid.anisotropy;
  const d = new Int8Array(26 * 3);
  const step = new Float64Array(26);
  let k = 0;
  for (let dz = -1; dz <= 1; dz++) {
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        if (!dx && !dy && !dz) continue;
        d[3 * k] = dx;
        d[3 * k + 1] = dy;
        d[3 * k + 2] = dz;
        step[k] = Math.sqrt((dx * wx) ** 2 + (dy * wy) ** 2 + (dz * wz) ** 2);
        k++;
      }
    }
  }
  return { d, step };
}

/** What a search computes: the distance of every reached voxel and its predecessor (-1 for sources). */
export interface PathField {
  dist: Float64Array;
  parent: Int32Array;
}

/**
 * Dijkstra from `sources` over the voxels where `mask` is nonzero. With
 * `weights`, entering voxel v costs weights[v]; without, it costs the
 * physical length of the step. Stops early once `target` is settled.
 */
export function shortestPaths(
  mask: Uint8Array,
  grid: Grid,
  sources: ArrayLike<number>,
  weights?: Float32Array,
  target = -1,
): PathField {
  const [sx, sy, sz] = grid.shape;
  const n = sx * sy * sz;
  const dist = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const parent = new Int32Array(n).fill(-1);
  const done = new Uint8Array(n);
  const { d, step } = neighbourhood(grid);
  const heap = new MinHeap();
  for (let s = 0; s < sources.length; s++) {
    dist[sources[s]] = 0;
    heap.push(0, sources[s]);
  }
  const plane = sx * sy;
  while (heap.size > 0) {
    const v = heap.pop();
    if (done[v]) continue;
    done[v] = 1;
    if (v === target) break;
    const dv = heap.topKey;
    const z = (v / plane) | 0;
    const rem = v - z * plane;
    const y = (rem / sx) | 0;
    const x = rem - y * sx;
    for (let k = 0; k < 26; k++) {
      const nx = x + d[3 * k];
      const ny = y + d[3 * k + 1];
      const nz = z + d[3 * k + 2];
      if (nx < 0 || ny < 0 || nz < 0 || nx >= sx || ny >= sy || nz >= sz) continue;
      const u = nx + sx * ny + plane * nz;
      if (!mask[u] || done[u]) continue;
      const du = dv + (weights ? weights[u] : step[k]);
      if (du < dist[u]) {
        dist[u] = du;
        parent[u] = v;
        heap.push(du, u);
      }
    }
  }
  return { dist, parent };
}
