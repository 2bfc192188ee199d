/**
 * The watershed stage: Watershed.jl's watershed of an affinity layer, block
 * by block with context, with ids consistent across the whole dataset. Its
 * phases keep their state in storage under the scratch URL:
 *
 *  1. range, 2. histogram (relative thresholds only): each block's smallest
 *     and largest affinity, then its histogram on the dataset's 10^6-bin
 *     range; the thresholds are the dataset's quantiles, computed once, as
 *     one `watershed` call on the whole volume would compute them;
 *  3. blocks: each block's watershed over its core plus `context` voxels on
 *     every side; the core's regions, split into 6-connected pieces, go to a
 *     scratch layer of local ids, and the layers on each side of its faces to
 *     `faces/<b>` (watershed-block.ts);
 *  4. match: each block joins its pieces to the pieces of its lower
 *     neighbours that continue them across a face, and writes the links as
 *     the connected-components stage's block record (`blocks/<b>`);
 *  5. the connected-components stage's reduce, number and relabel phases
 *     over those records give every class of joined pieces one id (numbered
 *     by first voxel in the dataset's scan order), written to dest; then its
 *     downsample and cleanup phases.
 */
import {
  Bbox,
  type DataType,
  fromTyped,
  type InfoJSON,
  InfoNotFoundError,
  readInfo,
  scaleForMip,
  type Vec3,
  Volume,
  writeInfo,
} from "@ngpipe/precomputed";
import {
  type HistogramRange,
  histogramRange,
  quantileThreshold,
  RELATIVE_THRESHOLD_BINS,
  SegmentationOptionError,
} from "@ngpipe/segmentation";
import type { Storage } from "@ngpipe/storage";
import { z } from "zod";
import { type ConnectedComponentsTaskOptions, createConnectedComponentsTasks } from "../labels/ccl";
import { NodeKind, nodeKey } from "../labels/ccl-block";
import { packRecord, unpackRecord } from "../labels/records";
import { labelsKernels } from "../labels-kernel-module";
import type { TaskPhase } from "../registry/stage";
import { defineTask, type TaskContext } from "../runtime";
import {
  type CreateOptionsBase,
  LayerMismatchError,
  StageError,
  storageFor,
} from "../stages/common";
import { taskList } from "../tiling";
import {
  type BlockFace,
  type BlockThresholds,
  matchFace,
  type WatershedBlockResult,
} from "./watershed-block";

/** Bad options of the watershed stage (block shape, context). */
export class WatershedStageError extends StageError {
  override name = "WatershedStageError";
}

type V3 = [number, number, number];
const v3 = z.tuple([z.number().int(), z.number().int(), z.number().int()]);

const commonParams = z.object({
  aff: z.string().min(1),
  scratch: z.string().min(1),
  mip: z.number().int().min(0),
  /** Block (core) shape, voxels. */
  shape: v3,
  block: v3,
});
type Common = z.output<typeof commonParams>;

const thresholdsSchema = z.object({
  low: z.number(),
  high: z.number(),
  merge: z.array(z.tuple([z.number(), z.number()])),
  dust: z.number(),
});

/** The block grid of the affinity layer. */
interface Grid {
  bounds: Bbox;
  size: V3;
  blocks: V3;
}

function gridOf(bounds: Bbox, shape: V3): Grid {
  const size = bounds.size() as V3;
  return { bounds, size, blocks: [0, 1, 2].map((a) => Math.ceil(size[a] / shape[a])) as V3 };
}

function coreBox(g: Grid, shape: V3, block: V3): Bbox {
  const min = block.map((n, a) => g.bounds.min[a] + n * shape[a]) as V3;
  const max = min.map((n, a) => Math.min(n + shape[a], g.bounds.max[a])) as V3;
  return new Bbox(min, max);
}

const linear = ([i, j, k]: readonly number[], [nx, ny]: readonly number[]) => i + nx * (j + ny * k);

function positions(dims: V3): V3[] {
  const out: V3[] = [];
  for (let k = 0; k < dims[2]; k++)
    for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) out.push([i, j, k]);
  return out;
}

