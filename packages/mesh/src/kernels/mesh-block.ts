/**
 * The CPU half of a meshing task, as one pure kernel: a label cutout in,
 * encoded legacy fragments out (marching cubes, dust removal, simplification
 * with locked open faces). @ngpipe/tasks runs it in the worker pool through
 * {@link meshKernelModule}.
 */
import { encodeLegacyMesh } from "../format/legacy";
import type { FaceFlags, Label } from "../types";
import { cutoutLockedPlanes, type MeshLabelArray, marchingCubes } from "./marching-cubes";
import { simplifyMesh } from "./simplify";

/** Options of {@link meshBlock}. */
export interface MeshBlockOptions {
  resolution: [number, number, number];
  /**
   * Voxel coordinates of the cutout's low corner in the dataset (cutout.min):
   * vertices are computed from dataset-wide grid coordinates, so
   * neighbouring blocks' shared-plane vertices are bit-identical.
   */
  origin: [number, number, number];
  /** Extra physical translation (nm) of every vertex. Default none. */
  offset?: [number, number, number];
  /** Faces closed because the cutout touches the dataset edge there. */
  close: FaceFlags;
  /** Igneous' simplification_factor (0 or 1: none). */
  reductionFactor: number;
  /** Igneous' max_simplification_error, nm. */
  maxError: number;
  /** Labels with fewer voxels than this in the cutout are not meshed. */
  dust: number;
  /** Only these labels (decimal strings, so uint64 ids travel as JSON). */
  labels?: string[];
  /** Not these labels. */
  exclude?: string[];
}

/** What {@link meshBlock} returns: parallel arrays of ids and fragment bytes. */
export interface MeshBlockResult {
  ids: string[];
  fragments: Uint8Array[];
  /** Triangles written over all fragments. */
  triangles: number;
}

/**
 * Voxel counts of every label (as decimal strings) that has fewer than
 * `threshold` voxels. Runs of equal labels along x are counted at once, so
 * the map sees one operation per run, not per voxel.
 */
export function smallLabels(data: MeshLabelArray, threshold: number): string[] {
  if (threshold <= 0) return [];
  const counts = new Map<number | string, number>();
  const wide = data instanceof BigUint64Array || data instanceof BigInt64Array;
  if (wide) {
    const w = new Uint32Array(data.buffer, data.byteOffset, data.length * 2);
    const n = data.length;
    let i = 0;
    while (i < n) {
      const lo = w[2 * i];
      const hi = w[2 * i + 1];
      let j = i + 1;
      while (j < n && w[2 * j] === lo && w[2 * j + 1] === hi) j++;
      if (lo !== 0 || hi !== 0) {
        const key =
          hi < 0x200000 ? hi * 4294967296 + lo : (BigInt(hi) * 4294967296n + BigInt(lo)).toString();
        counts.set(key, (counts.get(key) ?? 0) + (j - i));
      }
      i = j;
    }
  } else {
    const n = data.length;
    // Signed arrays are counted by their unsigned bit patterns, as the mesher reads them.
    const d =
      data instanceof Int8Array
        ? new Uint8Array(data.buffer, data.byteOffset, n)
        : data instanceof Int16Array
          ? new Uint16Array(data.buffer, data.byteOffset, n)
          : data instanceof Int32Array
            ? new Uint32Array(data.buffer, data.byteOffset, n)
            : (data as Uint8Array | Uint16Array | Uint32Array);
    let i = 0;
    while (i < n) {
      const v = d[i];
      let j = i + 1;
      while (j < n && d[j] === v) j++;
      if (v !== 0) counts.set(v, (counts.get(v) ?? 0) + (j - i));
      i = j;
    }
  }
  const out: string[] = [];
  for (const [k, c] of counts) if (c < threshold) out.push(String(k));
  return out;
}

function toLabel(s: string): Label {
  const b = BigInt(s);
  return b < 2n ** 53n ? Number(b) : b;
}

/** Mesh every (non-dust) label of a cutout and encode one fragment per label. */
export function meshBlock(
  data: MeshLabelArray,
  shape: [number, number, number],
  o: MeshBlockOptions,
): MeshBlockResult {
  const exclude = [...(o.exclude ?? []), ...smallLabels(data, o.dust)].map(toLabel);
  const surfaces = marchingCubes(data, shape, {
    resolution: o.resolution,
    origin: o.origin,
    offset: o.offset,
    close: o.close,
    labels: o.labels?.map(toLabel),
    exclude,
  });
  const locked = cutoutLockedPlanes(shape, {
    resolution: o.resolution,
    origin: o.origin,
    offset: o.offset,
    close: o.close,
  });
  const ids: string[] = [];
  const fragments: Uint8Array[] = [];
  let triangles = 0;
  const simplify = o.reductionFactor > 1;
  for (const [label, mesh] of surfaces.meshes()) {
    const m = simplify
      ? simplifyMesh(mesh, { reductionFactor: o.reductionFactor, maxError: o.maxError, locked })
      : mesh;
    if (m.faces.length === 0) continue;
    ids.push(String(label));
    fragments.push(encodeLegacyMesh(m));
    triangles += m.faces.length / 3;
  }
  return { ids, fragments, triangles };
}
