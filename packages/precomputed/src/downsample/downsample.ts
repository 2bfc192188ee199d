/**
 * Public entry points of the downsampling kernels: one function per method
 * and a dispatcher. All are pure and synchronous; outputs are freshly
 * allocated (safe to transfer to another thread) and never alias the input.
 */

import { averageMips, checkAverageType } from "./average";
import {
  bitsView,
  checkMips,
  DownsampleError,
  downsampleShape,
  elementKind,
  type Factor3,
  normalizeFactor,
  normalizeShape,
  retype,
  type Shape4,
  type ShapeLike,
  type VoxelArray,
} from "./common";
import { countlessPyramid, modeStep } from "./mode";
import { extremumStep, extremumStepPairs, striding } from "./pooling";

/** Options of the downsampling kernels. */
export interface DownsampleOptions {
  /**
   * Treat zero as background: averages ignore zero voxels and mode pooling
   * lets zero win only when a whole block is zero. Ignored by min, max and
   * striding.
   */
  sparse?: boolean;
}

/** A downsampling method: see the functions of the same name. */
export type DownsampleMethod = "average" | "mode" | "min" | "max" | "striding";

/** One level of a pyramid: the voxels and their `[x, y, z, c]` shape. */
export interface DownsampledMip<T extends VoxelArray = VoxelArray> {
  data: T;
  shape: Shape4;
}

function prepare(data: VoxelArray, shape: ShapeLike, factor: Factor3, mips: number): Shape4 {
  checkMips(mips);
  normalizeFactor(factor);
  return normalizeShape(shape, data.length);
}

function isIdentity(factor: Factor3): boolean {
  return factor[0] === 1 && factor[1] === 1 && factor[2] === 1;
}

function copies<T extends VoxelArray>(data: T, mips: number): T[] {
  return Array.from({ length: mips }, () => data.slice() as T);
}

/**
 * Average pooling, bit-identical to tinybrain's `downsample_with_averaging`
 * (see docs/downsample-kernels.md for the exact arithmetic). Returns `mips`
 * arrays of the input's type, level k having shape `ceil(shape / factor^k)`.
 * Accepts uint8, uint16, uint32, float32 and float64.
 *
 * @example
 * const [m1, m2] = downsampleAverage(image, [512, 512, 64], [2, 2, 1], 2);
 * // m1: 256x256x64, m2: 128x128x64, both Uint8Array when image is
 */
export function downsampleAverage<T extends VoxelArray>(
  data: T,
  shape: ShapeLike,
  factor: Factor3,
  mips: number,
  options: DownsampleOptions = {},
): T[] {
  const s = prepare(data, shape, factor, mips);
  checkAverageType(data);
  if (isIdentity(factor)) return copies(data, mips);
  return averageMips(data, s, factor, mips, options.sparse ?? false) as T[];
}

/**
 * Mode pooling for segmentation, as tinybrain's `downsample_segmentation`:
 * COUNTLESS for 2x2x1 blocks (`a==b → a; a==c → a; b==c → b; else d`),
 * counting for 2x2x2 blocks (most frequent, ties to the first in x-fastest
 * order), each mip computed from the previous one. Factors `(2^k, 2^k, 1)` and
 * `(2^k, 2^k, 2^k)` run k such steps per mip; other factors stride, as
 * tinybrain does. Any element type (values compared as bit patterns); uint64
 * labels above 2^53 are exact.
 *
 * `into` (used by {@link downsampleInto}): arrays for the levels, of the
 * input's element width and each level's length; the 2x2x1 pyramid is
 * written straight into them and the levels returned view them.
 */
export function downsampleMode<T extends VoxelArray>(
  data: T,
  shape: ShapeLike,
  factor: Factor3,
  mips: number,
  options: DownsampleOptions = {},
  into?: readonly VoxelArray[],
): T[] {
  let s = prepare(data, shape, factor, mips);
  const pairs = data.BYTES_PER_ELEMENT === 8;
  let words = bitsView(data);
  if (factor[0] === 2 && factor[1] === 2 && factor[2] === 1)
    return countlessPyramid(
      words,
      s,
      mips,
      pairs,
      options.sparse ?? false,
      into?.map(bitsView),
    ).map((w) => retype(data, w));
  const out: T[] = [];
  for (let k = 0; k < mips; k++) {
    const r = modeStep(words, s, factor, pairs, options.sparse ?? false);
    out.push(retype(data, r.words));
    words = r.words;
    s = r.shape;
  }
  return out;
}

/**
 * Striding ("nearest"): level k keeps every `factor`-th voxel of level k-1,
 * starting at the origin (`a[::fx, ::fy, ::fz]`). Any element type.
 */
export function downsampleStriding<T extends VoxelArray>(
  data: T,
  shape: ShapeLike,
  factor: Factor3,
  mips: number,
): T[] {
  let s = prepare(data, shape, factor, mips);
  const pairs = data.BYTES_PER_ELEMENT === 8;
  let words = bitsView(data);
  const out: T[] = [];
  for (let k = 0; k < mips; k++) {
    const r = striding(words, s, factor, pairs);
    out.push(retype(data, r.words));
    words = r.words;
    s = r.shape;
  }
  return out;
}

