/**
 * Connected components of a 3-D label volume: voxels of equal value that
 * touch (6-, 18- or 26-connectivity) get one id; ids are 1..N in the order of
 * each component's first voxel in the x-fastest scan, the numbering
 * connected-components-3d (cc3d) gives.
 *
 * The algorithm is a two-pass one over runs: the first pass cuts each row
 * (y, z) into runs of equal nonzero values along x and joins, in a
 * union-find forest over runs, each run with the runs of equal value it
 * touches in the earlier neighbouring rows (under 26-connectivity the row
 * before in its plane and three rows of the plane before); the second numbers
 * the sets by their first run and writes each run's id over its voxels.
 * Segmentations have long runs, so this is one comparison per voxel and a
 * union per touching pair of runs, where a per-voxel decision tree (cc3d's)
 * makes a decision per voxel. The loops run in WebAssembly
 * (assembly/ccl.ts); the JavaScript version ({@link labelRuns}) is the
 * reference the tests compare it with, and the fallback for volumes the
 * module's 4 GiB memory cannot hold.
 */
import { IdTable, indexPairs } from "./id-table";
import {
  checkShape,
  type LabelArray,
  LabelArrayError,
  labelWords,
  type Shape3,
  splitId,
} from "./label-array";
import { releaseArena, wasmArena } from "./wasm/ccl.wasm";

/** Voxel connectivity: faces (6), faces and edges (18), faces, edges and corners (26). */
export type Connectivity = 6 | 18 | 26;

/** Options of {@link connectedComponents}. */
export interface ConnectedComponentsOptions {
  /** Which neighbours touch. Default 26 (cc3d's default). */
  connectivity?: Connectivity;
  /** The value that is not part of any component (output 0). Default 0. */
  background?: number | bigint;
  /**
   * For image (and float) arrays: the foreground is the voxels with
   * `lo <= value < hi`, and the components are those of the foreground.
   */
  threshold?: readonly [number, number];
  /** Also return each component's first voxel (its x-fastest linear index). */
  firstVoxels?: boolean;
}

/** What {@link connectedComponents} returns. */
export interface ConnectedComponentsResult {
  /** Component ids 1..count, 0 for background, x fastest. */
  labels: Uint32Array;
  /** Number of components. */
  count: number;
  /** With `firstVoxels`: entry k is the linear index of component k + 1's first voxel. */
  firstVoxels?: Uint32Array;
}

/**
 * Label the connected components of `labels` (shape [x, y, z], x fastest).
 * Takes uint8..uint64 and int8..int64 arrays (64-bit ids compared as pairs of
 * words), and float arrays with a `threshold`. A single array holds fewer than
 * 2^32 voxels, so its ids always fit uint32; datasets with more components
 * come from the connected-components stage, which numbers across blocks.
 *
 * @example
 * const { labels: ids, count } = connectedComponents(seg, [256, 256, 64], { connectivity: 6 });
 */
export function connectedComponents(
  labels: LabelArray,
  shape: Shape3,
  options: ConnectedComponentsOptions = {},
): ConnectedComponentsResult {
  checkShape(shape, labels.length, "connectedComponents");
  const connectivity = options.connectivity ?? 26;
  if (connectivity !== 6 && connectivity !== 18 && connectivity !== 26)
    throw new LabelArrayError(
      `connectedComponents: connectivity must be 6, 18 or 26; got ${connectivity}`,
    );
  if (labels.length >= 2 ** 32)
    throw new LabelArrayError(
      `connectedComponents: ${labels.length} voxels; one call takes fewer than 2^32 (use the stage for more)`,
    );
  return label32(
    comparableLabels(labels, options),
    shape,
    connectivity,
    options.firstVoxels === true,
  );
}

/**
 * The labels as uint32 keys whose equality is the labels' equality, 0 for
 * background (or, with a threshold, 1 for foreground and 0 elsewhere): what
 * {@link connectedComponents} labels. Two calls on arrays with the same
 * pattern of equal values give keys with that same pattern (not the same
 * keys), hence the same components — what lets a task compare a block's
 * face with its neighbour's without sharing ids.
 */
