/**
 * `watershed`: Watershed.jl's `watershed` (seung-lab/Watershed.jl, the
 * `atomicseg` the seed's WatershedTask ran) on an affinity map, with the same
 * defaults, the same relative thresholds and the same tie-breaks, so it
 * returns the very segmentation Watershed.jl returns.
 */
import {
  type AffinityArray,
  affinitiesAsFloat32,
  checkAffinityShape,
  type Shape3,
} from "./affinities";
import { dividePlateaus, findBasins, steepestAscent } from "./basins";
import { AffinityInputError, SegmentationOptionError } from "./errors";
import { basinGraph, mergeRegions, type SpanningTree, spanningTree } from "./merge";
import { relativeThresholds, type WatershedThresholds } from "./thresholds";
import { watershedWasm } from "./wasm";

/** Options of {@link watershed}; the defaults are Watershed.jl's. */
export interface WatershedOptions {
  /**
   * Edges at or below `low` are cut: a voxel whose affinities are all `<= low`
   * is background (0). Default 0.1 (a fraction when `relative`).
   */
  low?: number;
  /** Edges at or above `high` always join their voxels' basins. Default 0.8. */
  high?: number;
  /**
   * (size, threshold) pairs applied in turn: along edges above the threshold,
   * by decreasing affinity, regions smaller than size voxels are merged into
   * their neighbour. Default `[[800, 0.2]]`.
   */
  merge?: ReadonlyArray<readonly [number, number]>;
  /** Regions under this many voxels after merging become background. Default 600. */
  dust?: number;
  /**
   * When true (the default, as in Watershed.jl) `low`, `high` and the merge
   * thresholds are fractions: the affinity values at those quantiles of the
   * map, from Watershed.jl's 10^6-bin histogram. When false they are
   * affinities.
   */
  relative?: boolean;
}

/** Result of {@link watershed}. */
export interface WatershedResult {
  /** Region id per voxel, x fastest; 1..regions in order of first voxel, 0 for background. */
  labels: Uint32Array;
  /** Voxels per id: `counts[0]` is the background, `counts[id]` region `id`. */
  counts: Uint32Array;
  /** Number of regions (the largest id). */
  regions: number;
  /**
   * Maximum spanning forest of the regions' graph (maximum affinity between
   * adjacent regions) as (weight, a, b) triples in decreasing weight: `a` is
   * the child, `b` the parent, each tree rooted at its smallest id. Input for
   * agglomeration.
   */
  mst: SpanningTree;
  /** The absolute thresholds used (float32 values), after any relative conversion. */
  thresholds: WatershedThresholds;
  /** Number of watershed basins before merging. */
  basins: number;
}

const DEFAULTS = { low: 0.1, high: 0.8, merge: [[800, 0.2]] as Array<[number, number]>, dust: 600 };

function checkFraction(name: string, v: unknown): number {
  if (typeof v !== "number" || !(v >= 0 && v <= 1)) {
    throw new SegmentationOptionError(`${name} must be a number in [0, 1], got ${String(v)}`, name);
  }
  return v;
}

function resolveOptions(options: WatershedOptions): WatershedThresholds & {
  dust: number;
  relative: boolean;
} {
  const low = checkFraction("low", options.low ?? DEFAULTS.low);
  const high = checkFraction("high", options.high ?? DEFAULTS.high);
  const mergeIn = options.merge ?? DEFAULTS.merge;
  if (!Array.isArray(mergeIn)) {
    throw new SegmentationOptionError("merge must be an array of [size, threshold] pairs", "merge");
  }
  const merge = mergeIn.map((pair, i): [number, number] => {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new SegmentationOptionError(
        `merge[${i}] must be a [size, threshold] pair`,
        `merge[${i}]`,
      );
    }
    const size = pair[0];
    if (typeof size !== "number" || !(size >= 0)) {
      throw new SegmentationOptionError(
        `merge[${i}][0] (a size in voxels) must be >= 0, got ${String(size)}`,
        `merge[${i}][0]`,
      );
    }
    return [size, checkFraction(`merge[${i}][1]`, pair[1])];
  });
  const dust = options.dust ?? DEFAULTS.dust;
  if (typeof dust !== "number" || !(dust >= 0)) {
    throw new SegmentationOptionError(
      `dust must be a size in voxels >= 0, got ${String(dust)}`,
      "dust",
    );
  }
  return { low, high, merge, dust, relative: options.relative ?? true };
}