async function openAffinities(ctx: TaskContext, p: Common) {
  const vol = await Volume.open(p.aff, { mip: p.mip, storage: ctx.storage(p.aff) });
  const grid = gridOf(vol.bounds, p.shape as V3);
  return { vol, grid, core: coreBox(grid, p.shape as V3, p.block as V3) };
}

async function getObject(store: Storage, key: string, signal?: AbortSignal): Promise<Uint8Array> {
  const bytes = await store.get(key, { signal });
  if (!bytes)
    throw new WatershedStageError(
      `${store.url}/${key} is missing: run the watershed stage's phases in order (an earlier phase did not finish)`,
    );
  return bytes;
}

/** Phase 1 (relative thresholds): a block's smallest and largest affinity. */
export const watershedRangeTask = defineTask({
  name: "ws-range",
  params: commonParams,
  async run(p, ctx): Promise<{ lo: number; hi: number }> {
    const { vol, grid, core } = await openAffinities(ctx, p);
    const data = (await vol.read(core, { signal: ctx.signal })).data as Float32Array | Uint8Array;
    const [lo, hi] = await ctx.runKernel<[number, number]>(
      labelsKernels(),
      "affinityRange",
      [data],
      { transfer: [data.buffer as ArrayBuffer], signal: ctx.signal },
    );
    await ctx
      .storage(p.scratch)
      .put(`range/${linear(p.block, grid.blocks)}`, JSON.stringify({ lo, hi }), {
        signal: ctx.signal,
      });
    return { lo, hi };
  },
});

const rangeSchema = z.object({
  start: z.number(),
  step: z.number(),
  divisor: z.number(),
  length: z.number().int(),
});

/** Phase 2 (relative thresholds): a block's histogram on the dataset's range. */
export const watershedHistogramTask = defineTask({
  name: "ws-histogram",
  params: commonParams.extend({ range: rangeSchema }),
  async run(p, ctx): Promise<{ bins: number }> {
    const { vol, grid, core } = await openAffinities(ctx, p);
    const data = (await vol.read(core, { signal: ctx.signal })).data as Float32Array | Uint8Array;
    const h = await ctx.runKernel<{ bins: Uint32Array; counts: Float64Array }>(
      labelsKernels(),
      "affinityHistogram",
      [data, p.range],
      { transfer: [data.buffer as ArrayBuffer], signal: ctx.signal },
    );
    await ctx
      .storage(p.scratch)
      .put(
        `hist/${linear(p.block, grid.blocks)}`,
        packRecord({}, { bins: h.bins, counts: h.counts }),
        { signal: ctx.signal },
      );
    return { bins: h.bins.length };
  },
});

/** Phase 3: one block's watershed, its pieces written to the scratch layer, its faces to scratch. */
export const watershedBlockTask = defineTask({
  name: "ws-block",
  params: commonParams.extend({
    context: z.number().int().min(1),
    thresholds: thresholdsSchema,
  }),
  async run(p, ctx): Promise<{ pieces: number; regions: number }> {
    const { vol, grid, core } = await openAffinities(ctx, p);
    const ext = new Bbox(
      core.min.map((n, a) => Math.max(n - p.context, grid.bounds.min[a])) as V3,
      core.max.map((n, a) => Math.min(n + p.context, grid.bounds.max[a])) as V3,
    );
    const data = (await vol.read(ext, { signal: ctx.signal })).data as Float32Array | Uint8Array;
    const block = p.block as V3;
    const r = await ctx.runKernel<WatershedBlockResult>(
      labelsKernels(),
      "watershedBlock",
      [
        data,
        {
          ext: ext.size(),
          at: core.min.map((n, a) => n - ext.min[a]),
          core: core.size(),
          neighbours: [0, 1, 2, 3, 4, 5].map((s) =>
            s < 3 ? block[s] > 0 : block[s - 3] < grid.blocks[s - 3] - 1,
          ),
          offset: core.min.map((n, a) => n - grid.bounds.min[a]),
          size: grid.size,
          thresholds: p.thresholds as BlockThresholds,
        },
      ],
      { transfer: [data.buffer as ArrayBuffer], signal: ctx.signal },
    );
    const local = await Volume.open(localLayer(p.scratch), {
      storage: ctx.storage(localLayer(p.scratch)),
    });
    // A typed array of this realm over the worker's buffer.
    await local.write(core, fromTyped(new Uint32Array(r.local.buffer), core.size()), {
      signal: ctx.signal,
    });
    const arrays: Record<string, Uint32Array | Float64Array> = { first: r.first };
    r.faces.forEach((f, s) => {
      if (!f) return;
      arrays[`piece${s}`] = f.piece;
      arrays[`inner${s}`] = f.inner;
      arrays[`outer${s}`] = f.outer;
    });
    await ctx
      .storage(p.scratch)
      .put(`faces/${linear(block, grid.blocks)}`, packRecord({ count: r.count }, arrays), {
        signal: ctx.signal,
      });
    return { pieces: r.count, regions: r.regions };
  },
});