export function comparableLabels(
  labels: LabelArray,
  options: Pick<ConnectedComponentsOptions, "background" | "threshold"> = {},
): Uint32Array {
  return options.threshold
    ? foreground(labels, options.threshold)
    : comparableWords(labels, options.background ?? 0);
}

/** The threshold's foreground as 1 and everything else as 0. */
function foreground(labels: LabelArray, [lo, hi]: readonly [number, number]): Uint32Array {
  if (!(lo <= hi))
    throw new LabelArrayError(
      `connectedComponents: threshold [${lo}, ${hi}) is empty or not numbers`,
    );
  const n = labels.length;
  const out = new Uint32Array(n);
  if (labels instanceof BigUint64Array || labels instanceof BigInt64Array) {
    const w = new Uint32Array(labels.buffer, labels.byteOffset, n * 2);
    const signed = labels instanceof BigInt64Array;
    for (let i = 0; i < n; i++) {
      const h = signed ? w[2 * i + 1] | 0 : w[2 * i + 1];
      const v = h * 4294967296 + w[2 * i];
      out[i] = v >= lo && v < hi ? 1 : 0;
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    const v = labels[i];
    out[i] = v >= lo && v < hi ? 1 : 0;
  }
  return out;
}

/**
 * The labels as uint32 words whose equality is the labels' equality, with
 * the background as 0. 8- and 16-bit arrays are widened, 64-bit ids replaced
 * by their index in a hash table (one pass), so the labelling loop is one
 * monomorphic function over a Uint32Array.
 */
function comparableWords(labels: LabelArray, background: number | bigint): Uint32Array {
  if (labels instanceof Float32Array || labels instanceof Float64Array)
    throw new LabelArrayError(
      `connectedComponents: a ${labels instanceof Float32Array ? "float32" : "float64"} array needs a threshold ([lo, hi)) to say which voxels are foreground`,
    );
  const { words, pairs } = labelWords(labels, "connectedComponents");
  const [bgLo, bgHi] = backgroundWords(labels, background);
  const n = labels.length;
  if (pairs) {
    const table = new IdTable(4096);
    table.add(bgLo, bgHi);
    const out = new Uint32Array(n);
    indexPairs(words as Uint32Array, n, table, out);
    return out;
  }
  if (words instanceof Uint32Array && bgLo === 0) return words;
  // Swap the background value and 0 so that 0 means background.
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const v = words[i];
    out[i] = v === bgLo ? 0 : v === 0 ? bgLo : v;
  }
  return out;
}

/** The background's words in the array's width; an error when the type cannot hold it. */
function backgroundWords(labels: LabelArray, background: number | bigint): [number, number] {
  const bits = labels.BYTES_PER_ELEMENT * 8;
  const signed =
    labels instanceof Int8Array ||
    labels instanceof Int16Array ||
    labels instanceof Int32Array ||
    labels instanceof BigInt64Array;
  const v = typeof background === "bigint" ? background : BigInt(Math.trunc(background));
  const min = signed ? -(2n ** BigInt(bits - 1)) : 0n;
  const max = signed ? 2n ** BigInt(bits - 1) - 1n : 2n ** BigInt(bits) - 1n;
  if (v < min || v > max || (typeof background === "number" && !Number.isInteger(background)))
    throw new LabelArrayError(
      `connectedComponents: background ${background} is not a value of a ${labels.constructor.name}`,
    );
  const [lo, hi] = splitId(v);
  return bits === 64 ? [lo, hi] : [bits === 32 ? lo : lo & ((1 << bits) - 1), 0];
}

/**
 * The runs of a volume: maximal stretches of equal nonzero words along x
 * within one row (y, z), in scan order, with a union-find forest over them.
 * Arrays grow as rows are added; `rowFirst[r]` is the index of row r's first run.
 */
class Runs {
  start: Uint32Array;
  end: Uint32Array;
  value: Uint32Array;
  parent: Uint32Array;
  count = 0;
  readonly rowFirst: Uint32Array;

  constructor(rows: number, expected: number) {
    this.rowFirst = new Uint32Array(rows + 1);
    const cap = Math.max(1024, expected);
    this.start = new Uint32Array(cap);
    this.end = new Uint32Array(cap);
    this.value = new Uint32Array(cap);
    this.parent = new Uint32Array(cap);
  }

