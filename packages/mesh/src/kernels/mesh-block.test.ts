import { decodeLegacyMesh } from "../format/legacy";
import { meshBlock, smallLabels } from "./mesh-block";

test("smallLabels lists the labels under the dust threshold", () => {
  const labels = new Uint32Array(16 * 16 * 16);
  for (let i = 0; i < labels.length; i++) labels[i] = i < 2000 ? 1 : 2;
  labels[3000] = 3;
  expect(smallLabels(labels, 5)).toEqual(["3"]);
  // Signed arrays count by their unsigned bit patterns, as the mesher reads them.
  const signed = new Int32Array(labels);
  signed[3000] = -5;
  expect(smallLabels(signed, 5)).toEqual([String(2 ** 32 - 5)]);
});

test("meshBlock makes one encoded fragment per label above the dust threshold", () => {
  const n = 12;
  const labels = new Uint32Array(n * n * n);
  // A 6^3 cube of label 7 and a single voxel of label 9 (dust at 2).
  for (let z = 3; z < 9; z++)
    for (let y = 3; y < 9; y++) for (let x = 3; x < 9; x++) labels[x + n * (y + n * z)] = 7;
  labels[1 + n * (1 + n * 1)] = 9;
  const result = meshBlock(labels, [n, n, n], {
    resolution: [4, 4, 40],
    origin: [0, 0, 0],
    close: [true, true, true, true, true, true],
    reductionFactor: 0,
    maxError: 0,
    dust: 2,
  });
  expect(result.ids).toEqual(["7"]);
  const mesh = decodeLegacyMesh(result.fragments[0], "7");
  expect(mesh.faces.length / 3).toBe(result.triangles);
  expect(result.triangles).toBeGreaterThan(0);
  // Vertices lie on the cube's surface, between voxel 3 and 9 in each axis (physical units).
  const xs = mesh.vertices.filter((_, i) => i % 3 === 0);
  expect(Math.min(...xs)).toBeGreaterThanOrEqual(2 * 4);
  expect(Math.max(...xs)).toBeLessThanOrEqual(9 * 4);
});
