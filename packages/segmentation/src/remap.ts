/**
 * Remap: replace every id of a label array through a table — a Map, (from,
 * to) pairs, or a dense array indexed by the old id (the seed's .npy maps).
 */
import { IdTable } from "./id-table";
import { type IntegerLabelArray, labelWords } from "./label-array";
import { fromWords, type LabelType, labelTypeOf, newLabels, toWords } from "./label-types";

/** A remap table: old id -> new id. */
export type RemapTable =
  | ReadonlyMap<number | bigint, number | bigint>
  | { from: ArrayLike<number | bigint>; to: ArrayLike<number | bigint> }
  | ArrayLike<number | bigint>;

/** Options of {@link remap}. */
export interface RemapOptions {
  /** Ids missing from the table keep their value instead of being an error. Default false. */
  preserveMissing?: boolean;
  /** Type of the output. Default: the input's. */
  dataType?: LabelType;
  /** Where the labels come from (a layer and box), for error messages. */
  context?: string;
}

/** An id of the labels that the remap table does not have. */
export class RemapMissingIdError extends Error {
  override name = "RemapMissingIdError";
  constructor(
    /** The missing id. */
    readonly id: bigint,
    context?: string,
  ) {
    super(
      `remap: id ${id}${context ? ` in ${context}` : ""} is not in the table (give every id a value, or preserve missing ids)`,
    );
  }
}

/** A new id that the output type cannot hold. */
export class RemapRangeError extends Error {
  override name = "RemapRangeError";
  constructor(
    /** The old id. */
    readonly id: bigint,
    /** Its new value. */
    readonly value: bigint,
    /** The output type. */
    readonly dataType: LabelType,
    context?: string,
  ) {
    super(
      `remap: id ${id}${context ? ` in ${context}` : ""} maps to ${value}, which a ${dataType} array cannot hold`,
    );
  }
}

/** A malformed remap table (from/to of different lengths, values that are not whole numbers). */
export class RemapTableError extends Error {
  override name = "RemapTableError";
}

/** The table as lookups over input words and values in output words. */
interface Lookup {
  /** Dense lookup: entry `lo` of the value arrays (hi must be 0); -1 when absent. */
  dense: Int32Array | undefined;
  table: IdTable;
  valueLo: Uint32Array;
  valueHi: Uint32Array;
  /** 1 when the value fits the output type, else 0 (an error if used). */
  fits: Uint8Array;
  values: bigint[];
}

function asBigInt(v: number | bigint, where: string): bigint {
  if (typeof v === "bigint") return v;
  if (!Number.isSafeInteger(v))
    throw new RemapTableError(`remap table: ${where} is ${v}, not a whole number`);
  return BigInt(v);
}

function buildLookup(table: RemapTable, inType: LabelType, outType: LabelType): Lookup {
  const keys: bigint[] = [];
  const values: bigint[] = [];
  let denseLength = -1;
  if (table instanceof Map) {
    for (const [k, v] of table) {
      keys.push(asBigInt(k, `key ${k}`));
      values.push(asBigInt(v, `the value of ${k}`));
    }
  } else if ("from" in table && "to" in table && !ArrayBuffer.isView(table)) {
    const { from, to } = table as {
      from: ArrayLike<number | bigint>;
      to: ArrayLike<number | bigint>;
    };
    if (from.length !== to.length)
      throw new RemapTableError(`remap table: ${from.length} old ids but ${to.length} new ones`);
    for (let i = 0; i < from.length; i++) {
      keys.push(asBigInt(from[i], `from[${i}]`));
      values.push(asBigInt(to[i], `to[${i}]`));
    }
  } else {
    const dense = table as ArrayLike<number | bigint>;
    denseLength = dense.length;
    for (let i = 0; i < dense.length; i++) {
      keys.push(BigInt(i));
      values.push(asBigInt(dense[i], `entry ${i}`));
    }
  }
  const n = values.length;
  const valueLo = new Uint32Array(n);
  const valueHi = new Uint32Array(n);
  const fits = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const w = toWords(values[k], outType);
    if (w) {
      valueLo[k] = w[0];
      valueHi[k] = w[1];
      fits[k] = 1;
    }
  }
  const ids = new IdTable(Math.max(16, n));
  const slot = new Int32Array(n).fill(-1);
  for (let k = 0; k < n; k++) {
    const w = toWords(keys[k], inType);
    // A key the input type cannot hold never matches a voxel.
    if (w) slot[ids.add(w[0], w[1])] = k;
  }
  // Entry i of the IdTable is the i-th distinct key; the last duplicate wins, as in a Map.
  const order = slot.subarray(0, ids.size);
  const lookup: Lookup = {
    dense: undefined,
    table: ids,
    valueLo: pick(valueLo, order),
    valueHi: pick(valueHi, order),
    fits: pick(fits, order),
    values: Array.from(order, (k) => values[k]),
  };
  if (denseLength >= 0 && !inType.startsWith("i")) {
    // Unsigned input and a dense table: index by the id directly.
    const dense = new Int32Array(denseLength);
    for (let i = 0; i < denseLength; i++) dense[i] = ids.indexOf(i, 0);
    lookup.dense = dense;
  }
  return lookup;
}

