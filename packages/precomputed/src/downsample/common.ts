/**
 * Shapes, factors and errors shared by the downsampling kernels.
 *
 * Arrays are x-fastest (Fortran order) with shape `[x, y, z, c]`; a 3-element
 * shape means one channel. 64-bit integer arrays are processed as pairs of
 * uint32 words (low word first).
 */

/**
 * Any typed array a volume can hold, and the `[x, y, z, channels]` shape: the
 * data model's own types.
 */
import type { Shape4 } from "../array";
import type { TypedArray as VoxelArray } from "../dtypes";

export type { Shape4, VoxelArray };

/** A shape as callers pass it: `[x, y, z]` (one channel) or `[x, y, z, c]`. */
export type ShapeLike =
  | readonly [number, number, number]
  | readonly [number, number, number, number];

/** A downsampling factor per spatial axis, `[fx, fy, fz]`; channels are never pooled. */
export type Factor3 = readonly [number, number, number];

/** Bad arguments given to a downsampling kernel (shape, factor, mip count or data type). */
export class DownsampleError extends Error {
  override readonly name = "DownsampleError";
  /** The argument at fault: `"shape"`, `"factor"`, `"mips"` or `"dtype"`. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(`downsample: ${field}: ${message}`);
    this.field = field;
  }
}

/** Checks a shape against the array length and returns it as `[x, y, z, c]`. */
export function normalizeShape(shape: ShapeLike, length: number): Shape4 {
  if (shape.length !== 3 && shape.length !== 4)
    throw new DownsampleError(
      "shape",
      `expected [x,y,z] or [x,y,z,c], got [${(shape as readonly number[]).join(",")}]`,
    );
  const s: Shape4 = [shape[0], shape[1], shape[2], shape.length === 4 ? shape[3] : 1];
  for (const n of s)
    if (!Number.isInteger(n) || n < 1)
      throw new DownsampleError(
        "shape",
        `dimensions must be positive integers, got [${s.join(",")}]`,
      );
  const voxels = s[0] * s[1] * s[2] * s[3];
  if (voxels !== length)
    throw new DownsampleError(
      "shape",
      `[${s.join(",")}] holds ${voxels} voxels but the array has ${length} elements`,
    );
  return s;
}

/** Checks a factor: three positive integers. */
export function normalizeFactor(factor: Factor3): Factor3 {
  if (factor.length !== 3 || !factor.every((f) => Number.isInteger(f) && f >= 1))
    throw new DownsampleError(
      "factor",
      `expected three positive integers [fx,fy,fz], got [${factor.join(",")}]`,
    );
  return factor;
}

/** Checks a mip count: a non-negative integer. */
export function checkMips(mips: number): void {
  if (!Number.isInteger(mips) || mips < 0)
    throw new DownsampleError("mips", `expected a non-negative integer, got ${mips}`);
}

/**
 * The shape one downsampling step produces: `ceil(size / factor)` per spatial
 * axis, channels unchanged.
 *
 * @example downsampleShape([513, 512, 64, 1], [2, 2, 1]) // [257, 256, 64, 1]
 */
export function downsampleShape(shape: ShapeLike, factor: Factor3): Shape4 {
  return [
    Math.ceil(shape[0] / factor[0]),
    Math.ceil(shape[1] / factor[1]),
    Math.ceil(shape[2] / factor[2]),
    shape.length === 4 ? shape[3] : 1,
  ];
}

/** Kind of element a kernel works on once 64-bit types are split into uint32 pairs. */
export type ElementKind =
  | "uint8"
  | "uint16"
  | "uint32"
  | "int8"
  | "int16"
  | "int32"
  | "float32"
  | "float64"
  | "uint64"
  | "int64";

/** The element kind of a typed array. */
export function elementKind(data: VoxelArray): ElementKind {
  if (data instanceof Uint8Array) return "uint8";
  if (data instanceof Uint16Array) return "uint16";
  if (data instanceof Uint32Array) return "uint32";
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof BigUint64Array) return "uint64";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof Int8Array) return "int8";
  if (data instanceof Int16Array) return "int16";
  if (data instanceof Int32Array) return "int32";
  throw new DownsampleError("dtype", "not a supported typed array");
}

/** A fresh array of the same type as `like` holding `length` elements. */
export function allocLike<T extends VoxelArray>(like: T, length: number): T {
  const C = like.constructor as new (n: number) => T;
  return new C(length);
}

/**
 * A fresh array of the same type as `src` holding `length` elements, NOT
 * zero-filled: for outputs a kernel writes in full. Its memory comes from
 * `Buffer.allocUnsafeSlow` (never Node's shared pool, so the array owns its
 * whole `ArrayBuffer` and can be transferred), which skips the zeroing that
 * `new Uint8Array(n)` does when the allocator reuses memory.
 */
export function freshLike<T extends Uint8Array | Uint16Array | Uint32Array>(
  src: T,
  length: number,
): T {
  const bytes = length * src.BYTES_PER_ELEMENT;
  const C = src.constructor as new (b: ArrayBuffer, o: number, n: number) => T;
  return new C(Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer, 0, length);
}

/** The uint32 words of a 64-bit array (two per element, low word first); no copy. */
export function wordsOf(data: BigUint64Array | BigInt64Array): Uint32Array {
  return new Uint32Array(data.buffer, data.byteOffset, data.length * 2);
}

/** A 64-bit array viewing the words of `words` (two per element); no copy. */
export function from64Words<T extends BigUint64Array | BigInt64Array>(
  like: T,
  words: Uint32Array,
): T {
  const C = like.constructor as new (b: ArrayBufferLike, o: number, n: number) => T;
  return new C(words.buffer, words.byteOffset, words.length >>> 1);
}

/**
 * The same bytes as an unsigned integer array of the same width (for methods
 * that only compare bit patterns: mode and striding); no copy.
 */
export function bitsView(data: VoxelArray): Uint8Array | Uint16Array | Uint32Array {
  const n = data.length;
  switch (data.BYTES_PER_ELEMENT) {
    case 1:
      return new Uint8Array(data.buffer, data.byteOffset, n);
    case 2:
      return new Uint16Array(data.buffer, data.byteOffset, n);
    case 4:
      return new Uint32Array(data.buffer, data.byteOffset, n);
    default:
      return new Uint32Array(data.buffer, data.byteOffset, n * 2);
  }
}

/** Re-types an unsigned result array to the caller's type (same element width); no copy. */
export function retype<T extends VoxelArray>(
  like: T,
  bits: Uint8Array | Uint16Array | Uint32Array,
): T {
  const C = like.constructor as new (b: ArrayBufferLike, o: number, n: number) => T;
  return new C(bits.buffer, bits.byteOffset, bits.byteLength / like.BYTES_PER_ELEMENT);
}
