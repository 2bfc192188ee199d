/** Test objects for the multi-resolution tests: labelled blobs meshed by marching cubes. */
import { decodeLegacyMesh } from "../format/legacy";
import { meshBlock } from "../kernels/mesh-block";
import type { Mesh } from "../types";

/**
 * A `n^3` volume (x fastest) with a torus-like wavy blob of label 1 and a
 * ball of label 2, meshed closed with resolution `res`: objects that cross
 * many cells of a small octree grid. Returns the legacy mesh of each label.
 */
export function blobMeshes(
  n = 40,
  res: [number, number, number] = [4, 4, 40],
  simplify = 0,
): Map<string, Mesh> {
  const labels = new Uint32Array(n * n * n);
  const c = n / 2;
  for (let z = 0; z < n; z++)
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) {
        const r = Math.hypot(x - c, y - c);
        const tube = Math.hypot(r - n / 4, (z - c) * 1.3) < n / 8 + 1.5 * Math.sin(x / 3);
        const ball = Math.hypot(x - n / 5, y - n / 5, z - n / 5) < n / 7;
        labels[x + n * (y + n * z)] = tube ? 1 : ball ? 2 : 0;
      }
  const r = meshBlock(labels, [n, n, n], {
    resolution: res,
    origin: [0, 0, 0],
    close: [true, true, true, true, true, true],
    reductionFactor: simplify,
    maxError: 40,
    dust: 0,
  });
  return new Map(r.ids.map((id, i) => [id, decodeLegacyMesh(r.fragments[i])]));
}
