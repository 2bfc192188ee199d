/**
 * Integer labels as 32-bit words, the form the label codecs (compresso,
 * crackle) work in: one word per voxel for 8-, 16- and 32-bit types, two
 * (low, high) for 64-bit types. Signed types keep their two's-complement
 * bits, so a codec never needs to know the sign.
 */
import type { DataType, TypedArray } from "../dtypes";

/** Integer data types the label codecs can hold. */
export type LabelType =
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "int8"
  | "int16"
  | "int32"
  | "int64";

/** Labels as words: `wpe` words per voxel (1, or 2 for 64-bit types). */
export interface LabelWords {
  words: Uint32Array;
  wpe: 1 | 2;
}

/** Whether `dtype` is an integer type a label codec can hold. */
export function isLabelType(dtype: DataType): dtype is LabelType {
  return dtype !== "float32" && dtype !== "float64";
}

/** Bytes of one label of `dtype`. */
export function labelBytes(dtype: LabelType): 1 | 2 | 4 | 8 {
  if (dtype.endsWith("8") && !dtype.endsWith("64")) return 1;
  if (dtype.endsWith("16")) return 2;
  return dtype.endsWith("32") ? 4 : 8;
}

/**
 * The words of `data` (a typed array of `dtype`). 32- and 64-bit arrays
 * are viewed without copying; 8- and 16-bit arrays are widened.
 */
export function toLabelWords(data: TypedArray, dtype: LabelType): LabelWords {
  const bytes = labelBytes(dtype);
  if (bytes === 8) {
    return { words: new Uint32Array(data.buffer, data.byteOffset, data.length * 2), wpe: 2 };
  }
  if (bytes === 4)
    return { words: new Uint32Array(data.buffer, data.byteOffset, data.length), wpe: 1 };
  const words = new Uint32Array(data.length);
  const mask = bytes === 1 ? 0xff : 0xffff;
  for (let i = 0; i < data.length; i++) words[i] = (data[i] as number) & mask;
  return { words, wpe: 1 };
}

/** The typed array of `dtype` holding `words` (`wpe` 2 for 64-bit types); narrow types are copied. */
export function fromLabelWords(words: Uint32Array, dtype: LabelType): TypedArray {
  switch (dtype) {
    case "uint64":
      return new BigUint64Array(words.buffer, words.byteOffset, words.length / 2);
    case "int64":
      return new BigInt64Array(words.buffer, words.byteOffset, words.length / 2);
    case "uint32":
      return words;
    case "int32":
      return new Int32Array(words.buffer, words.byteOffset, words.length);
    case "uint16":
      return Uint16Array.from(words);
    case "int16":
      return Int16Array.from(words);
    case "uint8":
      return Uint8Array.from(words);
    case "int8":
      return Int8Array.from(words);
  }
}
