/**
 * The transfer stage: copy a layer (or a box of it) to another storage —
 * file ↔ gs ↔ s3 ↔ mem — rechunking, re-encoding, translating and
 * optionally downsampling on the way, like Igneous' `TransferTask`. When
 * nothing about the chunks changes, tasks copy the chunk objects byte for
 * byte (stored compression included) instead of decoding them.
 *
 * ```ts
 * const tasks = await createTransferTasks("gs://lab/seg", "s3://mirror/seg", {
 *   chunkSize: [128, 128, 16], encoding: "compressed_segmentation", mips: 2 });
 * for (const payload of tasks) await executeTask(payload);
 * ```
 */
import {
  type Bbox,
  type BboxLike,
  type InfoJSON,
  readInfo,
  type Scale,
  ShardPlanError,
  scaleForMip,
  type Vec3,
  type Volume,
  writeInfo,
} from "@ngpipe/precomputed";
import type { Storage } from "@ngpipe/storage";
import { z } from "zod";
import { defineTask, type TaskContext } from "../runtime";
import { resolveBounds, type TaskSet, taskSet } from "../tiling";
import {
  checkInfoRewrite,
  checkVoxelValue,
  readExistingInfo,
  StageInputError,
  sameLocation,
} from "./checks";
import {
  bboxOf,
  bboxSchema,
  type CreateOptionsBase,
  compressSchema,
  LayerMismatchError,
  openLayer,
  positiveVec3Schema,
  storageFor,
  toBbox,
  vec3Schema,
} from "./common";
import {
  addDownsampleScales,
  backgroundSchema,
  backgroundValue,
  checkDownsampleMethod,
  methodSchema,
  planTasks,
  resolveMethod,
  type StageDownsampleMethod,
} from "./downsample";
import { writeDownsamples, writeLevel } from "./pyramid";
import { copyEncodedChunks } from "./reshard";
import { type ShardedOutputOptions, shardScale, unshardScale, wantsSharded } from "./sharding";

/** Params of {@link transferTask}. */
export const transferParams = z.object({
  /** URL of the layer read. */
  src: z.string().min(1),
  /** URL of the layer written (its info must exist: see createTransferTasks). */
  dest: z.string().min(1),
  mip: z.number().int().min(0),
  /** Box read, in voxels of `mip` of the source. */
  bbox: bboxSchema,
  /** Destination position minus source position, voxels of `mip`. */
  translate: vec3Schema.default([0, 0, 0]),
  fillMissing: z.boolean().default(false),
  /**
   * Copy chunks without decoding them (set by createTransferTasks when only
   * the sharding may change): chunk objects as stored, or encoded chunks
   * moved into or out of shard files.
   */
  fastPath: z.boolean().default(false),
  /** Downsampled mips written below `mip`. Default 0. */
  mips: z.number().int().min(0).default(0),
  factor: positiveVec3Schema.default([2, 2, 1]),
  method: methodSchema.default("auto"),
  sparse: z.boolean().default(false),
  skipBackground: z.boolean().default(false),
  background: backgroundSchema.default(0),
  /** Transport compression of the chunks written (default: the Volume's); not used by the fast path. */
  compress: compressSchema.optional(),
});

function sameVec(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

/**
 * Whether the encoded chunks of scale `a` are valid chunks of scale `b`:
 * same data type and channels, same grid, same encoding (and block size),
 * no translation. Their sharding may differ.
 */
export function encodedChunksMatch(
  a: { info: InfoJSON; scale: Scale },
  b: { info: InfoJSON; scale: Scale },
  translate: Vec3 = [0, 0, 0],
): boolean {
  return (
    a.info.data_type === b.info.data_type &&
    a.info.num_channels === b.info.num_channels &&
    sameVec(translate, [0, 0, 0]) &&
    sameVec(a.scale.chunkSize, b.scale.chunkSize) &&
    sameVec(a.scale.voxelOffset, b.scale.voxelOffset) &&
    sameVec(a.scale.size, b.scale.size) &&
    a.scale.encoding === b.scale.encoding &&
    sameVec(a.scale.blockSize, b.scale.blockSize)
  );
}

/**
 * Whether chunk objects of scale `a` can be copied as they are to scale `b`:
 * {@link encodedChunksMatch} and neither scale sharded.
 */
export function chunksCopyAsIs(
  a: { info: InfoJSON; scale: Scale },
  b: { info: InfoJSON; scale: Scale },
  translate: Vec3 = [0, 0, 0],
): boolean {
  return encodedChunksMatch(a, b, translate) && !a.scale.sharding && !b.scale.sharding;
}

/** Copy the stored chunk objects of `box` from `src` to `dest`; missing chunks stay missing. */
async function copyChunks(ctx: TaskContext, src: Volume, dest: Volume, box: Bbox): Promise<number> {
  const { chunkSize, voxelOffset } = src.scale;
  const pairs = [...box.chunks(chunkSize, voxelOffset, src.bounds)].map((c) => [
    src.chunkKey(c),
    dest.chunkKey(c),
  ]);
  const s: Storage = src.storage;
  const d: Storage = dest.storage;
  const io = { signal: ctx.signal };
  const serverSide =
    s.backend.copyWithin !== undefined &&
    s.backend.constructor === d.backend.constructor &&
    s.backend.encodingInMetadata === d.backend.encodingInMetadata;
  let copied = 0;
  let next = 0;
  const worker = async () => {
    while (next < pairs.length) {
      const [key, destKey] = pairs[next++];
      if (serverSide) {
        if (await s.copyWithinTo(key, d, destKey, io)) copied++;
        continue;
      }
      const stored = await s.getRaw(key, io);
      if (stored === null) continue;
      await d.putRaw(destKey, stored.data, {
        contentEncoding: stored.info.contentEncoding,
        contentType: stored.info.contentType,
        cacheControl: stored.info.cacheControl,
        signal: ctx.signal,
      });
      copied++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, pairs.length) }, worker));
  return copied;
}

