/**
 * `skeletonize`: TEASAR skeletons of every object of a label volume, as
 * kimimaro computes them block by block: one distance transform of the whole
 * block, then each object traced in its own bounding box, one tree per
 * 26-connected piece. With `fixBorders`, the pieces that reach a face of the
 * block are given targets at the centres of their cross-sections there, so
 * that the skeletons of two blocks sharing that face meet at the same points.
 */
import { connectedComponents } from "../ccl";
import { distanceTransform } from "../edt";
import { checkShape, type IntegerLabelArray, LabelArrayError, type Shape3 } from "../label-array";
import { renumber } from "../renumber";
import type { Grid } from "./fields";
import { type TeasarParams, traceObject } from "./teasar";

/** Options of {@link skeletonize}. */
export interface SkeletonizeOptions {
  /** Physical voxel size (nm) along x, y, z. Default [1, 1, 1]. */
  anisotropy?: readonly [number, number, number];
  /** TEASAR's parameters; `const` is in the units of `anisotropy`. */
  teasar?: TeasarParams;
  /** Objects with fewer voxels are skipped. Default 1000. */
  dust?: number;
  /** Skeletonize only these ids. Default: every nonzero id. */
  objectIds?: readonly (number | bigint)[];
  /**
   * Trace each path from the tree built so far rather than from the root's
   * single search, so branches leave the tree where the object forks.
   * Slower (one search per path). Default true.
   */
  fixBranching?: boolean;
  /** Put targets at the centres of the object's cross-sections on the block's faces. Default true. */
  fixBorders?: boolean;
}

/** One object's skeleton: a forest in physical units (a tree per 26-connected piece). */
export interface Skeleton {
  /** The object's id in the input labels (a bigint for 64-bit label arrays). */
  id: number | bigint;
  /** Vertex positions x, y, z in the units of `anisotropy`, from the block's origin corner voxel. */
  vertices: Float32Array;
  /** Vertex index pairs. */
  edges: Uint32Array;
  /** Distance from each vertex to the object's boundary. */
  radii: Float32Array;
}

/**
 * TEASAR skeletons of the objects of `labels` (shape [x, y, z], x fastest),
 * in order of increasing id.
 *
 * ```ts
 * const skeletons = skeletonize(labels, [256, 256, 64], { anisotropy: [4, 4, 40] });
 * ```
 */
export function skeletonize(
  labels: IntegerLabelArray,
  shape: Shape3,
  options: SkeletonizeOptions = {},
): Skeleton[] {
  checkShape(shape, labels.length, "skeletonize");
  const anisotropy = options.anisotropy ?? [1, 1, 1];
  if (!anisotropy.every((w) => w > 0 && Number.isFinite(w))) {
    throw new LabelArrayError(`skeletonize: anisotropy must be positive, got [${anisotropy}]`);
  }
  const params: Required<TeasarParams> = {
    scale: options.teasar?.scale ?? 4,
    const: options.teasar?.const ?? 500,
    pdrfScale: options.teasar?.pdrfScale ?? 100000,
    pdrfExponent: options.teasar?.pdrfExponent ?? 8,
  };
  const dust = options.dust ?? 1000;
  const fixBranching = options.fixBranching ?? true;
  const fixBorders = options.fixBorders ?? true;

  const { labels: compact, mapping } = renumber(labels);
  const ids = mapping.from;
  const wanted = options.objectIds ? new Set(options.objectIds.map((id) => String(id))) : undefined;
  let anyBackground = false;
  for (let i = 0; i < compact.length && !anyBackground; i++) anyBackground = compact[i] === 0;
  // A block with no background at all would have no finite distance (kimimaro's rule).
  const dbf = distanceTransform(compact, shape, { anisotropy, blackBorder: !anyBackground });
  const boxes = objectBoxes(compact as ArrayLike<number>, shape, ids.length);

  const out: Skeleton[] = [];
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k];
    if (boxes.count[k] < dust || (wanted && !wanted.has(String(id)))) continue;
    const skel = skeletonizeObject(
      compact as ArrayLike<number>,
      dbf,
      shape,
      anisotropy,
      k + 1,
      boxes.box.subarray(6 * k, 6 * k + 6),
      params,
      fixBranching,
      fixBorders,
    );
    out.push({ id, ...skel });
  }
  out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return out;
}

/** Per compact id 1..n: voxel count and bounding box [x0, y0, z0, x1, y1, z1) (entry k for id k + 1). */
function objectBoxes(
  compact: ArrayLike<number>,
  [sx, sy, sz]: Shape3,
  n: number,
): { count: Float64Array; box: Int32Array } {
  const count = new Float64Array(n);
  const box = new Int32Array(6 * n);
  for (let k = 0; k < n; k++) box.set([sx, sy, sz, 0, 0, 0], 6 * k);
  let i = 0;
  for (let z = 0; z < sz; z++) {
    for (let y = 0; y < sy; y++) {
      for (let x = 0; x < sx; x++, i++) {
        const c = compact[i];
        if (c === 0) continue;
        const b = 6 * (c - 1);
        count[c - 1]++;
        if (x < box[b]) box[b] = x;
        if (y < box[b + 1]) box[b + 1] = y;
        if (z < box[b + 2]) box[b + 2] = z;
        if (x >= box[b + 3]) box[b + 3] = x + 1;
        if (y >= box[b + 4]) box[b + 4] = y + 1;
        if (z >= box[b + 5]) box[b + 5] = z + 1;
      }
    }
  }
  return { count, box };
}

