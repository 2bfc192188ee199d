/**
 * The block grid the dataset-wide label stages (ccl, voxel counts) share:
 * blocks per axis, block positions in x-fastest order, and their linear index.
 */

/** A block position or a grid size, [x, y, z]. */
export type V3 = [number, number, number];

/** Blocks per axis of a region of `size` voxels cut into blocks of `shape`. */
export function blocksPerAxis(size: readonly number[], shape: readonly number[]): V3 {
  return [0, 1, 2].map((a) => Math.ceil(size[a] / shape[a])) as V3;
}

/** Every position of a `dims` grid, x fastest (the order tasks are listed in). */
export function gridPositions(dims: V3): V3[] {
  const out: V3[] = [];
  for (let k = 0; k < dims[2]; k++)
    for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) out.push([i, j, k]);
  return out;
}

/** The x-fastest linear index of position (i, j, k) in a grid [nx, ny, *]. */
export const linear = ([i, j, k]: readonly number[], [nx, ny]: readonly number[]): number =>
  i + nx * (j + ny * k);
