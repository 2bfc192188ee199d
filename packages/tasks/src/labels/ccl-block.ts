/**
 * The CPU half of the connected-components stage's tasks, as pure kernels
 * the worker pool runs: a block's local components and the equivalences that
 * tie them to its neighbours' (phase 1), and the block's final ids (phase 3).
 *
 * Equivalences never name a neighbour's component ids (they do not exist
 * yet when a block runs). They name nodes both sides can compute alone:
 *  - a *plane component*: a 4-connected component of a block's low face
 *    plane, numbered by connectedComponents on that plane; the owner reads
 *    the plane as its x = 0 (y = 0, z = 0) face, the block below reads it in
 *    its +1 overlap, and both number it the same;
 *  - an *edge voxel*: a voxel on one of a block's three low edge lines, for
 *    the diagonal (18-, 26-connected) steps that cross two or three faces.
 * The owner links its components to its nodes; the block below links its
 * components to the nodes its boundary voxels touch. The union of all
 * links, restricted to components, is the dataset's connectivity.
 */
import {
  type Connectivity,
  comparableLabels,
  connectedComponents,
  type LabelArray,
} from "@ngpipe/segmentation";

/** Node keys: (owner block * 8 + kind) * 2^28 + id. */
export const NODE_ID_SPAN = 2 ** 28;

/** Kinds of nodes: a block's component, its low x/y/z plane components, its low edge lines. */
export const NodeKind = {
  component: 0,
  planeX: 1,
  planeY: 2,
  planeZ: 3,
  lineZ: 4,
  lineY: 5,
  lineX: 6,
} as const;

/** The key of a node. */
export function nodeKey(owner: number, kind: number, id: number): number {
  return (owner * 8 + kind) * NODE_ID_SPAN + id;
}

/** The block (linear index in the grid) that owns a node. */
export function nodeOwner(key: number): number {
  return Math.floor(key / NODE_ID_SPAN / 8);
}

type V3 = [number, number, number];

/** Where a block sits and how it is labelled. */
export interface CclBlockParams {
  connectivity: Connectivity;
  background?: number | bigint;
  threshold?: [number, number];
  /** The block's own voxels (the array holds them plus the +1 overlap). */
  core: V3;
  /** The array's shape: core, plus one on each high face that has a neighbour. */
  ext: V3;
  /** The block's position in the grid of blocks, and the grid's size. */
  block: V3;
  grid: V3;
  /** The core's minimum relative to the dataset's, and the dataset's size (for first voxels). */
  offset: V3;
  size: V3;
}

/** What {@link cclBlock} returns. */
export interface CclBlockResult {
  count: number;
  /** Each component's first voxel as an x-fastest index into the dataset. */
  first: Float64Array;
  /**
   * Equivalences: node `edgeA[e]` is linked to node `edgeB[e]`. This block's
   * components are nodes of kind `component` (id = local id).
   */
  edgeA: Float64Array;
  edgeB: Float64Array;
}

function crop(keys: Uint32Array, ext: V3, core: V3): Uint32Array {
  const [cx, cy, cz] = core;
  const out = new Uint32Array(cx * cy * cz);
  for (let z = 0; z < cz; z++)
    for (let y = 0; y < cy; y++)
      out.set(
        keys.subarray(ext[0] * (y + ext[1] * z), ext[0] * (y + ext[1] * z) + cx),
        cx * (y + cy * z),
      );
  return out;
}

/**
 * The 4-connected components of the plane `axis = at` of `keys` (shape
 * `ext`), limited to the core's extent along the other two axes.
 */
function planeComponents(
  keys: Uint32Array,
  ext: V3,
  core: V3,
  axis: 0 | 1 | 2,
  at: number,
): Uint32Array {
  const [a, b] =
    axis === 0 ? [core[1], core[2]] : axis === 1 ? [core[0], core[2]] : [core[0], core[1]];
  const plane = new Uint32Array(a * b);
  for (let v = 0; v < b; v++)
    for (let u = 0; u < a; u++) {
      const [x, y, z] = axis === 0 ? [at, u, v] : axis === 1 ? [u, at, v] : [u, v, at];
      plane[u + a * v] = keys[x + ext[0] * (y + ext[1] * z)];
    }
  return connectedComponents(plane, [a, b, 1], { connectivity: 6 }).labels;
}