/** What a transfer task did. */
export interface TransferTaskResult {
  /** Voxels of the box copied. */
  voxels: number;
  /** Chunks copied without decoding (fast path), else 0. */
  copiedObjects: number;
}

/**
 * Copy one box of a layer to another layer (already described by its info),
 * then write `mips` downsamples of it there.
 */
export const transferTask = defineTask({
  name: "transfer",
  params: transferParams,
  async run(p, ctx): Promise<TransferTaskResult> {
    const src = await openLayer(ctx, p.src, p.mip, { fillMissing: p.fillMissing });
    const dest = (await openLayer(ctx, p.dest, 0, { compress: p.compress })).withMip(
      src.resolution,
    );
    if (src.dataType !== dest.dataType || src.numChannels !== dest.numChannels) {
      throw new LayerMismatchError(
        `cannot transfer ${src.dataType} x ${src.numChannels} from ${p.src} into ` +
          `${dest.dataType} x ${dest.numChannels} at ${p.dest}`,
      );
    }
    const t = p.translate;
    const destBox = bboxOf(p.bbox).intersect(src.bounds).translate(t).intersect(dest.bounds);
    if (destBox.empty()) return { voxels: 0, copiedObjects: 0 };
    const srcBox = destBox.translate([-t[0], -t[1], -t[2]]);
    const a = { info: src.info, scale: src.scale };
    const b = { info: dest.info, scale: dest.scale };
    const direct =
      p.fastPath &&
      p.mips === 0 &&
      p.compress === undefined &&
      !p.skipBackground &&
      encodedChunksMatch(a, b, t);
    if (direct) {
      const copiedObjects = chunksCopyAsIs(a, b, t)
        ? await copyChunks(ctx, src, dest, srcBox)
        : await copyEncodedChunks(ctx, src, dest, srcBox);
      ctx.progress(srcBox.volume(), srcBox.volume());
      return { voxels: srcBox.volume(), copiedObjects };
    }
    const image = await src.read(srcBox, { signal: ctx.signal });
    const level = {
      skipBackground: p.skipBackground,
      background: backgroundValue(p.background, src.dataType),
      signal: ctx.signal,
    };
    await writeLevel(dest, destBox, image, level);
    // The pyramid is built from whole tiles, which lie on the destination's
    // chunk x factor^mips grid. When the source covers only part of this
    // tile (a source smaller than, or offset within, an existing
    // destination; or `bounds`), the tile is read back from the destination
    // so that coarser voxels pool the right fine voxels, old ones included.
    const tile = bboxOf(p.bbox).translate(t).intersect(dest.bounds);
    let base = image;
    let baseBox = destBox;
    if (p.mips > 0 && !tile.equals(destBox)) {
      const whole = (await openLayer(ctx, p.dest, 0, { fillMissing: true })).withMip(
        src.resolution,
      );
      base = await whole.read(tile, { signal: ctx.signal });
      baseBox = tile;
    }
    await writeDownsamples(ctx, dest, baseBox, base, {
      ...level,
      factor: p.factor,
      mips: p.mips,
      method: resolveMethod(p.method, src.layerType),
      sparse: p.sparse,
    });
    ctx.progress(srcBox.volume(), srcBox.volume());
    return { voxels: srcBox.volume(), copiedObjects: 0 };
  },
});

