/**
 * The region-graph and agglomeration stages: the region graph of a whole
 * supervoxel layer over its affinities (per block, merged in storage),
 * mean-affinity (or max) agglomeration over it into a remap table in
 * storage, and the agglomerated layer written by the remap stage. The
 * supervoxel layer, the graph and the table stay in storage: they are what
 * a split/merge service edits later.
 *
 * Storage layout (default under `DEST/agglomeration`):
 * - `region-graph/blocks/<b>`: each block's graph (scratch of the merge);
 * - `region-graph/edges`: the merged graph, a record with the arrays `a`,
 *   `b` (uint32, a < b, sorted by (a, b)), `sum`, `count`, `max` (float64:
 *   sum, number and maximum of the face affinities between a and b);
 *   read it with {@link readRegionGraph};
 * - `remap.bin`: the table, little-endian uint64 (from, to) pairs (the
 *   remap stage's `.bin` map format).
 */
import { Bbox, type DataType, readInfo, scaleForMip, type Vec3, Volume } from "@ngpipe/precomputed";
import { SegmentationOptionError } from "@ngpipe/segmentation";
import { openStorage, type Storage } from "@ngpipe/storage";
import { z } from "zod";
import { fileLocation } from "../labels/map-file";
import { packRecord, unpackRecord } from "../labels/records";
import { createRemapTasks } from "../labels/remap-stage";
import { labelsKernels } from "../labels-kernel-module";
import type { TaskPhase } from "../registry/stage";
import { defineTask, type TaskContext } from "../runtime";
import {
  type CreateOptionsBase,
  LayerMismatchError,
  StageError,
  storageFor,
} from "../stages/common";
import { createDownsampleTasks } from "../stages/downsample";
import { taskList } from "../tiling";
import type { StoredGraph } from "./graph-block";

/** A region graph in storage that is missing or damaged, or a supervoxel id beyond 32 bits. */
export class RegionGraphError extends StageError {
  override name = "RegionGraphError";
}

type V3 = [number, number, number];
const v3 = z.tuple([z.number().int(), z.number().int(), z.number().int()]);
const linear = ([i, j, k]: readonly number[], [nx, ny]: readonly number[]) => i + nx * (j + ny * k);

const LABEL_TYPES = ["uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"];

const graphParams = z.object({
  ws: z.string().min(1),
  aff: z.string().min(1),
  graph: z.string().min(1),
  mip: z.number().int().min(0),
  shape: v3,
  block: v3,
});

function graphRecord(g: StoredGraph): Uint8Array {
  return packRecord(
    { edges: g.a.length },
    { a: g.a, b: g.b, sum: g.sum, count: g.count, max: g.max },
  );
}

function graphOf(bytes: Uint8Array, where: string): StoredGraph {
  const { arrays } = unpackRecord(bytes, where);
  for (const k of ["a", "b", "sum", "count", "max"])
    if (!arrays[k]) throw new RegionGraphError(`${where} is not a region graph: no array "${k}"`);
  return {
    a: arrays.a as Uint32Array,
    b: arrays.b as Uint32Array,
    sum: arrays.sum as Float64Array,
    count: arrays.count as Float64Array,
    max: arrays.max as Float64Array,
  };
}

async function getObject(store: Storage, key: string, signal?: AbortSignal): Promise<Uint8Array> {
  const bytes = await store.get(key, { signal });
  if (!bytes)
    throw new RegionGraphError(
      `${store.url}/${key} is missing: run the stage's phases in order (an earlier phase did not finish)`,
    );
  return bytes;
}

async function blockGrid(ctx: TaskContext, p: z.output<typeof graphParams>) {
  const ws = await Volume.open(p.ws, { mip: p.mip, storage: ctx.storage(p.ws) });
  const size = ws.bounds.size();
  const blocks = [0, 1, 2].map((a) => Math.ceil(size[a] / p.shape[a])) as V3;
  return { ws, blocks };
}

