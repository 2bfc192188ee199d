/**
 * The watershed stage's relative thresholds: the quantiles of the whole
 * affinity layer that one `watershed` call on the whole volume would use,
 * computed once for the dataset by two phases of block tasks, with the
 * two-pass rank counts of `relativeThresholds` (no 10^6-bin histogram):
 *
 *  1. rank counts: each block counts the top 16 bits of its values' float32
 *     bit patterns (`ranks/top/<b>`); the next phase's creation adds them up
 *     and finds the bucket of each wanted rank (`ranks/plan.json`);
 *  2. rank values: each block counts the low 16 bits of its values in those
 *     buckets (`ranks/low/<b>`); the blocks phase's creation adds them up,
 *     which gives the exact value at each rank, and takes the left edge of
 *     its 10^6-bin bin, as Watershed.jl's histogram would.
 *
 * A layer with negative values (bit patterns then do not order as values)
 * takes the histogram instead in phase 2: each block's 10^6-bin histogram
 * on the dataset's range (`ranks/hist/<b>`), added up at the end.
 */
import {
  type HistogramRange,
  histogramRange,
  locateRanks,
  quantileThreshold,
  RANK_BUCKETS,
  type RankPosition,
  RELATIVE_THRESHOLD_BINS,
  thresholdRank,
  thresholdsFromRanks,
  valueAtRank,
} from "@ngpipe/segmentation";
import type { Storage } from "@ngpipe/storage";
import { z } from "zod";
import { packRecord, unpackRecord } from "../labels/records";
import { labelsKernels } from "../labels-kernel-module";
import type { TaskPhase } from "../registry/stage";
import { defineTask, type TaskContext } from "../runtime";
import { taskList } from "../tiling";
import type { BlockTopCounts } from "./threshold-kernels";
import type { BlockThresholds } from "./watershed-block";
import {
  type Common,
  commonParams,
  type Grid,
  getJson,
  getObject,
  linear,
  openAffinities,
  type V3,
} from "./watershed-common";

type Sparse = { index: Uint32Array; counts: Float64Array };

/**
 * A counting task's work: the block's core through `kernel` (the core's
 * affinities, then `args`), the sparse counts stored at `<prefix>/<b>` with
 * the result's other fields as the record's header.
 */
async function countBlock(
  p: Common,
  ctx: TaskContext,
  kernel: string,
  args: unknown[],
  prefix: string,
): Promise<{ slots: number }> {
  const { vol, grid, core } = await openAffinities(ctx, p);
  const data = (await vol.read(core, { signal: ctx.signal })).data as Float32Array | Uint8Array;
  const r = await ctx.runKernel<Sparse & Record<string, unknown>>(
    labelsKernels(),
    kernel,
    [data, ...args],
    { transfer: [data.buffer as ArrayBuffer], signal: ctx.signal },
  );
  const { index, counts, ...header } = r;
  await ctx
    .storage(p.scratch)
    .put(`${prefix}/${linear(p.block, grid.blocks)}`, packRecord(header, { index, counts }), {
      signal: ctx.signal,
    });
  return { slots: index.length };
}

/** Phase 1 (relative thresholds): a block's top-16-bit counts (`affinityTopCounts`). */
export const watershedRankCountsTask = defineTask({
  name: "ws-rank-counts",
  params: commonParams,
  run: (p, ctx) => countBlock(p, ctx, "affinityTopCounts", [], "ranks/top"),
});

/** Phase 2 (relative thresholds): a block's low-16-bit counts in the wanted buckets. */
export const watershedRankValuesTask = defineTask({
  name: "ws-rank-values",
  params: commonParams.extend({ buckets: z.array(z.number().int()) }),
  run: (p, ctx) => countBlock(p, ctx, "affinityLowCounts", [p.buckets], "ranks/low"),
});

const rangeSchema = z.object({
  start: z.number(),
  step: z.number(),
  divisor: z.number(),
  length: z.number().int(),
});

/** Phase 2 for layers with negative values: a block's histogram on the dataset's range. */
export const watershedHistogramTask = defineTask({
  name: "ws-histogram",
  params: commonParams.extend({ range: rangeSchema }),
  run: (p, ctx) => countBlock(p, ctx, "affinityHistogram", [p.range], "ranks/hist"),
});

/** What phase 2's creation decided: rank buckets, or (negative values) the histogram's range. */
type RankPlan =
  | {
      method: "ranks";
      total: number;
      minBits: number;
      maxBits: number;
      buckets: number[];
      at: RankPosition[];
    }
  | { method: "histogram"; range: HistogramRange };

