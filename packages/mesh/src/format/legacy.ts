/**
 * Neuroglancer's legacy single-resolution mesh format, as Igneous and
 * CloudVolume write it.
 *
 * Spec: neuroglancer `src/neuroglancer/datasource/precomputed/meshes.md`,
 * section "Legacy single-resolution mesh format". In a segmentation layer's
 * mesh directory (the `mesh` key of the layer `info`, Igneous' default
 * `mesh_mip_<mip>_err_<error>` or `mesh`):
 *
 * - `info`: `{"@type": "neuroglancer_legacy_mesh", ...}`;
 * - `<id>:0`: JSON manifest `{"fragments": ["<id>:0:<bbox>", ...]}`;
 * - `<id>:0:<bbox>`: a fragment, `<bbox>` being the task's bounding box in
 *   voxels as CloudVolume's `Bbox.to_filename()` writes it:
 *   `x0-x1_y0-y1_z0-z1`.
 *
 * A fragment is: uint32 LE vertex count, then float32 LE x,y,z per vertex (nm,
 * global frame), then uint32 LE vertex indices, three per triangle, to the end
 * of the file. Igneous uploads fragments gzip-compressed by default; the
 * decoder accepts both.
 */

import { gunzipSync } from "node:zlib";
import { maxJsonBytes } from "@ngpipe/storage/compression";
import { MeshDecodeError, MeshInputError } from "../errors";
import type { Label, Mesh, Vec3 } from "../types";

const GZIP_MAGIC0 = 0x1f;
const GZIP_MAGIC1 = 0x8b;

/**
 * The most bytes one legacy fragment (or a segment's whole mesh read through
 * a manifest) may inflate to: 1 GiB, or the `NGPIPE_MAX_MESH_BYTES`
 * environment variable. A gzip bomb stored as a fragment fails with
 * {@link MeshDecodeError} as soon as it passes this, instead of filling memory.
 */
export function maxMeshBytes(): number {
  const env = Number(process.env.NGPIPE_MAX_MESH_BYTES);
  return Number.isSafeInteger(env) && env > 0 ? env : 2 ** 30;
}

/** Whether bytes start with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC0 && bytes[1] === GZIP_MAGIC1;
}

/** Encodes a mesh as a legacy precomputed fragment (little-endian, uncompressed). */
export function encodeLegacyMesh(mesh: Mesh): Uint8Array {
  const nv = mesh.vertices.length / 3;
  if (!Number.isInteger(nv) || mesh.faces.length % 3 !== 0)
    throw new MeshInputError("mesh arrays must hold whole vertices and triangles");
  const out = new Uint8Array(4 + 4 * mesh.vertices.length + 4 * mesh.faces.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, nv, true);
  let at = 4;
  for (let i = 0; i < mesh.vertices.length; i++, at += 4)
    view.setFloat32(at, mesh.vertices[i], true);
  for (let i = 0; i < mesh.faces.length; i++, at += 4) {
    if (mesh.faces[i] >= nv)
      throw new MeshInputError(`face index ${mesh.faces[i]} out of range (${nv} vertices)`);
    view.setUint32(at, mesh.faces[i], true);
  }
  return out;
}

/**
 * Decodes a legacy precomputed fragment (gzip-compressed or not). Throws
 * {@link MeshDecodeError} naming `key` for gzip that inflates past
 * {@link maxMeshBytes}, truncated data, a vertex count that
 * does not fit, a triangle section that is not a multiple of 12 bytes, or an
 * index out of range.
 */
