/**
 * The block half of the watershed stage's tasks, as pure kernels the worker
 * pool runs: a block's watershed basins (steepest ascent, plateaus, basins:
 * the steps that depend only on the affinities near a voxel) with its
 * context, cut down to the block's core as 6-connected pieces, plus what its
 * neighbours need to decide which pieces continue across each face. The
 * size-dependent steps (merge, dust) run later, once, on the dataset's basin
 * graph (basin-graph.ts).
 *
 * A block's watershed sees the core and `context` voxels around it. Across a
 * face between a lower block A and a higher block B, both saw the two voxel
 * layers that touch the face: A's last core layer (p) and B's first (q). For
 * every face position, each side's basins say whether p and q are in one
 * basin. A piece of A and a piece of B that touch across the face continue
 * each other when both blocks put p and q in one basin at most of the
 * positions where the two pieces touch ({@link matchFace}).
 */
import { connectedComponents, watershed } from "@ngpipe/segmentation";

type V3 = [number, number, number];

/** The watershed's thresholds, already absolute (float32 values); blocks use `low` and `high`. */
export interface BlockThresholds {
  low: number;
  high: number;
  merge: Array<[number, number]>;
  dust: number;
}

/** Where a block sits and how it is cut. */
export interface WatershedBlockParams {
  /** Shape of the affinity cutout (core plus context, clipped to the dataset). */
  ext: V3;
  /** The core's minimum inside the cutout. */
  at: V3;
  /** The core's shape. */
  core: V3;
  /** Which faces have a neighbour block: low x, y, z, then high x, y, z. */
  neighbours: boolean[];
  /** The core's minimum relative to the dataset's, and the dataset's size (for first voxels). */
  offset: V3;
  size: V3;
  thresholds: BlockThresholds;
}

/**
 * One face of a block: per position of the face (the other two axes, the
 * lower one fastest), the block's piece on its side (`piece`, a local id),
 * and its watershed's region ids on the inner layer (`inner`, the core's
 * layer at the face) and on the outer layer (`outer`, the neighbour's layer),
 * as the block's basins label them.
 */
export interface BlockFace {
  piece: Uint32Array;
  inner: Uint32Array;
  outer: Uint32Array;
}

/** What {@link watershedBlock} returns. */
export interface WatershedBlockResult {
  /** The core's pieces: 6-connected parts of its regions, 1..count in scan order, 0 background. */
  local: Uint32Array;
  count: number;
  /** Each piece's first voxel as an x-fastest index into the dataset. */
  first: Float64Array;
  /** The faces with a neighbour, in the order of `neighbours` (undefined where none). */
  faces: Array<BlockFace | undefined>;
  /** Basins of the block's watershed (context included). */
  basins: number;
}

function as3(v: readonly number[]): V3 {
  return [v[0], v[1], v[2]];
}

/** The face plane's two axes, lower first. */
export function faceAxes(axis: number): [number, number] {
  return axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
}

/** Finds the block's basins and cuts out its core and faces. */
export function watershedBlock(
  aff: Float32Array | Uint8Array,
  p: WatershedBlockParams,
): WatershedBlockResult {
  const ext = as3(p.ext);
  const core = as3(p.core);
  const at = as3(p.at);
  const t = p.thresholds;
  // No merge and no dust: the labels are the basins, numbered in scan order.
  const ws = watershed(aff, ext, { relative: false, low: t.low, high: t.high, merge: [], dust: 0 });
  const labels = ws.labels;
  const [ex, ey] = ext;
  const [cx, cy, cz] = core;
  const cut = new Uint32Array(cx * cy * cz);
  for (let z = 0; z < cz; z++)
    for (let y = 0; y < cy; y++) {
      const from = at[0] + ex * (at[1] + y + ey * (at[2] + z));
      cut.set(labels.subarray(from, from + cx), cx * (y + cy * z));
    }
  const pieces = connectedComponents(cut, core, { connectivity: 6, firstVoxels: true });
  const local = pieces.labels;
  const first = new Float64Array(pieces.count);
  const fv = pieces.firstVoxels as Uint32Array;
  const [ox, oy, oz] = p.offset;
  const [sx, sy] = p.size;
  for (let k = 0; k < pieces.count; k++) {
    const f = fv[k];
    const x = f % cx;
    const y = Math.floor(f / cx) % cy;
    const z = Math.floor(f / (cx * cy));
    first[k] = ox + x + sx * (oy + y + sy * (oz + z));
  }
  const faces: Array<BlockFace | undefined> = [];
  for (let side = 0; side < 6; side++) {
    if (!p.neighbours[side]) {
      faces.push(undefined);
      continue;
    }
    const axis = side % 3;
    const high = side >= 3;
    const [u, v] = faceAxes(axis);
    const nu = core[u];
    const nv = core[v];
    const innerAt = high ? core[axis] - 1 : 0;
    const outerAt = high ? at[axis] + core[axis] : at[axis] - 1;
    if (outerAt < 0 || outerAt >= ext[axis])
      throw new RangeError(`block face ${side} has a neighbour but no context voxel beyond it`);
    const face: BlockFace = {
      piece: new Uint32Array(nu * nv),
      inner: new Uint32Array(nu * nv),
      outer: new Uint32Array(nu * nv),
    };
    const c: V3 = [0, 0, 0];
    const e: V3 = [0, 0, 0];
    for (let b = 0; b < nv; b++)
      for (let a = 0; a < nu; a++) {
        c[axis] = innerAt;
        c[u] = a;
        c[v] = b;
        const i = a + nu * b;
        face.piece[i] = local[c[0] + cx * (c[1] + cy * c[2])];
        e[u] = at[u] + a;
        e[v] = at[v] + b;
        e[axis] = at[axis] + innerAt;
        face.inner[i] = labels[e[0] + ex * (e[1] + ey * e[2])];
        e[axis] = outerAt;
        face.outer[i] = labels[e[0] + ex * (e[1] + ey * e[2])];
      }
    faces.push(face);
  }
  return { local, count: pieces.count, first, faces, basins: ws.basins };
}

/**
 * The pieces that continue each other across one face: `low` is the lower
 * block's high face, `high` the higher block's low face (same positions).
 * Two touching pieces are joined when, at more than half of the positions
 * where they touch, both blocks' basins put the two voxels in one basin.
 * A basin that one block sees split (a plateau that leaves its cutout and
 * comes back) is joined through the pieces of the block that sees it whole.
 * Returns the joined pairs as parallel arrays (lower block's piece, higher
 * block's piece), sorted.
 */
export function matchFace(low: BlockFace, high: BlockFace): { a: number[]; b: number[] } {
  const n = low.piece.length;
  const contacts = new Map<number, Map<number, [number, number]>>();
  for (let i = 0; i < n; i++) {
    const pa = low.piece[i];
    const pb = high.piece[i];
    if (pa === 0 || pb === 0) continue;
    let row = contacts.get(pa);
    if (!row) contacts.set(pa, (row = new Map()));
    let t = row.get(pb);
    if (!t) row.set(pb, (t = [0, 0]));
    t[0]++;
    if (low.inner[i] === low.outer[i] && high.inner[i] === high.outer[i]) t[1]++;
  }
  const a: number[] = [];
  const b: number[] = [];
  for (const pa of [...contacts.keys()].sort((x, y) => x - y)) {
    const row = contacts.get(pa) as Map<number, [number, number]>;
    for (const pb of [...row.keys()].sort((x, y) => x - y)) {
      const [touch, agree] = row.get(pb) as [number, number];
      if (2 * agree > touch) {
        a.push(pa);
        b.push(pb);
      }
    }
  }
  return { a, b };
}
