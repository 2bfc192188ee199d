/**
 * Writing a block and its downsampled mips: the last step of the downsample,
 * transfer, quantize and contrast stages. The pooling runs in the worker pool; writes
 * go through `Volume.write`, aligned where the box allows and with
 * read-modify-write (conditional puts) where it does not.
 */
import {
  asFortran,
  Bbox,
  crop,
  type DownsampleMethod,
  dataTypeOf,
  downsampleShape,
  fromTyped,
  precomputedKernels,
  releaseSharedCutout,
  type Shape4,
  type TypedArray,
  takeSharedArray,
  type Vec3,
  type Volume,
  type VoxelArray,
  type VoxelInput,
} from "@ngpipe/precomputed";
import { forEachLimit } from "@ngpipe/storage";
import type { TaskContext } from "../runtime";
import { factorPow } from "./common";

/** How a level is written. */
export interface LevelWriteOptions {
  /**
   * Leave out chunks whose every voxel equals `background`, deleting any
   * object already stored at their key (Igneous' `delete_black_uploads`), so
   * the layer reads them back as background with `fillMissing`.
   */
  skipBackground?: boolean;
  /** The background value (default 0). */
  background?: number | bigint;
  signal?: AbortSignal;
}

/** How the downsampled levels are made. */
export interface PyramidOptions extends LevelWriteOptions {
  /** Per-mip factor, e.g. [2, 2, 1]. */
  factor: Vec3;
  /** Levels to make below the block's mip. */
  mips: number;
  method: DownsampleMethod;
  sparse?: boolean;
}

/**
 * Whether every voxel of the sub-box `[min, min+size)` of `a` (every channel)
 * equals `value`. `a` is contiguous (Fortran strides, offset 0), as
 * `asFortran` makes it.
 */
export function isUniform(
  a: VoxelArray,
  min: readonly number[],
  size: readonly number[],
  value: number | bigint,
): boolean {
  const data = a.data;
  const wide = data.BYTES_PER_ELEMENT === 8;
  // Compare bit patterns, so floats, signed types and uint64 pairs share one loop.
  const one = new (data.constructor as new (n: number) => TypedArray)(1);
  (one as unknown as (number | bigint)[])[0] = wide ? BigInt(value) : Number(value);
  const bits = (t: TypedArray) => {
    const b = t.BYTES_PER_ELEMENT;
    const n = (t.length * b) / (b === 8 ? 4 : b);
    if (b === 1) return new Uint8Array(t.buffer, t.byteOffset, n);
    if (b === 2) return new Uint16Array(t.buffer, t.byteOffset, n);
    return new Uint32Array(t.buffer, t.byteOffset, n);
  };
  const w = bits(data);
  const v = bits(one);
  const per = wide ? 2 : 1;
  const [, sy, sz, sc] = a.stride;
  for (let c = 0; c < a.shape[3]; c++) {
    for (let z = 0; z < size[2]; z++) {
      for (let y = 0; y < size[1]; y++) {
        const start = (min[0] + sy * (min[1] + y) + sz * (min[2] + z) + sc * c) * per;
        const end = start + size[0] * per;
        if (per === 1) {
          const v0 = v[0];
          for (let i = start; i < end; i++) if (w[i] !== v0) return false;
        } else {
          const lo = v[0];
          const hi = v[1];
          for (let i = start; i < end; i += 2) if (w[i] !== lo || w[i + 1] !== hi) return false;
        }
      }
    }
  }
  return true;
}

/**
 * Write `input` (the voxels of `box` at the volume's mip, any ndarray) to
 * `vol`, clipped to the dataset. Boxes off the chunk grid are patched with
 * read-modify-write.
 */
