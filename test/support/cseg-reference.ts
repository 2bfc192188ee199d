/**
 * A compressed_segmentation decoder written straight from the format's
 * description, one voxel at a time and with no fast paths: the oracle the
 * tests compare the real decoder's specialised loops against. It trusts its
 * input (no bounds checks): give it only bytes the encoder made.
 */

/** Where voxel (x, y, z, c) of the chunk goes in the output, counted in voxels. */
export interface ReferenceLayout {
  offset: number;
  rowStride: number;
  planeStride: number;
  channelStride: number;
}

/**
 * Decodes `bytes` (multi-channel compressed_segmentation) of a chunk of
 * `shape` = [sx, sy, sz, channels] into `out` (32-bit words, uint64 as
 * low/high pairs) at `layout` (default: x fastest, the whole of `out`).
 */
export function referenceDecode(
  bytes: Uint8Array,
  shape: readonly [number, number, number, number],
  blockSize: readonly [number, number, number],
  dtype: "uint32" | "uint64",
  out?: Uint32Array,
  layout?: ReferenceLayout,
): Uint32Array {
  const [sx, sy, sz, nc] = shape;
  const [bx, by, bz] = blockSize;
  const wpe = dtype === "uint64" ? 2 : 1;
  const words = new Uint32Array(bytes.slice().buffer);
  const at = layout ?? {
    offset: 0,
    rowStride: sx,
    planeStride: sx * sy,
    channelStride: sx * sy * sz,
  };
  const result = out ?? new Uint32Array(sx * sy * sz * nc * wpe);
  const gx = Math.ceil(sx / bx);
  const gy = Math.ceil(sy / by);
  for (let c = 0; c < nc; c++) {
    const base = words[c];
    for (let z = 0; z < sz; z++)
      for (let y = 0; y < sy; y++)
        for (let x = 0; x < sx; x++) {
          const block = Math.floor(x / bx) + gx * (Math.floor(y / by) + gy * Math.floor(z / bz));
          const header = words[base + 2 * block];
          const bits = header >>> 24;
          const table = base + (header & 0xffffff);
          const values = base + words[base + 2 * block + 1];
          const within = (x % bx) + bx * ((y % by) + by * (z % bz));
          let index = 0;
          if (bits > 0) {
            const bit = within * bits;
            const word = words[values + Math.floor(bit / 32)];
            index = bits === 32 ? word : (word >>> (bit % 32)) & ((1 << bits) - 1);
          }
          const voxel =
            at.offset + x + at.rowStride * y + at.planeStride * z + at.channelStride * c;
          for (let k = 0; k < wpe; k++) result[voxel * wpe + k] = words[table + index * wpe + k];
        }
  }
  return result;
}