export function decodeLegacyMesh(bytes: Uint8Array, key?: string): Mesh {
  let data = bytes;
  if (isGzip(data)) {
    const limit = maxMeshBytes();
    try {
      data = new Uint8Array(gunzipSync(data, { maxOutputLength: limit }));
    } catch (e) {
      if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE")
        throw new MeshDecodeError(
          `fragment inflates to more than ${limit} bytes, the most a fragment may (NGPIPE_MAX_MESH_BYTES raises it); refused before inflating it further`,
          key,
          { cause: e },
        );
      throw new MeshDecodeError(`fragment is not valid gzip: ${(e as Error).message}`, key, {
        cause: e,
      });
    }
  }
  if (data.length < 4)
    throw new MeshDecodeError(
      `fragment is ${data.length} bytes, shorter than its 4-byte header`,
      key,
    );
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const nv = view.getUint32(0, true);
  const vertexBytes = 12 * nv;
  if (4 + vertexBytes > data.length)
    throw new MeshDecodeError(
      `fragment declares ${nv} vertices (${vertexBytes} bytes) but holds only ${data.length - 4} bytes after the header`,
      key,
    );
  const rest = data.length - 4 - vertexBytes;
  if (rest % 12 !== 0)
    throw new MeshDecodeError(
      `fragment has ${rest} bytes of triangle indices, not a multiple of 12 (truncated?)`,
      key,
    );
  const vertices = new Float32Array(3 * nv);
  for (let i = 0; i < vertices.length; i++) vertices[i] = view.getFloat32(4 + 4 * i, true);
  const faces = new Uint32Array(rest / 4);
  const base = 4 + vertexBytes;
  for (let i = 0; i < faces.length; i++) {
    const v = view.getUint32(base + 4 * i, true);
    if (v >= nv)
      throw new MeshDecodeError(
        `triangle ${Math.floor(i / 3)} uses vertex ${v} but the fragment has ${nv} vertices`,
        key,
      );
    faces[i] = v;
  }
  return { vertices, faces };
}

/** A bounding box in voxels, half-open `[minpt, maxpt)`. */
export interface VoxelBox {
  /** Inclusive low corner. */
  minpt: Vec3;
  /** Exclusive high corner. */
  maxpt: Vec3;
}

/** CloudVolume's `Bbox.to_filename()`: `x0-x1_y0-y1_z0-z1`. */
export function bboxFilename(bbox: VoxelBox): string {
  return [0, 1, 2].map((a) => `${bbox.minpt[a]}-${bbox.maxpt[a]}`).join("_");
}

function labelString(label: Label): string {
  if (typeof label === "number" && !(Number.isSafeInteger(label) && label >= 0))
    throw new MeshInputError(`label ${label} is not a uint64`);
  if (typeof label === "bigint" && (label < 0n || label >= 2n ** 64n))
    throw new MeshInputError(`label ${label} is not a uint64`);
  return label.toString(10);
}

/** Key of a segment's manifest in the mesh directory: `<id>:<lod>` (lod 0 unless given). */
export function legacyManifestKey(label: Label, lod = 0): string {
  return `${labelString(label)}:${lod}`;
}

/**
 * Name of the fragment a meshing task writes for a segment, as Igneous'
 * `MeshTask` names it: `<id>:<lod>:<bbox.to_filename()>`, where the box is the
 * task's box without its overlap padding.
 */
export function legacyFragmentName(label: Label, bbox: VoxelBox, lod = 0): string {
  return `${labelString(label)}:${lod}:${bboxFilename(bbox)}`;
}

/** Python `json.dumps` escaping (ensure_ascii): non-ASCII as \uXXXX. */
function pythonJsonString(s: string): string {
  let out = JSON.stringify(s);
  out = out.replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return out;
}

/**
 * Encodes a manifest `{"fragments": [...]}` byte for byte as Python's
 * `json.dumps` (used by CloudFiles' `put_json`) writes it: `", "` and `": "`
 * separators, non-ASCII escaped.
 */
export function encodeLegacyManifest(fragments: readonly string[]): Uint8Array {
  const body = `{"fragments": [${fragments.map(pythonJsonString).join(", ")}]}`;
  return new TextEncoder().encode(body);
}

