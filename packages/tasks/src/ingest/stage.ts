/**
 * The ingest stage: a volume in HDF5, Zarr, NumPy or an image stack becomes
 * a precomputed layer. `createIngestTasks` writes the destination info (data
 * type, size and channels from the source) and yields one task per block;
 * each task reads its block from the source and writes whole chunks.
 *
 * ```ts
 * await ingest("aff.h5#/main", "file:///data/aff", { resolution: [4, 4, 40] });
 * ```
 */
import {
  Bbox,
  createInfo,
  type DataType,
  getCodec,
  type InfoJSON,
  InfoNotFoundError,
  readInfo,
  ShardPlanError,
  type Vec3,
  Volume,
} from "@ngpipe/precomputed";
import { forEachLimit } from "@ngpipe/storage";
import { z } from "zod";
import { createTaskContext, type TaskContext } from "../runtime/context";
import { defineTask } from "../runtime/define";
import { type ShardedOutputOptions, shardScale, wantsSharded } from "../stages/sharding";
import { type TaskSet, taskSet } from "../tiling";
import { SourceError } from "./sources/errors";
import { type OpenSourceOptions, openSource, type SourceSpec } from "./sources/open";
import type { VolumeSource } from "./sources/types";

/** The destination layer cannot hold the source as asked (encoding vs data type or channels, task shape). */
export class IngestConfigError extends SourceError {}

/**
 * Options of {@link createIngestTasks}. With `sharded`, mip 0 is sharded and
 * each task writes one whole shard (the task shape is the shard's).
 */
export interface IngestOptions extends ShardedOutputOptions {
  /** "image" or "segmentation". Default: segmentation for uint32/uint64 sources, image otherwise. */
  layerType?: "image" | "segmentation";
  /** Voxel size in nm. Default: the source's (OME-Zarr), else [1, 1, 1]. */
  resolution?: Vec3;
  /** Where voxel (0, 0, 0) of the source lands in the layer. Default: the source's own offset (BigArray, HyperSquare), else [0, 0, 0]. */
  voxelOffset?: Vec3;
  /** Default [64, 64, 64]. */
  chunkSize?: Vec3;
  /** Default raw for images, compressed_segmentation for uint32/uint64 segmentations. */
  encoding?: string;
  /** Only ingest this box of the source (source voxels); the layer still spans the whole source. */
  bounds?: Bbox;
  /** Voxels per task; a multiple of the chunk size. Default: chunk size x [4, 4, 2], clamped. */
  taskShape?: Vec3;
  /** Reader options (dataset path, axes, level, ...). */
  sourceOptions?: OpenSourceOptions;
  /** Add `mesh: "mesh"` to a segmentation info. Default false. */
  mesh?: boolean;
  /** gzip level of the written chunks, 1 (fastest) to 9. Default 6 (see `VolumeOptions.compressLevel`). */
  compressLevel?: number;
  /** Bytes one sharded ingest task may hold (see `planImageSharding`). Default 3.5 GB. */
  memoryTarget?: number;
}

const sourceSchema = z.union([
  z.string(),
  z.object({ url: z.union([z.string(), z.array(z.string())]) }).passthrough(),
]);

type SourceParam = z.infer<typeof sourceSchema>;

// Opening an HDF5 file or a Zarr hierarchy is costly: keep a few open per
// process, least recently used first out, but never close one a running
// task still reads (a worker may run tasks of more sources at once than the
// cache holds): those stay open until their last user is done.
interface OpenSource {
  source: Promise<VolumeSource>;
  users: number;
}
const openSources = new Map<string, OpenSource>();
const MAX_OPEN_SOURCES = 4;

function closeIdleOverLimit(): void {
  for (const [key, entry] of openSources) {
    if (openSources.size <= MAX_OPEN_SOURCES) break;
    if (entry.users > 0) continue;
    openSources.delete(key);
    entry.source.then((src) => src.close()).catch(() => {});
  }
}

/** Opens (or reuses) a source for one task; call `release` when the task is done with it. */
async function acquireSource(
  spec: SourceParam,
): Promise<{ source: VolumeSource; release: () => void }> {
  const key = JSON.stringify(spec);
  let entry = openSources.get(key);
  if (entry)
    openSources.delete(key); // re-inserted below as the most recent
  else {
    entry = { source: openSource(spec as string | SourceSpec), users: 0 };
    const opened = entry;
    entry.source.catch(() => {
      if (openSources.get(key) === opened) openSources.delete(key);
    });
  }
  entry.users++;
  openSources.set(key, entry);
  closeIdleOverLimit();
  const held = entry;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    held.users--;
    if (openSources.get(key) !== held && held.users === 0) {
      // Dropped from the cache (closeIngestSources) while in use: close now.
      held.source.then((src) => src.close()).catch(() => {});
    } else closeIdleOverLimit();
  };
  try {
    return { source: await entry.source, release };
  } catch (err) {
    release();
    throw err;
  }
}

