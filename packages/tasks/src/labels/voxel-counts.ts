/**
 * Dataset-wide voxel counts per label, merged in storage: per block counts,
 * merged in groups of blocks level by level, and written as a table in
 * chunks of at most 65536 labels (`index.json` + `chunk-<k>`), so a million
 * labels do not become a million files. Ids are read as uint64 bit patterns.
 *
 * ```ts
 * for (const phase of await createVoxelCountTasks("gs://lab/seg", { dest: "gs://lab/seg/voxel-counts" }))
 *   for (const payload of await phase.tasks()) await executeTask(payload);
 * const { ids, counts } = await readVoxelCounts("gs://lab/seg/voxel-counts");
 * ```
 */
import { Bbox, readInfo, scaleForMip, type TypedArray, Volume } from "@ngpipe/precomputed";
import type { VoxelCounts } from "@ngpipe/segmentation";
import { openStorage, type Storage } from "@ngpipe/storage";
import { z } from "zod";
import { labelsKernels } from "../labels-kernel-module";
import type { TaskPhase } from "../registry/stage";
import { defineTask } from "../runtime";
import {
  blockShape,
  type CreateOptionsBase,
  LayerMismatchError,
  StageError,
  storageFor,
} from "../stages/common";
import { taskList } from "../tiling";
import { cclCleanupTask } from "./ccl";
import { blocksPerAxis, gridPositions, linear, type V3 } from "./grid";
import { packRecord, unpackRecord } from "./records";

/** A voxel-count table that is missing or damaged. */
export class VoxelCountsError extends StageError {
  override name = "VoxelCountsError";
}

/** Labels per chunk of the final table. */
export const COUNT_CHUNK = 65536;

/** A count table: ids as (low, high) words, ascending by (high, low), and their counts. */
export interface CountTable {
  lo: Uint32Array;
  hi: Uint32Array;
  counts: Float64Array;
}

/** Merge tables, adding the counts of equal ids; the result is sorted. */
export function mergeCounts(tables: CountTable[]): CountTable {
  const n = tables.reduce((s, t) => s + t.lo.length, 0);
  const lo = new Uint32Array(n);
  const hi = new Uint32Array(n);
  const c = new Float64Array(n);
  let at = 0;
  for (const t of tables) {
    lo.set(t.lo, at);
    hi.set(t.hi, at);
    c.set(t.counts, at);
    at += t.lo.length;
  }
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => hi[a] - hi[b] || lo[a] - lo[b],
  );
  const out: CountTable = {
    lo: new Uint32Array(n),
    hi: new Uint32Array(n),
    counts: new Float64Array(n),
  };
  let m = -1;
  for (const i of order) {
    if (m >= 0 && out.lo[m] === lo[i] && out.hi[m] === hi[i]) out.counts[m] += c[i];
    else {
      m++;
      out.lo[m] = lo[i];
      out.hi[m] = hi[i];
      out.counts[m] = c[i];
    }
  }
  return {
    lo: out.lo.slice(0, m + 1),
    hi: out.hi.slice(0, m + 1),
    counts: out.counts.slice(0, m + 1),
  };
}

/** A kernel's countVoxels result as a count table. */
function tableOf(r: VoxelCounts): CountTable {
  const ids = r.ids as TypedArray;
  const n = ids.length;
  if (ids.BYTES_PER_ELEMENT === 8) {
    const w = new Uint32Array(ids.buffer, ids.byteOffset, 2 * n);
    const lo = new Uint32Array(n);
    const hi = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      lo[i] = w[2 * i];
      hi[i] = w[2 * i + 1];
    }
    return mergeCounts([{ lo, hi, counts: r.counts }]);
  }
  const mask = 2 ** (8 * ids.BYTES_PER_ELEMENT) - 1;
  const lo = Uint32Array.from(ids as ArrayLike<number>, (v) => Number(v) & mask);
  return mergeCounts([{ lo, hi: new Uint32Array(n), counts: r.counts }]);
}

const params = z.object({
  layer: z.string().min(1),
  scratch: z.string().min(1),
  dest: z.string().min(1),
  mip: z.number().int().min(0),
  shape: z.tuple([
    z.number().int().positive(),
    z.number().int().positive(),
    z.number().int().positive(),
  ]),
  groupSize: z.number().int().min(2),
});

async function layerGrid(url: string, mip: number, shape: V3, storage: Storage) {
  const vol = await Volume.open(url, { mip, storage });
  const size = vol.bounds.size() as V3;
  return { vol, blocks: blocksPerAxis(size, shape) };
}