/**
 * Decodes a manifest (gzip-compressed or not) to its fragment names. Throws
 * {@link MeshDecodeError} naming `key` if it is not JSON or has no
 * `fragments` list of strings.
 */
export function decodeLegacyManifest(bytes: Uint8Array, key?: string): string[] {
  let data = bytes;
  if (isGzip(data)) {
    try {
      data = new Uint8Array(gunzipSync(data, { maxOutputLength: maxJsonBytes() }));
    } catch (e) {
      throw new MeshDecodeError(`manifest is not valid gzip: ${(e as Error).message}`, key, {
        cause: e,
      });
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
  } catch (e) {
    throw new MeshDecodeError(`manifest is not JSON: ${(e as Error).message}`, key, { cause: e });
  }
  const fragments = (json as { fragments?: unknown } | null)?.fragments;
  if (!Array.isArray(fragments) || !fragments.every((f) => typeof f === "string"))
    throw new MeshDecodeError(`manifest has no "fragments" list of strings`, key);
  return fragments;
}

/** The mesh directory `info` of a legacy mesh layer. */
export interface LegacyMeshInfo {
  /** Always `"neuroglancer_legacy_mesh"`. */
  "@type": "neuroglancer_legacy_mesh";
  /** Mip level the meshes were made from (Igneous writes it). */
  mip?: number;
  /** Meshing task shape in voxels (Igneous writes it). */
  chunk_size?: Vec3;
  /** Igneous' spatial index description, or null when none was made. */
  spatial_index?: { resolution: Vec3; chunk_size: Vec3 } | null;
  /** Other members are kept as they are. */
  [key: string]: unknown;
}

/**
 * The mesh `info` Igneous writes when creating meshing tasks:
 * `{"@type": "neuroglancer_legacy_mesh", "mip": ..., "chunk_size": [...],
 * "spatial_index": {"resolution": [...], "chunk_size": [...]}}` where the
 * spatial index chunk size is the task shape times the resolution (or `null`
 * without a spatial index).
 */
export function legacyMeshInfo(options: {
  mip: number;
  chunkSize: Vec3;
  resolution: Vec3;
  spatialIndex?: boolean;
}): LegacyMeshInfo {
  const { mip, chunkSize, resolution } = options;
  return {
    "@type": "neuroglancer_legacy_mesh",
    mip,
    chunk_size: [...chunkSize] as Vec3,
    spatial_index:
      options.spatialIndex === false
        ? null
        : {
            resolution: [...resolution] as Vec3,
            chunk_size: chunkSize.map((c, i) => c * resolution[i]) as Vec3,
          },
  };
}

/**
 * Checks a parsed mesh `info`: it must be an object whose `@type` is
 * `"neuroglancer_legacy_mesh"` (a missing info file also means legacy, per the
 * spec; callers handle that case). Throws {@link MeshDecodeError} naming `key`.
 */
export function parseLegacyMeshInfo(json: unknown, key?: string): LegacyMeshInfo {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new MeshDecodeError("mesh info is not a JSON object", key);
  const type = (json as { "@type"?: unknown })["@type"];
  if (type !== "neuroglancer_legacy_mesh")
    throw new MeshDecodeError(
      `mesh info "@type" is ${JSON.stringify(type)}, expected "neuroglancer_legacy_mesh"`,
      key,
    );
  return json as LegacyMeshInfo;
}

/**
 * Returns a copy of a segmentation layer `info` with its `mesh` key pointing
 * at `meshDir` (a path relative to the layer, e.g. `"mesh"` or Igneous'
 * `"mesh_mip_0_err_40"`).
 */
export function withMeshDir<T extends object>(info: T, meshDir: string): T & { mesh: string } {
  if (!meshDir || meshDir.startsWith("/") || meshDir.includes(".."))
    throw new MeshInputError(
      `mesh directory must be a relative path, got ${JSON.stringify(meshDir)}`,
    );
  return { ...info, mesh: meshDir };
}
