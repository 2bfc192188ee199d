/**
 * Renumber: compact the ids of a label array to start, start + 1, ... in
 * order of first appearance (x fastest), in the smallest type that holds
 * them — fastremap's `renumber` with `preserve_zero`.
 */
import { IdTable, indexPairs, indexWords } from "./id-table";
import { type IntegerLabelArray, labelWords } from "./label-array";
import { type LabelType, labelTypeOf, newLabels } from "./label-types";

/** Options of {@link renumber}. */
export interface RenumberOptions {
  /** Keep 0 as 0 (background) instead of renumbering it. Default true. */
  preserveZero?: boolean;
  /** The first new id. Default 1. */
  start?: number;
}

/** What {@link renumber} returns. */
export interface RenumberResult {
  /** The renumbered array, in the smallest unsigned type that holds its ids. */
  labels: IntegerLabelArray;
  /** The type of `labels`. */
  dataType: LabelType;
  /**
   * Old ids (the input's type) in order of first appearance and their new ids
   * (`to[k]` replaces `from[k]`); 0 is not listed when `preserveZero`.
   */
  mapping: { from: IntegerLabelArray; to: Float64Array };
}

/**
 * Renumber the ids of `labels` in order of first appearance.
 *
 * @example
 * const { labels: compact, mapping } = renumber(new BigUint64Array([0n, 7n, 2n ** 40n, 7n]));
 * // compact = Uint8Array [0, 1, 2, 1]; mapping.from = [7n, 2n ** 40n], mapping.to = [1, 2]
 */
export function renumber(labels: IntegerLabelArray, options: RenumberOptions = {}): RenumberResult {
  const preserveZero = options.preserveZero ?? true;
  const start = options.start ?? 1;
  if (!Number.isSafeInteger(start) || start < 0)
    throw new RangeError(`renumber: start must be a whole number >= 0; got ${start}`);
  const { words, pairs } = labelWords(labels, "renumber");
  const n = labels.length;
  const table = new IdTable(1024);
  // With preserveZero, id 0 takes index 0 and keeps the value 0.
  if (preserveZero) table.add(0, 0);
  // Indices are written as uint16 (the usual case: the output is then ready
  // or narrows to uint8) and widened to uint32 when a 65536th id appears.
  const index16 = new Uint16Array(n);
  const into = (out: Uint16Array | Uint32Array, from: number, limit: number) =>
    pairs
      ? indexPairs(words as Uint32Array, n, table, out, from, limit)
      : indexWords(words, n, table, out, from, limit);
  const stopped = into(index16, 0, 0xffff);
  let index: Uint16Array | Uint32Array = index16;
  if (stopped < n) {
    index = new Uint32Array(n);
    index.set(index16.subarray(0, stopped));
    into(index, stopped, 0xffffffff);
  }
  const skip = preserveZero ? 1 : 0;
  const count = table.size - skip;
  const max = count === 0 ? 0 : start + count - 1;
  const dataType: LabelType =
    max <= 0xff ? "uint8" : max <= 0xffff ? "uint16" : max <= 0xffffffff ? "uint32" : "uint64";
  const values = new Float64Array(table.size);
  for (let k = skip; k < table.size; k++) values[k] = start + k - skip;
  let relabelled: IntegerLabelArray = index;
  // With the defaults (zero kept and numbering from 1, or neither) the new id
  // is the table index itself: the output is the index array, narrowed.
  const identity = preserveZero ? start === 1 : start === 0;
  if (identity && dataType !== "uint64") {
    if (dataType === "uint8") relabelled = Uint8Array.from(index);
  } else if (dataType === (index instanceof Uint16Array ? "uint16" : "uint32")) {
    // The index array becomes the output: one pass instead of two.
    for (let i = 0; i < n; i++) index[i] = values[index[i]];
  } else {
    const out = newLabels(dataType, n);
    const w = out.words;
    if (out.pairs) {
      for (let i = 0; i < n; i++) {
        const v = values[index[i]];
        w[2 * i] = v % 4294967296;
        w[2 * i + 1] = Math.floor(v / 4294967296);
      }
    } else for (let i = 0; i < n; i++) w[i] = values[index[i]];
    relabelled = out.array;
  }
  const from = newLabels(labelTypeOf(labels), count);
  for (let k = 0; k < count; k++) {
    if (from.pairs) {
      from.words[2 * k] = table.lo[k + skip];
      from.words[2 * k + 1] = table.hi[k + skip];
    } else from.words[k] = table.lo[k + skip];
  }
  return { labels: relabelled, dataType, mapping: { from: from.array, to: values.slice(skip) } };
}