/** Phase 1: one block's counts. */
export const voxelCountBlockTask = defineTask({
  name: "voxel-count-block",
  params: params.extend({ block: z.tuple([z.number().int(), z.number().int(), z.number().int()]) }),
  async run(p, ctx): Promise<{ labels: number }> {
    const { vol, blocks } = await layerGrid(p.layer, p.mip, p.shape, ctx.storage(p.layer));
    const min = p.block.map((n, a) => vol.bounds.min[a] + n * p.shape[a]) as V3;
    const box = new Bbox(min, min.map((n, a) => Math.min(n + p.shape[a], vol.bounds.max[a])) as V3);
    const cut = await vol.read(box, { signal: ctx.signal });
    const r = await ctx.runKernel<VoxelCounts>(labelsKernels(), "countVoxels", [cut.data], {
      transfer: [cut.data.buffer as ArrayBuffer],
      signal: ctx.signal,
    });
    const t = tableOf(r);
    await ctx
      .storage(p.scratch)
      .put(`level-0/${linear(p.block, blocks)}`, packRecord({}, { ...t }), {
        signal: ctx.signal,
      });
    return { labels: t.lo.length };
  },
});

/** Phase 2: merge the tables of a group of g^3 blocks (or groups); the last level writes the final table. */
export const voxelCountMergeTask = defineTask({
  name: "voxel-count-merge",
  params: params.extend({
    level: z.number().int().min(1),
    group: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
    last: z.boolean(),
  }),
  async run(p, ctx): Promise<{ labels: number }> {
    const { blocks } = await layerGrid(p.layer, p.mip, p.shape, ctx.storage(p.layer));
    const dims = (level: number) => blocks.map((n) => Math.ceil(n / p.groupSize ** level)) as V3;
    const below = dims(p.level - 1);
    const store = ctx.storage(p.scratch);
    const tables: CountTable[] = [];
    const lo = p.group.map((n) => n * p.groupSize);
    for (let k = lo[2]; k < Math.min(lo[2] + p.groupSize, below[2]); k++)
      for (let j = lo[1]; j < Math.min(lo[1] + p.groupSize, below[1]); j++)
        for (let i = lo[0]; i < Math.min(lo[0] + p.groupSize, below[0]); i++) {
          const key = `level-${p.level - 1}/${linear([i, j, k], below)}`;
          const bytes = await store.get(key, { signal: ctx.signal });
          if (!bytes)
            throw new VoxelCountsError(`${store.url}/${key} is missing: run the phases in order`);
          const { arrays } = unpackRecord(bytes, `${store.url}/${key}`);
          tables.push(arrays as unknown as CountTable);
        }
    const t = mergeCounts(tables);
    if (!p.last) {
      await store.put(
        `level-${p.level}/${linear(p.group, dims(p.level))}`,
        packRecord({}, { ...t }),
        { signal: ctx.signal },
      );
      return { labels: t.lo.length };
    }
    const out = ctx.storage(p.dest);
    const chunks: { first: string; labels: number }[] = [];
    for (let at = 0, k = 0; at < t.lo.length || k === 0; at += COUNT_CHUNK, k++) {
      const end = Math.min(at + COUNT_CHUNK, t.lo.length);
      const part = {
        lo: t.lo.slice(at, end),
        hi: t.hi.slice(at, end),
        counts: t.counts.slice(at, end),
      };
      await out.put(`chunk-${k}`, packRecord({}, part), { signal: ctx.signal });
      chunks.push({ first: end > at ? idString(t.lo[at], t.hi[at]) : "0", labels: end - at });
    }
    const voxels = t.counts.reduce((s, v) => s + v, 0);
    await out.put("index.json", JSON.stringify({ labels: t.lo.length, voxels, chunks }), {
      signal: ctx.signal,
    });
    return { labels: t.lo.length };
  },
});

