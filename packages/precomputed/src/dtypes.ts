/**
 * Data types of precomputed volumes and the typed arrays that hold them.
 * uint64/int64 use BigUint64Array/BigInt64Array at the API edge; kernels view
 * the same buffer as Uint32Array pairs (low word first, little-endian).
 */
import { PrecomputedError } from "./errors";

/** A voxel data type, named as in the precomputed `info` file. */
export type DataType =
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "float32"
  | "float64";

/** Any typed array a volume can hold. */
export type TypedArray =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

type Ctor = {
  new (length: number): TypedArray;
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): TypedArray;
  BYTES_PER_ELEMENT: number;
};

const CTORS: Record<DataType, Ctor> = {
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  float32: Float32Array,
  float64: Float64Array,
};

/** Every supported data type. */
export const DATA_TYPES = Object.keys(CTORS) as DataType[];

/** Whether `s` names a supported data type. */
export function isDataType(s: unknown): s is DataType {
  return typeof s === "string" && Object.hasOwn(CTORS, s);
}

/** Bytes per voxel of one channel. */
export function bytesPerVoxel(dtype: DataType): number {
  return CTORS[dtype].BYTES_PER_ELEMENT;
}

/** A zero-filled typed array of `length` voxels. */
export function allocTyped(dtype: DataType, length: number): TypedArray {
  return new CTORS[dtype](length);
}

/** A typed-array view of `dtype` over bytes (no copy; the byte offset must be aligned). */
export function viewTyped(
  dtype: DataType,
  buffer: ArrayBufferLike,
  byteOffset = 0,
  length?: number,
): TypedArray {
  const C = CTORS[dtype];
  return new C(
    buffer,
    byteOffset,
    length ?? (buffer.byteLength - byteOffset) / C.BYTES_PER_ELEMENT,
  );
}

/** The data type a typed array holds. */
export function dataTypeOf(array: TypedArray): DataType {
  for (const [k, C] of Object.entries(CTORS))
    if (array instanceof (C as unknown as typeof Uint8Array)) return k as DataType;
  throw new TypeError("not a supported typed array");
}

/** Whether a data type is 64-bit integer (kernels handle it as uint32 pairs). */
export function is64Bit(dtype: DataType): boolean {
  return dtype === "uint64" || dtype === "int64";
}

/** A voxel value that a data type cannot hold (out of range, fractional for an integer type, not a number). */
export class VoxelValueError extends PrecomputedError {
  override name = "VoxelValueError";
}

const INT_RANGES: Partial<Record<DataType, readonly [bigint, bigint]>> = {
  uint8: [0n, 255n],
  uint16: [0n, 65535n],
  uint32: [0n, 2n ** 32n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  int8: [-128n, 127n],
  int16: [-32768n, 32767n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
};

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** The smallest and largest value of an integer data type, as decimal strings; undefined for floats. */
export function dataTypeRange(dtype: DataType): readonly [string, string] | undefined {
  const r = INT_RANGES[dtype];
  return r && [r[0].toString(), r[1].toString()];
}

/**
 * `value` (a number, or a decimal string for 64-bit integers beyond 2^53) as
 * a voxel of `dtype`: a bigint for uint64/int64, else a number. Throws
 * {@link VoxelValueError} naming `what` and the type's range when the type
 * cannot hold it exactly — a typed array would silently wrap 300 to 44 in a
 * uint8 layer.
 *
 * @example
 * voxelValue("255", "uint8"); // 255
 * voxelValue(300, "uint8"); // throws: must be a whole number from 0 to 255 for a uint8 layer
 */
export function voxelValue(
  value: number | string,
  dtype: DataType,
  what = "value",
): number | bigint {
  const text = String(value).trim();
  const range = INT_RANGES[dtype];
  if (range === undefined) {
    const n = Number(text);
    const max = dtype === "float32" ? FLOAT32_MAX : Number.MAX_VALUE;
    if (text === "" || !Number.isFinite(n) || Math.abs(n) > max)
      throw new VoxelValueError(
        `${what} must be a finite number a ${dtype} layer can hold; got ${JSON.stringify(value)}`,
      );
    return n;
  }
  const v =
    typeof value === "number"
      ? Number.isSafeInteger(value)
        ? BigInt(value)
        : undefined
      : /^-?\d+$/.test(text)
        ? BigInt(text)
        : undefined;
  if (v === undefined || v < range[0] || v > range[1])
    throw new VoxelValueError(
      `${what} must be a whole number from ${range[0]} to ${range[1]} for a ${dtype} layer; got ${JSON.stringify(value)}`,
    );
  return is64Bit(dtype) ? v : Number(v);
}
