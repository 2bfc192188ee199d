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

/** Every id of `labels` is one 6-connected region. */
export function idsConnected(labels: Uint32Array, size: V3): boolean {
  const ids = new Set(labels);
  ids.delete(0);
  return connectedComponents(labels, size, { connectivity: 6 }).count === ids.size;
}
