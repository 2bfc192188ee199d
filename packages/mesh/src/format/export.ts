/**
 * Mesh export to common interchange formats: Wavefront OBJ (text) and PLY
 * (binary little-endian), both readable by MeshLab, Blender, trimesh, ...
 */

import type { Mesh } from "../types";

/** Wavefront OBJ text: `v x y z` lines, then `f a b c` lines with 1-based indices. */
export function meshToObj(mesh: Mesh): string {
  const lines: string[] = [];
  const v = mesh.vertices;
  for (let i = 0; i < v.length; i += 3) lines.push(`v ${v[i]} ${v[i + 1]} ${v[i + 2]}`);
  const f = mesh.faces;
  for (let i = 0; i < f.length; i += 3) lines.push(`f ${f[i] + 1} ${f[i + 1] + 1} ${f[i + 2] + 1}`);
  lines.push("");
  return lines.join("\n");
}

/**
 * Binary little-endian PLY: float32 x, y, z per vertex and a face list of
 * uchar count 3 plus int32 indices.
 */
export function meshToPly(mesh: Mesh): Uint8Array {
  const nv = mesh.vertices.length / 3;
  const nf = mesh.faces.length / 3;
  const header = new TextEncoder().encode(
    [
      "ply",
      "format binary_little_endian 1.0",
      `element vertex ${nv}`,
      "property float x",
      "property float y",
      "property float z",
      `element face ${nf}`,
      "property list uchar int vertex_indices",
      "end_header",
      "",
    ].join("\n"),
  );
  const out = new Uint8Array(header.length + 12 * nv + 13 * nf);
  out.set(header);
  const view = new DataView(out.buffer);
  let at = header.length;
  for (let i = 0; i < mesh.vertices.length; i++, at += 4)
    view.setFloat32(at, mesh.vertices[i], true);
  for (let t = 0; t < mesh.faces.length; t += 3) {
    view.setUint8(at, 3);
    view.setInt32(at + 1, mesh.faces[t], true);
    view.setInt32(at + 5, mesh.faces[t + 1], true);
    view.setInt32(at + 9, mesh.faces[t + 2], true);
    at += 13;
  }
  return out;
}