/** Close the sources this process keeps open for ingest tasks (those in use once their tasks end). */
export async function closeIngestSources(): Promise<void> {
  const all = [...openSources.values()];
  openSources.clear();
  await Promise.all(
    all.filter((e) => e.users === 0).map((e) => e.source.then((s) => s.close()).catch(() => {})),
  );
}

/** One ingest task: read `bbox` (layer voxels) of the source and write it to the layer's mip 0. */
export const ingestTask = defineTask({
  name: "ingest",
  params: z.object({
    source: sourceSchema,
    layer: z.string(),
    /** Layer voxels, as a chunk name `x0-x1_y0-y1_z0-z1`. */
    bbox: z.string(),
    /** Layer position of source voxel (0, 0, 0). */
    voxelOffset: z.tuple([z.number().int(), z.number().int(), z.number().int()]).default([0, 0, 0]),
    /** Transport compression level of the written chunks (gzip 1..9). */
    compressLevel: z.number().int().min(0).max(11).optional(),
  }),
  async run({ source, layer, bbox, voxelOffset, compressLevel }, ctx: TaskContext) {
    const box = Bbox.parseChunkName(bbox);
    const { source: src, release } = await acquireSource(source);
    let block: Awaited<ReturnType<VolumeSource["readBlock"]>>;
    try {
      const srcBox = box.translate([-voxelOffset[0], -voxelOffset[1], -voxelOffset[2]]);
      block = await src.readBlock(
        { min: [...srcBox.min], max: [...srcBox.max] },
        { signal: ctx.signal },
      );
    } finally {
      release();
    }
    const vol = await Volume.open(layer, { storage: ctx.storage(layer), compressLevel });
    await vol.write(box, block, { signal: ctx.signal });
    ctx.progress(box.volume());
  },
});

/** The layer info an ingest of `src` creates. */
export function ingestInfo(src: VolumeSource, opts: IngestOptions = {}): InfoJSON {
  const dtype: DataType = src.dataType;
  const isLabels = dtype === "uint32" || dtype === "uint64";
  const layerType = opts.layerType ?? (isLabels ? "segmentation" : "image");
  const encoding =
    opts.encoding ?? (layerType === "segmentation" && isLabels ? "compressed_segmentation" : "raw");
  const codec = getCodec(encoding);
  if (!codec.dataTypes.includes(dtype)) {
    throw new IngestConfigError(
      `${src.url}: the ${encoding} encoding cannot hold ${dtype} voxels (it holds ${codec.dataTypes.join(", ")}); choose another encoding`,
      src.url,
    );
  }
  if (encoding === "jpeg" && ![1, 3].includes(src.shape[3])) {
    throw new IngestConfigError(
      `${src.url}: jpeg holds 1 or 3 channels, the source has ${src.shape[3]}`,
      src.url,
    );
  }
  return createInfo({
    type: layerType,
    dataType: dtype,
    numChannels: src.shape[3],
    resolution: opts.resolution ?? src.resolution ?? [1, 1, 1],
    voxelOffset: opts.voxelOffset ?? src.voxelOffset ?? [0, 0, 0],
    size: [src.shape[0], src.shape[1], src.shape[2]],
    chunkSize: opts.chunkSize ?? [64, 64, 64],
    encoding,
    mesh: layerType === "segmentation" && opts.mesh ? "mesh" : undefined,
  });
}

function defaultTaskShape(chunk: Vec3, size: Vec3): Vec3 {
  const want: Vec3 = [chunk[0] * 4, chunk[1] * 4, chunk[2] * 2];
  const fit = (i: number) => Math.min(want[i], Math.ceil(size[i] / chunk[i]) * chunk[i]);
  return [fit(0), fit(1), fit(2)];
}

/**
 * The destination layer: created with `info`, unless a layer is there
 * already whose mip 0 is the one this ingest makes (data type, channels,
 * layer type, and scale 0's size, offset, resolution, chunk size and
 * encoding), as when re-ingesting a region with `bounds`: then its info is
 * kept, with its downsampled scales, mesh directory and other keys. A layer
 * that differs is refused, naming the first difference.
 */
