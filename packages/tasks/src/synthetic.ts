/**
 * Synthetic datasets that look enough like connectomics data to exercise the
 * pipeline: a Voronoi "neuron" segmentation with thin zero boundaries, and an
 * EM-like uint8 image derived from it (dark membranes on the boundaries, grey
 * noisy cytoplasm, darker organelle blobs). Deterministic for a given seed.
 * Used by the quickstart, examples and benchmarks.
 */

/** Options of {@link voronoiSegmentation}. */
export interface VoronoiOptions {
  /** Number of cells (segment ids 1..seeds, or offset by `idOffset`). */
  seeds: number;
  /** PRNG seed. Default 1. */
  seed?: number;
  /**
   * Voxels whose two nearest seeds are within this distance difference (in
   * voxels) become boundary (label 0). Default 1.0; 0 disables boundaries.
   */
  boundary?: number;
  /** Anisotropy of distances, e.g. [1, 1, 10] for 4x4x40 nm voxels. Default [1, 1, 1]. */
  scale?: readonly [number, number, number];
}

/** A small fast deterministic PRNG (mulberry32) returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A 3-D Voronoi partition of `shape` ([x, y, z], x fastest) into `seeds`
 * cells labelled 1..seeds, with zero boundaries between cells.
 */
export function voronoiSegmentation(
  shape: readonly [number, number, number],
  options: VoronoiOptions,
): Uint32Array {
  const [sx, sy, sz] = shape;
  const [ax, ay, az] = options.scale ?? [1, 1, 1];
  const rand = mulberry32(options.seed ?? 1);
  const n = options.seeds;
  const px = new Float64Array(n);
  const py = new Float64Array(n);
  const pz = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    px[i] = rand() * sx * ax;
    py[i] = rand() * sy * ay;
    pz[i] = rand() * sz * az;
  }
  // Bucket seeds in a grid of cells about one mean spacing wide; a voxel's two
  // nearest seeds are then (almost always) within the surrounding cells.
  const extent = [sx * ax, sy * ay, sz * az];
  const spacing = Math.cbrt((extent[0] * extent[1] * extent[2]) / n);
  const gx = Math.max(1, Math.ceil(extent[0] / spacing));
  const gy = Math.max(1, Math.ceil(extent[1] / spacing));
  const gz = Math.max(1, Math.ceil(extent[2] / spacing));
  const cw = [extent[0] / gx, extent[1] / gy, extent[2] / gz];
  const counts = new Int32Array(gx * gy * gz + 1);
  const cellOf = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const cx = Math.min(gx - 1, Math.floor(px[i] / cw[0]));
    const cy = Math.min(gy - 1, Math.floor(py[i] / cw[1]));
    const cz = Math.min(gz - 1, Math.floor(pz[i] / cw[2]));
    cellOf[i] = cx + gx * (cy + gy * cz);
    counts[cellOf[i] + 1]++;
  }
  for (let c = 0; c < gx * gy * gz; c++) counts[c + 1] += counts[c];
  const order = new Int32Array(n);
  const fill = counts.slice(0, gx * gy * gz);
  for (let i = 0; i < n; i++) order[fill[cellOf[i]]++] = i;

  const boundary = options.boundary ?? 1.0;
  const out = new Uint32Array(sx * sy * sz);
  // A voxel looks at the seeds of the cells within `reach` of its own on
  // every axis. The seeds of the cells around one (y, z) cell column are
  // gathered once, grouped by x cell; per row their y and z terms are
  // computed once and each group is ordered by them (insertion sort: the
  // order changes little from one row to the next); per voxel, a cell is
  // skipped when its x extent alone is farther than the second-nearest seed
  // found so far, and a group is left at its first seed whose y and z terms
  // alone are.
  const reach = 2;
  const candX = new Float64Array(n);
  const candId = new Int32Array(n);
  const candY = new Float64Array(n);
  const candZ = new Float64Array(n);
  const dy2 = new Float64Array(n);
  const dz2 = new Float64Array(n);
  const yz = new Float64Array(n);
  const perm = new Int32Array(n);
  const cellStart = new Int32Array(gx + 1);
  // Cells in the order a voxel visits them: its own, then outwards.
  const visit = [0, -1, 1, -2, 2];
  let idx = 0;
  for (let z = 0; z < sz; z++) {
    const wz = (z + 0.5) * az;
    const cz = Math.min(gz - 1, Math.floor(wz / cw[2]));
    let columnY = -1;
    for (let y = 0; y < sy; y++) {
      const wy = (y + 0.5) * ay;
      const cy = Math.min(gy - 1, Math.floor(wy / cw[1]));
      if (cy !== columnY) {
        columnY = cy;
        let m = 0;
        for (let xx = 0; xx < gx; xx++) {
          cellStart[xx] = m;
          for (let dz = -reach; dz <= reach; dz++) {
            const zz = cz + dz;
            if (zz < 0 || zz >= gz) continue;
            for (let dy = -reach; dy <= reach; dy++) {
              const yy = cy + dy;
              if (yy < 0 || yy >= gy) continue;
              const c = xx + gx * (yy + gy * zz);
              for (let k = counts[c]; k < counts[c + 1]; k++) {
                const s = order[k];
                candX[m] = px[s];
                candY[m] = py[s];
                candZ[m] = pz[s];
                perm[m] = m;
                candId[m++] = s + 1;
              }
            }
          }
        }
        cellStart[gx] = m;
      }
      const m = cellStart[gx];
      for (let k = 0; k < m; k++) {
        const ddy = candY[k] - wy;
        const ddz = candZ[k] - wz;
        dy2[k] = ddy * ddy;
        dz2[k] = ddz * ddz;
        yz[k] = dy2[k] + dz2[k];
      }
      for (let xx = 0; xx < gx; xx++)
        for (let k = cellStart[xx] + 1; k < cellStart[xx + 1]; k++) {
          const j = perm[k];
          const key = yz[j];
          let at = k;
          while (at > cellStart[xx] && yz[perm[at - 1]] > key) {
            perm[at] = perm[at - 1];
            at--;
          }
          perm[at] = j;
        }
      for (let x = 0; x < sx; x++, idx++) {
        const wx = (x + 0.5) * ax;
        const cx = Math.min(gx - 1, Math.floor(wx / cw[0]));
        let best = Number.POSITIVE_INFINITY;
        let second = Number.POSITIVE_INFINITY;
        let bestId = 0;
        for (let v = 0; v < 5; v++) {
          const xx = cx + visit[v];
          if (xx < 0 || xx >= gx) continue;
          // The x distance from the voxel to the cell's extent bounds every seed
          // in it (with a margin for the rounding of a seed's cell).
          const gap = visit[v] < 0 ? wx - (xx + 1) * cw[0] : visit[v] > 0 ? xx * cw[0] - wx : 0;
          if (gap > 0 && gap * gap > second * (1 + 1e-9)) continue;
          for (let k = cellStart[xx]; k < cellStart[xx + 1]; k++) {
            const j = perm[k];
            if (yz[j] > second * (1 + 1e-9)) break;
            const ddx = candX[j] - wx;
            const d = ddx * ddx + dy2[j] + dz2[j];
            if (d < best) {
              second = best;
              best = d;
              bestId = candId[j];
            } else if (d < second) {
              second = d;
            }
          }
        }
        out[idx] = boundary > 0 && Math.sqrt(second) - Math.sqrt(best) < boundary ? 0 : bestId;
      }
    }
  }
  return out;
}

