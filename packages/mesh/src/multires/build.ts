/**
 * One object's multi-resolution mesh as stored bytes: its manifest and its
 * fragment data file (Draco fragments of every lod, lod 0 first, each lod in
 * the manifest's Z-curve order), and the reverse.
 */

import { MeshDecodeError } from "../errors";
import { decodeLegacyMesh } from "../format/legacy";
import { concatMeshes, weldMesh } from "../kernels/mesh-utils";
import type { Mesh } from "../types";
import { decodeDracoFragment, encodeDracoFragment, loadDraco } from "./draco";
import { checkQuantizationBits } from "./info";
import { buildMultiresLods, type MultiresLodOptions } from "./lods";
import { decodeMultiresManifest, encodeMultiresManifest, type MultiresManifest } from "./manifest";

/** What {@link encodeMultiresMesh} returns. */
export interface MultiresMeshBytes {
  /** The manifest (`<id>.index`, or the shard entry). */
  manifest: Uint8Array;
  /** The fragment data file (`<id>`, or the bytes before the manifest in a shard). */
  data: Uint8Array;
  /** Triangles stored at each lod. */
  facesPerLod: number[];
}

/**
 * Builds the levels of detail of `mesh` ({@link buildMultiresLods}) and
 * encodes them: Draco fragments and the manifest that indexes them.
 * Empty octree nodes get size 0. Loads draco3d on first use.
 */
export async function encodeMultiresMesh(
  mesh: Mesh,
  options: MultiresLodOptions,
): Promise<MultiresMeshBytes> {
  const bits = options.bits ?? 10;
  checkQuantizationBits(bits);
  await loadDraco();
  const { lods, lodScales } = buildMultiresLods(mesh, options);
  const parts: Uint8Array[] = [];
  const facesPerLod: number[] = [];
  const manifest: MultiresManifest = {
    chunkShape: [...options.chunkShape],
    gridOrigin: [...options.gridOrigin],
    lodScales,
    vertexOffsets: lods.map(() => [0, 0, 0]),
    lods: lods.map((lod) => {
      const sizes = new Uint32Array(lod.fragments.length);
      let faces = 0;
      lod.fragments.forEach((f, i) => {
        if (f.faces.length === 0) return;
        const bytes = encodeDracoFragment(f, bits);
        parts.push(bytes);
        sizes[i] = bytes.length;
        faces += f.faces.length / 3;
      });
      facesPerLod.push(faces);
      return { positions: lod.positions, sizes };
    }),
  };
  let total = 0;
  for (const p of parts) total += p.length;
  const data = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { manifest: encodeMultiresManifest(manifest), data, facesPerLod };
}

/**
 * The kernel of a merge task: one object's meshing fragments (legacy
 * bytes, gzip or not) fused, welded and encoded as a multi-resolution mesh.
 * `keys` name the fragments in errors.
 */
export async function multiresMeshFromFragments(
  fragments: Uint8Array[],
  options: MultiresLodOptions & { keys?: string[] },
): Promise<MultiresMeshBytes> {
  const meshes = fragments.map((f, i) => decodeLegacyMesh(f, options.keys?.[i]));
  const { keys: _keys, ...rest } = options;
  return encodeMultiresMesh(weldMesh(concatMeshes(meshes)), rest);
}

/**
 * Decodes one lod of an object to a mesh in stored model units (nm with the
 * identity transform): every fragment of the lod, dequantized as the spec
 * says (`grid_origin + vertex_offsets[lod] + chunk_shape * 2^lod *
 * (position + x / (2^bits - 1))`) and concatenated (fragments are not
 * welded). `data` is the object's whole fragment data file. Throws
 * {@link MeshDecodeError} naming `key` when the data is shorter than the
 * manifest says or a fragment does not decode. Loads draco3d on first use.
 */
export async function decodeMultiresLod(
  manifest: MultiresManifest | Uint8Array,
  data: Uint8Array,
  bits: number,
  lod = 0,
  key?: string,
): Promise<Mesh> {
  checkQuantizationBits(bits, key);
  const m = manifest instanceof Uint8Array ? decodeMultiresManifest(manifest, key) : manifest;
  if (!(lod >= 0 && lod < m.lods.length))
    throw new MeshDecodeError(`lod ${lod} not in the manifest (it has ${m.lods.length})`, key);
  await loadDraco();
  let at = 0;
  for (let l = 0; l < lod; l++) for (const s of m.lods[l].sizes) at += s;
  const M = 2 ** bits - 1;
  const scale = 2 ** lod;
  const off = m.vertexOffsets[lod];
  const meshes: Mesh[] = [];
  const { positions: cells, sizes } = m.lods[lod];
  for (let i = 0; i < sizes.length; i++) {
    const size = sizes[i];
    if (size === 0) continue;
    if (at + size > data.length)
      throw new MeshDecodeError(
        `fragment data is ${data.length} bytes but the manifest places lod ${lod} fragment ${i} at [${at}, ${at + size})`,
        key,
      );
    const q = decodeDracoFragment(data.subarray(at, at + size), bits, key);
    at += size;
    const vertices = new Float32Array(q.positions.length);
    for (let v = 0; v < q.positions.length; v += 3)
      for (let a = 0; a < 3; a++)
        vertices[v + a] =
          m.gridOrigin[a] +
          off[a] +
          m.chunkShape[a] * scale * (cells[3 * i + a] + q.positions[v + a] / M);
    meshes.push({ vertices, faces: q.faces });
  }
  return concatMeshes(meshes);
}