/**
 * Watershed of an affinity map into supervoxels, as Watershed.jl computes it.
 *
 * `aff` is float32 (or uint8, divided by 255) with shape [x, y, z, 3], x
 * fastest: channel 0 at (x, y, z) is the affinity between (x-1, y, z) and
 * (x, y, z), channels 1 and 2 likewise along y and z. Steps: steepest ascent
 * (edges leaving the volume count as `low`), division of plateaus, basins
 * (numbered in scan order), the basins' region graph, merging for each
 * (size, threshold) pair, dust removal and renumbering, and the maximum
 * spanning tree of the result.
 *
 * Runs as WebAssembly (the affinities streamed one z slice at a time);
 * affinities with negative values or -0, and volumes too large for a 32-bit
 * memory, take the JavaScript kernel, which gives the same result. Memory
 * beyond the input: about 9 bytes per voxel (the graph byte, the labels
 * worked on and the labels returned) plus the region graph (a few tens of
 * bytes per basin pair); uint8 input adds a float32 copy.
 *
 * @example
 * ```ts
 * const { labels, counts, mst } = watershed(aff, [200, 200, 5]);
 * const abs = watershed(aff, [200, 200, 5], { relative: false, low: 0.003, high: 0.999987, merge: [[800, 0.3]], dust: 800 });
 * ```
 */
export function watershed(
  aff: AffinityArray,
  shape: readonly number[],
  options: WatershedOptions = {},
): WatershedResult {
  return watershedWith(aff, shape, options, "auto");
}

/**
 * Which implementation {@link watershedWith} runs: "auto" is WebAssembly
 * when it can take the input, "js" the JavaScript reference, "wasm"
 * WebAssembly or an error.
 */
export type WatershedEngine = "auto" | "js" | "wasm";

/**
 * {@link watershed} with a choice of implementation, so that tests can
 * compare the WebAssembly kernel with the JavaScript one.
 */
export function watershedWith(
  aff: AffinityArray,
  shape: readonly number[],
  options: WatershedOptions,
  engine: WatershedEngine,
): WatershedResult {
  const dims: Shape3 = checkAffinityShape(aff, shape);
  const opts = resolveOptions(options);
  const f = Math.fround;
  // Watershed.jl compares in the affinities' type: thresholds become float32.
  const given: WatershedThresholds = opts.relative
    ? { low: opts.low, high: opts.high, merge: opts.merge.map(([s, w]) => [s, w]) }
    : { low: f(opts.low), high: f(opts.high), merge: opts.merge.map(([s, w]) => [s, f(w)]) };
  const check = (t: WatershedThresholds) => {
    if (!(t.low < t.high)) {
      throw new SegmentationOptionError(
        `low (${t.low}) must be below high (${t.high})${
          opts.relative ? ": the affinities have too few distinct values for these quantiles" : ""
        }`,
        "low",
      );
    }
  };
  if (engine !== "js") {
    const values = aff instanceof Uint8Array ? affinitiesAsFloat32(aff) : aff;
    const w = watershedWasm(values, dims, given, opts.relative, opts.dust, check);
    if (w) {
      const { labels, sizes, regions, basins, mst } = w.result;
      return result(labels, sizes, regions, mst, w.thresholds, basins);
    }
    if (engine === "wasm") {
      throw new AffinityInputError(
        "the WebAssembly watershed takes affinities >= +0 in volumes that fit a 32-bit memory",
        "aff",
      );
    }
  }
  const values = affinitiesAsFloat32(aff);
  const thresholds = opts.relative ? relativeThresholds(values, given) : given;
  check(thresholds);
  const n = dims[0] * dims[1] * dims[2];
  const sag = steepestAscent(values, dims, thresholds.low, thresholds.high);
  const queue = new Int32Array(n);
  dividePlateaus(sag, dims, queue);
  const basins = findBasins(sag, dims, queue);
  const edges = basinGraph(values, basins.labels, dims);
  const merged = mergeRegions(basins, edges, thresholds.merge, opts.dust);
  const labels = basins.labels;
  const { finalOf } = merged;
  for (let i = 0; i < n; i++) labels[i] = finalOf[labels[i]];
  return result(
    labels,
    merged.sizes,
    merged.regions,
    spanningTree(edges, merged),
    thresholds,
    basins.count,
  );
}

function result(
  labels: Uint32Array,
  sizes: Float64Array,
  regions: number,
  mst: SpanningTree,
  thresholds: WatershedThresholds,
  basins: number,
): WatershedResult {
  const counts = new Uint32Array(regions + 1);
  let foreground = 0;
  for (let r = 0; r < regions; r++) {
    counts[r + 1] = sizes[r];
    foreground += sizes[r];
  }
  counts[0] = labels.length - foreground;
  return {
    labels,
    counts,
    regions,
    mst,
    thresholds: {
      low: thresholds.low,
      high: thresholds.high,
      merge: thresholds.merge.map(([s, w]) => [s, w] as [number, number]),
    },
    basins,
  };
}