/**
 * An EM-like uint8 image for a segmentation (x fastest): membranes (label 0)
 * dark, cell interiors mid-grey with per-cell brightness, sparse dark blobs,
 * and noise. Deterministic for a given seed.
 */
export function emLikeImage(
  segmentation: Uint32Array,
  shape: readonly [number, number, number],
  seed = 7,
): Uint8Array {
  const [sx, sy, sz] = shape;
  const rand = mulberry32(seed);
  const out = new Uint8Array(sx * sy * sz);
  // Per-label brightness from a hash of the label, so it needs no table.
  const shade = (label: number): number => {
    let h = Math.imul(label ^ 0x9e3779b9, 0x85ebca6b);
    h ^= h >>> 13;
    return 150 + ((h >>> 0) % 60);
  };
  for (let i = 0; i < out.length; i++) {
    const label = segmentation[i];
    const noise = (rand() + rand() + rand() - 1.5) * 24;
    const base = label === 0 ? 40 : shade(label);
    const v = base + noise;
    out[i] = v < 0 ? 0 : Math.min(v, 255);
  }
  // Organelle-like dark blobs: small balls darkened inside cells.
  const blobs = Math.max(1, Math.floor((sx * sy * sz) / 40000));
  for (let b = 0; b < blobs; b++) {
    const cx = rand() * sx;
    const cy = rand() * sy;
    const cz = rand() * sz;
    const r = 1.5 + rand() * 3;
    for (let z = Math.max(0, Math.floor(cz - r)); z < Math.min(sz, Math.ceil(cz + r)); z++) {
      for (let y = Math.max(0, Math.floor(cy - r)); y < Math.min(sy, Math.ceil(cy + r)); y++) {
        for (let x = Math.max(0, Math.floor(cx - r)); x < Math.min(sx, Math.ceil(cx + r)); x++) {
          const d2 = (x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2;
          if (d2 <= r * r) {
            const i = x + sx * (y + sy * z);
            out[i] = out[i] >> 1;
          }
        }
      }
    }
  }
  return out;
}

/** Options of {@link voronoiAffinities}. */
export interface AffinityOptions {
  /** Affinity of an edge inside one cell. Default 0.9. */
  inside?: number;
  /** Affinity of an edge between cells or touching a boundary voxel (label 0). Default 0.1. */
  outside?: number;
  /**
   * Amplitude of the noise added to every edge (then clamped to [0, 1]).
   * Default 0.15.
   */
  noise?: number;
  /**
   * Correlation length of the noise in voxels: the noise is smooth value
   * noise on a grid this coarse (a convnet's output varies over its
   * receptive field, not voxel by voxel). 1 gives independent noise per
   * edge, which makes a basin of nearly every few voxels. Default 4.
   */
  smoothness?: number;
  /** PRNG seed. Default 11. */
  seed?: number;
}

/**
 * A float32 affinity map [x, y, z, 3] (x fastest) for a segmentation, as a
 * boundary-predicting convnet would produce it, only noisier: channel c at
 * (x, y, z) is the affinity of the edge to the previous voxel along axis c,
 * `inside` within a cell, `outside` across cells or boundaries, plus smooth
 * noise. Deterministic for a given seed. Used by the watershed benchmark and
 * tests.
 */
export function voronoiAffinities(
  segmentation: Uint32Array,
  shape: readonly [number, number, number],
  options: AffinityOptions = {},
): Float32Array {
  const [sx, sy, sz] = shape;
  const n = sx * sy * sz;
  const inside = options.inside ?? 0.9;
  const outside = options.outside ?? 0.1;
  const noise = options.noise ?? 0.15;
  const cell = Math.max(1, Math.floor(options.smoothness ?? 4));
  const rand = mulberry32(options.seed ?? 11);
  // Value noise per voxel: uniform values in [-1, 1] at grid points every
  // `cell` voxels, interpolated trilinearly. An edge gets the mean of its two
  // voxels' noise, so the three channels vary together, as a convnet's do.
  const gx = Math.ceil(sx / cell) + 1;
  const gy = Math.ceil(sy / cell) + 1;
  const gz = Math.ceil(sz / cell) + 1;
  const grid = new Float32Array(gx * gy * gz);
  for (let i = 0; i < grid.length; i++) grid[i] = 2 * rand() - 1;
  const lerpX = (p: number, t: number): number => grid[p] + (grid[p + 1] - grid[p]) * t;
  const field = new Float32Array(n);
  for (let z = 0; z < sz; z++) {
    const iz = Math.floor(z / cell);
    const tz = z / cell - iz;
    for (let y = 0; y < sy; y++) {
      const iy = Math.floor(y / cell);
      const ty = y / cell - iy;
      for (let x = 0; x < sx; x++) {
        const ix = Math.floor(x / cell);
        const tx = x / cell - ix;
        const b = ix + gx * (iy + gy * iz);
        const c = b + gx * gy;
        const y0 = lerpX(b, tx) + (lerpX(b + gx, tx) - lerpX(b, tx)) * ty;
        const y1 = lerpX(c, tx) + (lerpX(c + gx, tx) - lerpX(c, tx)) * ty;
        field[x + sx * (y + sy * z)] = y0 + (y1 - y0) * tz;
      }
    }
  }
  const out = new Float32Array(3 * n);
  const step = [1, sx, sx * sy];
  for (let c = 0; c < 3; c++) {
    const off = c * n;
    for (let z = 0; z < sz; z++) {
      for (let y = 0; y < sy; y++) {
        for (let x = 0; x < sx; x++) {
          const i = x + sx * (y + sy * z);
          const has = c === 0 ? x > 0 : c === 1 ? y > 0 : z > 0;
          const label = segmentation[i];
          const same = has && label !== 0 && segmentation[i - step[c]] === label;
          const smooth = has ? (field[i] + field[i - step[c]]) / 2 : field[i];
          const v = (same ? inside : outside) + smooth * noise;
          out[off + i] = v < 0 ? 0 : Math.min(v, 1);
        }
      }
    }
  }
  return out;
}
