/**
 * Integer label types by name (the precomputed `data_type` names), their
 * ranges, and arrays of them with an unsigned-word view for writing.
 */

import { sharedOutputBuffer } from "../../precomputed/src/codecs/fresh_words";
import type { IntegerLabelArray } from "./label-array";

/** An integer label type name. */
export type LabelType =
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "int8"
  | "int16"
  | "int32"
  | "int64";

const CTORS = {
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
} as const;

/** The type name of an integer label array. */
export function labelTypeOf(labels: IntegerLabelArray): LabelType {
  for (const [name, ctor] of Object.entries(CTORS))
    if (labels instanceof ctor) return name as LabelType;
  throw new TypeError(`${(labels as object).constructor.name} is not an integer label array`);
}

/** Bytes per element of a label type. */
export function labelBytes(type: LabelType): number {
  return CTORS[type].BYTES_PER_ELEMENT;
}

/** An array of `type` over the first `n` elements of `buffer`. */
export function labelsOn(type: LabelType, buffer: ArrayBufferLike, n: number): IntegerLabelArray {
  return new CTORS[type](buffer as ArrayBuffer, 0, n);
}

/** The smallest and largest value of a label type. */
export function labelRange(type: LabelType): [bigint, bigint] {
  const bits = BigInt(CTORS[type].BYTES_PER_ELEMENT * 8);
  return type.startsWith("u")
    ? [0n, 2n ** bits - 1n]
    : [-(2n ** (bits - 1n)), 2n ** (bits - 1n) - 1n];
}

/**
 * A new zeroed array of `type` and its unsigned words (pairs for 64-bit types).
 * One of 64 MiB or more is on a SharedArrayBuffer while the process holds
 * under 1 GiB of array buffers, as large decoded chunks are (see
 * `fresh_words.ts` in @ngpipe/precomputed: an ordinary buffer that large makes
 * V8 start a collection inside the call that allocates it).
 */
export function newLabels(
  type: LabelType,
  n: number,
): { array: IntegerLabelArray; words: Uint8Array | Uint16Array | Uint32Array; pairs: boolean } {
  const bytes = CTORS[type].BYTES_PER_ELEMENT;
  const shared = sharedOutputBuffer(n * bytes);
  const array = shared ? new CTORS[type](shared as unknown as ArrayBuffer) : new CTORS[type](n);
  const words =
    bytes === 1
      ? new Uint8Array(array.buffer)
      : bytes === 2
        ? new Uint16Array(array.buffer)
        : new Uint32Array(array.buffer);
  return { array, words, pairs: bytes === 8 };
}

/**
 * The words a value takes in an array of `type` (one word masked to the
 * type's width, or a (low, high) pair), or undefined when the type cannot hold it.
 */
export function toWords(value: bigint, type: LabelType): [number, number] | undefined {
  const [min, max] = labelRange(type);
  if (value < min || value > max) return undefined;
  const u = BigInt.asUintN(64, value);
  const bits = CTORS[type].BYTES_PER_ELEMENT * 8;
  if (bits === 64) return [Number(u & 0xffffffffn), Number(u >> 32n)];
  return [Number(u & ((1n << BigInt(bits)) - 1n)), 0];
}

/** The value stored as words (lo, hi) in an array of `type`. */
export function fromWords(lo: number, hi: number, type: LabelType): bigint {
  const bits = CTORS[type].BYTES_PER_ELEMENT * 8;
  const u = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  return isSigned(type) ? BigInt.asIntN(bits, u) : u;
}

/** Whether a label type is signed. */
export function isSigned(type: LabelType): boolean {
  return type.startsWith("i");
}
