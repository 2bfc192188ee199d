/**
 * The binary manifest (`<id>.index`) of a multi-resolution mesh, per the
 * spec's meshes.md: chunk_shape (3 float32le), grid_origin (3 float32le),
 * num_lods (uint32le), lod_scales (num_lods float32le), vertex_offsets
 * (num_lods x 3 float32le), num_fragments_per_lod (num_lods uint32le), then
 * per lod the fragment positions as a C-order [3, n] uint32le array (all x,
 * then all y, then all z) in Z-curve order, and the n fragment byte sizes.
 */
import { MeshDecodeError, MeshInputError } from "../errors";
import type { Vec3 } from "../types";

/** One level of detail of a manifest. */
export interface ManifestLod {
  /** Octree node positions, x, y, z per fragment (interleaved), in Z-curve order. */
  positions: Uint32Array;
  /** Byte size of each fragment's Draco data (0: empty node). */
  sizes: Uint32Array;
}

/** A decoded multi-resolution manifest. */
export interface MultiresManifest {
  /** Extent of a lod 0 octree node in stored model units (nm). */
  chunkShape: Vec3;
  /** Origin of the octree grid in stored model units. */
  gridOrigin: Vec3;
  /** Scale of each lod (before `lod_scale_multiplier`). */
  lodScales: number[];
  /** Offset added to the vertices of each lod. */
  vertexOffsets: Vec3[];
  /** The fragments of each lod. */
  lods: ManifestLod[];
}

/** Whether bit-pattern `a` has its most significant bit below `b`'s (Neuroglancer's lessMsb). */
function lessMsb(a: number, b: number): boolean {
  return a < b && a < (a ^ b) >>> 0;
}

/**
 * Z-curve order of two octree positions, x the least significant axis at
 * each bit (Neuroglancer's `zorder3LessThan`).
 */
export function zorderLess(
  x0: number,
  y0: number,
  z0: number,
  x1: number,
  y1: number,
  z1: number,
): boolean {
  let m0 = z0;
  let m1 = z1;
  if (lessMsb((m0 ^ m1) >>> 0, (y0 ^ y1) >>> 0)) {
    m0 = y0;
    m1 = y1;
  }
  if (lessMsb((m0 ^ m1) >>> 0, (x0 ^ x1) >>> 0)) {
    m0 = x0;
    m1 = x1;
  }
  return m0 < m1;
}

/** Total byte size of the fragments of every lod (the data file's length). */
export function manifestDataBytes(m: MultiresManifest): number {
  let n = 0;
  for (const lod of m.lods) for (const s of lod.sizes) n += s;
  return n;
}

/**
 * Encodes a manifest byte for byte as the spec lays it out. Throws
 * {@link MeshInputError} when arrays disagree in length or positions are
 * not in strict Z-curve order.
 */
export function encodeMultiresManifest(m: MultiresManifest): Uint8Array {
  const n = m.lods.length;
  if (m.lodScales.length !== n || m.vertexOffsets.length !== n)
    throw new MeshInputError(
      `manifest has ${n} lods but ${m.lodScales.length} lod scales and ${m.vertexOffsets.length} vertex offsets`,
    );
  let total = 0;
  for (const [l, lod] of m.lods.entries()) {
    const k = lod.sizes.length;
    if (lod.positions.length !== 3 * k)
      throw new MeshInputError(`lod ${l}: ${lod.positions.length / 3} positions for ${k} sizes`);
    const p = lod.positions;
    for (let i = 1; i < k; i++)
      if (
        !zorderLess(p[3 * i - 3], p[3 * i - 2], p[3 * i - 1], p[3 * i], p[3 * i + 1], p[3 * i + 2])
      )
        throw new MeshInputError(`lod ${l}: fragment positions are not in strict Z-curve order`);
    total += k;
  }
  const out = new Uint8Array(28 + 20 * n + 16 * total);
  const v = new DataView(out.buffer);
  let at = 0;
  const f32 = (x: number) => {
    v.setFloat32(at, x, true);
    at += 4;
  };
  const u32 = (x: number) => {
    v.setUint32(at, x, true);
    at += 4;
  };
  for (const c of m.chunkShape) f32(c);
  for (const c of m.gridOrigin) f32(c);
  u32(n);
  for (const s of m.lodScales) f32(s);
  for (const o of m.vertexOffsets) for (const c of o) f32(c);
  for (const lod of m.lods) u32(lod.sizes.length);
  for (const lod of m.lods) {
    const k = lod.sizes.length;
    for (let axis = 0; axis < 3; axis++)
      for (let i = 0; i < k; i++) u32(lod.positions[3 * i + axis]);
    for (let i = 0; i < k; i++) u32(lod.sizes[i]);
  }
  return out;
}

/**
 * Decodes a manifest with the size checks Neuroglancer's parser makes: at
 * least 28 bytes and a multiple of 4, room for `num_lods` lods, and exactly
 * 16 bytes per fragment after the header. Throws {@link MeshDecodeError}
 * naming `key`.
 */
export function decodeMultiresManifest(bytes: Uint8Array, key?: string): MultiresManifest {
  if (bytes.length < 28 || bytes.length % 4 !== 0)
    throw new MeshDecodeError(
      `manifest of ${bytes.length} bytes: not a multiresolution manifest`,
      key,
    );
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const f32 = () => {
    const x = v.getFloat32(at, true);
    at += 4;
    return x;
  };
  const u32 = () => {
    const x = v.getUint32(at, true);
    at += 4;
    return x;
  };
  const chunkShape: Vec3 = [f32(), f32(), f32()];
  const gridOrigin: Vec3 = [f32(), f32(), f32()];
  const n = u32();
  if (bytes.length < at + 20 * n)
    throw new MeshDecodeError(`manifest of ${bytes.length} bytes is too short for ${n} lods`, key);
  const lodScales: number[] = [];
  for (let i = 0; i < n; i++) lodScales.push(f32());
  const vertexOffsets: Vec3[] = [];
  for (let i = 0; i < n; i++) vertexOffsets.push([f32(), f32(), f32()]);
  const counts: number[] = [];
  for (let i = 0; i < n; i++) counts.push(u32());
  const total = counts.reduce((a, b) => a + b, 0);
  if (bytes.length !== at + 16 * total)
    throw new MeshDecodeError(
      `manifest of ${bytes.length} bytes does not match ${n} lods and ${total} fragments`,
      key,
    );
  const lods: ManifestLod[] = counts.map((k) => {
    const positions = new Uint32Array(3 * k);
    for (let axis = 0; axis < 3; axis++)
      for (let i = 0; i < k; i++) positions[3 * i + axis] = u32();
    const sizes = new Uint32Array(k);
    for (let i = 0; i < k; i++) sizes[i] = u32();
    return { positions, sizes };
  });
  return { chunkShape, gridOrigin, lodScales, vertexOffsets, lods };
}
