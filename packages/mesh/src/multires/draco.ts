/**
 * Draco coding of multi-resolution mesh fragments through `draco3d`, Google's
 * WebAssembly build of Draco.
 *
 * Neuroglancer decodes fragments with Draco's position transform skipped and
 * reads the integer positions as they are, so a fragment must carry
 * positions that are already integers in `[0, 2^bits)`. They are stored the
 * way Igneous and zmesh store them: as a float attribute quantized by Draco
 * with `bits` bits over the range `[0, 2^bits - 1]`, which maps every
 * integer to itself. (Neuroglancer refuses Draco's own quantization of
 * non-integer positions, and so does {@link decodeDracoFragment}.)
 *
 * The WebAssembly modules load once per thread ({@link loadDraco}); after
 * that coding is synchronous.
 */
import type * as draco3d from "draco3d";
import { MeshDecodeError, MeshInputError } from "../errors";
import { checkQuantizationBits } from "./info";

/** The loaded encoder and decoder modules. */
export interface DracoModules {
  encoder: draco3d.EncoderModule;
  decoder: draco3d.DecoderModule;
}

let loading: Promise<DracoModules> | undefined;
let loaded: DracoModules | undefined;

/**
 * Loads draco3d's encoder and decoder (WebAssembly) once per thread; later
 * calls return the same modules.
 */
export function loadDraco(): Promise<DracoModules> {
  if (loading === undefined) {
    loading = (async () => {
      // draco3d is CommonJS; required lazily so that importing the package costs nothing.
      const lib = require("draco3d") as typeof draco3d;
      const [encoder, decoder] = await Promise.all([
        lib.createEncoderModule({}),
        lib.createDecoderModule({}),
      ]);
      loaded = { encoder, decoder };
      return loaded;
    })();
  }
  return loading;
}

function modules(): DracoModules {
  if (loaded === undefined)
    throw new Error("draco3d is not loaded: await loadDraco() before coding fragments");
  return loaded;
}

/** A decoded fragment: integer positions (x, y, z per vertex) and triangles. */
export interface QuantizedMesh {
  /** Vertex positions, each in `[0, 2^bits)`. */
  positions: Uint32Array;
  /** Vertex indices, three per triangle. */
  faces: Uint32Array;
}

/**
 * Encodes one fragment as Draco (edgebreaker). `positions` must be integers
 * in `[0, 2^bits)`. Draco drops unused vertices and may reorder vertices and
 * triangles; the set of triangles (as position triples, orientation kept) is
 * what round-trips. Needs {@link loadDraco} to have resolved.
 */
export function encodeDracoFragment(mesh: QuantizedMesh, bits: number): Uint8Array {
  checkQuantizationBits(bits);
  const { encoder: m } = modules();
  const max = 2 ** bits - 1;
  const nv = mesh.positions.length / 3;
  if (!Number.isInteger(nv) || mesh.faces.length % 3 !== 0)
    throw new MeshInputError("fragment arrays must hold whole vertices and triangles");
  const coords = new Float32Array(mesh.positions.length);
  for (let i = 0; i < coords.length; i++) {
    const v = mesh.positions[i];
    if (v > max)
      throw new MeshInputError(`fragment position ${v} does not fit ${bits} quantization bits`);
    coords[i] = v;
  }
  for (let i = 0; i < mesh.faces.length; i++)
    if (mesh.faces[i] >= nv)
      throw new MeshInputError(`face index ${mesh.faces[i]} out of range (${nv} vertices)`);
  const builder = new m.MeshBuilder();
  const dmesh = new m.Mesh();
  const encoder = new m.Encoder();
  const out = new m.DracoInt8Array();
  try {
    builder.AddFacesToMesh(dmesh, mesh.faces.length / 3, mesh.faces);
    builder.AddFloatAttribute(dmesh, m.POSITION, nv, 3, coords);
    encoder.SetAttributeExplicitQuantization(m.POSITION, bits, 3, [0, 0, 0], max);
    encoder.SetEncodingMethod(m.MESH_EDGEBREAKER_ENCODING);
    const n = encoder.EncodeMeshToDracoBuffer(dmesh, out);
    if (n <= 0) throw new MeshInputError("draco3d failed to encode the fragment");
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i++) bytes[i] = out.GetValue(i);
    return bytes;
  } finally {
    m.destroy(out);
    m.destroy(encoder);
    m.destroy(dmesh);
    m.destroy(builder);
  }
}

/**
 * Decodes one Draco fragment as Neuroglancer does (position transform
 * skipped): integer positions, which must lie in `[0, 2^bits)`, and
 * triangles. Throws {@link MeshDecodeError} naming `key` for bytes that are
 * not a Draco triangle mesh with a 3-component position attribute.
 * Needs {@link loadDraco} to have resolved.
 */
export function decodeDracoFragment(bytes: Uint8Array, bits: number, key?: string): QuantizedMesh {
  checkQuantizationBits(bits);
  const { decoder: m } = modules();
  const buffer = new m.DecoderBuffer();
  const decoder = new m.Decoder();
  const dmesh = new m.Mesh();
  const values = new m.DracoInt32Array();
  const face = new m.DracoInt32Array();
  try {
    buffer.Init(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes.length);
    if (decoder.GetEncodedGeometryType(buffer) !== m.TRIANGULAR_MESH)
      throw new MeshDecodeError("fragment is not a Draco triangle mesh", key);
    // In draco3d's decoder, missing from its type declarations.
    (decoder as unknown as { SkipAttributeTransform(a: number): void }).SkipAttributeTransform(
      m.POSITION,
    );
    const status = decoder.DecodeBufferToMesh(buffer, dmesh);
    if (!status.ok())
      throw new MeshDecodeError(`fragment is not valid Draco: ${status.error_msg()}`, key);
    const id = decoder.GetAttributeId(dmesh, m.POSITION);
    if (id < 0) throw new MeshDecodeError("Draco fragment has no position attribute", key);
    const att = decoder.GetAttribute(dmesh, id);
    if (att.num_components() !== 3)
      throw new MeshDecodeError(`Draco positions have ${att.num_components()} components`, key);
    const nv = dmesh.num_points();
    decoder.GetAttributeInt32ForAllPoints(dmesh, att, values);
    const positions = new Uint32Array(3 * nv);
    const limit = 2 ** bits;
    for (let i = 0; i < positions.length; i++) {
      const v = values.GetValue(i);
      if (v < 0 || v >= limit)
        throw new MeshDecodeError(
          `Draco position ${v} lies outside [0, 2^${bits}): not quantized with vertex_quantization_bits ${bits}`,
          key,
        );
      positions[i] = v;
    }
    const nf = dmesh.num_faces();
    const faces = new Uint32Array(3 * nf);
    for (let f = 0; f < nf; f++) {
      decoder.GetFaceFromMesh(dmesh, f, face);
      faces[3 * f] = face.GetValue(0);
      faces[3 * f + 1] = face.GetValue(1);
      faces[3 * f + 2] = face.GetValue(2);
    }
    return { positions, faces };
  } finally {
    m.destroy(face);
    m.destroy(values);
    m.destroy(dmesh);
    m.destroy(decoder);
    m.destroy(buffer);
  }
}