/** Phase 1: one block's region graph (faces to its low neighbours included). */
export const regionGraphBlockTask = defineTask({
  name: "region-graph-block",
  params: graphParams,
  async run(p, ctx): Promise<{ edges: number }> {
    const { ws, blocks } = await blockGrid(ctx, p);
    const aff = await Volume.open(p.aff, { mip: p.mip, storage: ctx.storage(p.aff) });
    const min = p.block.map((n, a) => ws.bounds.min[a] + n * p.shape[a]) as V3;
    const max = min.map((n, a) => Math.min(n + p.shape[a], ws.bounds.max[a])) as V3;
    const start = p.block.map((n) => (n > 0 ? 1 : 0)) as V3;
    const box = new Bbox(min.map((n, a) => n - start[a]) as V3, max);
    const [labels, affinities] = await Promise.all([
      ws.read(box, { signal: ctx.signal }),
      aff.read(box, { signal: ctx.signal }),
    ]);
    const r = await ctx.runKernel<StoredGraph | { bad: number }>(
      labelsKernels(),
      "regionGraphBlock",
      [labels.data, affinities.data, box.size(), start],
      {
        transfer: [labels.data.buffer as ArrayBuffer, affinities.data.buffer as ArrayBuffer],
        signal: ctx.signal,
      },
    );
    if ("bad" in r) {
      const s = box.size();
      const i = r.bad;
      const at = [i % s[0], Math.floor(i / s[0]) % s[1], Math.floor(i / (s[0] * s[1]))].map(
        (n, a) => n + box.min[a],
      );
      throw new RegionGraphError(
        `${p.ws} has a negative id or one of 2^32 or more at (${at.join(", ")}) in ${box}: the region graph takes ids below 2^32`,
      );
    }
    await ctx
      .storage(p.graph)
      .put(`blocks/${linear(p.block, blocks)}`, graphRecord(r), { signal: ctx.signal });
    return { edges: r.a.length };
  },
});

/** Phase 2: the blocks' graphs merged into `edges`. */
export const regionGraphMergeTask = defineTask({
  name: "region-graph-merge",
  params: graphParams.omit({ block: true }),
  async run(p, ctx): Promise<{ edges: number }> {
    const { blocks } = await blockGrid(ctx, { ...p, block: [0, 0, 0] });
    const store = ctx.storage(p.graph);
    const parts: StoredGraph[] = [];
    for (let b = 0; b < blocks[0] * blocks[1] * blocks[2]; b++)
      parts.push(
        graphOf(await getObject(store, `blocks/${b}`, ctx.signal), `${store.url}/blocks/${b}`),
      );
    const merged = await ctx.runKernel<StoredGraph>(labelsKernels(), "mergeGraphs", [parts], {
      signal: ctx.signal,
    });
    await store.put("edges", graphRecord(merged), { signal: ctx.signal });
    return { edges: merged.a.length };
  },
});

/** Phase 3 of agglomeration: the merged graph agglomerated into a remap table. */
export const agglomerateTask = defineTask({
  name: "agglomerate",
  params: z.object({
    graph: z.string().min(1),
    table: z.string().min(1),
    threshold: z.number().min(0).max(1),
    method: z.enum(["mean", "max"]),
  }),
  async run(p, ctx): Promise<{ merged: number }> {
    const store = ctx.storage(p.graph);
    const graph = graphOf(await getObject(store, "edges", ctx.signal), `${store.url}/edges`);
    const r = await ctx.runKernel<{ bytes: Uint8Array; merged: number }>(
      labelsKernels(),
      "agglomerationMap",
      [graph, p.threshold, p.method],
      { signal: ctx.signal },
    );
    const { dir, key } = fileLocation(p.table);
    await ctx.storage(dir).put(key, r.bytes, { signal: ctx.signal });
    return { merged: r.merged };
  },
});

