/**
 * The downsample stage: one task reads a block at mip m and writes mips
 * m+1..m+n, like Igneous' `DownsampleTask`; `createDownsampleTasks` adds the
 * scales to the info and tiles the layer into such blocks, choosing the block
 * shape from a memory target.
 *
 * ```ts
 * const tasks = await createDownsampleTasks("gs://lab/em", { mips: 4 });
 * for (const payload of tasks) await executeTask(payload);
 * ```
 */
import {
  addScale,
  type BboxLike,
  bytesPerVoxel,
  closestDivisor,
  type DataType,
  type DownsampleMethod,
  type InfoJSON,
  InfoNotFoundError,
  readInfo,
  releaseSharedCutout,
  ShardPlanError,
  scaleForMip,
  type Vec3,
  writeInfo,
} from "@ngpipe/precomputed";
import { z } from "zod";
import { defineTask } from "../runtime";
import { resolveBounds, type TaskSet, taskSet } from "../tiling";
import { checkInfoRewrite, checkVoxelValue } from "./checks";
import {
  bboxOf,
  bboxSchema,
  type CreateOptionsBase,
  compressSchema,
  DownsampleMemoryError,
  factorPow,
  formatBytes,
  LayerMismatchError,
  openLayer,
  positiveVec3Schema,
  storageFor,
  toBbox,
} from "./common";
import { writeDownsamples } from "./pyramid";
import { type ShardedOutputOptions, shardScale, wantsSharded } from "./sharding";

/** Igneous' default memory target per task: 3.5 GB. */
export const DEFAULT_MEMORY_TARGET = 3.5e9;

/** Mips a memory search never goes beyond. */
const MAX_MIPS = 32;

/** Downsampling method of a stage: a kernel method, or `auto` (average for images, mode for segmentation). */
export type StageDownsampleMethod = DownsampleMethod | "auto";

/** The `method` param schema shared by the stages that downsample. */
export const methodSchema = z.enum(["auto", "average", "mode", "min", "max", "striding"]);

/** A background value: a number, or a decimal string for 64-bit labels beyond 2^53. */
export const backgroundSchema = z.union([z.number(), z.string().regex(/^-?\d+$/)]);

/** The background param as a voxel value of `dtype`. */
export function backgroundValue(bg: number | string, dtype: DataType): number | bigint {
  return dtype === "uint64" || dtype === "int64" ? BigInt(bg) : Number(bg);
}

/** The kernel method for a stage method and a layer type. */
export function resolveMethod(method: StageDownsampleMethod, layerType: string): DownsampleMethod {
  if (method !== "auto") return method;
  return layerType === "segmentation" ? "mode" : "average";
}

/** Data types the average kernel handles (as tinybrain's accelerated paths). */
const AVERAGE_DTYPES = new Set(["uint8", "uint16", "uint32", "float32", "float64"]);

/**
 * Refuses, before any info is written, a downsampling method the layer's
 * data type cannot take (average pooling of int8..int64 or uint64 images),
 * with a `LayerMismatchError` naming the layer.
 */
export function checkDownsampleMethod(
  url: string,
  method: StageDownsampleMethod,
  info: InfoJSON,
): void {
  const m = resolveMethod(method, info.type);
  if (m === "average" && !AVERAGE_DTYPES.has(info.data_type)) {
    throw new LayerMismatchError(
      `${url} is a ${info.data_type} ${info.type} layer: average downsampling${
        method === "auto" ? " (the default for images)" : ""
      } supports uint8, uint16, uint32, float32 and float64; choose method "mode", "min", "max" ` +
        `or "striding", or quantize/convert the layer first`,
    );
  }
}

/**
 * Bytes a task holds when it downsamples a block of `shape` voxels `mips`
 * times: the block plus every level, `ceil(shape / factor^k)` each. This is
 * below Igneous' bound of the block times 4/3 (factor 2x2x1) or 8/7 (2x2x2).
 *
 * @example downsampleMemory([1024, 1024, 64], "uint8", 1, [2, 2, 1], 3) // 89128960
 */
export function downsampleMemory(
  shape: Vec3,
  dtype: DataType,
  channels: number,
  factor: Vec3,
  mips: number,
): number {
  const width = bytesPerVoxel(dtype) * channels;
  let total = 0;
  for (let k = 0; k <= mips; k++) {
    const f = factorPow(factor, k);
    total +=
      Math.ceil(shape[0] / f[0]) * Math.ceil(shape[1] / f[1]) * Math.ceil(shape[2] / f[2]) * width;
  }
  return total;
}

