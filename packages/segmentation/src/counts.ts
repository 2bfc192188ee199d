/** Voxel counts per label: the histogram of a label array. */
import { IdTable } from "./id-table";
import { type IntegerLabelArray, labelWords } from "./label-array";
import { isSigned, type LabelType, labelTypeOf, newLabels } from "./label-types";

/** What {@link countVoxels} returns: ids in ascending order and their voxel counts. */
export interface VoxelCounts {
  /** The distinct ids (the input's type), ascending. */
  ids: IntegerLabelArray;
  /** `counts[k]` voxels have id `ids[k]`. */
  counts: Float64Array;
}

/**
 * Count the voxels of every id in `labels` (0 included; drop it if it is
 * background).
 *
 * @example
 * countVoxels(new Uint32Array([3, 3, 0, 7])); // ids [0, 3, 7], counts [1, 2, 1]
 */
export function countVoxels(labels: IntegerLabelArray): VoxelCounts {
  const type = labelTypeOf(labels);
  const { words, pairs } = labelWords(labels, "countVoxels");
  const table = new IdTable(1024);
  let counts = new Float64Array(1024);
  const n = labels.length;
  if (n === 0) return { ids: newLabels(type, 0).array, counts: new Float64Array(0) };
  let pl = words[0];
  let ph = pairs ? words[1] : 0;
  let run = 0;
  const flush = () => {
    const k = table.add(pl, ph);
    if (k >= counts.length) {
      const c = new Float64Array(counts.length * 2);
      c.set(counts);
      counts = c;
    }
    counts[k] += run;
  };
  // Runs of one id (common along x) cost one table look-up.
  for (let i = 0; i < n; i++) {
    const lo = pairs ? words[2 * i] : words[i];
    const hi = pairs ? words[2 * i + 1] : 0;
    if (lo === pl && hi === ph) {
      run++;
      continue;
    }
    flush();
    pl = lo;
    ph = hi;
    run = 1;
  }
  flush();
  return sortedCounts(table, counts, type);
}

/** The table's ids in ascending numeric order with their counts. */
function sortedCounts(table: IdTable, counts: Float64Array, type: LabelType): VoxelCounts {
  const size = table.size;
  const signed = isSigned(type);
  const bits = newLabels(type, 0).words.BYTES_PER_ELEMENT * 8;
  const { lo, hi } = table;
  // Signed ids order by their sign-extended value: flip the sign bit of the top word.
  const top = new Float64Array(size);
  const low = new Float64Array(size);
  for (let k = 0; k < size; k++) {
    if (type === "uint64" || type === "int64") {
      top[k] = signed ? (hi[k] ^ 0x80000000) >>> 0 : hi[k];
      low[k] = lo[k];
    } else {
      top[k] = 0;
      low[k] = signed ? (lo[k] ^ (1 << (bits - 1))) >>> 0 : lo[k];
    }
  }
  const order = Uint32Array.from({ length: size }, (_, k) => k).sort((a, b) =>
    top[a] !== top[b] ? top[a] - top[b] : low[a] - low[b],
  );
  const ids = newLabels(type, size);
  const sorted = new Float64Array(size);
  for (let j = 0; j < size; j++) {
    const k = order[j];
    if (ids.pairs) {
      ids.words[2 * j] = lo[k];
      ids.words[2 * j + 1] = hi[k];
    } else ids.words[j] = lo[k];
    sorted[j] = counts[k];
  }
  return { ids: ids.array, counts: sorted };
}