function faceOf(arrays: Record<string, Uint32Array | Float64Array>, side: number): BlockFace {
  return {
    piece: arrays[`piece${side}`] as Uint32Array,
    inner: arrays[`inner${side}`] as Uint32Array,
    outer: arrays[`outer${side}`] as Uint32Array,
  };
}

/** Face nodes of the connected-components reduce, one kind per axis. */
const FACE_KIND = [NodeKind.planeX, NodeKind.planeY, NodeKind.planeZ];

/**
 * Phase 4: a block's pieces linked to the pieces they continue, as the
 * connected-components stage's block record. The face between a lower
 * block A and this block is owned by this block: its nodes are A's pieces
 * on the face. A links each of those pieces to its node (from its own
 * faces); this block links its pieces to the nodes they match, and names
 * every node once so the reduce knows it.
 */
export const watershedMatchTask = defineTask({
  name: "ws-match",
  params: commonParams,
  async run(p, ctx): Promise<{ links: number }> {
    const { grid } = await openAffinities(ctx, p);
    const store = ctx.storage(p.scratch);
    const block = p.block as V3;
    const self = linear(block, grid.blocks);
    const own = unpackRecord<{ count: number }>(
      await getObject(store, `faces/${self}`, ctx.signal),
      `${store.url}/faces/${self}`,
    );
    const comp = (b: number, piece: number) => nodeKey(b, NodeKind.component, piece);
    const links: Array<[number, number]> = [];
    for (let axis = 0; axis < 3; axis++) {
      if (block[axis] < grid.blocks[axis] - 1) {
        // This block's high face: the nodes belong to the higher neighbour.
        const next = [...block] as V3;
        next[axis]++;
        const owner = linear(next, grid.blocks);
        for (const piece of new Set(faceOf(own.arrays, axis + 3).piece))
          if (piece !== 0) links.push([comp(self, piece), nodeKey(owner, FACE_KIND[axis], piece)]);
      }
      if (block[axis] > 0) {
        const prev = [...block] as V3;
        prev[axis]--;
        const b = linear(prev, grid.blocks);
        const lower = unpackRecord<{ count: number }>(
          await getObject(store, `faces/${b}`, ctx.signal),
          `${store.url}/faces/${b}`,
        );
        const lowFace = faceOf(lower.arrays, axis + 3);
        for (const piece of new Set(lowFace.piece))
          if (piece !== 0) {
            const node = nodeKey(self, FACE_KIND[axis], piece);
            links.push([node, node]);
          }
        const m = matchFace(lowFace, faceOf(own.arrays, axis));
        for (let e = 0; e < m.a.length; e++)
          links.push([comp(self, m.b[e]), nodeKey(self, FACE_KIND[axis], m.a[e])]);
      }
    }
    // Sorted and without repeats, so a rerun writes the same bytes.
    links.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    const pairA: number[] = [];
    const pairB: number[] = [];
    for (const [a, b] of links) {
      const last = pairA.length - 1;
      if (last >= 0 && pairA[last] === a && pairB[last] === b) continue;
      pairA.push(a);
      pairB.push(b);
    }
    await store.put(
      `blocks/${self}`,
      packRecord(
        { count: own.header.count },
        {
          minFirst: own.arrays.first as Float64Array,
          pairA: Float64Array.from(pairA),
          pairB: Float64Array.from(pairB),
        },
      ),
      { signal: ctx.signal },
    );
    return { links: pairA.length };
  },
});