/**
 * Options of {@link createTransferTasks}. With `sharded`, the destination
 * scale is sharded and each task copies one whole shard (Igneous'
 * ImageShardTransferTask); `sharded: false` writes it unsharded.
 */
export interface TransferTaskOptions extends CreateOptionsBase, ShardedOutputOptions {
  /** Mip copied. Default 0. */
  mip?: number;
  /** Chunk size of the destination at `mip`; default the source's. */
  chunkSize?: Vec3;
  /** Encoding of the destination at `mip` (and new scales); default the source's. */
  encoding?: string;
  /** compressed_segmentation block size; default the source's, else [8, 8, 8]. */
  blockSize?: Vec3;
  /** Shift of the data, voxels of `mip`; the destination's voxel offset moves with it. */
  translate?: Vec3;
  /** Only this box (voxels of `boundsMip`, default 0) of the source. */
  bounds?: BboxLike;
  boundsMip?: number;
  fillMissing?: boolean;
  /** Downsampled mips written after the copy. Default 0. */
  mips?: number;
  /** Default [2, 2, 1]. */
  factor?: Vec3;
  /** Default "auto": average for images, mode for segmentation. */
  method?: StageDownsampleMethod;
  sparse?: boolean;
  skipBackground?: boolean;
  background?: number | string;
  /** Bytes one task may hold. Default 3.5 GB. */
  memoryTarget?: number;
  /** Allow the byte-for-byte copy when nothing about the chunks changes. Default true. */
  fastPath?: boolean;
  /** Transport compression of the chunks written: gzip, br or none (disables the fast path). */
  compress?: "gzip" | "br" | "none";
}

/**
 * The destination info of a transfer: the destination's own if it exists,
 * else the source's with scales up to `mip`; then the scale at `mip` gets
 * the requested chunk size, encoding and translated voxel offset, and loses
 * the source's sharding (createTransferTasks plans the destination's).
 */
function transferInfo(src: InfoJSON, existing: InfoJSON | null, o: TransferTaskOptions): InfoJSON {
  const mip = o.mip ?? 0;
  const srcScale = scaleForMip(src, mip);
  const info: InfoJSON = existing ?? {
    ...structuredClone(src),
    scales: structuredClone(src.scales.slice(0, mip + 1)),
  };
  let destMip = info.scales.findIndex((s) => sameVec(s.resolution, srcScale.resolution));
  const added = destMip < 0;
  if (added) {
    info.scales.push(structuredClone(srcScale.raw));
    info.scales.sort(
      (a, b) =>
        a.resolution[0] * a.resolution[1] * a.resolution[2] -
        b.resolution[0] * b.resolution[1] * b.resolution[2],
    );
    destMip = info.scales.findIndex((s) => sameVec(s.resolution, srcScale.resolution));
  }
  const s = info.scales[destMip];
  // A scale taken from the source (new layer, or a destination without this
  // resolution) moves with the translation, unsharded unless asked.
  if (existing === null || added) {
    const t = o.translate ?? [0, 0, 0];
    const off = srcScale.voxelOffset;
    s.voxel_offset = [off[0] + t[0], off[1] + t[1], off[2] + t[2]];
    delete s.sharding;
  }
  if (o.chunkSize) s.chunk_sizes = [[...o.chunkSize]];
  if (o.encoding) s.encoding = o.encoding;
  if (s.encoding === "compressed_segmentation") {
    s.compressed_segmentation_block_size = [
      ...(o.blockSize ?? s.compressed_segmentation_block_size ?? [8, 8, 8]),
    ] as [number, number, number];
  } else {
    delete s.compressed_segmentation_block_size;
  }
  return info;
}

/**
 * Write the destination's info (creating it from the source's, with the
 * requested chunk size, encoding, offset and downsampled scales), then return
 * the transfer tasks covering the source (or `bounds`), lazily. Tasks are
 * tiled on the destination's chunk grid, so every write is whole chunks.
 */
