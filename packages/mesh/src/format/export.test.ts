import type { Mesh } from "../types";
import { meshToObj, meshToPly } from "./export";

const tri: Mesh = {
  vertices: Float32Array.of(0, 0, 0, 1.5, 0, 0, 0, 2, -3),
  faces: Uint32Array.of(0, 1, 2),
};

test("OBJ lists vertices then 1-based faces", () => {
  expect(meshToObj(tri)).toBe("v 0 0 0\nv 1.5 0 0\nv 0 2 -3\nf 1 2 3\n");
});

test("PLY has a binary little-endian header, float32 vertices and uchar+int32 faces", () => {
  const bytes = meshToPly(tri);
  const text = new TextDecoder().decode(bytes);
  const end = text.indexOf("end_header\n") + "end_header\n".length;
  expect(text.slice(0, end)).toBe(
    "ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\nproperty float y\n" +
      "property float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n",
  );
  const view = new DataView(bytes.buffer, bytes.byteOffset + end);
  expect(view.getFloat32(12, true)).toBe(1.5);
  expect(view.getFloat32(32, true)).toBe(-3);
  expect(view.getUint8(36)).toBe(3);
  expect([view.getInt32(37, true), view.getInt32(41, true), view.getInt32(45, true)]).toEqual([
    0, 1, 2,
  ]);
  expect(bytes.length).toBe(end + 36 + 13);
});
