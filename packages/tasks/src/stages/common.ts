/**
 * Pieces the stages share: JSON param schemas (bboxes, vectors), opening
 * layers through a task context, and the typed errors of the stages.
 */
import {
  Bbox,
  type BboxLike,
  bytesPerVoxel,
  type DataType,
  type Vec3,
  Volume,
  type VoxelArray,
} from "@ngpipe/precomputed";
import { openStorage, type Storage, type StorageOptions } from "@ngpipe/storage";
import { z } from "zod";
import type { TaskContext } from "../runtime";
import type { BoundsCheckOptions } from "./checks";

/** Base class of the stages' errors. */
export class StageError extends Error {
  override name = "StageError";
}

/**
 * A downsample (or transfer with downsampling) that cannot produce the
 * requested number of mips within the memory target. `needed` is the memory
 * that number of mips would take.
 */
export class DownsampleMemoryError extends StageError {
  override name = "DownsampleMemoryError";
  constructor(
    message: string,
    /** Bytes the requested mips would need. */
    readonly needed: number,
    /** The memory target in bytes. */
    readonly target: number,
  ) {
    super(message);
  }
}

/** A layer whose info does not suit the stage (data type, channels, scales). */
export class LayerMismatchError extends StageError {
  override name = "LayerMismatchError";
}

const int = z.number().int();

/** `[x, y, z]` integers. */
export const vec3Schema = z.tuple([int, int, int]);

/** `[x, y, z]` positive integers (shapes, factors, chunk sizes). */
export const positiveVec3Schema = z.tuple([int.positive(), int.positive(), int.positive()]);

/** A bbox as JSON: a chunk name `x0-x1_y0-y1_z0-z1` or `{minpt, maxpt}`. */
export const bboxSchema = z.union([
  z.string().regex(/^-?\d+--?\d+_-?\d+--?\d+_-?\d+--?\d+$/, "expected x0-x1_y0-y1_z0-z1"),
  z.object({ minpt: vec3Schema, maxpt: vec3Schema }),
]);

/** JSON form of a bbox in task params. */
export type BboxParam = z.infer<typeof bboxSchema>;

/** A Bbox from task params. */
export function bboxOf(p: BboxParam): Bbox {
  return Bbox.fromJSON(p);
}

/** The readable units of a byte count, e.g. `3.50 GB`. */
export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(2)} ${units[i]}`;
}

/**
 * Transport compression of written chunks in task params: `gzip`, `br`, or
 * `none`. Omitted: the Volume default (gzip for raw and
 * compressed_segmentation, none for jpeg and png).
 */
export const compressSchema = z.enum(["gzip", "br", "none"]);

/** Open a layer at a mip through the context's shared storages. */
export function openLayer(
  ctx: TaskContext,
  url: string,
  mip: number,
  options: { fillMissing?: boolean; compress?: "gzip" | "br" | "none" } = {},
): Promise<Volume> {
  const { compress, ...rest } = options;
  return Volume.open(url, {
    mip,
    storage: ctx.storage(url),
    ...rest,
    ...(compress ? { compress: compress === "none" ? false : compress } : {}),
  });
}

/** Options of the task creation functions that reach storage. */
export interface CreateOptionsBase extends BoundsCheckOptions {
  /** Options for `openStorage` (endpoint, credentials, ...) of the layers named. */
  storageOptions?: StorageOptions;
  /** Already open storages by URL (e.g. a test's `mem://` store). */
  storage?: (url: string) => Storage;
}

/** The storage of a layer for a task creation function. */
export function storageFor(url: string, options: CreateOptionsBase): Storage {
  return options.storage ? options.storage(url) : openStorage(url, options.storageOptions);
}

/** A bbox option of a creation function, from any accepted form. */
export function toBbox(b: BboxLike | undefined): Bbox | undefined {
  if (b === undefined) return undefined;
  return b instanceof Bbox ? b : Bbox.fromJSON(b);
}

/** Component-wise power: `factor^k`. */
export function factorPow(factor: Vec3, k: number): Vec3 {
  return [factor[0] ** k, factor[1] ** k, factor[2] ** k];
}

/**
 * The default task shape of the stages that do not downsample (touch,
 * blackout, delete): the chunk grown by powers of two in x and y, up to 16x
 * (2048x2048 for 128x128 chunks, Igneous' default), while one block of
 * `dtype` x `channels` stays within `memoryTarget` bytes.
 */
export function blockShape(
  chunkSize: Vec3,
  dtype: DataType,
  channels: number,
  memoryTarget = 3.5e9,
): Vec3 {
  const width = bytesPerVoxel(dtype) * channels;
  let k = 0;
  while (k < 4 && chunkSize[0] * chunkSize[1] * chunkSize[2] * 4 ** (k + 1) * width <= memoryTarget)
    k++;
  return [chunkSize[0] * 2 ** k, chunkSize[1] * 2 ** k, chunkSize[2]];
}

/**
 * The block `bbox` (a chunk name, voxels of `mip`) of a layer read with one
 * voxel more on its high faces, clipped to the dataset: how the mesh and
 * skeleton tasks make neighbouring blocks share a plane of voxels.
 */
export async function readBlockWithOverlap(
  p: { layer: string; mip: number; fillMissing: boolean; bbox: string },
  ctx: TaskContext,
): Promise<{ vol: Volume; box: Bbox; cutout: Bbox; data: VoxelArray }> {
  const vol = await Volume.open(p.layer, {
    mip: p.mip,
    fillMissing: p.fillMissing,
    storage: ctx.storage(p.layer),
  });
  const box = Bbox.parseChunkName(p.bbox);
  const cutout = box.grow({ high: [1, 1, 1] }).intersect(vol.bounds);
  const data = await vol.read(cutout, { signal: ctx.signal });
  return { vol, box, cutout, data };
}
