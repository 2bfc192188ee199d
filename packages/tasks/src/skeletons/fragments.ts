/**
 * Skeleton fragments between the forge and the merge, under the skeleton
 * directory:
 *
 * - `fragments/manifest.json`: how the forge tiled the layer (mip, block
 *   shape, bounds, voxel offset, resolution) and the number of buckets;
 * - `fragments/<bucket>/<bbox>`: one block's fragments of the objects that
 *   fall in one bucket; a bucket is the low `bucketBits` bits of the
 *   murmurhash3_x86_128 of the object id, the hash sharded skeletons are
 *   keyed by, so a merge task that owns a bucket (or a shard, a set of whole
 *   buckets) lists and reads only its own fragments;
 * - `fragments/census/<bbox>`: the block's fragment count and bytes, read by
 *   the merge's creation to size shards and to check that every block ran.
 *
 * A fragment file is a scratch record (`../labels/records`): ids as
 * (lo, hi) words, vertex and edge counts per fragment, then every
 * fragment's vertices (nm), edges and radii end to end.
 */
import { Bbox, murmurHash3X86_128Low64, type Vec3 } from "@ngpipe/precomputed";
import type { SkeletonGraph } from "@ngpipe/segmentation";
import { z } from "zod";
import { packRecord, ScratchRecordError, unpackRecord } from "../labels/records";
import { StageError } from "../stages/common";

/** A fragment directory that is missing, damaged or incomplete; names the key. */
export class SkeletonFragmentsError extends StageError {
  override name = "SkeletonFragmentsError";
}

/** Key of the forge's manifest inside the skeleton directory. */
export const FRAGMENT_MANIFEST = "fragments/manifest.json";

const vec3 = z.tuple([z.number(), z.number(), z.number()]);

/** What the forge tells the merge about its tiling. */
export const fragmentManifestSchema = z.object({
  mip: z.number().int().min(0),
  /** Block shape (voxels), tiled from `origin`. */
  shape: vec3,
  /** The region forged, `x0-x1_y0-y1_z0-z1`. */
  bounds: z.string(),
  /** The tiling's origin (the scale's voxel offset). */
  origin: vec3,
  /** Voxel size (nm) at `mip`. */
  resolution: vec3,
  /** log2 of the number of buckets. */
  bucketBits: z.number().int().min(0).max(16),
});

/** The forge's manifest. */
export type FragmentManifest = z.infer<typeof fragmentManifestSchema>;

/** The bucket of id (lo, hi): the low `bits` bits of its murmurhash, as sharded skeletons hash ids. */
export function bucketOf(
  lo: number,
  hi: number,
  bits: number,
  scratch = new Uint32Array(2),
): number {
  if (bits === 0) return 0;
  murmurHash3X86_128Low64(lo >>> 0, hi >>> 0, 0, scratch);
  return bits >= 32 ? scratch[0] : scratch[0] & (2 ** bits - 1);
}

/**
 * The key of forge file `name` in bucket `bucket`: one block's fragments of
 * the bucket (skeletons), or one object's fragment of one block (meshes).
 */
export function fragmentKey(bucket: number, name: string): string {
  return `fragments/${bucket}/${name}`;
}

/** The key of one block's census. */
export function censusKey(bbox: string): string {
  return `fragments/census/${bbox}`;
}

/** A block's census. */
export interface FragmentCensus {
  fragments: number;
  bytes: number;
}

/** One object's fragment, with its id as (lo, hi) words. */
export interface IdFragment {
  lo: number;
  hi: number;
  skeleton: SkeletonGraph;
}