function idString(lo: number, hi: number): string {
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** Options of {@link createVoxelCountTasks}. */
export interface VoxelCountOptions extends CreateOptionsBase {
  /** Where the table goes. Default `<layer>/voxel-counts`. */
  dest?: string;
  mip?: number;
  /** Block shape (a multiple of the chunk size). Default as the maintenance stages. */
  shape?: [number, number, number];
  /** Blocks (or groups) per group side in the merge. Default 8. */
  groupSize?: number;
  /** Where the intermediate tables go (deleted at the end). Default `<dest>-scratch`. */
  scratch?: string;
}

/** The voxel-count stage of a label layer as phases: count blocks, merge level by level, clean up. */
export async function createVoxelCountTasks(
  layer: string,
  o: VoxelCountOptions = {},
): Promise<TaskPhase[]> {
  const mip = o.mip ?? 0;
  const info = await readInfo(storageFor(layer, o));
  if (info.data_type.startsWith("float"))
    throw new LayerMismatchError(`voxel counts are per label; ${layer} holds ${info.data_type}`);
  const scale = scaleForMip(info, mip);
  const shape = (o.shape ?? blockShape(scale.chunkSize, info.data_type, info.num_channels)) as V3;
  const groupSize = o.groupSize ?? 8;
  const dest = o.dest ?? `${layer.replace(/\/+$/, "")}/voxel-counts`;
  const scratch = o.scratch ?? `${dest}-scratch`;
  const blocks = blocksPerAxis(scale.size, shape);
  const common = { layer, scratch, dest, mip, shape, groupSize };
  const phases: TaskPhase[] = [
    {
      name: "count blocks",
      tasks: async () =>
        taskList(gridPositions(blocks), (block) =>
          voxelCountBlockTask.payload({ ...common, block }),
        ),
    },
  ];
  let level = 1;
  for (;;) {
    const dims = blocks.map((n) => Math.ceil(n / groupSize ** level)) as V3;
    const last = dims.every((n) => n === 1);
    const at = level;
    phases.push({
      name: `count merge level ${at}`,
      tasks: async () =>
        taskList(gridPositions(dims), (group) =>
          voxelCountMergeTask.payload({ ...common, level: at, group, last }),
        ),
    });
    if (last) break;
    level++;
  }
  phases.push({
    name: "count cleanup",
    tasks: async () => taskList([scratch], (s) => cclCleanupTask.payload({ scratch: s })),
  });
  return phases;
}

/** A voxel-count table read back: ids (uint64) ascending and their counts. */
export interface VoxelCountTable {
  ids: BigUint64Array;
  counts: Float64Array;
  /** Total voxels counted. */
  voxels: number;
}

async function readIndex(store: Storage, url: string) {
  const bytes = await store.get("index.json");
  if (!bytes)
    throw new VoxelCountsError(
      `${url}/index.json is missing: no voxel counts there (run count-voxels)`,
    );
  return JSON.parse(new TextDecoder().decode(bytes)) as {
    labels: number;
    voxels: number;
    chunks: { first: string; labels: number }[];
  };
}

/** Read a whole voxel-count table written by the count-voxels stage. */
export async function readVoxelCounts(url: string, storage?: Storage): Promise<VoxelCountTable> {
  const store = storage ?? openStorage(url);
  const index = await readIndex(store, url);
  const ids = new BigUint64Array(index.labels);
  const words = new Uint32Array(ids.buffer);
  const counts = new Float64Array(index.labels);
  let at = 0;
  for (let k = 0; k < index.chunks.length; k++) {
    const part = await readChunk(store, url, k);
    for (let i = 0; i < part.lo.length; i++) {
      words[2 * (at + i)] = part.lo[i];
      words[2 * (at + i) + 1] = part.hi[i];
    }
    counts.set(part.counts, at);
    at += part.lo.length;
  }
  return { ids, counts, voxels: index.voxels };
}

async function readChunk(store: Storage, url: string, k: number): Promise<CountTable> {
  const bytes = await store.get(`chunk-${k}`);
  if (!bytes) throw new VoxelCountsError(`${url}/chunk-${k} is missing`);
  return unpackRecord(bytes, `${url}/chunk-${k}`).arrays as unknown as CountTable;
}

/**
 * Look up the counts of some ids, reading only the chunks that can hold
 * them (what a dust task does with its block's ids). Absent ids count 0.
 */
export async function lookupVoxelCounts(
  url: string,
  lo: Uint32Array,
  hi: Uint32Array,
  storage?: Storage,
): Promise<Float64Array> {
  const store = storage ?? openStorage(url);
  const index = await readIndex(store, url);
  const firsts = index.chunks.map((c) => BigInt(c.first));
  const out = new Float64Array(lo.length);
  const cache = new Map<number, CountTable>();
  for (let i = 0; i < lo.length; i++) {
    const id = (BigInt(hi[i]) << 32n) | BigInt(lo[i]);
    let k = 0;
    while (k + 1 < firsts.length && firsts[k + 1] <= id) k++;
    let part = cache.get(k);
    if (!part) {
      part = await readChunk(store, url, k);
      cache.set(k, part);
    }
    let a = 0;
    let b = part.lo.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (part.hi[m] < hi[i] || (part.hi[m] === hi[i] && part.lo[m] < lo[i])) a = m + 1;
      else b = m;
    }
    if (a < part.lo.length && part.lo[a] === lo[i] && part.hi[a] === hi[i]) out[i] = part.counts[a];
  }
  return out;
}