/**
 * The merged region graph of a graph directory written by the region-graph
 * stage (`<graph>/edges`).
 *
 * @example
 * ```ts
 * const g = await readRegionGraph("gs://lab/seg/agglomeration/region-graph");
 * // g.a[i] - g.b[i]: mean affinity g.sum[i] / g.count[i], maximum g.max[i]
 * ```
 */
export async function readRegionGraph(url: string, storage?: Storage): Promise<StoredGraph> {
  const store = storage ?? openStorage(url);
  return graphOf(await getObject(store, "edges"), `${store.url}/edges`);
}

/** Options of {@link createRegionGraphTasks}. */
export interface RegionGraphTaskOptions extends CreateOptionsBase {
  /** Where the graph goes (a directory). Default `<ws>/region-graph`. */
  graph?: string;
  /** Block shape, a multiple of the supervoxel layer's chunk size. Default: the chunk grown to about 2^24 voxels. */
  shape?: Vec3;
  /** Mip of both layers. Default 0. */
  mip?: number;
}

interface Checked {
  mip: number;
  shape: V3;
  graph: string;
}

/** Checks the two layers and the shape, before anything is written. */
async function checkLayers(
  ws: string,
  aff: string,
  graphDefault: string,
  o: RegionGraphTaskOptions,
): Promise<Checked> {
  const mip = o.mip ?? 0;
  const wsInfo = await readInfo(storageFor(ws, o));
  const affInfo = await readInfo(storageFor(aff, o));
  if (!LABEL_TYPES.includes(wsInfo.data_type) || wsInfo.num_channels !== 1)
    throw new LayerMismatchError(
      `${ws} holds ${wsInfo.num_channels} channel(s) of ${wsInfo.data_type}; supervoxels are one channel of integer ids`,
    );
  if (affInfo.num_channels !== 3)
    throw new LayerMismatchError(
      `${aff} has ${affInfo.num_channels} channel(s); an affinity layer has 3 (x, y, z edges)`,
    );
  if (affInfo.data_type !== "float32" && affInfo.data_type !== "uint8")
    throw new LayerMismatchError(
      `${aff} holds ${affInfo.data_type}; affinities are float32, or uint8 (divided by 255)`,
    );
  const s = scaleForMip(wsInfo, mip);
  const t = scaleForMip(affInfo, mip);
  if (!s.bounds.equals(t.bounds))
    throw new LayerMismatchError(
      `${ws} covers ${s.bounds} at mip ${mip} but ${aff} covers ${t.bounds}: the graph needs both over the same voxels`,
    );
  const chunk = s.chunkSize as V3;
  const shape: V3 = o.shape ? [o.shape[0], o.shape[1], o.shape[2]] : grow(chunk);
  if (shape.some((n, a) => !Number.isInteger(n) || n <= 0 || n % chunk[a] !== 0))
    throw new RegionGraphError(
      `block shape [${shape.join(", ")}] must be a multiple of the chunk size [${chunk.join(", ")}] of ${ws} mip ${mip}`,
    );
  return { mip, shape, graph: (o.graph ?? graphDefault).replace(/\/+$/, "") };
}

/** The chunk doubled in x, y, z in turn up to 2^24 voxels. */
function grow(chunk: V3): V3 {
  const shape: V3 = [...chunk];
  for (let a = 0; shape[0] * shape[1] * shape[2] * 2 <= 2 ** 24; a = (a + 1) % 3) shape[a] *= 2;
  return shape;
}

function graphPhases(ws: string, aff: string, c: Checked, wsInfoSize: V3): TaskPhase[] {
  const blocks = [0, 1, 2].map((a) => Math.ceil(wsInfoSize[a] / c.shape[a])) as V3;
  const positions: V3[] = [];
  for (let k = 0; k < blocks[2]; k++)
    for (let j = 0; j < blocks[1]; j++)
      for (let i = 0; i < blocks[0]; i++) positions.push([i, j, k]);
  const common = { ws, aff, graph: c.graph, mip: c.mip, shape: c.shape };
  return [
    {
      name: "region graph blocks",
      tasks: async () =>
        taskList(positions, (block) => regionGraphBlockTask.payload({ ...common, block })),
    },
    {
      name: "region graph merge",
      tasks: async () => taskList([common], (p) => regionGraphMergeTask.payload(p)),
    },
  ];
}

