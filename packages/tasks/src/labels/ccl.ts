/**
 * The connected-components stage: labels across a whole dataset, identical
 * to `connectedComponents` run on the whole volume at once, in phases whose
 * state is objects in storage (docs/segmentation.md draws them):
 *
 *  1. blocks: per block, local components, their first voxels and the
 *     equivalences to the nodes shared with the neighbours (ccl-block.ts);
 *  2. reduce, one phase per level: union-find over groups of g^3 blocks,
 *     then of g^3 groups, ... (reduce.ts); a class closes at the smallest
 *     group that holds all of it;
 *  3. number: per z-slab of blocks, the sorted first voxels of the classes
 *     whose first voxel lies in the slab; a class's final id is 1 + the
 *     number of first voxels before its own in the dataset's scan;
 *  4. relabel: per block, local components -> final ids, written to dest;
 *  5. downsample (mode) of dest, and 6. deletion of the scratch objects.
 */
import {
  Bbox,
  bytesPerVoxel,
  type DataType,
  fromTyped,
  type InfoJSON,
  readInfo,
  scaleForMip,
  type Vec3,
  Volume,
  writeInfo,
} from "@ngpipe/precomputed";
import type { Storage } from "@ngpipe/storage";
import { z } from "zod";
import { labelsKernels } from "../labels-kernel-module";
import type { TaskPhase } from "../registry/stage";
import { defineTask, type TaskContext } from "../runtime";
import {
  type CreateOptionsBase,
  LayerMismatchError,
  StageError,
  storageFor,
} from "../stages/common";
import { backgroundSchema, backgroundValue } from "../stages/downsample";
import type { ShardedOutputOptions } from "../stages/sharding";
import { taskList } from "../tiling";
import type { CclBlockResult } from "./ccl-block";
import { blocksPerAxis, gridPositions, linear, type V3 } from "./grid";
import { packRecord, unpackRecord } from "./records";
import { type ReduceMember, reduceGroup } from "./reduce";
import { labelDownsamplePhases, planLabelSharding } from "./sharded-output";

/** Bad options of the connected-components stage (block shape, connectivity, dtype). */
export class ConnectedComponentsError extends StageError {
  override name = "ConnectedComponentsError";
}

const v3 = z.tuple([z.number().int(), z.number().int(), z.number().int()]);

/** What every task of the stage knows: the layers, the blocks, the labelling. */
const commonParams = z.object({
  src: z.string().min(1),
  scratch: z.string().min(1),
  mip: z.number().int().min(0).default(0),
  /** Block shape, voxels. */
  shape: v3,
  connectivity: z.union([z.literal(6), z.literal(18), z.literal(26)]),
  background: backgroundSchema.default(0),
  threshold: z.tuple([z.number(), z.number()]).optional(),
  /** Blocks per group side at every reduce level. */
  groupSize: z.number().int().min(2),
});
type Common = z.output<typeof commonParams>;

/** The block grid of a layer: bounds, size, and how many blocks per axis. */
interface Grid {
  bounds: Bbox;
  size: V3;
  blocks: V3;
}

function gridOf(bounds: Bbox, shape: V3): Grid {
  const size = bounds.size() as V3;
  return { bounds, size, blocks: blocksPerAxis(size, shape) };
}

/** The core box of block (i, j, k). */
function coreBox(g: Grid, shape: V3, [i, j, k]: V3): Bbox {
  const min = [i, j, k].map((n, a) => g.bounds.min[a] + n * shape[a]) as V3;
  const max = min.map((n, a) => Math.min(n + shape[a], g.bounds.max[a])) as V3;
  return new Bbox(min, max);
}

/** Groups per axis at reduce `level` (level 0 groups blocks). */
function groupsAt(g: Grid, groupSize: number, level: number): V3 {
  const span = groupSize ** (level + 1);
  return g.blocks.map((n) => Math.ceil(n / span)) as V3;
}

/** Number of reduce levels: the last one is a single group. */
function reduceLevels(blocks: V3, groupSize: number): number {
  let levels = 1;
  while (Math.max(...blocks) > groupSize ** levels) levels++;
  return levels;
}

const unlinear = (b: number, [nx, ny]: readonly number[]): V3 => [
  b % nx,
  Math.floor(b / nx) % ny,
  Math.floor(b / (nx * ny)),
];

