/**
 * `regionGraph`: the adjacency graph of a label volume, weighted by the
 * affinities on the faces between labels: for every two labels that touch
 * (6-connectivity, background 0 ignored), the maximum, sum and number of the
 * affinities of the voxel faces between them. Sums and counts are kept for
 * both reductions so graphs of neighbouring blocks can be merged into one.
 */
import { grow, PairTable } from "./pair-table";
import {
  type AffinityArray,
  affinitiesAsFloat32,
  checkAffinityShape,
} from "./watershed/affinities";
import { AffinityInputError, SegmentationOptionError } from "./watershed/errors";

/** Label arrays the graph and metric kernels read (ids as numbers, x fastest). */
export type RegionLabels = Uint32Array | Uint16Array | Uint8Array | Int32Array | Float64Array;

/** How {@link regionGraph} reduces the affinities between two labels to one value. */
export type RegionGraphReduce = "max" | "mean";

/** Options of {@link regionGraph}. */
export interface RegionGraphOptions {
  /** `value` is the maximum (default) or the mean of the affinities between two labels. */
  reduce?: RegionGraphReduce;
  /**
   * Count only the faces whose higher voxel lies at or beyond this corner
   * (default [0, 0, 0]: every face). A block read with one extra voxel on
   * its low sides passes [1, 1, 1] (0 where it has no such voxel), so each
   * face between two blocks is counted by exactly one of them.
   */
  start?: readonly [number, number, number];
}

/** A region graph: parallel arrays, one entry per pair of touching labels. */
export interface RegionGraph {
  /** Smaller label of each edge; edges are sorted by (a, b). */
  a: Uint32Array;
  /** Larger label of each edge. */
  b: Uint32Array;
  /** The reduced affinity (maximum or mean, per `reduce`). */
  value: Float64Array;
  /** Sum of the face affinities (for merging partial graphs and mean agglomeration). */
  sum: Float64Array;
  /** Number of voxel faces between the two labels. */
  count: Float64Array;
  /** Largest face affinity. */
  max: Float64Array;
}

/**
 * The region graph of `labels` over the affinity map `aff` ([x, y, z, 3],
 * float32 or uint8 / 255): an edge for every pair of different nonzero
 * labels that share a voxel face, with the face affinities' maximum, sum and
 * count; `value` is the maximum or the mean per `options.reduce`.
 *
 * @example
 * ```ts
 * const g = regionGraph(aff, labels, [512, 512, 128], { reduce: "mean" });
 * const table = agglomerate(g, { threshold: 0.5, method: "mean" });
 * ```
 */
export function regionGraph(
  aff: AffinityArray,
  labels: RegionLabels,
  shape: readonly number[],
  options: RegionGraphOptions = {},
): RegionGraph {
  const [sx, sy, sz] = checkAffinityShape(aff, shape);
  const reduce = options.reduce ?? "max";
  if (reduce !== "max" && reduce !== "mean") {
    throw new SegmentationOptionError(
      `reduce must be "max" or "mean", got ${String(reduce)}`,
      "reduce",
    );
  }
  const n = sx * sy * sz;
  if (labels.length !== n) {
    throw new AffinityInputError(
      `labels has ${labels.length} values but shape [${sx}, ${sy}, ${sz}] needs ${n}`,
      "labels",
    );
  }
  const start = options.start ?? [0, 0, 0];
  if (
    start.length !== 3 ||
    start.some((v, a) => !Number.isInteger(v) || v < 0 || v > [sx, sy, sz][a])
  ) {
    throw new SegmentationOptionError(
      `start must be [x, y, z] whole numbers within the shape [${sx}, ${sy}, ${sz}], got [${start.join(", ")}]`,
      "start",
    );
  }
  const values = affinitiesAsFloat32(aff);
  const pairs = new PairTable(4096);
  let max = new Float64Array(4096);
  let sum = new Float64Array(4096);
  let count = new Float64Array(4096);
  const sxy = sx * sy;
  const add = (s: number, t: number, v: number): void => {
    const k = s < t ? pairs.add(s, t) : pairs.add(t, s);
    if (k === max.length) {
      max = grow(max, k + 1);
      sum = grow(sum, k + 1);
      count = grow(count, k + 1);
    }
    if (count[k] === 0 || v > max[k]) max[k] = v;
    sum[k] += v;
    count[k]++;
  };
  for (let z = start[2]; z < sz; z++) {
    for (let y = start[1]; y < sy; y++) {
      const row = sx * (y + sy * z);
      for (let x = start[0]; x < sx; x++) {
        const i = row + x;
        const s = labels[i];
        if (s === 0) continue;
        if (x > 0) {
          const t = labels[i - 1];
          if (t !== 0 && t !== s) add(s, t, values[i]);
        }
        if (y > 0) {
          const t = labels[i - sx];
          if (t !== 0 && t !== s) add(s, t, values[n + i]);
        }
        if (z > 0) {
          const t = labels[i - sxy];
          if (t !== 0 && t !== s) add(s, t, values[2 * n + i]);
        }
      }
    }
  }
  const m = pairs.size;
  const order = new Int32Array(m);
  for (let k = 0; k < m; k++) order[k] = k;
  const pa = pairs.a;
  const pb = pairs.b;
  order.sort((i, j) => pa[i] - pa[j] || pb[i] - pb[j]);
  const out: RegionGraph = {
    a: new Uint32Array(m),
    b: new Uint32Array(m),
    value: new Float64Array(m),
    sum: new Float64Array(m),
    count: new Float64Array(m),
    max: new Float64Array(m),
  };
  for (let e = 0; e < m; e++) {
    const k = order[e];
    out.a[e] = pa[k];
    out.b[e] = pb[k];
    out.sum[e] = sum[k];
    out.count[e] = count[k];
    out.max[e] = max[k];
    out.value[e] = reduce === "max" ? max[k] : sum[k] / count[k];
  }
  return out;
}