function extremum<T extends VoxelArray>(
  data: T,
  shape: ShapeLike,
  factor: Factor3,
  mips: number,
  max: boolean,
): T[] {
  let s = prepare(data, shape, factor, mips);
  const kind = elementKind(data);
  const out: T[] = [];
  if (kind === "uint64" || kind === "int64") {
    let words = bitsView(data) as Uint32Array;
    for (let k = 0; k < mips; k++) {
      words = extremumStepPairs(words, s, factor, max, kind === "int64");
      out.push(retype(data, words));
      s = downsampleShape(s, factor);
    }
    return out;
  }
  let cur = data as Exclude<VoxelArray, BigUint64Array | BigInt64Array>;
  for (let k = 0; k < mips; k++) {
    cur = extremumStep(cur, s, factor, max);
    out.push(cur as T);
    s = downsampleShape(s, factor);
  }
  return out;
}

/**
 * Min pooling: each output voxel is the smallest of its block (blocks cut by
 * the edge use the voxels they have); levels cascade. Any element type.
 */
export function downsampleMin<T extends VoxelArray>(
  data: T,
  shape: ShapeLike,
  factor: Factor3,
  mips: number,
): T[] {
  return extremum(data, shape, factor, mips, false);
}

/** Max pooling: like {@link downsampleMin} with the largest value. */
export function downsampleMax<T extends VoxelArray>(
  data: T,
  shape: ShapeLike,
  factor: Factor3,
  mips: number,
): T[] {
  return extremum(data, shape, factor, mips, true);
}

/**
 * Downsamples by `method`, returning each level with its shape.
 *
 * @example
 * const pyramid = downsample("mode", labels, [256, 256, 64], [2, 2, 1], 3);
 * pyramid[2].shape; // [32, 32, 64, 1]
 */
export function downsample<T extends VoxelArray>(
  method: DownsampleMethod,
  data: T,
  shape: ShapeLike,
  factor: Factor3,
  mips: number,
  options: DownsampleOptions = {},
): DownsampledMip<T>[] {
  let arrays: T[];
  switch (method) {
    case "average":
      arrays = downsampleAverage(data, shape, factor, mips, options);
      break;
    case "mode":
      arrays = downsampleMode(data, shape, factor, mips, options);
      break;
    case "min":
      arrays = downsampleMin(data, shape, factor, mips);
      break;
    case "max":
      arrays = downsampleMax(data, shape, factor, mips);
      break;
    case "striding":
      arrays = downsampleStriding(data, shape, factor, mips);
      break;
    default:
      throw new DownsampleError("method", `unknown method ${JSON.stringify(method)}`);
  }
  const result: DownsampledMip<T>[] = [];
  let s = normalizeShape(shape, data.length);
  for (const a of arrays) {
    s = downsampleShape(s, factor);
    result.push({ data: a, shape: s });
  }
  return result;
}

/**
 * {@link downsample}, with level k copied into `outs[k]` (an array of the
 * input's type and of that level's length: typically on a
 * SharedArrayBuffer, so that other threads read the levels where this one
 * wrote them). Returns the levels' shapes.
 *
 * @example
 * const outs = [new Uint8Array(new SharedArrayBuffer(128 * 128 * 64))];
 * downsampleInto("average", image, [256, 256, 64], [2, 2, 1], 1, outs); // [[128, 128, 64, 1]]
 */
export function downsampleInto<T extends VoxelArray>(
  method: DownsampleMethod,
  data: T,
  shape: ShapeLike,
  factor: Factor3,
  mips: number,
  outs: readonly VoxelArray[],
  options: DownsampleOptions = {},
): Shape4[] {
  if (outs.length !== mips)
    throw new DownsampleError(
      "outs",
      `${mips} mip(s) need ${mips} output arrays, got ${outs.length}`,
    );
  const shapes: Shape4[] = [];
  let s = prepare(data, shape, factor, mips);
  for (let k = 0; k < mips; k++) {
    s = downsampleShape(s, factor);
    const out = outs[k];
    const n = s[0] * s[1] * s[2] * s[3];
    if (out.length !== n || out.BYTES_PER_ELEMENT !== data.BYTES_PER_ELEMENT)
      throw new DownsampleError(
        "outs",
        `mip ${k + 1} has ${n} voxels of ${data.BYTES_PER_ELEMENT} bytes; its output array holds ${out.length} of ${out.BYTES_PER_ELEMENT}`,
      );
    shapes.push(s);
  }
  // Mode pooling writes the levels in place: no level-sized memory of its
  // own (168 MB for a 1024x1024x64 uint64 block's 3 mips), which would fault
  // in every page and count as external memory, starting collections.
  const levels =
    method === "mode"
      ? downsampleMode(data, shape, factor, mips, options, outs)
      : downsample(method, data, shape, factor, mips, options).map((l) => l.data);
  levels.forEach((level, k) => {
    const out = outs[k];
    if (level.buffer === out.buffer && level.byteOffset === out.byteOffset) return;
    // Same element width: the bytes move unchanged (BigInt arrays included).
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(
      new Uint8Array(level.buffer, level.byteOffset, level.byteLength),
    );
  });
  return shapes;
}