async function getRecord(store: Storage, key: string, signal: AbortSignal) {
  const bytes = await store.get(key, { signal });
  if (!bytes)
    throw new ConnectedComponentsError(
      `${store.url}/${key} is missing: run the stage's phases in order (an earlier phase did not finish)`,
    );
  return unpackRecord<Record<string, number>>(bytes, `${store.url}/${key}`);
}

async function openSource(ctx: TaskContext, p: Common): Promise<{ vol: Volume; grid: Grid }> {
  const vol = await Volume.open(p.src, { mip: p.mip, storage: ctx.storage(p.src) });
  return { vol, grid: gridOf(vol.bounds, p.shape) };
}

function labellingOf(p: Common, dtype: DataType) {
  return {
    connectivity: p.connectivity,
    background: backgroundValue(p.background, dtype),
    threshold: p.threshold,
  };
}

/** Phase 1: one block's components and equivalences. */
export const cclBlockTask = defineTask({
  name: "ccl-block",
  params: commonParams.extend({ block: v3 }),
  async run(p, ctx): Promise<{ components: number }> {
    const { vol, grid } = await openSource(ctx, p);
    const core = coreBox(grid, p.shape, p.block as V3);
    // +1 voxel on each high face that has a neighbour block.
    const ext = new Bbox(
      core.min,
      core.max.map((n, a) => Math.min(n + 1, grid.bounds.max[a])) as V3,
    );
    const cut = await vol.read(ext, { signal: ctx.signal });
    const data = cut.data;
    const r = await ctx.runKernel<CclBlockResult>(
      labelsKernels(),
      "cclBlock",
      [
        data,
        {
          ...labellingOf(p, vol.dataType),
          core: core.size(),
          ext: ext.size(),
          block: p.block,
          grid: grid.blocks,
          offset: core.min.map((n, a) => n - grid.bounds.min[a]),
          size: grid.size,
        },
      ],
      { transfer: [data.buffer as ArrayBuffer], signal: ctx.signal },
    );
    const store = ctx.storage(p.scratch);
    await store.put(
      `blocks/${linear(p.block, grid.blocks)}`,
      packRecord({ count: r.count }, { minFirst: r.first, pairA: r.edgeA, pairB: r.edgeB }),
      { signal: ctx.signal },
    );
    return { components: r.count };
  },
});

function memberOf(arrays: Record<string, Uint32Array | Float64Array>, count: number): ReduceMember {
  return {
    count,
    minFirst: arrays.minFirst as Float64Array,
    extComp: (arrays.extComp as Uint32Array) ?? new Uint32Array(0),
    extNode: (arrays.extNode as Float64Array) ?? new Float64Array(0),
    pairA: (arrays.pairA as Float64Array) ?? new Float64Array(0),
    pairB: (arrays.pairB as Float64Array) ?? new Float64Array(0),
    expNode: (arrays.expNode as Float64Array) ?? new Float64Array(0),
    expComp: (arrays.expComp as Uint32Array) ?? new Uint32Array(0),
  };
}

/** The members (blocks or groups of the level below) of group `group` at `level`, as grid positions. */
function membersOf(g: Grid, groupSize: number, level: number, group: V3): { pos: V3[]; dims: V3 } {
  const dims = level === 0 ? g.blocks : groupsAt(g, groupSize, level - 1);
  const pos: V3[] = [];
  const lo = group.map((n) => n * groupSize);
  const hi = lo.map((n, a) => Math.min(n + groupSize, dims[a]));
  for (let k = lo[2]; k < hi[2]; k++)
    for (let j = lo[1]; j < hi[1]; j++) for (let i = lo[0]; i < hi[0]; i++) pos.push([i, j, k]);
  return { pos, dims };
}