/** The scratch layer of the blocks' local piece ids. */
function localLayer(scratch: string): string {
  return `${scratch.replace(/\/+$/, "")}/local`;
}

/** Options of {@link createWatershedTasks}; thresholds and sizes as in `watershed`. */
export interface WatershedTaskOptions extends CreateOptionsBase {
  /** Edges at or below it are cut. Default 0.1 (a quantile unless `absolute`). */
  low?: number;
  /** Edges at or above it always join. Default 0.8. */
  high?: number;
  /** (size, threshold) merge pairs. Default `[[800, 0.2]]`. */
  merge?: Array<[number, number]>;
  /** Regions under this many voxels (in a block's watershed) become background. Default 600. */
  dust?: number;
  /**
   * Thresholds are affinities. Default false: they are fractions, turned
   * into the quantiles of the whole layer's affinities (Watershed.jl's
   * relative thresholds), computed once by two phases over the layer.
   */
  absolute?: boolean;
  /** Block (core) shape, a multiple of the chunk size. Default: from `memoryTarget`. */
  shape?: Vec3;
  /** Voxels of context on every side of a block (clipped to the dataset). Default 16. */
  context?: number;
  /** Mip of the affinity layer. Default 0. */
  mip?: number;
  /** Where the phases keep their state. Default `<dest>/ws-scratch`. */
  scratch?: string;
  /** Keep the scratch objects (default: deleted by the last phase). */
  keepScratch?: boolean;
  /** Blocks per group side in the reduce. Default 4. */
  groupSize?: number;
  /** Output type: uint32, uint64, or auto (uint64 only when the ids need it). Default auto. */
  dataType?: "uint32" | "uint64" | "auto";
  /** Encoding of dest. Default compressed_segmentation. */
  encoding?: "raw" | "compressed_segmentation";
  /** Downsampled mips of the result (mode pooling). Default 0. */
  mips?: number;
  /** Bytes one task may hold; picks the block shape when `shape` is not given. Default 3.5 GB. */
  memoryTarget?: number;
}

/** Bytes a block task holds per voxel of its cutout (affinities, watershed, pieces, faces). */
const BYTES_PER_CUTOUT_VOXEL = 40;

function checkFraction(name: string, v: number): number {
  if (typeof v !== "number" || !(v >= 0 && v <= 1))
    throw new SegmentationOptionError(`${name} must be a number in [0, 1], got ${String(v)}`, name);
  return v;
}

/** The block shape: the chunk doubled in x, y, z in turn while the cutout fits. */
function defaultShape(chunk: V3, context: number, memory: number): V3 {
  const shape: V3 = [...chunk];
  const cost = (s: V3) => s.reduce((n, v) => n * (v + 2 * context), BYTES_PER_CUTOUT_VOXEL);
  for (let a = 0; ; a = (a + 1) % 3) {
    const next = [...shape] as V3;
    next[a] *= 2;
    if (cost(next) > memory || next[0] * next[1] * next[2] > 2 ** 25) return shape;
    shape[a] = next[a];
  }
}

