/**
 * The remap stage (the seed's Remap): a table from storage applied to every
 * block of a layer, written to a new layer, then its downsampled scales.
 *
 * ```ts
 * const phases = await createRemapTasks("gs://lab/ws", "gs://lab/seg", { map: "gs://lab/agglomeration.npy" });
 * ```
 */
import {
  bytesPerVoxel,
  type DataType,
  fromTyped,
  readInfo,
  scaleForMip,
  type TypedArray,
  type Vec3,
  writeInfo,
} from "@ngpipe/precomputed";
import type { RemapTable } from "@ngpipe/segmentation";
import { z } from "zod";
import { labelsKernels } from "../labels-kernel-module";
import type { TaskPhase } from "../registry/stage";
import { defineTask } from "../runtime";
import {
  bboxOf,
  bboxSchema,
  blockShape,
  type CreateOptionsBase,
  LayerMismatchError,
  openLayer,
  storageFor,
} from "../stages/common";
import type { ShardedOutputOptions } from "../stages/sharding";
import { taskSet } from "../tiling";
import { singleScaleInfo } from "./dest-layer";
import { fileLocation, readRemapMap } from "./map-file";
import { labelDownsamplePhases, planLabelSharding } from "./sharded-output";

const LABEL_TYPES = [
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "int8",
  "int16",
  "int32",
  "int64",
] as const;

/** Maps read by this process, by URL (tasks of one stage share one). */
const maps = new Map<string, Promise<RemapTable>>();

/** Params of {@link remapTask}. */
export const remapParams = z.object({
  src: z.string().min(1),
  dest: z.string().min(1),
  /** URL of the map file. */
  map: z.string().min(1),
  mip: z.number().int().min(0).default(0),
  bbox: bboxSchema,
  preserveMissing: z.boolean().default(false),
});

/** Remap one block of `src` into `dest`. */
export const remapTask = defineTask({
  name: "remap",
  params: remapParams,
  async run(p, ctx): Promise<{ voxels: number }> {
    const src = await openLayer(ctx, p.src, p.mip);
    const dest = (await openLayer(ctx, p.dest, 0)).withMip(src.resolution);
    const box = bboxOf(p.bbox).intersect(src.bounds);
    if (box.empty()) return { voxels: 0 };
    let map = maps.get(p.map);
    if (!map) {
      const { dir } = fileLocation(p.map);
      map = readRemapMap(p.map, ctx.storage(dir), ctx.signal);
      maps.clear();
      maps.set(p.map, map);
    }
    const table = await map;
    const cut = await src.read(box, { signal: ctx.signal });
    const data = cut.data;
    const out = await ctx.runKernel<TypedArray>(
      labelsKernels(),
      "remap",
      [
        data,
        table,
        {
          preserveMissing: p.preserveMissing,
          dataType: dest.dataType,
          context: `${p.src} ${box}`,
          // The block is moved to the worker and not read again: no second array.
          inPlace: dest.dataType === src.dataType,
        },
      ],
      { transfer: [data.buffer as ArrayBuffer], signal: ctx.signal },
    );
    // A typed array of this realm over the worker's buffer.
    const Ctor = cut.data.constructor as new (
      b: ArrayBufferLike,
      offset: number,
      length: number,
    ) => TypedArray;
    const same =
      dest.dataType === src.dataType ? new Ctor(out.buffer, out.byteOffset, out.length) : out;
    await dest.write(box, fromTyped(same, cut.shape), { signal: ctx.signal });
    return { voxels: box.volume() };
  },
});

/**
 * Options of {@link createRemapTasks}. With `sharded`, dest (and its
 * downsampled scales) is sharded and each task writes one whole shard.
 */
export interface RemapTaskOptions extends CreateOptionsBase, ShardedOutputOptions {
  /** URL of the map file (.npy dense, JSON object, or .bin uint64 pairs). */
  map: string;
  /** Data type of dest. Default: the source's. */
  dataType?: (typeof LABEL_TYPES)[number];
  /** Ids missing from the map keep their value (default: an error naming the id, layer and box). */
  preserveMissing?: boolean;
  mip?: number;
  /** Task shape; default as the maintenance stages (a multiple of the chunk size). */
  shape?: Vec3;
  /** Downsampled scales written afterwards (mode pooling). Default 0. */
  mips?: number;
  /** Bytes one task may hold; picks the task shape (or the shards). Default 3.5 GB. */
  memoryTarget?: number;
}

/**
 * The remap stage as phases: remap every block (after writing dest's info),
 * then downsample dest. The map file is read and checked before anything is written.
 */
export async function createRemapTasks(
  src: string,
  dest: string,
  o: RemapTaskOptions,
): Promise<TaskPhase[]> {
  const mip = o.mip ?? 0;
  const info = await readInfo(storageFor(src, o));
  if (!(LABEL_TYPES as readonly string[]).includes(info.data_type))
    throw new LayerMismatchError(`remap reads integer labels; ${src} holds ${info.data_type}`);
  const dataType = o.dataType ?? (info.data_type as DataType);
  if (!(LABEL_TYPES as readonly string[]).includes(dataType))
    throw new LayerMismatchError(`remap writes integer labels; ${dataType} is not one`);
  await readRemapMap(o.map, o.storage?.(fileLocation(o.map).dir));
  const scale = scaleForMip(info, mip);
  const out = singleScaleInfo(info, mip, dataType);
  const plan = planLabelSharding(out, o, {
    url: dest,
    bytesRead: bytesPerVoxel(info.data_type as DataType) * info.num_channels,
  });
  const shape =
    plan?.taskShape ??
    o.shape ??
    blockShape(scale.chunkSize, info.data_type as DataType, 1, o.memoryTarget);
  const phases: TaskPhase[] = [
    {
      name: "remap",
      tasks: async () => {
        await writeInfo(storageFor(dest, o), out);
        return taskSet(
          scale.bounds,
          shape,
          { origin: scale.voxelOffset, clip: scale.bounds },
          (tile) =>
            remapTask.payload({
              src,
              dest,
              map: o.map,
              mip,
              bbox: tile.toChunkName(),
              preserveMissing: o.preserveMissing ?? false,
            }),
        );
      },
    },
  ];
  phases.push(...labelDownsamplePhases("remap downsample", dest, o.mips ?? 0, o));
  return phases;
}