/** Phase 2, one group of one level. */
export const cclReduceTask = defineTask({
  name: "ccl-reduce",
  params: commonParams.extend({ level: z.number().int().min(0), group: v3 }),
  async run(p, ctx): Promise<{ open: number; closed: number }> {
    const { grid } = await openSource(ctx, p);
    const store = ctx.storage(p.scratch);
    const { pos, dims } = membersOf(grid, p.groupSize, p.level, p.group as V3);
    const members = await Promise.all(
      pos.map(async (m) => {
        const key =
          p.level === 0 ? `blocks/${linear(m, dims)}` : `reduce/${p.level - 1}/${linear(m, dims)}`;
        const { header, arrays } = await getRecord(store, key, ctx.signal);
        return memberOf(arrays, header.count);
      }),
    );
    const span = p.groupSize ** (p.level + 1);
    const lo = p.group.map((n) => n * span);
    const hi = lo.map((n, a) => Math.min(n + span, grid.blocks[a]));
    const r = reduceGroup(
      members,
      {
        contains: (b) => {
          const c = unlinear(b, grid.blocks);
          return c.every((n, a) => n >= lo[a] && n < hi[a]);
        },
        onLowFace: (b) => {
          const c = unlinear(b, grid.blocks);
          return c.some((n, a) => n === lo[a] && lo[a] > 0);
        },
      },
      p.level === 0 ? pos.map((m) => linear(m, dims)) : undefined,
    );
    const mapOffsets = new Uint32Array(r.maps.length + 1);
    r.maps.forEach((m, i) => {
      mapOffsets[i + 1] = mapOffsets[i] + m.length;
    });
    const map = new Float64Array(mapOffsets[r.maps.length]);
    for (const [i, m] of r.maps.entries()) map.set(m, mapOffsets[i]);
    await store.put(
      `reduce/${p.level}/${linear(p.group, groupsAt(grid, p.groupSize, p.level))}`,
      packRecord(
        { count: r.up.count },
        {
          minFirst: r.up.minFirst,
          extComp: r.up.extComp,
          extNode: r.up.extNode,
          pairA: r.up.pairA,
          pairB: r.up.pairB,
          expNode: r.up.expNode,
          expComp: r.up.expComp,
          closed: r.closed,
          map,
          mapOffsets,
        },
      ),
      { signal: ctx.signal },
    );
    return { open: r.up.count, closed: r.closed.length };
  },
});

/** Phase 3, one z-slab of blocks: the sorted first voxels of the classes that start in it. */
export const cclNumberTask = defineTask({
  name: "ccl-number",
  params: commonParams.extend({ slab: z.number().int().min(0), levels: z.number().int().min(1) }),
  async run(p, ctx): Promise<{ components: number }> {
    const { grid } = await openSource(ctx, p);
    const store = ctx.storage(p.scratch);
    const plane = grid.size[0] * grid.size[1];
    const from = p.slab * p.shape[2] * plane;
    const to = Math.min(grid.size[2], (p.slab + 1) * p.shape[2]) * plane;
    const found: Float64Array[] = [];
    for (let level = 0; level < p.levels; level++) {
      const dims = groupsAt(grid, p.groupSize, level);
      const gk = Math.floor(p.slab / p.groupSize ** (level + 1));
      for (let gj = 0; gj < dims[1]; gj++)
        for (let gi = 0; gi < dims[0]; gi++) {
          const { arrays } = await getRecord(
            store,
            `reduce/${level}/${linear([gi, gj, gk], dims)}`,
            ctx.signal,
          );
          const closed = arrays.closed as Float64Array;
          found.push(closed.subarray(lowerBound(closed, from), lowerBound(closed, to)));
        }
    }
    const all = new Float64Array(found.reduce((n, a) => n + a.length, 0));
    let at = 0;
    for (const a of found) {
      all.set(a, at);
      at += a.length;
    }
    all.sort();
    await store.put(`number/${p.slab}`, packRecord({ count: all.length }, { first: all }), {
      signal: ctx.signal,
    });
    return { components: all.length };
  },
});