/** Arguments of {@link downsampleShapeForMemory}. */
export interface ShapeForMemoryOptions {
  /** Chunk size of the mip the tasks read. */
  chunkSize: Vec3;
  /** Chunk size of the new scales; default `chunkSize`. */
  newChunkSize?: Vec3;
  dtype: DataType;
  /** Default 1. */
  channels?: number;
  /** Default [2, 2, 1]. */
  factor?: Vec3;
  /** Bytes one task may hold. Default {@link DEFAULT_MEMORY_TARGET}. */
  memoryTarget?: number;
  /** Never plan more mips than this. */
  maxMips?: number;
}

/** A task shape and how many mips it allows. */
export interface DownsamplePlan {
  /** Task shape in voxels of the mip read. */
  shape: Vec3;
  /** Mips a task of that shape makes. */
  mips: number;
  /** Bytes such a task holds ({@link downsampleMemory}). */
  memory: number;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function lcm3(a: Vec3, b: Vec3): Vec3 {
  return [0, 1, 2].map((i) => (a[i] / gcd(a[i], b[i])) * b[i]) as unknown as Vec3;
}

/**
 * The smallest task shape that makes `k` mips with whole chunks everywhere:
 * a multiple of the read chunk and of `newChunk * factor^k`.
 */
function shapeForMips(chunk: Vec3, newChunk: Vec3, factor: Vec3, k: number): Vec3 {
  const f = factorPow(factor, k);
  return lcm3(chunk, [newChunk[0] * f[0], newChunk[1] * f[1], newChunk[2] * f[2]]);
}

/**
 * The task shape that makes the most mips within a memory target, the way
 * Igneous' `downsample_shape_from_memory_target` does: `chunk * factor^k`
 * for the largest k whose block and pyramid fit. Throws
 * `DownsampleMemoryError` (naming the memory one mip needs) when not even one
 * fits.
 *
 * @example
 * downsampleShapeForMemory({ chunkSize: [128, 128, 64], dtype: "uint8", memoryTarget: 3.5e9 })
 * // { shape: [4096, 4096, 64], mips: 5, memory: 1431306240 }
 */
export function downsampleShapeForMemory(o: ShapeForMemoryOptions): DownsamplePlan {
  const factor = o.factor ?? [2, 2, 1];
  const channels = o.channels ?? 1;
  const target = o.memoryTarget ?? DEFAULT_MEMORY_TARGET;
  const newChunk = o.newChunkSize ?? o.chunkSize;
  const max = Math.min(o.maxMips ?? MAX_MIPS, MAX_MIPS);
  if (!(max >= 1)) throw new RangeError(`maxMips must be at least 1, got ${o.maxMips}`);
  const mem = (k: number) =>
    downsampleMemory(shapeForMips(o.chunkSize, newChunk, factor, k), o.dtype, channels, factor, k);
  let k = 0;
  while (k < max && mem(k + 1) <= target) k++;
  if (k === 0) {
    const need = mem(1);
    throw new DownsampleMemoryError(
      `one mip of ${o.dtype} x ${channels} channel(s) with chunk size ${o.chunkSize.join("x")} and ` +
        `factor ${factor.join("x")} needs ${formatBytes(need)} per task, more than the memory ` +
        `target of ${formatBytes(target)}; raise the memory target to at least ${need} bytes`,
      need,
      target,
    );
  }
  const shape = shapeForMips(o.chunkSize, newChunk, factor, k);
  return { shape, mips: k, memory: mem(k) };
}

/** Arguments of {@link planTasks}. */
export interface PlanOptions extends ShapeForMemoryOptions {
  /** Says what is planned, for error messages ("downsampling gs://a/b from mip 0"). */
  what: string;
  /** Size of the mip read, in voxels. */
  size: Vec3;
  /** Mips asked for; default: what the memory allows, up to a one-chunk top mip. */
  mips?: number;
  /** Fewest mips acceptable when `mips` is not given (1 for a downsample, 0 for a transfer). */
  minMips: number;
}

/** A plan of tasks: how many mips, the task shape and the grid bounds are grown to. */
export interface TaskPlan {
  mips: number;
  /** Task shape in voxels of the mip read. */
  shape: Vec3;
  /** The smallest block that makes `mips` mips of whole chunks: bounds are grown to it. */
  grid: Vec3;
}

/**
 * Choose the mips and task shape for a stage that downsamples: Igneous' rule
 * (the largest `chunk * factor^k` within the memory target), and a clear
 * `DownsampleMemoryError` naming the memory needed when `mips` asks for more.
 */
export function planTasks(o: PlanOptions): TaskPlan {
  const factor = o.factor ?? [2, 2, 1];
  const channels = o.channels ?? 1;
  const target = o.memoryTarget ?? DEFAULT_MEMORY_TARGET;
  const newChunk = o.newChunkSize ?? o.chunkSize;
  let fit = 0;
  try {
    fit = downsampleShapeForMemory(o).mips;
  } catch (e) {
    if (!(e instanceof DownsampleMemoryError)) throw e;
  }
  // Mips that still shrink the layer: until the top mip fits one chunk.
  let useful = 1;
  while (
    useful < MAX_MIPS &&
    [0, 1, 2].some((i) => factor[i] > 1 && Math.ceil(o.size[i] / factor[i] ** useful) > newChunk[i])
  )
    useful++;
  const mips = o.mips ?? Math.max(o.minMips, Math.min(fit, useful));
  if (!(Number.isInteger(mips) && mips >= 0)) {
    throw new RangeError(`${o.what}: mips must be a non-negative integer, got ${mips}`);
  }
  if (mips > fit) {
    const need = downsampleMemory(
      shapeForMips(o.chunkSize, newChunk, factor, mips),
      o.dtype,
      channels,
      factor,
      mips,
    );
    throw new DownsampleMemoryError(
      `${o.what} by ${mips} mip(s) at a time needs ${formatBytes(need)} (${need} bytes) per task, ` +
        `more than the memory target of ${formatBytes(target)}; ${fit} mip(s) fit. ` +
        `Raise memoryTarget to at least ${need}, or ask for fewer mips and downsample again ` +
        "from the new top mip.",
      need,
      target,
    );
  }
  return {
    mips,
    shape: shapeForMips(o.chunkSize, newChunk, factor, Math.max(mips, Math.min(fit, useful))),
    grid: shapeForMips(o.chunkSize, newChunk, factor, mips),
  };
}

/** Params of {@link downsampleTask}. */
export const downsampleParams = z.object({
  /** URL of the layer read. */
  layer: z.string().min(1),
  /** URL of the layer written (default: `layer`); it must hold the new scales. */
  dest: z.string().min(1).optional(),
  /** Mip read. */
  mip: z.number().int().min(0),
  /** The block read, in voxels of `mip` (clipped to the dataset). */
  bbox: bboxSchema,
  /** Mips written: mip+1 .. mip+mips. */
  mips: z.number().int().positive(),
  factor: positiveVec3Schema.default([2, 2, 1]),
  method: methodSchema.default("auto"),
  sparse: z.boolean().default(false),
  fillMissing: z.boolean().default(false),
  skipBackground: z.boolean().default(false),
  background: backgroundSchema.default(0),
  /** Transport compression of the chunks written (default: the Volume's). */
  compress: compressSchema.optional(),
});

/** What a downsample task did. */
export interface DownsampleTaskResult {
  /** Voxels read at the source mip. */
  voxels: number;
}

/**
 * Read a block at mip m and write its downsamples at mips m+1..m+n. The
 * block's corner should lie on the grid of `factor^mips` (task creation
 * makes sure of it); downsampled boxes that end off the chunk grid are
 * patched with read-modify-write.
 */
export const downsampleTask = defineTask({
  name: "downsample",
  params: downsampleParams,
  async run(p, ctx): Promise<DownsampleTaskResult> {
    const { compress } = p;
    const src = await openLayer(ctx, p.layer, p.mip, { fillMissing: p.fillMissing, compress });
    const dest =
      p.dest && p.dest !== p.layer
        ? (await openLayer(ctx, p.dest, 0, { compress })).withMip(src.resolution)
        : src;
    const box = bboxOf(p.bbox).intersect(src.bounds);
    if (box.empty()) return { voxels: 0 };
    // Shared: the pool's workers paint the chunks they decode straight into the block.
    const array = await src.read(box, { signal: ctx.signal, shared: true });
    await writeDownsamples(ctx, dest, box, array, {
      factor: p.factor,
      mips: p.mips,
      method: resolveMethod(p.method, src.layerType),
      sparse: p.sparse,
      skipBackground: p.skipBackground,
      background: backgroundValue(p.background, src.dataType),
      signal: ctx.signal,
    });
    // The pooling kernel has finished with the block: the next task's read reuses its pages.
    releaseSharedCutout(array);
    ctx.progress(box.volume(), box.volume());
    return { voxels: box.volume() };
  },
});

/**
 * Options of {@link createDownsampleTasks}. With `sharded`, a task set makes
 * one mip (Igneous' ImageShardDownsampleTask): each task reads
 * `shard shape x factor` voxels and writes one whole shard of the new mip;
 * make further mips with further task sets, each reading the mip before.
 */
export interface DownsampleTaskOptions extends CreateOptionsBase, ShardedOutputOptions {
  /** Mip read. Default 0. */
  mip?: number;
  /**
   * Mips to make. Default: as many as the memory target allows, but no more
   * than it takes for the top mip to fit one chunk. Asking for more than the
   * memory target allows is an error that says how much memory it would take.
   */
  mips?: number;
  /** Default [2, 2, 1]. */
  factor?: Vec3;
  /** Default "auto": average for images, mode for segmentation. */
  method?: StageDownsampleMethod;
  /** Zero is background (see the kernels' `sparse`). */
  sparse?: boolean;
  /** Read missing chunks as zeros. */
  fillMissing?: boolean;
  /** Encoding of the new scales; default: the encoding of the mip read. */
  encoding?: string;
  /** compressed_segmentation block size of the new scales. */
  blockSize?: Vec3;
  /** Chunk size of the new scales; default: see `preserveChunkSize`. */
  chunkSize?: Vec3;
  /**
   * Give new scales the chunk size of the mip read (default true, as Igneous);
   * false gives CloudVolume's default (divisors of mip 0's chunk closest to 64).
   */
  preserveChunkSize?: boolean;
  /** Do not store chunks that are all `background` (see `LevelWriteOptions`). */
  skipBackground?: boolean;
  background?: number | string;
  /** Only this box (voxels of `boundsMip`); default the whole layer. */
  bounds?: BboxLike;
  /** Mip of `bounds`. Default 0. */
  boundsMip?: number;
  /** Bytes one task may hold. Default 3.5 GB. */
  memoryTarget?: number;
  /** Transport compression of the new chunks: gzip, br or none (default: gzip for raw and compressed_segmentation). */
  compress?: "gzip" | "br" | "none";
  /** Write the new scales to this layer instead (its info is created from the source's if missing). */
  dest?: string;
}

function sameVec(a: readonly number[], b: readonly number[]): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

/**
 * Add the scales `factor^1 .. factor^mips` times coarser than `mip` to `info`
 * (in place), with chunk size `newChunk`. Scales that exist are kept, except
 * that an explicitly given chunk size or encoding is applied to them.
 * Returns the keys of those scales, coarsest last.
 */
export function addDownsampleScales(
  info: InfoJSON,
  mip: number,
  mips: number,
  factor: Vec3,
  newChunk: Vec3,
  o: { encoding?: string; blockSize?: Vec3; chunkSize?: Vec3 } = {},
): string[] {
  const keys: string[] = [];
  const scale = scaleForMip(info, mip);
  const r0 = info.scales[0].resolution;
  const ratio = [0, 1, 2].map((i) => scale.resolution[i] / r0[i]);
  for (let k = 1; k <= mips; k++) {
    const f = factorPow(factor, k);
    const s = addScale(info, [ratio[0] * f[0], ratio[1] * f[1], ratio[2] * f[2]], {
      chunkSize: newChunk,
      encoding: o.encoding ?? scale.encoding,
      blockSize: o.blockSize ?? scale.blockSize,
    });
    if (o.chunkSize && !sameVec(s.chunk_sizes[0], newChunk)) s.chunk_sizes = [[...newChunk]];
    if (o.encoding && s.encoding !== o.encoding) {
      s.encoding = o.encoding;
      if (o.encoding === "compressed_segmentation")
        s.compressed_segmentation_block_size ??= [...(o.blockSize ?? [8, 8, 8])];
    }
    keys.push(s.key);
  }
  return keys;
}

/**
 * Add the downsampled scales to the info (of `dest`, or of the layer), then
 * return the downsample tasks covering the layer (or `bounds`), lazily.
 * The task shape is `chunk * factor^k` with k the most mips the memory
 * target allows (Igneous' rule); the bounds are grown to the grid of
 * `chunk * factor^mips` so every task writes whole chunks.
 */
export async function createDownsampleTasks(
  url: string,
  o: DownsampleTaskOptions = {},
): Promise<TaskSet<z.input<typeof downsampleParams>>> {
  const mip = o.mip ?? 0;
  const factor = o.factor ?? [2, 2, 1];
  if (o.mips !== undefined && !(Number.isInteger(o.mips) && o.mips >= 1)) {
    throw new RangeError(
      `createDownsampleTasks ${url}: mips must be a positive integer, got ${o.mips}`,
    );
  }
  const srcInfo = await readInfo(storageFor(url, o));
  const scale = scaleForMip(srcInfo, mip);
  const destUrl = o.dest ?? url;
  const destStorage = storageFor(destUrl, o);
  let info = srcInfo;
  let existing = true;
  if (destUrl !== url) {
    info = await readInfo(destStorage).catch((e) => {
      if (!(e instanceof InfoNotFoundError)) throw e;
      existing = false;
      return {
        ...structuredClone(srcInfo),
        scales: structuredClone(srcInfo.scales.slice(0, mip + 1)),
      };
    });
  }
  const newChunk: Vec3 =
    o.chunkSize ??
    (o.preserveChunkSize === false
      ? closestDivisor(info.scales[0].chunk_sizes[0])
      : scale.chunkSize);
  const res = scale.resolution;
  const nextRes: Vec3 = [res[0] * factor[0], res[1] * factor[1], res[2] * factor[2]];
  // Downsampling into a scale that is sharded already writes it sharded too.
  const sharded =
    wantsSharded(o) ||
    info.scales.some(
      (s) => s.sharding && s.resolution.every((v, i) => Math.abs(v - nextRes[i]) < 1e-9),
    );
  if (sharded && o.mips !== undefined && o.mips !== 1) {
    throw new ShardPlanError(
      `sharded downsampling makes one mip per task set (each task writes whole shards of it), ` +
        `not ${o.mips}; make mip ${mip + 1}, then downsample again from it`,
      scale.key,
      "mips",
    );
  }
  const planned = planTasks({
    what: `downsampling ${url} from mip ${mip}`,
    chunkSize: scale.chunkSize,
    newChunkSize: newChunk,
    size: scale.size,
    dtype: srcInfo.data_type,
    channels: srcInfo.num_channels,
    factor,
    // A shard task's memory is the sharding planner's to check.
    memoryTarget: sharded ? Number.POSITIVE_INFINITY : o.memoryTarget,
    mips: sharded ? 1 : o.mips,
    minMips: 1,
  });
  const { mips } = planned;
  let { shape, grid } = planned;
  checkDownsampleMethod(url, o.method ?? "auto", srcInfo);
  if (o.background !== undefined)
    checkVoxelValue(o.background, srcInfo.data_type, "background", url);
  const before = destUrl === url || existing ? structuredClone(info) : null;
  const had = new Set(info.scales.map((s) => s.key));
  const keys = addDownsampleScales(info, mip, mips, factor, newChunk, o);
  if (sharded) {
    const next = scaleForMip(info, nextRes);
    const plan = shardScale(info, next.raw, o, {
      url: destUrl,
      fresh: !had.has(next.key),
      readFactor: factor[0] * factor[1] * factor[2],
      memoryTarget: o.memoryTarget,
    });
    const t = plan.taskShape;
    shape = [t[0] * factor[0], t[1] * factor[1], t[2] * factor[2]];
    grid = shape;
  }
  const bounds = resolveBounds(srcInfo, mip, toBbox(o.bounds), o.boundsMip ?? 0, grid, {
    ...o,
    url,
  });
  // The new mips are rewritten whole unless bounds limit the stage.
  const written = new Set(o.bounds === undefined ? keys : []);
  checkInfoRewrite(before, info, destUrl, (key) => written.has(key));
  await writeInfo(destStorage, info);
  const base = {
    layer: url,
    ...(destUrl !== url ? { dest: destUrl } : {}),
    mip,
    mips,
    factor: [...factor] as [number, number, number],
    method: o.method ?? "auto",
    sparse: o.sparse ?? false,
    fillMissing: o.fillMissing ?? false,
    skipBackground: o.skipBackground ?? false,
    background: o.background ?? 0,
    ...(o.compress ? { compress: o.compress } : {}),
  };
  return taskSet(bounds, shape, { origin: scale.voxelOffset, clip: scale.bounds }, (tile) =>
    downsampleTask.payload({ ...base, bbox: tile.toChunkName() }),
  );
}
