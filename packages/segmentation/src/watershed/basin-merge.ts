/**
 * Watershed.jl's merge and dust over a basin graph given as data rather than
 * computed from one array: what a dataset-wide stage needs once it has
 * numbered the basins of every block consistently and gathered their sizes
 * and the graph between them. The same rule as `watershed`'s merge step, so
 * the same graph gives the same regions.
 */
import { mergeRegions } from "./merge";

/** A basin graph: basin sizes and the edges between adjacent basins. */
export interface BasinGraph {
  /** Voxels per basin: `sizes[id - 1]` for basins 1..n. */
  sizes: Float64Array;
  /** Edge ends (basin ids, any order within a pair, each pair once). */
  a: Uint32Array;
  b: Uint32Array;
  /** The largest affinity between the two basins (float32 values; Watershed.jl starts at 0). */
  weight: Float64Array;
  /**
   * Where the x-fastest scan of the whole volume first met the pair, as
   * `3 * voxel index + direction` (0, 1, 2 for the face towards -x, -y, -z
   * of the later voxel): equal weights keep this order, as Watershed.jl's
   * ordered dictionary of pairs does.
   */
  first: Float64Array;
}

/** What {@link mergeBasinGraph} returns. */
export interface MergedBasins {
  /** Final region of each basin id (index 0 is background): 1..regions in order of smallest basin id, 0 for dust. */
  finalOf: Uint32Array;
  /** Number of final regions. */
  regions: number;
}

/**
 * For each (size, threshold) pair in turn, walks the edges by decreasing
 * weight (ties by first meeting) and merges two regions when the edge is
 * above the threshold and either is smaller than the size; regions under
 * `dust` voxels become background, the rest are numbered in order of their
 * smallest basin id. Thresholds must be float32 values, as in `watershed`.
 */
export function mergeBasinGraph(
  graph: BasinGraph,
  merge: ReadonlyArray<readonly [number, number]>,
  dust: number,
): MergedBasins {
  const { a, b, weight, first } = graph;
  const m = a.length;
  const order = new Int32Array(m);
  for (let k = 0; k < m; k++) order[k] = k;
  order.sort((i, j) => weight[j] - weight[i] || first[i] - first[j]);
  const merged = mergeRegions(
    { labels: new Uint32Array(0), sizes: graph.sizes, count: graph.sizes.length, background: 0 },
    { a, b, weight: Float32Array.from(weight), order },
    merge,
    dust,
  );
  return { finalOf: merged.finalOf, regions: merged.regions };
}