/** Index of the first element >= v in a sorted array. */
function lowerBound(a: Float64Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Phase 4, one block: final ids written to dest. */
export const cclRelabelTask = defineTask({
  name: "ccl-relabel",
  params: commonParams.extend({
    dest: z.string().min(1),
    block: v3,
    levels: z.number().int().min(1),
  }),
  async run(p, ctx): Promise<{ voxels: number }> {
    const { vol, grid } = await openSource(ctx, p);
    const store = ctx.storage(p.scratch);
    const dest = await Volume.open(p.dest, { mip: 0, storage: ctx.storage(p.dest) });
    const box = coreBox(grid, p.shape, p.block as V3);
    const b = linear(p.block, grid.blocks);
    const { header } = await getRecord(store, `blocks/${b}`, ctx.signal);
    // Follow each local component up the reduce levels until its class
    // closes: `at` is its index among the open classes of the current level.
    const count = header.count;
    const firstOf = new Float64Array(count).fill(-1);
    const at = Float64Array.from({ length: count }, (_, l) => l);
    let pos: V3 = [...(p.block as V3)];
    let dims = grid.blocks;
    for (let level = 0; level < p.levels; level++) {
      const group = pos.map((n) => Math.floor(n / p.groupSize)) as V3;
      const gdims = groupsAt(grid, p.groupSize, level);
      const { arrays } = await getRecord(
        store,
        `reduce/${level}/${linear(group, gdims)}`,
        ctx.signal,
      );
      const lo = group.map((n) => n * p.groupSize);
      const hi = lo.map((n, a) => Math.min(n + p.groupSize, dims[a]));
      const member = linear(
        pos.map((n, a) => n - lo[a]),
        hi.map((n, a) => n - lo[a]),
      );
      const start = (arrays.mapOffsets as Uint32Array)[member];
      const map = arrays.map as Float64Array;
      for (let l = 0; l < count; l++) {
        if (firstOf[l] >= 0) continue;
        const e = map[start + at[l]];
        if (e >= 0) firstOf[l] = e;
        else at[l] = -e - 1;
      }
      pos = group;
      dims = gdims;
    }
    const offsets = JSON.parse(
      new TextDecoder().decode(
        (await store.get("number/offsets.json", { signal: ctx.signal })) ?? undefined,
      ),
    ) as { offsets: number[] };
    const table = new Float64Array(count + 1);
    const plane = grid.size[0] * grid.size[1];
    const slabs = new Map<number, Float64Array>();
    for (let l = 0; l < count; l++) {
      const slab = Math.floor(Math.floor(firstOf[l] / plane) / p.shape[2]);
      let first = slabs.get(slab);
      if (!first) {
        first = (await getRecord(store, `number/${slab}`, ctx.signal)).arrays.first as Float64Array;
        slabs.set(slab, first);
      }
      table[l + 1] = offsets.offsets[slab] + lowerBound(first, firstOf[l]) + 1;
    }
    const cut = await vol.read(box, { signal: ctx.signal });
    const data = cut.data;
    const size = box.size() as V3;
    const local = await ctx.runKernel<Uint32Array>(
      labelsKernels(),
      "cclLocalLabels",
      [data, size, labellingOf(p, vol.dataType)],
      { transfer: [data.buffer as ArrayBuffer], signal: ctx.signal },
    );
    const wide = dest.dataType === "uint64";
    const words = await ctx.runKernel<Uint32Array>(
      labelsKernels(),
      "applyFinalIds",
      [local, table, wide],
      {
        transfer: [local.buffer as ArrayBuffer],
        signal: ctx.signal,
      },
    );
    // Typed arrays of this realm over the worker's buffer.
    const out = wide ? new BigUint64Array(words.buffer) : new Uint32Array(words.buffer);
    await dest.write(box, fromTyped(out, size), { signal: ctx.signal });
    return { voxels: box.volume() };
  },
});

/** Phase 6: remove the scratch objects. */
export const cclCleanupTask = defineTask({
  name: "ccl-cleanup",
  params: z.object({ scratch: z.string().min(1) }),
  async run(p, ctx): Promise<{ deleted: number }> {
    const store = ctx.storage(p.scratch);
    const keys: string[] = [];
    for await (const key of store.list("", { recursive: true, signal: ctx.signal })) keys.push(key);
    await store.deleteMany(keys, { signal: ctx.signal });
    return { deleted: keys.length };
  },
});

/**
 * Options of {@link createConnectedComponentsTasks}. With `sharded`, dest
 * (and its downsampled scales) is sharded, and the blocks are its shards:
 * each relabel task writes one whole shard.
 */
export interface ConnectedComponentsTaskOptions extends CreateOptionsBase, ShardedOutputOptions {
  /** 6, 18 or 26 (default 26). */
  connectivity?: 6 | 18 | 26;
  /** Block shape (a multiple of the chunk size). Default: the chunk doubled while within `memoryTarget`. */
  shape?: Vec3;
  /** Mip of the source read. Default 0. */
  mip?: number;
  /** The source value that is background. Default 0. */
  background?: number | string;
  /** For image layers: foreground = lo <= value < hi. Float layers need it. */
  threshold?: [number, number];
  /** Where the stage's state goes. Default `<dest>/ccl-scratch`. */
  scratch?: string;
  /** Keep the scratch objects (default: deleted by the last phase). */
  keepScratch?: boolean;
  /** Blocks per group side in the reduce. Default 4 (64 blocks per group). */
  groupSize?: number;
  /** Output type: "uint32", "uint64", or "auto" (uint64 only when the ids need it). Default auto. */
  dataType?: "uint32" | "uint64" | "auto";
  /** Downsampled mips of the result (mode pooling). Default 0. */
  mips?: number;
  /** Encoding of dest. Default: the source's when a label encoding, else raw. */
  encoding?: "raw" | "compressed_segmentation";
  /** Bytes one task may hold; picks the block shape (or the shards) when `shape` is not given. Default 3.5 GB. */
  memoryTarget?: number;
}

/**
 * Bytes a task holds per voxel of its block: the source voxel, its uint32
 * key, its local id, and the output id (the largest of the phases).
 */
function bytesPerBlockVoxel(srcBytes: number): number {
  return srcBytes + 4 + 4 + 8;
}

/**
 * The connected-components stage from `src` to `dest` as phases to run in
 * order, each after the previous has finished (`ngpipe pipeline`, `ngpipe
 * image ccl`). Options are checked, and the source read, before anything is
 * written.
 */
export async function createConnectedComponentsTasks(
  src: string,
  dest: string,
  o: ConnectedComponentsTaskOptions = {},
): Promise<TaskPhase[]> {
  const mip = o.mip ?? 0;
  const info = await readInfo(storageFor(src, o));
  const scale = scaleForMip(info, mip);
  const dtype = info.data_type as DataType;
  if ((dtype === "float32" || dtype === "float64") && !o.threshold)
    throw new ConnectedComponentsError(
      `${src} holds ${dtype}: connected components of an image layer need a threshold ([lo, hi) = foreground)`,
    );
  if (info.num_channels !== 1)
    throw new LayerMismatchError(
      `${src} has ${info.num_channels} channels; connected components take one`,
    );
  const memory = o.memoryTarget ?? 3.5e9;
  const perVoxel = bytesPerBlockVoxel(bytesPerVoxel(dtype));
  // Planned for uint64 ids unless uint32 is asked for: with "auto" the type
  // is known only after the number phase, and smaller ids only shrink shards.
  const planned = destInfo(info, mip, o.dataType === "uint32" ? "uint32" : "uint64", o.encoding);
  // A relabel task holds the source voxels and their local ids besides the shard.
  const plan = planLabelSharding(planned, o, { url: dest, bytesRead: bytesPerVoxel(dtype) + 4 });
  const shape: V3 = plan
    ? (plan.taskShape as V3)
    : o.shape
      ? [o.shape[0], o.shape[1], o.shape[2]]
      : defaultBlockShape(scale.chunkSize as V3, perVoxel, memory);
  if (shape[0] * shape[1] * shape[2] * perVoxel > memory)
    throw new ConnectedComponentsError(
      `a block of [${shape.join(", ")}] needs about ${shape[0] * shape[1] * shape[2] * perVoxel} bytes, over the memory target of ${memory}: give a smaller --shape or more --memory`,
    );
  if (shape.some((n, a) => !Number.isInteger(n) || n <= 0 || n % scale.chunkSize[a] !== 0))
    throw new ConnectedComponentsError(
      `block shape [${shape.join(", ")}] must be a multiple of the chunk size [${scale.chunkSize.join(", ")}] of ${src} mip ${mip}`,
    );
  if (shape[0] * shape[1] * shape[2] >= 2 ** 28)
    throw new ConnectedComponentsError(
      `block shape [${shape.join(", ")}] has 2^28 voxels or more; use smaller blocks`,
    );
  const connectivity = o.connectivity ?? 26;
  if (![6, 18, 26].includes(connectivity))
    throw new ConnectedComponentsError(`connectivity must be 6, 18 or 26; got ${connectivity}`);
  const groupSize = o.groupSize ?? 4;
  const grid = gridOf(scale.bounds, shape);
  if (grid.blocks[0] * grid.blocks[1] * grid.blocks[2] >= 2 ** 22)
    throw new ConnectedComponentsError(
      `${grid.blocks.join("x")} blocks are too many (2^22 at most): use larger blocks`,
    );
  const scratch = o.scratch ?? `${dest.replace(/\/+$/, "")}/ccl-scratch`;
  const common = {
    src,
    scratch,
    mip,
    shape,
    connectivity,
    background: o.background ?? 0,
    threshold: o.threshold,
    groupSize,
  };
  const levels = reduceLevels(grid.blocks, groupSize);
  const phases: TaskPhase[] = [
    {
      name: "ccl blocks",
      tasks: async () =>
        taskList(gridPositions(grid.blocks), (block) => cclBlockTask.payload({ ...common, block })),
    },
  ];
  for (let level = 0; level < levels; level++)
    phases.push({
      name: `ccl reduce level ${level}`,
      tasks: async () =>
        taskList(gridPositions(groupsAt(grid, groupSize, level)), (group) =>
          cclReduceTask.payload({ ...common, level, group }),
        ),
    });
  phases.push({
    name: "ccl number",
    tasks: async () =>
      taskList(
        Array.from({ length: grid.blocks[2] }, (_, slab) => slab),
        (slab) => cclNumberTask.payload({ ...common, slab, levels }),
      ),
  });
  phases.push({
    name: "ccl relabel",
    tasks: async () => {
      const store = storageFor(scratch, o);
      const offsets = [0];
      for (let slab = 0; slab < grid.blocks[2]; slab++) {
        const bytes = await store.get(`number/${slab}`);
        if (!bytes)
          throw new ConnectedComponentsError(
            `${scratch}/number/${slab} is missing: run the number phase first`,
          );
        const { header } = unpackRecord<{ count: number }>(bytes, `${scratch}/number/${slab}`);
        offsets.push(offsets[offsets.length - 1] + header.count);
      }
      const total = offsets[offsets.length - 1];
      await store.put("number/offsets.json", JSON.stringify({ offsets, total }));
      const wanted = o.dataType ?? "auto";
      const wide = wanted === "uint64" || (wanted === "auto" && total >= 2 ** 32);
      if (!wide && total >= 2 ** 32)
        throw new ConnectedComponentsError(
          `${total} components do not fit uint32 ids in ${dest}; use uint64`,
        );
      const out = destInfo(info, mip, wide ? "uint64" : "uint32", o.encoding);
      if (plan) out.scales[0].sharding = plan.spec;
      await writeInfo(storageFor(dest, o), out);
      return taskList(gridPositions(grid.blocks), (block) =>
        cclRelabelTask.payload({ ...common, dest, block, levels }),
      );
    },
  });
  phases.push(...labelDownsamplePhases("ccl downsample", dest, o.mips ?? 0, o));
  if (!o.keepScratch)
    phases.push({
      name: "ccl cleanup",
      tasks: async () => taskList([scratch], (s) => cclCleanupTask.payload({ scratch: s })),
    });
  return phases;
}

/**
 * The chunk grown by doubling x, y, then z in turn while the block stays
 * within the memory target and under 2^27 voxels.
 */
function defaultBlockShape(chunk: V3, perVoxel: number, memory: number): V3 {
  const shape: V3 = [...chunk];
  for (let a = 0; ; a = (a + 1) % 3) {
    const next = shape[0] * shape[1] * shape[2] * 2;
    if (next * perVoxel > memory || next > 2 ** 27) return shape;
    shape[a] *= 2;
  }
}

/** The info of the components layer: the source's geometry at `mip`, one id channel. */
export function destInfo(
  src: InfoJSON,
  mip: number,
  dataType: "uint32" | "uint64",
  encoding?: string,
): InfoJSON {
  const scale = structuredClone(src.scales[mip]);
  const labelEncoding = scale.encoding === "compressed_segmentation" || scale.encoding === "raw";
  scale.encoding = encoding ?? (labelEncoding ? scale.encoding : "raw");
  if (scale.encoding === "compressed_segmentation")
    scale.compressed_segmentation_block_size ??= [8, 8, 8];
  else delete scale.compressed_segmentation_block_size;
  delete scale.sharding;
  return {
    "@type": "neuroglancer_multiscale_volume",
    type: "segmentation",
    data_type: dataType,
    num_channels: 1,
    scales: [scale],
  };
}