function pick<T extends Uint32Array | Uint8Array>(a: T, order: Int32Array): T {
  const out = new (a.constructor as new (n: number) => T)(order.length);
  for (let i = 0; i < order.length; i++) out[i] = a[order[i]];
  return out;
}

/**
 * Replace each id of `labels` by its value in `table`. An id the table lacks
 * is a {@link RemapMissingIdError} (or keeps its value with
 * `preserveMissing`); a value the output type cannot hold is a
 * {@link RemapRangeError}. Nothing is returned half-remapped.
 *
 * @example
 * remap(new Uint32Array([0, 5, 5, 9]), new Map([[0, 0], [5, 1], [9, 2]])); // Uint32Array [0, 1, 1, 2]
 */
export function remap(
  labels: IntegerLabelArray,
  table: RemapTable,
  options: RemapOptions = {},
): IntegerLabelArray {
  const inType = labelTypeOf(labels);
  const outType = options.dataType ?? inType;
  const preserve = options.preserveMissing ?? false;
  const lookup = buildLookup(table, inType, outType);
  const { words, pairs } = labelWords(labels, "remap");
  const out = newLabels(outType, labels.length);
  const ow = out.words;
  const outPairs = out.pairs;
  const { dense, table: ids, valueLo, valueHi, fits } = lookup;
  const denseLength = dense ? dense.length : 0;
  const n = labels.length;
  // 64-bit ids also seen as doubles (same bytes), for one load or store per voxel.
  const wide = pairs ? new Float64Array(words.buffer, words.byteOffset, n) : new Float64Array(0);
  const owide = outPairs ? new Float64Array(ow.buffer, ow.byteOffset, n) : new Float64Array(0);
  const valueF = new Float64Array(valueLo.length);
  const valueW = new Uint32Array(valueF.buffer);
  for (let k = 0; k < valueLo.length; k++) {
    valueW[2 * k] = valueLo[k];
    valueW[2 * k + 1] = valueHi[k];
  }
  // Ids come in runs along x: each run is looked up once, then filled.
  let i = 0;
  while (i < n) {
    let j = i + 1;
    let lo: number;
    let hi: number;
    if (pairs) {
      lo = words[2 * i];
      hi = words[2 * i + 1];
      const v = wide[i];
      // One 64-bit load per voxel: equal doubles have equal bits, except
      // +0 and -0 (so zeros compare words) and NaN (never equal: runs of one).
      if (v !== 0) while (j < n && wide[j] === v) j++;
      else while (j < n && words[2 * j] === lo && words[2 * j + 1] === hi) j++;
    } else {
      lo = words[i];
      hi = 0;
      while (j < n && words[j] === lo) j++;
    }
    const k = dense ? (hi === 0 && lo < denseLength ? dense[lo] : -1) : ids.indexOf(lo, hi);
    let vl: number;
    let vh: number;
    if (k >= 0 && fits[k] === 1) {
      vl = valueLo[k];
      vh = valueHi[k];
    } else {
      const id = fromWords(lo, hi, inType);
      if (k >= 0) throw new RemapRangeError(id, lookup.values[k], outType, options.context);
      if (!preserve) throw new RemapMissingIdError(id, options.context);
      const w = toWords(id, outType);
      if (!w) throw new RemapRangeError(id, id, outType, options.context);
      [vl, vh] = w;
    }
    const value = k >= 0 ? valueF[k] : Number.NaN;
    if (outPairs && !Number.isNaN(value)) {
      // A double that is not NaN keeps its bits when stored: one store per voxel.
      for (let o = i; o < j; o++) owide[o] = value;
    } else if (outPairs) {
      for (let e = 2 * j, o = 2 * i; o < e; o += 2) {
        ow[o] = vl;
        ow[o + 1] = vh;
      }
    } else {
      for (let o = i; o < j; o++) ow[o] = vl;
    }
    i = j;
  }
  return out.array;
}