/** Checks an existing dest's info against what the stage writes. */
async function checkDest(dest: string, aff: InfoJSON, mip: number, o: CreateOptionsBase) {
  let info: InfoJSON;
  try {
    info = await readInfo(storageFor(dest, o));
  } catch (e) {
    if (e instanceof InfoNotFoundError) return;
    throw e;
  }
  const want = aff.scales[mip];
  const have = info.scales[0];
  const problems: string[] = [];
  if (info.type !== "segmentation") problems.push(`type is ${info.type}, not segmentation`);
  if (info.num_channels !== 1) problems.push(`num_channels is ${info.num_channels}, not 1`);
  if (info.data_type !== "uint32" && info.data_type !== "uint64")
    problems.push(`data_type is ${info.data_type}, not uint32 or uint64`);
  for (const field of ["size", "voxel_offset", "resolution"] as const) {
    const a = JSON.stringify(have?.[field] ?? [0, 0, 0]);
    const b = JSON.stringify(want[field] ?? [0, 0, 0]);
    if (a !== b) problems.push(`scales[0].${field} is ${a}, the affinities' is ${b}`);
  }
  if (problems.length)
    throw new LayerMismatchError(
      `${dest} exists with another layout than a watershed of the affinities: ${problems.join("; ")}; give another dest or delete it`,
    );
}

/**
 * The watershed stage from the affinity layer `aff` to the segmentation
 * layer `dest`, as phases to run in order, each after the previous has
 * finished (`ngpipe seg watershed`, `"stage": "watershed"`). Everything is
 * checked, and the affinity layer's info read, before anything is written.
 */
