/**
 * The label arrays the label kernels take, and how they read them: every
 * integer type as unsigned words of its width (signed values keep their bit
 * patterns), 64-bit ids as (low, high) uint32 pairs so no loop touches BigInt.
 */

/** A label (or, with a threshold, image) array, x fastest. */
export type LabelArray =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigUint64Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

/** An integer label array (what remap, renumber and countVoxels take). */
export type IntegerLabelArray = Exclude<LabelArray, Float32Array | Float64Array>;

/** A 3-D shape [x, y, z], x fastest. */
export type Shape3 = readonly [number, number, number];

/** An array the label kernels cannot take (floats without a threshold, a shape that does not match). */
export class LabelArrayError extends Error {
  override name = "LabelArrayError";
}

/**
 * An integer label array as unsigned words: `words` holds one word per voxel
 * (`pairs` false) or a (low, high) pair per voxel (`pairs` true, 64-bit ids).
 */
export interface LabelWords {
  words: Uint8Array | Uint16Array | Uint32Array;
  pairs: boolean;
}

/** View an integer label array as unsigned words without copying. */
export function labelWords(labels: IntegerLabelArray, what = "labels"): LabelWords {
  const { buffer, byteOffset, length } = labels;
  if (labels instanceof BigUint64Array || labels instanceof BigInt64Array)
    return { words: new Uint32Array(buffer, byteOffset, length * 2), pairs: true };
  if (labels instanceof Uint32Array || labels instanceof Int32Array)
    return { words: new Uint32Array(buffer, byteOffset, length), pairs: false };
  if (labels instanceof Uint16Array || labels instanceof Int16Array)
    return { words: new Uint16Array(buffer, byteOffset, length), pairs: false };
  if (labels instanceof Uint8Array || labels instanceof Int8Array)
    return { words: new Uint8Array(buffer, byteOffset, length), pairs: false };
  throw new LabelArrayError(
    `${what}: ${(labels as object).constructor.name} is not an integer label array (uint8..uint64, int8..int64)`,
  );
}

/** Split a label value (number or bigint, any sign) into its (low, high) uint32 words. */
export function splitId(value: number | bigint): [number, number] {
  const v = BigInt.asUintN(64, BigInt(value));
  return [Number(v & 0xffffffffn), Number(v >> 32n)];
}

/** A (low, high) pair as a decimal string, for error messages. */
export function idText(lo: number, hi: number): string {
  return hi === 0 ? String(lo >>> 0) : ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString();
}

/** Check that `shape` has as many voxels as `length`. */
export function checkShape(shape: Shape3, length: number, what: string): void {
  if (
    shape.length !== 3 ||
    shape.some((n) => !Number.isInteger(n) || n < 0) ||
    shape[0] * shape[1] * shape[2] !== length
  )
    throw new LabelArrayError(
      `${what}: shape [${shape.join(", ")}] does not match an array of ${length} voxels`,
    );
}