/**
 * The region graph of the supervoxel layer `ws` over the affinity layer
 * `aff`, as phases: per block (each face between blocks counted once),
 * then merged into `<graph>/edges`.
 */
export async function createRegionGraphTasks(
  ws: string,
  aff: string,
  o: RegionGraphTaskOptions = {},
): Promise<TaskPhase[]> {
  const c = await checkLayers(ws, aff, `${ws.replace(/\/+$/, "")}/region-graph`, o);
  const size = scaleForMip(await readInfo(storageFor(ws, o)), c.mip).size as V3;
  return graphPhases(ws, aff, c, size);
}

/** Options of {@link createAgglomerationTasks}. */
export interface AgglomerationTaskOptions extends RegionGraphTaskOptions {
  /** Merge while the best edge's score is >= threshold (an affinity in [0, 1]). */
  threshold: number;
  /** Mean affinity over the faces between regions (default, waterz's) or maximum. */
  method?: "mean" | "max";
  /** URL of the remap table written. Default `<dest>/agglomeration/remap.bin`. */
  table?: string;
  /** Data type of dest. Default: the supervoxel layer's. */
  dataType?: "uint32" | "uint64";
  /** Downsampled mips of dest (mode pooling). Default 0. */
  mips?: number;
}

/**
 * Agglomeration of the supervoxel layer `ws` into `dest`, as phases: the
 * region graph (graph default `<dest>/agglomeration/region-graph`), the
 * agglomeration into a remap table in storage, the remap stage from `ws` to
 * `dest` with that table (ids not in the graph, 0 among them, keep their
 * value), then dest's downsamples.
 */
export async function createAgglomerationTasks(
  ws: string,
  aff: string,
  dest: string,
  o: AgglomerationTaskOptions,
): Promise<TaskPhase[]> {
  const threshold = o?.threshold;
  if (typeof threshold !== "number" || !(threshold >= 0 && threshold <= 1))
    throw new SegmentationOptionError(
      `threshold must be an affinity in [0, 1], got ${String(threshold)}`,
      "threshold",
    );
  const method = o.method ?? "mean";
  if (method !== "mean" && method !== "max")
    throw new SegmentationOptionError(
      `method must be "mean" or "max", got ${String(method)}`,
      "method",
    );
  const base = `${dest.replace(/\/+$/, "")}/agglomeration`;
  const c = await checkLayers(ws, aff, `${base}/region-graph`, o);
  const wsInfo = await readInfo(storageFor(ws, o));
  const table = o.table ?? `${base}/remap.bin`;
  if (!table.endsWith(".bin"))
    throw new RegionGraphError(
      `the table is written as .bin (uint64 pairs); ${table} does not end in .bin`,
    );
  const dataType = o.dataType ?? (wsInfo.data_type as DataType);
  const phases = graphPhases(ws, aff, c, scaleForMip(wsInfo, c.mip).size as V3);
  phases.push({
    name: "agglomerate",
    tasks: async () =>
      taskList([c.graph], (graph) => agglomerateTask.payload({ graph, table, threshold, method })),
  });
  phases.push({
    name: "agglomerate remap",
    tasks: async () => {
      const [remap] = await createRemapTasks(ws, dest, {
        map: table,
        mip: c.mip,
        preserveMissing: true,
        dataType: dataType as "uint32" | "uint64",
        storage: o.storage,
        storageOptions: o.storageOptions,
      });
      return remap.tasks();
    },
  });
  if ((o.mips ?? 0) > 0)
    phases.push({
      name: "agglomerate downsample",
      tasks: () =>
        createDownsampleTasks(dest, {
          mips: o.mips,
          method: "mode",
          storage: o.storage,
          storageOptions: o.storageOptions,
        }),
    });
  return phases;
}