  /** Room for `extra` more runs. */
  reserve(extra: number): void {
    const need = this.count + extra;
    if (need <= this.start.length) return;
    const cap = Math.max(need, this.start.length * 2);
    this.start = grown(this.start, cap);
    this.end = grown(this.end, cap);
    this.value = grown(this.value, cap);
    this.parent = grown(this.parent, cap);
  }
}

function grown(a: Uint32Array, cap: number): Uint32Array {
  const b = new Uint32Array(cap);
  b.set(a);
  return b;
}

/** Root of run `x`, halving the path on the way. Roots are their set's first run. */
function find(parent: Uint32Array, x: number): number {
  while (parent[x] !== x) {
    const g = parent[parent[x]];
    parent[x] = g;
    x = g;
  }
  return x;
}

/**
 * Join the runs of row `r` (indices a0..a1) with those of an earlier row
 * (b0..b1) that carry the same value and touch: their x ranges overlap, or
 * with `ext` 1 also meet at a corner (diagonal neighbours).
 */
function joinRows(rs: Runs, a0: number, a1: number, b0: number, b1: number, ext: number): void {
  const { start, end, value, parent } = rs;
  let j0 = b0;
  for (let i = a0; i < a1 && j0 < b1; i++) {
    const s = start[i] - ext;
    while (j0 < b1 && end[j0] <= s) j0++;
    const e = end[i] + ext;
    const v = value[i];
    for (let j = j0; j < b1 && start[j] < e; j++) {
      if (value[j] !== v) continue;
      // Link the later root under the earlier: a set's root stays its first run.
      const ri = find(parent, i);
      const rj = find(parent, j);
      if (ri < rj) parent[rj] = ri;
      else if (rj < ri) parent[ri] = rj;
    }
  }
}

/**
 * Label words where 0 is background: in WebAssembly ({@link labelRunsWasm})
 * when its memory can hold the volume, else in JavaScript ({@link labelRuns}).
 */
function label32(
  input: Uint32Array,
  shape: Shape3,
  connectivity: Connectivity,
  wantFirst: boolean,
): ConnectedComponentsResult {
  return (
    labelRunsWasm(input, shape, connectivity, wantFirst) ??
    labelRuns(input, shape, connectivity, wantFirst)
  );
}

/** Past this many bytes an arena is dropped after the call rather than kept by the thread. */
const KEEP_ARENA_BYTES = 512 * 2 ** 20;

interface CclExports {
  scan(
    input: number,
    sx: number,
    sy: number,
    sz: number,
    connectivity: number,
    rowFirst: number,
    runs: number,
  ): number;
  resolve(sx: number, rows: number, rowFirst: number, runs: number, firstVoxels: number): number;
  fill(out: number, sx: number, rows: number, rowFirst: number, runs: number): void;
}

/**
 * {@link labelRuns} in WebAssembly (packages/segmentation/assembly/ccl.ts):
 * the same runs, joins and numbering. Undefined when the volume and its runs
 * do not fit a 4 GiB memory, which leaves the call to JavaScript.
 */
export function labelRunsWasm(
  input: Uint32Array,
  [sx, sy, sz]: Shape3,
  connectivity: Connectivity,
  wantFirst: boolean,
): ConnectedComponentsResult | undefined {
  const n = input.length;
  const rows = sy * sz;
  const words = (n + 3) & ~3;
  const rowFirstAt = words * 4;
  const runsAt = rowFirstAt + (((rows + 1 + 3) & ~3) << 2);
  // A first guess of one run per 8 voxels; the module grows memory for more.
  if (runsAt + 2 * n + 16 * sx > 0xf000_0000) return undefined;
  const arena = wasmArena();
  const base = arena.reserve(runsAt + 2 * n + 16 * sx);
  const wasm = arena.exports as unknown as CclExports;
  new Uint32Array(arena.memory.buffer, base, n).set(input);
  const runs = wasm.scan(base, sx, sy, sz, connectivity, base + rowFirstAt, base + runsAt);
  if (runs < 0) {
    releaseArena();
    return undefined;
  }
  const firstAt = runsAt + 16 * runs;
  if (wantFirst) arena.reserve(firstAt + 4 * runs);
  const count = wasm.resolve(
    sx,
    rows,
    base + rowFirstAt,
    base + runsAt,
    wantFirst ? base + firstAt : 0,
  );
  wasm.fill(base, sx, rows, base + rowFirstAt, base + runsAt);
  const { buffer } = arena.memory;
  const labels = new Uint32Array(buffer, base, n).slice();
  const firstVoxels = wantFirst
    ? new Uint32Array(buffer, base + firstAt, count).slice()
    : undefined;
  if (buffer.byteLength > KEEP_ARENA_BYTES) releaseArena();
  return { labels, count, ...(firstVoxels ? { firstVoxels } : {}) };
}