export async function createTransferTasks(
  src: string,
  dest: string,
  o: TransferTaskOptions = {},
): Promise<TaskSet<z.input<typeof transferParams>>> {
  const mip = o.mip ?? 0;
  const factor = o.factor ?? [2, 2, 1];
  const translate = o.translate ?? [0, 0, 0];
  const srcInfo = await readInfo(storageFor(src, o));
  const srcScale = scaleForMip(srcInfo, mip);
  const destStorage = storageFor(dest, o);
  const existing = await readExistingInfo(destStorage);
  if (
    existing &&
    (existing.data_type !== srcInfo.data_type || existing.num_channels !== srcInfo.num_channels)
  ) {
    throw new LayerMismatchError(
      `${dest} holds ${existing.data_type} x ${existing.num_channels}; ${src} holds ` +
        `${srcInfo.data_type} x ${srcInfo.num_channels}`,
    );
  }
  const srcStorage = storageFor(src, o);
  const onItself = sameLocation(srcStorage, destStorage);
  // transferInfo edits the destination's info in place.
  const before = existing && structuredClone(existing);
  const info = transferInfo(srcInfo, existing, o);
  const destScale = scaleForMip(info, srcScale.resolution);
  if (
    onItself &&
    (!chunksCopyAsIs({ info: srcInfo, scale: srcScale }, { info, scale: destScale }, translate) ||
      o.compress !== undefined)
  )
    throw new StageInputError(
      `${dest} is the source layer ${src}: transferring it onto itself with another ` +
        "chunk size, encoding, translation or compression would overwrite the chunks it reads; " +
        "nothing was written. Transfer to a new layer",
      "dest",
    );
  const fresh =
    existing === null || !existing.scales.some((s) => sameVec(s.resolution, srcScale.resolution));
  // Copying into a scale that is sharded already writes it sharded too.
  const sharded = wantsSharded(o) || (o.sharded === undefined && !!destScale.sharding);
  if (o.sharded === false) unshardScale(destScale.raw, { url: dest, fresh });
  if (sharded && (o.mips ?? 0) > 0) {
    throw new ShardPlanError(
      `a sharded transfer writes whole shards of mip ${mip} only, not ${o.mips} downsampled mips; ` +
        "make them afterwards with a (sharded) downsample",
      destScale.key,
      "mips",
    );
  }
  const planned = planTasks({
    what: `transferring ${src} at mip ${mip}`,
    chunkSize: destScale.chunkSize,
    size: destScale.size,
    dtype: srcInfo.data_type,
    channels: srcInfo.num_channels,
    factor,
    memoryTarget: o.memoryTarget,
    mips: o.mips ?? 0,
    minMips: 0,
  });
  const { mips } = planned;
  let { shape, grid } = planned;
  if (sharded) {
    // A shard task writes its whole shard from the source alone: never read one back.
    const covered = srcScale.bounds.translate(translate);
    if (!covered.contains(destScale.bounds)) {
      throw new ShardPlanError(
        `the source covers ${covered} of the destination, not all of ${destScale.bounds}; ` +
          "shard tasks would have to read the destination's shards back. Copy into a new layer",
        destScale.key,
        "bounds",
      );
    }
    const plan = shardScale(info, destScale.raw, o, {
      url: dest,
      fresh,
      readFactor: 1,
      memoryTarget: o.memoryTarget,
    });
    shape = plan.taskShape;
    grid = shape;
  }
  if (mips > 0) checkDownsampleMethod(src, o.method ?? "auto", srcInfo);
  const srcBounds = resolveBounds(srcInfo, mip, toBbox(o.bounds), o.boundsMip ?? 0, undefined, {
    ...o,
    url: src,
  });
  if (o.background !== undefined)
    checkVoxelValue(o.background, srcInfo.data_type, "background", src);
  const keys = addDownsampleScales(info, destScale.mip, mips, factor, destScale.chunkSize, o);
  // Scales written whole: the one copied into, when the source covers it
  // (and is not this very scale), and the new mips, unless bounds limit them.
  const covers =
    o.bounds === undefined &&
    !onItself &&
    srcBounds.translate(translate).contains(destScale.bounds);
  const written = new Set(covers ? [destScale.key, ...keys] : []);
  checkInfoRewrite(before, info, dest, (key) => written.has(key));
  await writeInfo(destStorage, info);
  const fastPath =
    (o.fastPath ?? true) &&
    mips === 0 &&
    !o.skipBackground &&
    o.compress === undefined &&
    encodedChunksMatch({ info: srcInfo, scale: srcScale }, { info, scale: destScale }, translate);
  const bounds = srcBounds
    .translate(translate)
    .expandToChunks(grid, destScale.voxelOffset)
    .intersect(destScale.bounds);
  const back: Vec3 = [-translate[0], -translate[1], -translate[2]];
  return taskSet(bounds, shape, { origin: destScale.voxelOffset, clip: destScale.bounds }, (tile) =>
    transferTask.payload({
      src,
      dest,
      mip,
      bbox: tile.translate(back).toChunkName(),
      translate: [...translate] as [number, number, number],
      fillMissing: o.fillMissing ?? false,
      fastPath,
      mips,
      factor: [...factor] as [number, number, number],
      method: o.method ?? "auto",
      sparse: o.sparse ?? false,
      skipBackground: o.skipBackground ?? false,
      background: o.background ?? 0,
      ...(o.compress ? { compress: o.compress } : {}),
    }),
  );
}
