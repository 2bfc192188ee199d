/**
 * The watershed stage: Watershed.jl's watershed of an affinity layer, block
 * by block with context, giving the regions one `watershed` call on the
 * whole volume gives. The steps of the watershed that depend only on the
 * affinities near a voxel (steepest ascent, plateaus, basins) run per block;
 * the size-dependent ones (merge, dust) run once over the dataset's basin
 * graph. Its phases keep their state in storage under the scratch URL:
 *
 *  1. rank counts, 2. rank values (relative thresholds only): the
 *     thresholds are the dataset's quantiles, computed once from counts of
 *     the affinities' bit patterns (watershed-thresholds.ts);
 *  3. blocks: each block's basins over its core plus `context` voxels on
 *     every side; the core's basins, split into 6-connected pieces, go to a
 *     scratch layer of local ids, and the layers on each side of its faces to
 *     `faces/<b>` (watershed-block.ts);
 *  4. match: each block joins its pieces to the pieces of its lower
 *     neighbours that continue them across a face, and writes the links as
 *     the connected-components stage's block record (`blocks/<b>`);
 *  5. the connected-components stage's reduce, number and relabel phases
 *     over those records number every basin of the dataset by its first
 *     voxel (Watershed.jl's basin numbering), into the scratch layer `basins`;
 *  6. graph, 7. merge, 8. write: the basin graph as sorted edge runs,
 *     Watershed.jl's merge and dust over it (one task reading the runs a
 *     page at a time, edge-runs.ts), and the regions written to dest
 *     (watershed-merge.ts);
 *     then downsampling and the removal of the scratch objects.
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
import { SegmentationOptionError } from "@ngpipe/segmentation";
import { z } from "zod";
import {
  type ConnectedComponentsTaskOptions,
  cclCleanupTask,
  createConnectedComponentsTasks,
  destInfo,
} from "../labels/ccl";
import { NodeKind, nodeKey } from "../labels/ccl-block";
import { packRecord, unpackRecord } from "../labels/records";
import { labelDownsamplePhases } from "../labels/sharded-output";
import { labelsKernels } from "../labels-kernel-module";
import type { TaskPhase } from "../registry/stage";
import { defineTask } from "../runtime";
import { type CreateOptionsBase, LayerMismatchError, storageFor } from "../stages/common";
import { taskList } from "../tiling";
import type { MergeLimits } from "./edge-runs";
import {
  type BlockFace,
  type BlockThresholds,
  matchFace,
  type WatershedBlockResult,
} from "./watershed-block";
import {
  basinLayer,
  type Common,
  commonParams,
  getJson,
  getObject,
  gridOf,
  linear,
  localLayer,
  openAffinities,
  positions,
  type V3,
  WatershedStageError,
} from "./watershed-common";
import { watershedGraphTask, watershedMergeTask, watershedWriteTask } from "./watershed-merge";
import { datasetThresholds, relativeThresholdPhases } from "./watershed-thresholds";

export { WatershedStageError } from "./watershed-common";

const thresholdsSchema = z.object({
  low: z.number(),
  high: z.number(),
  merge: z.array(z.tuple([z.number(), z.number()])),
  dust: z.number(),
});

/** Phase 3: one block's basins, its pieces written to the scratch layer, its faces to scratch. */
export const watershedBlockTask = defineTask({
  name: "ws-block",
  params: commonParams.extend({
    context: z.number().int().min(1),
    thresholds: thresholdsSchema,
  }),
  async run(p, ctx): Promise<{ pieces: number; basins: number }> {
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
    return { pieces: r.count, basins: r.basins };
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

/** Options of {@link createWatershedTasks}; thresholds and sizes as in `watershed`. */
export interface WatershedTaskOptions extends CreateOptionsBase {
  /** Edges at or below it are cut. Default 0.1 (a quantile unless `absolute`). */
  low?: number;
  /** Edges at or above it always join. Default 0.8. */
  high?: number;
  /** (size, threshold) merge pairs. Default `[[800, 0.2]]`. */
  merge?: Array<[number, number]>;
  /** Regions under this many voxels (in the whole dataset, after merging) become background. Default 600. */
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
  /**
   * The merge task's edge buffers: records (24 bytes) per page read from a
   * run, and runs merged at once; it holds at most `3 * page * fanIn`
   * records. Default `{ page: 16384, fanIn: 64 }`.
   */
  mergeLimits?: Partial<MergeLimits>;
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
  // The connected-components stage numbers the basins into a scratch layer;
  // its phase 1 (labelling a source's voxels) is replaced by the match
  // phase's records, and its cleanup by this stage's.
  const ccl: ConnectedComponentsTaskOptions = {
    connectivity: 6,
    shape,
    scratch,
    keepScratch: true,
    groupSize: o.groupSize,
    dataType: "uint32",
    encoding: "raw",
    memoryTarget: o.memoryTarget,
    storage: o.storage,
    storageOptions: o.storageOptions,
  };
  const numbering = (
    await createConnectedComponentsTasks(localLayer(scratch), basinLayer(scratch), ccl)
  ).filter((phase) => phase.name !== "ccl blocks");

  const fractions: BlockThresholds = { low, high, merge, dust };
  const phases: TaskPhase[] = o.absolute
    ? []
    : relativeThresholdPhases(store, blocks, grid, common, fractions);
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
        : await datasetThresholds(store, blocks, grid, fractions);
      if (!(thresholds.low < thresholds.high))
        throw new SegmentationOptionError(
          `low (${thresholds.low}) must be below high (${thresholds.high})${o.absolute ? "" : ": the affinities have too few distinct values for these quantiles"}`,
          "low",
        );
      const record = JSON.stringify({ affinities: aff, mip, shape, context, thresholds }, null, 2);
      await storageFor(dest, o).put("watershed.json", record);
      await store.put("thresholds.json", JSON.stringify(thresholds));
      return taskList(blocks, (block) =>
        watershedBlockTask.payload({ ...common(block), context, thresholds }),
      );
    },
  });
  phases.push({
    name: "watershed match",
    tasks: async () => taskList(blocks, (block) => watershedMatchTask.payload(common(block))),
  });
  phases.push(...numbering);
  phases.push({
    name: "watershed graph",
    tasks: async () => taskList(blocks, (block) => watershedGraphTask.payload(common(block))),
  });
  phases.push({
    name: "watershed merge",
    tasks: async () => {
      const t = await getJson<BlockThresholds>(store, "thresholds.json");
      return taskList([blocks[0]], (block) =>
        watershedMergeTask.payload({
          ...common(block),
          merge: t.merge,
          dust: t.dust,
          page: o.mergeLimits?.page,
          fanIn: o.mergeLimits?.fanIn,
        }),
      );
    },
  });
  phases.push({
    name: "watershed write",
    tasks: async () => {
      // Regions are unions of basins, whose ids the scratch layer holds as uint32.
      const wide = o.dataType === "uint64";
      await writeInfo(
        storageFor(dest, o),
        destInfo(info, mip, wide ? "uint64" : "uint32", o.encoding ?? "compressed_segmentation"),
      );
      return taskList(blocks, (block) => watershedWriteTask.payload({ ...common(block), dest }));
    },
  });
  phases.push(...labelDownsamplePhases("watershed downsample", dest, o.mips ?? 0, o));
  if (!o.keepScratch)
    phases.push({
      name: "watershed cleanup",
      tasks: async () => taskList([scratch], (s) => cclCleanupTask.payload({ scratch: s })),
    });
  return phases;
}