/**
 * Run-based two-pass labelling over words where 0 is background: each row's
 * runs are joined with the touching runs of the earlier rows that are
 * neighbours under the connectivity (the row before in this plane, and the
 * row itself and the rows either side of it in the plane before), so the
 * work is one comparison per voxel to find runs plus a union per touching
 * pair of runs, instead of a decision per voxel. Roots are numbered in run
 * order, which is the scan order of their first voxels.
 */
export function labelRuns(
  input: Uint32Array,
  [sx, sy, sz]: Shape3,
  connectivity: Connectivity,
  wantFirst: boolean,
): ConnectedComponentsResult {
  const n = input.length;
  const rows = sy * sz;
  const rs = new Runs(rows, n >>> 4);
  const { rowFirst } = rs;
  // Touching rows: [dy, dz, ext]. Face neighbours meet with overlapping x
  // ranges; edge and corner neighbours also at a diagonal step in x.
  const near: [number, number, number][] =
    connectivity === 6
      ? [
          [-1, 0, 0],
          [0, -1, 0],
        ]
      : connectivity === 18
        ? [
            [-1, 0, 1],
            [0, -1, 1],
            [-1, -1, 0],
            [1, -1, 0],
          ]
        : [
            [-1, 0, 1],
            [-1, -1, 1],
            [0, -1, 1],
            [1, -1, 1],
          ];
  let r = 0;
  for (let z = 0; z < sz; z++) {
    for (let y = 0; y < sy; y++, r++) {
      rowFirst[r] = rs.count;
      rs.reserve(sx);
      const { start, end, value, parent } = rs;
      let k = rs.count;
      const base = r * sx;
      let x = 0;
      while (x < sx) {
        const v = input[base + x];
        const s = x;
        x++;
        while (x < sx && input[base + x] === v) x++;
        if (v === 0) continue;
        start[k] = s;
        end[k] = x;
        value[k] = v;
        parent[k] = k;
        k++;
      }
      rs.count = k;
      const a0 = rowFirst[r];
      if (a0 === k) continue;
      for (const [dy, dz, ext] of near) {
        const yy = y + dy;
        const zz = z + dz;
        if (yy < 0 || yy >= sy || zz < 0) continue;
        const rr = yy + sy * zz;
        joinRows(rs, a0, k, rowFirst[rr], rowFirst[rr + 1], ext);
      }
    }
  }
  rowFirst[rows] = rs.count;
  // parent[p] <= p everywhere, so an ascending sweep sees each run's parent
  // already replaced by its final id: roots take the next id, others copy.
  const { start, end, parent } = rs;
  const runs = rs.count;
  const firstVoxels = wantFirst ? new Uint32Array(runs) : undefined;
  let count = 0;
  for (let row = 0; row < rows; row++) {
    for (let p = rowFirst[row], e = rowFirst[row + 1]; p < e; p++) {
      const q = parent[p];
      if (q === p) {
        parent[p] = ++count;
        if (firstVoxels) firstVoxels[count - 1] = row * sx + start[p];
      } else parent[p] = parent[q];
    }
  }
  const out = new Uint32Array(n);
  for (let row = 0; row < rows; row++) {
    const base = row * sx;
    for (let p = rowFirst[row], e = rowFirst[row + 1]; p < e; p++) {
      const id = parent[p];
      for (let i = base + start[p], stop = base + end[p]; i < stop; i++) out[i] = id;
    }
  }
  return {
    labels: out,
    count,
    ...(firstVoxels ? { firstVoxels: firstVoxels.slice(0, count) } : {}),
  };
}