export async function writeLevel(
  vol: Volume,
  box: Bbox,
  input: VoxelInput,
  opts: LevelWriteOptions = {},
): Promise<void> {
  const clipped = box.intersect(vol.bounds);
  if (clipped.empty()) return;
  const at = (b: Bbox) => [b.min[0] - box.min[0], b.min[1] - box.min[1], b.min[2] - box.min[2]];
  const arr = clipped.equals(box) ? asFortran(input) : crop(input, at(clipped), clipped.size());
  const offset = (b: Bbox) => [
    b.min[0] - clipped.min[0],
    b.min[1] - clipped.min[1],
    b.min[2] - clipped.min[2],
  ];
  const { chunkSize, voxelOffset } = vol.scale;
  const aligned = clipped.isAlignedTo(chunkSize, voxelOffset, vol.bounds);
  const io = { signal: opts.signal };
  if (!opts.skipBackground || vol.scale.sharding) {
    await vol.write(clipped, arr, { ...io, readModifyWrite: !aligned });
    return;
  }
  const bg = opts.background ?? 0;
  const blank: string[] = [];
  const full: Bbox[] = [];
  for (const chunk of clipped.chunks(chunkSize, voxelOffset, vol.bounds)) {
    const part = chunk.intersect(clipped);
    // A partly covered chunk keeps the rest of its voxels: never delete it.
    if (part.equals(chunk) && isUniform(arr, offset(part), part.size(), bg)) {
      blank.push(vol.chunkKey(chunk));
    } else {
      full.push(part);
    }
  }
  if (blank.length === 0) {
    await vol.write(clipped, arr, { ...io, readModifyWrite: !aligned });
    return;
  }
  const results = await vol.storage.deleteMany(blank, io);
  for (const r of results) if (!r.ok) throw r.error;
  await forEachLimit(
    full,
    16,
    async (part) => {
      const piece = crop(arr, offset(part), part.size());
      const partAligned = part.isAlignedTo(chunkSize, voxelOffset, vol.bounds);
      await vol.write(part, piece, { ...io, readModifyWrite: !partAligned });
    },
    io,
  );
}

/** A typed array that owns its whole buffer (so it can be moved to a worker). */
function owned<T extends TypedArray>(data: T): T {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
    ? data
    : (data.slice() as T);
}

/**
 * Downsample `input` (the voxels of `box` at the mip of `vol`, any ndarray)
 * `opts.mips` times in the worker pool and write each level to the scale
 * whose resolution is `vol`'s times `factor^k`. A contiguous input's buffer
 * is moved to the worker and must not be used afterwards (one on a
 * SharedArrayBuffer is shared instead). The kernel writes the levels into
 * shared arrays, from which the workers that encode the new chunks cut
 * them: no level or chunk is copied on this thread.
 */
export async function writeDownsamples(
  ctx: TaskContext,
  vol: Volume,
  box: Bbox,
  input: VoxelInput,
  opts: PyramidOptions,
): Promise<void> {
  if (opts.mips <= 0) return;
  const array = asFortran(input);
  const data = owned(array.data);
  const dtype = dataTypeOf(data);
  const levels: VoxelArray[] = [];
  let shape = array.shape as Shape4;
  for (let k = 0; k < opts.mips; k++) {
    shape = downsampleShape(shape, opts.factor);
    levels.push(takeSharedArray(dtype, shape));
  }
  try {
    await ctx.runKernel<Shape4[]>(
      precomputedKernels(),
      "downsampleInto",
      [
        opts.method,
        data,
        array.shape,
        opts.factor,
        opts.mips,
        levels.map((l) => l.data),
        { sparse: opts.sparse ?? false },
      ],
      // A block on a SharedArrayBuffer (a shared read) is shared with the worker, not moved.
      { transfer: data.buffer instanceof ArrayBuffer ? [data.buffer] : [], signal: opts.signal },
    );
    const res = vol.resolution;
    // Levels are distinct scales: their writes can proceed together. All
    // settle before the levels' memory is given back, failed or not.
    const writes = await Promise.allSettled(
      levels.map((level, i) => {
        const f = factorPow(opts.factor, i + 1);
        const levelVol = vol.withMip([res[0] * f[0], res[1] * f[1], res[2] * f[2]]);
        const min: Vec3 = [
          Math.floor(box.min[0] / f[0]),
          Math.floor(box.min[1] / f[1]),
          Math.floor(box.min[2] / f[2]),
        ];
        const s = level.shape;
        return writeLevel(levelVol, Bbox.fromSize(min, [s[0], s[1], s[2]]), level, opts);
      }),
    );
    for (const w of writes) if (w.status === "rejected") throw w.reason;
  } finally {
    // Every write has settled (or the kernel failed): the next task reuses the levels' memory.
    for (const level of levels) releaseSharedCutout(level);
  }
}

/**
 * Write a kernel's one-channel output for `box` (x fastest) to `vol`, then
 * `mips` average downsamples of it: the last step of the per-block image
 * stages (quantize, contrast). `data`'s buffer moves to the worker pool.
 */
export async function writeImageBlock(
  ctx: TaskContext,
  vol: Volume,
  box: Bbox,
  data: TypedArray,
  opts: { factor: Vec3; mips: number; signal?: AbortSignal },
): Promise<void> {
  const s = box.size();
  const block = fromTyped(data, [s[0], s[1], s[2], 1]);
  await writeLevel(vol, box, block, { signal: opts.signal });
  await writeDownsamples(ctx, vol, box, block, { ...opts, method: "average" });
}
