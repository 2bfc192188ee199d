/**
 * Connected components of a 3-D label volume: voxels of equal value that
 * touch (6-, 18- or 26-connectivity) get one id; ids are 1..N in the order of
 * each component's first voxel in the x-fastest scan, the numbering
 * connected-components-3d (cc3d) gives.
 *
 * The algorithm is the classic two-pass one (Rosenfeld and Pfaltz; cc3d's
 * variant of Wu, Otoo and Suzuki's decision tree): the first pass gives each
 * voxel the provisional label of a matching neighbour that precedes it in the
 * scan, creating a new label when none matches and recording in a union-find
 * forest when two matching neighbours carry different labels; the second
 * pass replaces provisional labels by their set's final id. The decision tree
 * is what makes the first pass cheap: for 26-connectivity, the voxel below
 * (z - 1) touches every other earlier neighbour, so when it matches, its
 * label is the answer and nothing else needs looking at.
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

/** Root of `x` with path compression. Roots are their set's smallest label. */
function find(parent: Uint32Array, x: number): number {
  let r = x;
  while (parent[r] !== r) r = parent[r];
  while (parent[x] !== r) {
    const next = parent[x];
    parent[x] = r;
    x = next;
  }
  return r;
}

/**
 * Merge the sets of provisional labels `a` (0 = none yet) and `b`; returns
 * the label the voxel takes. Linking the larger root under the smaller keeps
 * every set's root its smallest label, created at its first voxel.
 */
function join(parent: Uint32Array, a: number, b: number): number {
  if (a === 0 || a === b) return b;
  const ra = find(parent, a);
  const rb = find(parent, b);
  if (ra < rb) parent[rb] = ra;
  else if (rb < ra) parent[ra] = rb;
  return a;
}

/** The provisional labels of the first pass and their union-find forest. */
class Forest {
  parent: Uint32Array;
  /** With first voxels wanted: where each provisional label was created. */
  starts: Uint32Array;
  next = 0;
  constructor(
    private readonly max: number,
    private readonly wantFirst: boolean,
  ) {
    this.parent = new Uint32Array(Math.min(max, 1 << 16));
    this.starts = new Uint32Array(wantFirst ? this.parent.length : 0);
  }

  /** A new provisional label first seen at voxel `loc`. */
  create(loc: number): number {
    const label = ++this.next;
    if (label >= this.parent.length) {
      this.parent = growTo(this.parent, label + 1, this.max);
      if (this.wantFirst) this.starts = growTo(this.starts, label + 1, this.max);
    }
    this.parent[label] = label;
    if (this.wantFirst) this.starts[label] = loc;
    return label;
  }
}

function growTo(a: Uint32Array, min: number, max: number): Uint32Array {
  const b = new Uint32Array(Math.min(max, Math.max(min, a.length * 2)));
  b.set(a);
  return b;
}

/** The two passes over words where 0 is background. */
function label32(
  input: Uint32Array,
  shape: Shape3,
  connectivity: Connectivity,
  wantFirst: boolean,
): ConnectedComponentsResult {
  const n = input.length;
  const out = new Uint32Array(n);
  const forest = new Forest(n + 1, wantFirst);
  if (connectivity === 26) scan26(input, out, shape, forest);
  else scan6or18(input, out, shape, forest, connectivity === 18);
  // Roots are their set's smallest label and parents are smaller than their
  // children, so one ascending sweep points every label at its root, and a
  // second numbers roots in order (first voxels in scan order).
  const { parent, starts, next } = forest;
  let count = 0;
  for (let p = 1; p <= next; p++) parent[p] = parent[parent[p]];
  const firstVoxels = wantFirst ? new Uint32Array(next) : undefined;
  for (let p = 1; p <= next; p++) {
    const r = parent[p];
    if (r === p) {
      parent[p] = ++count;
      if (firstVoxels) firstVoxels[count - 1] = starts[p];
    } else parent[p] = parent[r];
  }
  for (let i = 0; i < n; i++) out[i] = parent[out[i]];
  return {
    labels: out,
    count,
    ...(firstVoxels ? { firstVoxels: firstVoxels.slice(0, count) } : {}),
  };
}