/** Pack fragments into one file (the order given is kept). */
export function packFragments(fragments: readonly IdFragment[]): Uint8Array {
  const n = fragments.length;
  const lo = new Uint32Array(n);
  const hi = new Uint32Array(n);
  const vcount = new Uint32Array(n);
  const ecount = new Uint32Array(n);
  let nv = 0;
  let ne = 0;
  fragments.forEach((f, i) => {
    lo[i] = f.lo;
    hi[i] = f.hi;
    vcount[i] = f.skeleton.radii.length;
    ecount[i] = f.skeleton.edges.length / 2;
    nv += vcount[i];
    ne += ecount[i];
  });
  const vertices = new Float32Array(3 * nv);
  const radii = new Float32Array(nv);
  const edges = new Uint32Array(2 * ne);
  let v = 0;
  let e = 0;
  for (const { skeleton: s } of fragments) {
    vertices.set(s.vertices, 3 * v);
    radii.set(s.radii, v);
    edges.set(s.edges, 2 * e);
    v += s.radii.length;
    e += s.edges.length / 2;
  }
  // Float32 data travels as its bit patterns: records hold u32 and f64 arrays.
  return packRecord(
    {},
    {
      lo,
      hi,
      vcount,
      ecount,
      vertices: new Uint32Array(vertices.buffer),
      radii: new Uint32Array(radii.buffer),
      edges,
    },
  );
}

/** Unpack {@link packFragments}' bytes; `where` (the key) names the file in errors. */
export function unpackFragments(bytes: Uint8Array, where: string): IdFragment[] {
  let arrays: Record<string, Uint32Array | Float64Array>;
  try {
    arrays = unpackRecord(bytes, where).arrays;
  } catch (e) {
    if (e instanceof ScratchRecordError) throw new SkeletonFragmentsError(e.message);
    throw e;
  }
  const { lo, hi, vcount, ecount, vertices, radii, edges } = arrays as Record<string, Uint32Array>;
  const fail = (what: string): never => {
    throw new SkeletonFragmentsError(`${where}: not a skeleton fragment file (${what})`);
  };
  if (!lo || !hi || !vcount || !ecount || !vertices || !radii || !edges) fail("arrays missing");
  const nv = vcount.reduce((s, n) => s + n, 0);
  const ne = ecount.reduce((s, n) => s + n, 0);
  if (vertices.length !== 3 * nv || radii.length !== nv || edges.length !== 2 * ne)
    fail("counts do not match the arrays");
  const pos = new Float32Array(vertices.buffer, vertices.byteOffset, vertices.length);
  const rad = new Float32Array(radii.buffer, radii.byteOffset, radii.length);
  const out: IdFragment[] = [];
  let v = 0;
  let e = 0;
  for (let i = 0; i < lo.length; i++) {
    const skeleton: SkeletonGraph = {
      vertices: pos.subarray(3 * v, 3 * (v + vcount[i])),
      radii: rad.subarray(v, v + vcount[i]),
      edges: edges.subarray(2 * e, 2 * (e + ecount[i])),
    };
    for (const k of skeleton.edges)
      if (k >= vcount[i]) fail(`an edge names vertex ${k} of ${vcount[i]}`);
    out.push({ lo: lo[i], hi: hi[i], skeleton });
    v += vcount[i];
    e += ecount[i];
  }
  return out;
}

/** Whether `name` is one of the blocks of the manifest's tiling (stale fragments of another tiling are not). */
export function isTileOf(manifest: FragmentManifest, name: string): boolean {
  let box: Bbox;
  try {
    box = Bbox.parseChunkName(name);
  } catch {
    return false;
  }
  const region = Bbox.parseChunkName(manifest.bounds);
  for (let a = 0; a < 3; a++) {
    const size = manifest.shape[a];
    const cell = manifest.origin[a] + Math.floor((box.min[a] - manifest.origin[a]) / size) * size;
    if (box.min[a] !== Math.max(cell, region.min[a])) return false;
    if (box.max[a] !== Math.min(cell + size, region.max[a])) return false;
  }
  return true;
}

/** Voxel size as a tuple. */
export function vec3Of(v: readonly number[]): Vec3 {
  return [v[0], v[1], v[2]];
}