async function readSparse(store: Storage, key: string) {
  const r = unpackRecord<Record<string, unknown>>(
    await getObject(store, key),
    `${store.url}/${key}`,
  );
  return {
    header: r.header,
    index: r.arrays.index as Uint32Array,
    counts: r.arrays.counts as Float64Array,
  };
}

/** The fractions in the order the thresholds are computed: low, high, then each merge threshold. */
function fractionsOf(t: BlockThresholds): number[] {
  return [t.low, t.high, ...t.merge.map(([, v]) => v)];
}

/** The two phases of the relative thresholds, for `blocks` of the grid. */
export function relativeThresholdPhases(
  store: Storage,
  blocks: V3[],
  grid: Grid,
  common: (block: V3) => Common,
  fractions: BlockThresholds,
): TaskPhase[] {
  return [
    {
      name: "watershed rank counts",
      tasks: async () =>
        taskList(blocks, (block) => watershedRankCountsTask.payload(common(block))),
    },
    {
      name: "watershed rank values",
      tasks: async () => {
        const top = new Float64Array(RANK_BUCKETS);
        let minBits = 0xffffffff;
        let maxBits = 0;
        let negative = false;
        let lo = Number.POSITIVE_INFINITY;
        let hi = Number.NEGATIVE_INFINITY;
        for (const block of blocks) {
          const r = await readSparse(store, `ranks/top/${linear(block, grid.blocks)}`);
          const h = r.header as Omit<BlockTopCounts, "index" | "counts">;
          for (let k = 0; k < r.index.length; k++) top[r.index[k]] += r.counts[k];
          minBits = Math.min(minBits, h.minBits);
          maxBits = Math.max(maxBits, h.maxBits);
          negative ||= h.negative;
          lo = Math.min(lo, h.lo);
          hi = Math.max(hi, h.hi);
        }
        if (negative) {
          const range = histogramRange(lo, hi, RELATIVE_THRESHOLD_BINS);
          const plan: RankPlan = { method: "histogram", range };
          await store.put("ranks/plan.json", JSON.stringify(plan));
          return taskList(blocks, (block) =>
            watershedHistogramTask.payload({ ...common(block), range }),
          );
        }
        let total = 0;
        for (let t = 0; t < RANK_BUCKETS; t++) total += top[t];
        const at = locateRanks(
          top,
          fractionsOf(fractions).map((p) => thresholdRank(total, p)),
        );
        const buckets = [...new Set(at.filter((r) => r.bucket >= 0).map((r) => r.bucket))];
        const plan: RankPlan = { method: "ranks", total, minBits, maxBits, buckets, at };
        await store.put("ranks/plan.json", JSON.stringify(plan));
        return taskList(blocks, (block) =>
          watershedRankValuesTask.payload({ ...common(block), buckets }),
        );
      },
    },
  ];
}

/** The dataset's thresholds from the records of the two phases. */
export async function datasetThresholds(
  store: Storage,
  blocks: V3[],
  grid: Grid,
  fractions: BlockThresholds,
): Promise<BlockThresholds> {
  const plan = await getJson<RankPlan>(store, "ranks/plan.json");
  const all = fractionsOf(fractions);
  let values: number[];
  if (plan.method === "histogram") {
    const counts = new Float64Array(plan.range.length - 1);
    for (const block of blocks) {
      const r = await readSparse(store, `ranks/hist/${linear(block, grid.blocks)}`);
      for (let k = 0; k < r.index.length; k++) counts[r.index[k]] += r.counts[k];
    }
    values = all.map((p) => quantileThreshold(counts, plan.range, p));
  } else {
    const low = new Float64Array(RANK_BUCKETS * plan.buckets.length);
    for (const block of blocks) {
      const r = await readSparse(store, `ranks/low/${linear(block, grid.blocks)}`);
      for (let k = 0; k < r.index.length; k++) low[r.index[k]] += r.counts[k];
    }
    values = thresholdsFromRanks(plan.total, plan.minBits, plan.maxBits, all, (i) =>
      valueAtRank(low, plan.buckets.indexOf(plan.at[i].bucket), plan.at[i]),
    );
  }
  return {
    low: values[0],
    high: values[1],
    merge: fractions.merge.map(([s], i): [number, number] => [s, values[2 + i]]),
    dust: fractions.dust,
  };
}