export async function createWatershedTasks(
  aff: string,
  dest: string,
  o: WatershedTaskOptions = {},
): Promise<TaskPhase[]> {
  const mip = o.mip ?? 0;
  const info = await readInfo(storageFor(aff, o));
  const scale = scaleForMip(info, mip);
  if (info.num_channels !== 3)
    throw new LayerMismatchError(
      `${aff} has ${info.num_channels} channel(s); an affinity layer has 3 (x, y, z edges)`,
    );
  const dtype = info.data_type as DataType;
  if (dtype !== "float32" && dtype !== "uint8")
    throw new LayerMismatchError(
      `${aff} holds ${dtype}; affinities are float32, or uint8 (divided by 255)`,
    );
  const low = checkFraction("low", o.low ?? 0.1);
  const high = checkFraction("high", o.high ?? 0.8);
  const merge = (o.merge ?? [[800, 0.2]]).map(([size, t], i): [number, number] => {
    if (!(size >= 0))
      throw new SegmentationOptionError(
        `merge[${i}][0] (a size in voxels) must be >= 0, got ${size}`,
        `merge[${i}][0]`,
      );
    return [size, checkFraction(`merge[${i}][1]`, t)];
  });
  const dust = o.dust ?? 600;
  if (!(dust >= 0))
    throw new SegmentationOptionError(`dust must be a size in voxels >= 0, got ${dust}`, "dust");
  if (o.absolute && !(low < high))
    throw new SegmentationOptionError(`low (${low}) must be below high (${high})`, "low");
  const context = o.context ?? 16;
  if (!Number.isInteger(context) || context < 1)
    throw new WatershedStageError(
      `context must be a whole number of voxels >= 1 (the blocks' faces are matched in it), got ${context}`,
    );
  const chunk = scale.chunkSize as V3;
  const memory = o.memoryTarget ?? 3.5e9;
  const shape: V3 = o.shape
    ? [o.shape[0], o.shape[1], o.shape[2]]
    : defaultShape(chunk, context, memory);
  if (shape.some((n, a) => !Number.isInteger(n) || n <= 0 || n % chunk[a] !== 0))
    throw new WatershedStageError(
      `block shape [${shape.join(", ")}] must be a multiple of the chunk size [${chunk.join(", ")}] of ${aff} mip ${mip}`,
    );
  await checkDest(dest, info, mip, o);
  const grid = gridOf(scale.bounds, shape);
  const scratch = (o.scratch ?? `${dest.replace(/\/+$/, "")}/ws-scratch`).replace(/\/+$/, "");
  const store = storageFor(scratch, o);
  const blocks = positions(grid.blocks);
  const common = (block: V3): Common => ({ aff, scratch, mip, shape, block });

  await writeInfo(storageFor(localLayer(scratch), o), {
    "@type": "neuroglancer_multiscale_volume",
    type: "segmentation",
    data_type: "uint32",
    num_channels: 1,
    scales: [
      {
        key: scale.key,
        size: [...scale.size],
        voxel_offset: [...scale.voxelOffset],
        resolution: [...scale.resolution],
        chunk_sizes: [chunk],
        encoding: "raw",
      },
    ],
  });
  const ccl: ConnectedComponentsTaskOptions = {
    connectivity: 6,
    shape,
    scratch,
    keepScratch: o.keepScratch,
    groupSize: o.groupSize,
    dataType: o.dataType,
    encoding: o.encoding ?? "compressed_segmentation",
    mips: o.mips,
    memoryTarget: o.memoryTarget,
    storage: o.storage,
    storageOptions: o.storageOptions,
  };
  // Phase 1 of the connected-components stage labels its source's voxels;
  // here the match phase writes its records instead.
  const tail = (await createConnectedComponentsTasks(localLayer(scratch), dest, ccl)).filter(
    (phase) => phase.name !== "ccl blocks",
  );

  const phases: TaskPhase[] = [];
  if (!o.absolute) {
    phases.push({
      name: "watershed range",
      tasks: async () => taskList(blocks, (block) => watershedRangeTask.payload(common(block))),
    });
    phases.push({
      name: "watershed histogram",
      tasks: async () => {
        let lo = Number.POSITIVE_INFINITY;
        let hi = Number.NEGATIVE_INFINITY;
        for (const block of blocks) {
          const key = `range/${linear(block, grid.blocks)}`;
          const r = JSON.parse(new TextDecoder().decode(await getObject(store, key))) as {
            lo: number;
            hi: number;
          };
          lo = Math.min(lo, r.lo);
          hi = Math.max(hi, r.hi);
        }
        const range = histogramRange(lo, hi, RELATIVE_THRESHOLD_BINS);
        await store.put("hist/range.json", JSON.stringify(range));
        return taskList(blocks, (block) =>
          watershedHistogramTask.payload({ ...common(block), range }),
        );
      },
    });
  }
  phases.push({
    name: "watershed blocks",
    tasks: async () => {
      const thresholds = o.absolute
        ? {
            low: Math.fround(low),
            high: Math.fround(high),
            merge: merge.map(([s, t]): [number, number] => [s, Math.fround(t)]),
            dust,
          }
        : await relativeThresholds(store, blocks, grid, { low, high, merge, dust });
      if (!(thresholds.low < thresholds.high))
        throw new SegmentationOptionError(
          `low (${thresholds.low}) must be below high (${thresholds.high})${o.absolute ? "" : ": the affinities have too few distinct values for these quantiles"}`,
          "low",
        );
      await storageFor(dest, o).put(
        "watershed.json",
        JSON.stringify({ affinities: aff, mip, shape, context, thresholds }, null, 2),
      );
      return taskList(blocks, (block) =>
        watershedBlockTask.payload({ ...common(block), context, thresholds }),
      );
    },
  });
  phases.push({
    name: "watershed match",
    tasks: async () => taskList(blocks, (block) => watershedMatchTask.payload(common(block))),
  });
  return [...phases, ...tail];
}

/** The dataset's thresholds from the blocks' histograms (phase 2's records). */
async function relativeThresholds(
  store: Storage,
  blocks: V3[],
  grid: Grid,
  fractions: BlockThresholds,
): Promise<BlockThresholds> {
  const range = JSON.parse(
    new TextDecoder().decode(await getObject(store, "hist/range.json")),
  ) as HistogramRange;
  const counts = new Float64Array(range.length - 1);
  for (const block of blocks) {
    const key = `hist/${linear(block, grid.blocks)}`;
    const { arrays } = unpackRecord(await getObject(store, key), `${store.url}/${key}`);
    const bins = arrays.bins as Uint32Array;
    const c = arrays.counts as Float64Array;
    for (let k = 0; k < bins.length; k++) counts[bins[k]] += c[k];
  }
  return {
    low: quantileThreshold(counts, range, fractions.low),
    high: quantileThreshold(counts, range, fractions.high),
    merge: fractions.merge.map(([s, t]): [number, number] => [
      s,
      quantileThreshold(counts, range, t),
    ]),
    dust: fractions.dust,
  };
}