/** First pass, 26-connectivity, with the decision tree. */
function scan26(input: Uint32Array, out: Uint32Array, [sx, sy, sz]: Shape3, f: Forest): void {
  const sxy = sx * sy;
  for (let z = 0; z < sz; z++) {
    const hasZ = z > 0;
    for (let y = 0; y < sy; y++) {
      const hasY0 = y > 0;
      const hasY1 = y < sy - 1;
      const row = sx * (y + sy * z);
      for (let x = 0; x < sx; x++) {
        let loc = row + x;
        if (hasZ) {
          // E = (0,0,-1) touches all 12 other earlier neighbours, so a voxel
          // equal to E takes E's label. Background over background copies a 0
          // too, so one tight loop covers the run of such voxels (most of them
          // in a segmentation) without the background test.
          const end = row + sx;
          while (loc < end && input[loc] === input[loc - sxy]) {
            out[loc] = out[loc - sxy];
            loc++;
          }
          if (loc === end) break;
          x = loc - row;
        }
        const cur = input[loc];
        if (cur === 0) continue;
        const hasX0 = x > 0;
        const hasX1 = x < sx - 1;
        let label = 0;
        if (hasX0 && input[loc - 1] === cur) {
          // A = (-1,0,0) touches all but the x+1 column; (1,0,-1) touches that whole column.
          label = out[loc - 1];
          if (hasX1) {
            if (hasZ && input[loc + 1 - sxy] === cur)
              label = join(f.parent, label, out[loc + 1 - sxy]);
            else {
              if (hasY0 && input[loc + 1 - sx] === cur)
                label = join(f.parent, label, out[loc + 1 - sx]);
              else if (hasY0 && hasZ && input[loc + 1 - sx - sxy] === cur)
                label = join(f.parent, label, out[loc + 1 - sx - sxy]);
              if (hasY1 && hasZ && input[loc + 1 + sx - sxy] === cur)
                label = join(f.parent, label, out[loc + 1 + sx - sxy]);
            }
          }
        } else if (hasY0 && input[loc - sx] === cur) {
          // B = (0,-1,0) touches all but the y+1 row below; (0,1,-1) touches that whole row.
          label = out[loc - sx];
          if (hasZ && hasY1) {
            if (input[loc + sx - sxy] === cur) label = join(f.parent, label, out[loc + sx - sxy]);
            else {
              if (hasX0 && input[loc - 1 + sx - sxy] === cur)
                label = join(f.parent, label, out[loc - 1 + sx - sxy]);
              if (hasX1 && input[loc + 1 + sx - sxy] === cur)
                label = join(f.parent, label, out[loc + 1 + sx - sxy]);
            }
          }
        } else {
          const p = f.parent;
          if (hasY0) {
            if (hasX0 && input[loc - 1 - sx] === cur) label = join(p, label, out[loc - 1 - sx]);
            if (hasX1 && input[loc + 1 - sx] === cur) label = join(p, label, out[loc + 1 - sx]);
          }
          if (hasZ) {
            const b = loc - sxy;
            if (hasX0 && input[b - 1] === cur) label = join(p, label, out[b - 1]);
            if (hasX1 && input[b + 1] === cur) label = join(p, label, out[b + 1]);
            if (hasY0) {
              if (input[b - sx] === cur) label = join(p, label, out[b - sx]);
              if (hasX0 && input[b - sx - 1] === cur) label = join(p, label, out[b - sx - 1]);
              if (hasX1 && input[b - sx + 1] === cur) label = join(p, label, out[b - sx + 1]);
            }
            if (hasY1) {
              if (input[b + sx] === cur) label = join(p, label, out[b + sx]);
              if (hasX0 && input[b + sx - 1] === cur) label = join(p, label, out[b + sx - 1]);
              if (hasX1 && input[b + sx + 1] === cur) label = join(p, label, out[b + sx + 1]);
            }
          }
        }
        out[loc] = label === 0 ? f.create(loc) : label;
      }
    }
  }
}

/** First pass, 6- or 18-connectivity: every matching earlier neighbour is joined. */
function scan6or18(
  input: Uint32Array,
  out: Uint32Array,
  [sx, sy, sz]: Shape3,
  f: Forest,
  edges: boolean,
): void {
  const sxy = sx * sy;
  for (let z = 0; z < sz; z++) {
    const hasZ = z > 0;
    for (let y = 0; y < sy; y++) {
      const hasY0 = y > 0;
      const hasY1 = y < sy - 1;
      const row = sx * (y + sy * z);
      for (let x = 0; x < sx; x++) {
        const loc = row + x;
        const cur = input[loc];
        if (cur === 0) continue;
        const hasX0 = x > 0;
        const hasX1 = x < sx - 1;
        const p = f.parent;
        let label = hasX0 && input[loc - 1] === cur ? out[loc - 1] : 0;
        if (hasY0 && input[loc - sx] === cur) label = join(p, label, out[loc - sx]);
        if (hasZ && input[loc - sxy] === cur) label = join(p, label, out[loc - sxy]);
        if (edges) {
          if (hasY0) {
            if (hasX0 && input[loc - 1 - sx] === cur) label = join(p, label, out[loc - 1 - sx]);
            if (hasX1 && input[loc + 1 - sx] === cur) label = join(p, label, out[loc + 1 - sx]);
          }
          if (hasZ) {
            const b = loc - sxy;
            if (hasX0 && input[b - 1] === cur) label = join(p, label, out[b - 1]);
            if (hasX1 && input[b + 1] === cur) label = join(p, label, out[b + 1]);
            if (hasY0 && input[b - sx] === cur) label = join(p, label, out[b - sx]);
            if (hasY1 && input[b + sx] === cur) label = join(p, label, out[b + sx]);
          }
        }
        out[loc] = label === 0 ? f.create(loc) : label;
      }
    }
  }
}