async function createOrKeepLayer(url: string, info: InfoJSON, ctx: TaskContext): Promise<Volume> {
  const storage = ctx.storage(url);
  const existing = await readInfo(storage).catch((e) => {
    if (e instanceof InfoNotFoundError) return null;
    throw e;
  });
  if (existing === null) return Volume.create(url, info, { storage });
  const a = existing.scales[0];
  const b = info.scales[0];
  const differences: [string, unknown, unknown][] = [
    ["data_type", existing.data_type, info.data_type],
    ["num_channels", existing.num_channels, info.num_channels],
    ["type", existing.type, info.type],
    ["scales[0].size", a?.size, b.size],
    ["scales[0].voxel_offset", a?.voxel_offset, b.voxel_offset],
    ["scales[0].resolution", a?.resolution, b.resolution],
    ["scales[0].chunk_sizes", a?.chunk_sizes, b.chunk_sizes],
    ["scales[0].encoding", a?.encoding, b.encoding],
    ["scales[0].sharding", a?.sharding ?? null, b.sharding ?? null],
  ];
  for (const [field, have, want] of differences) {
    if (JSON.stringify(have) !== JSON.stringify(want)) {
      throw new IngestConfigError(
        `${url} already holds a layer whose ${field} is ${JSON.stringify(have)}, not ${JSON.stringify(want)} as this ingest makes; ` +
          "ingest into a new path, delete the layer first, or pass matching options",
        url,
      );
    }
  }
  return Volume.open(url, { storage });
}

/**
 * Create the destination layer's info and return the ingest tasks, one per
 * block (x fastest), made lazily as the set is iterated. The source is
 * opened once here to learn its shape and data type; each task opens it
 * again in the worker.
 */
export async function createIngestTasks(
  source: string | string[] | SourceSpec,
  destUrl: string,
  opts: IngestOptions = {},
  ctx: TaskContext = createTaskContext(),
): Promise<TaskSet<z.output<typeof ingestTask.schema>>> {
  const spec: SourceParam =
    typeof source === "string" && !opts.sourceOptions
      ? source
      : typeof source === "object" && !Array.isArray(source)
        ? { ...opts.sourceOptions, ...source }
        : { url: source, ...opts.sourceOptions };
  const src = await openSource(spec as string | SourceSpec);
  let info: InfoJSON;
  try {
    info = ingestInfo(src, opts);
  } finally {
    await src.close();
  }
  let shardShape: Vec3 | undefined;
  if (wantsSharded(opts)) {
    if (opts.taskShape) {
      throw new ShardPlanError(
        "a sharded ingest writes one shard per task, so the shard plan sets the task shape; " +
          "choose the shard size with shardBytes instead",
        info.scales[0].key,
        "taskShape",
      );
    }
    shardShape = shardScale(info, info.scales[0], opts, {
      url: destUrl,
      fresh: true,
      readFactor: 1,
      memoryTarget: opts.memoryTarget,
    }).taskShape;
  }
  const vol = await createOrKeepLayer(destUrl, info, ctx);
  const chunk = vol.chunkSize;
  const offset = vol.scale.voxelOffset;
  const size = vol.scale.size;
  const shape = shardShape ?? opts.taskShape ?? defaultTaskShape(chunk, size);
  for (let i = 0; i < 3; i++) {
    if (shape[i] % chunk[i] !== 0) {
      throw new IngestConfigError(
        `task shape ${shape.join("x")} is not a multiple of the chunk size ${chunk.join("x")}`,
        destUrl,
      );
    }
  }
  let region = vol.bounds;
  if (opts.bounds) {
    region = opts.bounds
      .translate(offset)
      .expandToChunks(shardShape ?? chunk, offset)
      .intersect(vol.bounds);
  }
  return taskSet(region, shape, { origin: offset }, (box) =>
    ingestTask.payload({
      source: spec,
      layer: vol.url,
      bbox: box.toChunkName(),
      voxelOffset: [offset[0], offset[1], offset[2]],
      ...(opts.compressLevel !== undefined ? { compressLevel: opts.compressLevel } : {}),
    }),
  );
}

/** Options of {@link ingest}. */
export interface IngestRunOptions extends IngestOptions {
  /** Tasks run at once in this process. Default 2. */
  parallel?: number;
  /** Called after each task with (done, total). */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Ingest a whole source into a new layer, running every task in this process. */
export async function ingest(
  source: string | string[] | SourceSpec,
  destUrl: string,
  opts: IngestRunOptions = {},
): Promise<Volume> {
  const ctx = createTaskContext({ signal: opts.signal });
  const tasks = [...(await createIngestTasks(source, destUrl, opts, ctx))];
  let done = 0;
  try {
    await forEachLimit(
      tasks,
      opts.parallel ?? 2,
      async (t) => {
        await ingestTask.run(ingestTask.parse(t.params), ctx);
        opts.onProgress?.(++done, tasks.length);
      },
      { signal: opts.signal },
    );
  } finally {
    await closeIngestSources();
  }
  return Volume.open(destUrl, { storage: ctx.storage(destUrl) });
}