function skeletonizeObject(
  compact: ArrayLike<number>,
  dbf: Float32Array,
  shape: Shape3,
  anisotropy: readonly [number, number, number],
  id: number,
  box: Int32Array,
  params: Required<TeasarParams>,
  fixBranching: boolean,
  fixBorders: boolean,
): Omit<Skeleton, "id"> {
  const [sx, sy] = shape;
  const [x0, y0, z0, x1, y1, z1] = box;
  const cshape: [number, number, number] = [x1 - x0, y1 - y0, z1 - z0];
  const [cx, cy, cz] = cshape;
  const mask = new Uint8Array(cx * cy * cz);
  const cdbf = new Float32Array(cx * cy * cz);
  for (let z = 0; z < cz; z++) {
    for (let y = 0; y < cy; y++) {
      const from = x0 + sx * (y0 + y + sy * (z0 + z));
      const to = cx * (y + cy * z);
      for (let x = 0; x < cx; x++) {
        if (compact[from + x] === id) {
          mask[to + x] = 1;
          cdbf[to + x] = dbf[from + x];
        }
      }
    }
  }
  const grid: Grid = { shape: cshape, anisotropy };
  const pieces = connectedComponents(mask, cshape, { connectivity: 26 });
  const vertices: number[] = [];
  const radii: number[] = [];
  const edges: number[] = [];
  const pieceMask = new Uint8Array(mask.length);
  const onFaces = [x0 === 0, y0 === 0, z0 === 0, x1 === shape[0], y1 === shape[1], z1 === shape[2]];
  for (let p = 1; p <= pieces.count; p++) {
    for (let i = 0; i < mask.length; i++) pieceMask[i] = pieces.labels[i] === p ? 1 : 0;
    const targets = fixBorders ? borderTargets(pieceMask, grid, onFaces) : [];
    const tree = traceObject(pieceMask, cdbf, grid, params, fixBranching, targets);
    const base = vertices.length / 3;
    for (const v of tree.voxels) {
      const z = Math.floor(v / (cx * cy));
      const y = Math.floor((v - z * cx * cy) / cx);
      const x = v - z * cx * cy - y * cx;
      vertices.push((x + x0) * anisotropy[0], (y + y0) * anisotropy[1], (z + z0) * anisotropy[2]);
      radii.push(cdbf[v]);
    }
    for (const e of tree.edges) edges.push(e + base);
  }
  return {
    vertices: Float32Array.from(vertices),
    edges: Uint32Array.from(edges),
    radii: Float32Array.from(radii),
  };
}

/**
 * For each face of the block the piece lies on, the centre of each of its
 * cross-sections there: the voxel farthest (in the face's plane) from the
 * section's outline, first in scan order among equals. Two blocks that share
 * the face plane find the same points.
 */
function borderTargets(mask: Uint8Array, grid: Grid, onFaces: readonly boolean[]): number[] {
  const [cx, cy] = grid.shape;
  const targets: number[] = [];
  for (let f = 0; f < 6; f++) {
    if (!onFaces[f]) continue;
    const axis = f % 3;
    const at = f < 3 ? 0 : grid.shape[axis] - 1;
    // The face's two in-plane axes, and a padded slice so its edge is outline.
    const [u, v] = axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
    const su = grid.shape[u];
    const sv = grid.shape[v];
    const slice = new Uint8Array((su + 2) * (sv + 2));
    const voxelOf = new Int32Array(slice.length).fill(-1);
    for (let b = 0; b < sv; b++) {
      for (let a = 0; a < su; a++) {
        const c = [0, 0, 0];
        c[axis] = at;
        c[u] = a;
        c[v] = b;
        const i = c[0] + cx * (c[1] + cy * c[2]);
        const s = a + 1 + (su + 2) * (b + 1);
        if (mask[i]) {
          slice[s] = 1;
          voxelOf[s] = i;
        }
      }
    }
    const sections = connectedComponents(slice, [su + 2, sv + 2, 1], { connectivity: 26 });
    if (sections.count === 0) continue;
    const centre = distanceTransform(slice, [su + 2, sv + 2, 1], {
      anisotropy: [grid.anisotropy[u], grid.anisotropy[v], 1],
    });
    const best = new Int32Array(sections.count).fill(-1);
    for (let s = 0; s < slice.length; s++) {
      const k = sections.labels[s] - 1;
      if (k < 0) continue;
      if (best[k] < 0 || centre[s] > centre[best[k]]) best[k] = s;
    }
    for (const s of best) targets.push(voxelOf[s]);
  }
  return targets;
}

/** Cable length, branch points and end points of a skeleton. */
export interface SkeletonStats {
  /** Sum of the edge lengths, in the units of the vertices (nm). */
  cableLength: number;
  /** Vertices with three or more edges. */
  branchPoints: number;
  /** Vertices with exactly one edge. */
  endPoints: number;
}

/** Measure a skeleton: cable length, branch points and end points. */
export function skeletonStats(skeleton: Pick<Skeleton, "vertices" | "edges">): SkeletonStats {
  const { vertices: p, edges } = skeleton;
  const degree = new Uint32Array(p.length / 3);
  let cableLength = 0;
  for (let e = 0; e < edges.length; e += 2) {
    const a = 3 * edges[e];
    const b = 3 * edges[e + 1];
    cableLength += Math.hypot(p[a] - p[b], p[a + 1] - p[b + 1], p[a + 2] - p[b + 2]);
    degree[edges[e]]++;
    degree[edges[e + 1]]++;
  }
  let branchPoints = 0;
  let endPoints = 0;
  for (const d of degree) {
    if (d >= 3) branchPoints++;
    else if (d === 1) endPoints++;
  }
  return { cableLength, branchPoints, endPoints };
}
