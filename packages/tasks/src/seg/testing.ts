/** Checks of blockwise segmentations shared by the watershed stage's tests and bench/watershed-blocks.ts. */
import { connectedComponents } from "@ngpipe/segmentation";

type V3 = readonly [number, number, number];

/**
 * Of the voxel pairs across block faces that the whole-volume watershed puts
 * in one region, the fraction the blockwise result gives two ids.
 */
export function cutsAtFaces(whole: Uint32Array, blocks: Uint32Array, size: V3, shape: V3): number {
  const [sx, sy, sz] = size;
  const step = [1, sx, sx * sy];
  let cuts = 0;
  let joined = 0;
  for (let z = 0; z < sz; z++)
    for (let y = 0; y < sy; y++)
      for (let x = 0; x < sx; x++) {
        const c = [x, y, z];
        const i = x + sx * (y + sy * z);
        for (let a = 0; a < 3; a++) {
          if (c[a] === 0 || c[a] % shape[a] !== 0) continue;
          const j = i - step[a];
          if (whole[i] === 0 || whole[i] !== whole[j]) continue;
          joined++;
          if (blocks[i] !== blocks[j]) cuts++;
        }
      }
  return cuts / joined;
}

/** The number of ids of `labels` (0 aside) whose voxels form more than one 6-connected region. */
export function disconnectedIds(labels: Uint32Array, size: V3): number {
  const cc = connectedComponents(labels, size, { connectivity: 6 });
  const idOf = new Float64Array(cc.count + 1).fill(-1);
  const pieces = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) {
    const c = cc.labels[i];
    if (c === 0 || idOf[c] >= 0) continue;
    idOf[c] = labels[i];
    pieces.set(labels[i], (pieces.get(labels[i]) ?? 0) + 1);
  }
  let split = 0;
  for (const n of pieces.values()) if (n > 1) split++;
  return split;
}
