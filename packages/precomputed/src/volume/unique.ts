/** Distinct values of voxel arrays and how many voxels hold each, without per-voxel allocation. */
import type { DataType, TypedArray } from "../dtypes";

/** Distinct values, sorted, and how many voxels (times channels) hold each. */
export interface ValueCounts {
  /** Sorted distinct values (bigints for 64-bit data). */
  values: number[] | bigint[];
  /** `counts[i]` voxels hold `values[i]`. */
  counts: number[];
}

/**
 * Sorted distinct values of a typed array (bigints for 64-bit arrays), or
 * with `{ counts: true }` also how many elements hold each, without
 * per-element allocation: the array is copied, sorted and run-length
 * counted (64-bit values compared as pairs of uint32 words). NaNs count as
 * one value.
 *
 * @example
 * uniqueValues(new Uint8Array([3, 1, 3])); // [1, 3]
 * uniqueValues(new Uint8Array([3, 1, 3]), { counts: true }); // { values: [1, 3], counts: [1, 2] }
 */
export function uniqueValues(data: TypedArray, opts?: { counts?: false }): number[] | bigint[];
export function uniqueValues(data: TypedArray, opts: { counts: true }): ValueCounts;
export function uniqueValues(
  data: TypedArray,
  opts: { counts?: boolean } = {},
): number[] | bigint[] | ValueCounts {
  const found = countSorted(data);
  return opts.counts ? found : found.values;
}

function countSorted(data: TypedArray): ValueCounts {
  const counts: number[] = [];
  if (data instanceof BigUint64Array || data instanceof BigInt64Array) {
    const sorted = data.slice().sort();
    const w = new Uint32Array(sorted.buffer, sorted.byteOffset, sorted.length * 2);
    const values: bigint[] = [];
    let run = 0;
    for (let i = 0; i < sorted.length; i++) {
      if (i === 0 || w[2 * i] !== w[2 * i - 2] || w[2 * i + 1] !== w[2 * i - 1]) {
        if (i > 0) counts.push(run);
        values.push(sorted[i]);
        run = 0;
      }
      run++;
    }
    if (sorted.length > 0) counts.push(run);
    return { values, counts };
  }
  const sorted = (data as Float64Array).slice().sort();
  const values: number[] = [];
  let run = 0;
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i];
    const prev = sorted[i - 1];
    // NaN !== NaN, but NaNs (which a typed-array sort puts last) are one value.
    if (i === 0 || (v !== prev && !(Number.isNaN(v) && Number.isNaN(prev)))) {
      if (i > 0) counts.push(run);
      values.push(v);
      run = 0;
    }
    run++;
  }
  if (sorted.length > 0) counts.push(run);
  return { values, counts };
}

/** Voxel counts per value, gathered array by array (e.g. chunk by chunk). */
export class ValueTally {
  private readonly tally = new Map<number | bigint, number>();

  /** Counts `n` more voxels of `value`. */
  add(value: number | bigint, n: number): void {
    if (n > 0) this.tally.set(value, (this.tally.get(value) ?? 0) + n);
  }

  /** Counts every element of `voxels`. */
  addAll(voxels: TypedArray): void {
    const found = countSorted(voxels);
    for (let i = 0; i < found.values.length; i++) this.add(found.values[i], found.counts[i]);
  }

  /** The values sorted numerically (bigints for 64-bit `dtype`), with their counts when `counts` is set. */
  result(dtype: DataType, counts: boolean): number[] | bigint[] | ValueCounts {
    const sorted =
      dtype === "uint64" || dtype === "int64"
        ? (dtype === "uint64" ? BigUint64Array : BigInt64Array)
            .from(this.tally.keys() as Iterable<bigint>)
            .sort()
        : Float64Array.from(this.tally.keys() as Iterable<number>).sort();
    const values = Array.from(sorted as ArrayLike<number | bigint>) as number[] | bigint[];
    if (!counts) return values;
    return { values, counts: values.map((v: number | bigint) => this.tally.get(v)!) };
  }
}