/** Phase 1 of the stage for one block: local components, first voxels, equivalences. */
export function cclBlock(labels: LabelArray, p: CclBlockParams): CclBlockResult {
  const { core, ext, block, grid, offset, size, connectivity } = p;
  const [cx, cy, cz] = core;
  const [ex, ey] = ext;
  const keys = comparableLabels(labels, { background: p.background, threshold: p.threshold });
  const local = connectedComponents(crop(keys, ext, core), core, {
    connectivity,
    firstVoxels: true,
  });
  const ids = local.labels;
  const first = new Float64Array(local.count);
  (local.firstVoxels as Uint32Array).forEach((f, k) => {
    const x = f % cx;
    const y = Math.floor(f / cx) % cy;
    const z = Math.floor(f / (cx * cy));
    first[k] = offset[0] + x + size[0] * (offset[1] + y + size[1] * (offset[2] + z));
  });

  const [i, j, k] = block;
  const owner = (a: number, b: number, c: number) => a + grid[0] * (b + grid[1] * c);
  const self = owner(i, j, k);
  const links: number[] = [];
  let lastA = -1;
  let lastB = -1;
  const link = (a: number, b: number) => {
    if (a > b) [a, b] = [b, a];
    if (a === lastA && b === lastB) return;
    links.push(a, b);
    lastA = a;
    lastB = b;
  };
  const comp = (l: number) => nodeKey(self, NodeKind.component, l);
  const at = (x: number, y: number, z: number) => ids[x + cx * (y + cy * z)];

  // This block's own nodes: its low planes and low edge lines.
  if (i > 0) {
    const pc = planeComponents(keys, ext, core, 0, 0);
    for (let z = 0; z < cz; z++)
      for (let y = 0; y < cy; y++)
        if (pc[y + cy * z]) link(comp(at(0, y, z)), nodeKey(self, NodeKind.planeX, pc[y + cy * z]));
  }
  if (j > 0) {
    const pc = planeComponents(keys, ext, core, 1, 0);
    for (let z = 0; z < cz; z++)
      for (let x = 0; x < cx; x++)
        if (pc[x + cx * z]) link(comp(at(x, 0, z)), nodeKey(self, NodeKind.planeY, pc[x + cx * z]));
  }
  if (k > 0) {
    const pc = planeComponents(keys, ext, core, 2, 0);
    for (let y = 0; y < cy; y++)
      for (let x = 0; x < cx; x++)
        if (pc[x + cx * y]) link(comp(at(x, y, 0)), nodeKey(self, NodeKind.planeZ, pc[x + cx * y]));
  }
  if (connectivity !== 6) {
    if (i > 0 && j > 0)
      for (let z = 0; z < cz; z++)
        if (at(0, 0, z)) link(comp(at(0, 0, z)), nodeKey(self, NodeKind.lineZ, z + 1));
    if (i > 0 && k > 0)
      for (let y = 0; y < cy; y++)
        if (at(0, y, 0)) link(comp(at(0, y, 0)), nodeKey(self, NodeKind.lineY, y + 1));
    if (j > 0 && k > 0)
      for (let x = 0; x < cx; x++)
        if (at(x, 0, 0)) link(comp(at(x, 0, 0)), nodeKey(self, NodeKind.lineX, x + 1));
  }

  // Pairs of touching voxels in different blocks, at least one outside the
  // core, that no other block sees: those whose blocks' lowest corner is
  // this block (both in the +1 overlap of this block only, or one in the
  // core). This includes the "anti-diagonal" steps, e.g. from block
  // (i, j + 1) to block (i + 1, j), which neither of them sees.
  const high = [ext[0] > cx, ext[1] > cy, ext[2] > cz];
  const planes = [0, 1, 2].map((axis) =>
    high[axis] ? planeComponents(keys, ext, core, axis as 0 | 1 | 2, core[axis]) : undefined,
  );
  const steps: V3[] = [];
  for (let dz = -1; dz <= 1; dz++)
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const d = Math.abs(dx) + Math.abs(dy) + Math.abs(dz);
        // One of each pair of opposite steps: forward in scan order.
        const forward = dz > 0 || (dz === 0 && (dy > 0 || (dy === 0 && dx > 0)));
        if (forward && d <= (connectivity === 6 ? 1 : connectivity === 18 ? 2 : 3))
          steps.push([dx, dy, dz]);
      }
  const nodeOf = (x: number, y: number, z: number): number => {
    const sx = x === cx;
    const sy = y === cy;
    const sz = z === cz;
    if (!sx && !sy && !sz) return comp(at(x, y, z));
    if (sx && sy && sz) return nodeKey(owner(i + 1, j + 1, k + 1), NodeKind.lineZ, 1);
    if (sx && sy) return nodeKey(owner(i + 1, j + 1, k), NodeKind.lineZ, z + 1);
    if (sx && sz) return nodeKey(owner(i + 1, j, k + 1), NodeKind.lineY, y + 1);
    if (sy && sz) return nodeKey(owner(i, j + 1, k + 1), NodeKind.lineX, x + 1);
    if (sx)
      return nodeKey(owner(i + 1, j, k), NodeKind.planeX, (planes[0] as Uint32Array)[y + cy * z]);
    if (sy)
      return nodeKey(owner(i, j + 1, k), NodeKind.planeY, (planes[1] as Uint32Array)[x + cx * z]);
    return nodeKey(owner(i, j, k + 1), NodeKind.planeZ, (planes[2] as Uint32Array)[x + cx * y]);
  };
  const visit = (x: number, y: number, z: number) => {
    const key = keys[x + ex * (y + ey * z)];
    if (key === 0) return;
    const inShell = [x === cx, y === cy, z === cz];
    for (const [dx, dy, dz] of steps) {
      const q = [x + dx, y + dy, z + dz];
      if (q.some((n, a) => n < 0 || n >= ext[a])) continue;
      const qShell = [q[0] === cx, q[1] === cy, q[2] === cz];
      // Both in the core: the block's own components. Both in the overlap on
      // one axis: a higher block's pair.
      if (!inShell.some((s) => s) && !qShell.some((s) => s)) continue;
      if (inShell.some((s, a) => s && qShell[a])) continue;
      if (keys[q[0] + ex * (q[1] + ey * q[2])] === key)
        link(nodeOf(x, y, z), nodeOf(q[0], q[1], q[2]));
    }
  };
  // The band of the last core layer and the overlap along each high axis.
  for (let z = 0; z < ext[2]; z++)
    for (let y = 0; y < ext[1]; y++) {
      const band = (high[1] && y >= cy - 1) || (high[2] && z >= cz - 1);
      if (band) for (let x = 0; x < ext[0]; x++) visit(x, y, z);
      else if (high[0]) {
        visit(cx - 1, y, z);
        visit(cx, y, z);
      }
    }

  // Sorted and without repeats, so a rerun writes the same bytes.
  const n = links.length / 2;
  const order = Array.from({ length: n }, (_, e) => e).sort(
    (a, b) => links[2 * a] - links[2 * b] || links[2 * a + 1] - links[2 * b + 1],
  );
  const edgeA: number[] = [];
  const edgeB: number[] = [];
  for (const e of order) {
    const [a, b] = [links[2 * e], links[2 * e + 1]];
    const m = edgeA.length - 1;
    if (m >= 0 && edgeA[m] === a && edgeB[m] === b) continue;
    edgeA.push(a);
    edgeB.push(b);
  }
  return {
    count: local.count,
    first,
    edgeA: Float64Array.from(edgeA),
    edgeB: Float64Array.from(edgeB),
  };
}

/** Phase 3 of the stage for one block: its local components again (same ids as phase 1). */
export function cclLocalLabels(
  labels: LabelArray,
  shape: V3,
  p: Pick<CclBlockParams, "connectivity" | "background" | "threshold">,
): Uint32Array {
  const keys = comparableLabels(labels, { background: p.background, threshold: p.threshold });
  return connectedComponents(keys, shape, { connectivity: p.connectivity }).labels;
}

/**
 * Local ids through a table of final ids (`table[0]` = 0) into a uint32 or
 * uint64 array (returned as its bytes' uint32 words for uint64).
 */
export function applyFinalIds(local: Uint32Array, table: Float64Array, wide: boolean): Uint32Array {
  const n = local.length;
  if (!wide) {
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = table[local[i]];
    return out;
  }
  const out = new Uint32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const v = table[local[i]];
    out[2 * i] = v % 4294967296;
    out[2 * i + 1] = Math.floor(v / 4294967296);
  }
  return out;
}
