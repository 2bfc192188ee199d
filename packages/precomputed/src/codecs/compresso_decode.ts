/**
 * The compresso decoder (see compresso_format.ts for the stream): format
 * versions 0 and 1, connectivity 4 and 6, any steps of 1..64 voxels.
 * Stricter than the reference about consistency (the windows must cover
 * every block, the regions must match the ids, every location must be
 * used), so a corrupt or truncated stream is an error, not wrong labels.
 */
import { decodeFailure } from "./common";
import {
  HEADER_BYTES,
  readCompressoHeader,
  readUint,
  windowBytes,
  windowCounts,
  zIndexWidth,
} from "./compresso_format";
import { labelRegions } from "./label_regions";

/** `count` little-endian labels of `width` bytes at `at` as words (two per label for width 8). */
function readLabels(bytes: Uint8Array, at: number, count: number, width: number): Uint32Array {
  const wpe = width === 8 ? 2 : 1;
  const out = new Uint32Array(count * wpe);
  if (width === 1) out.set(bytes.subarray(at, at + count));
  else
    for (let i = 0, p = at; i < out.length; i++, p += Math.min(width, 4))
      out[i] = readUint(bytes, p, Math.min(width, 4));
  return out;
}

/**
 * Decodes a compresso stream into label words (`wpe` words per voxel,
 * `wpe` 2 for 8-byte labels). The stream's size and data width must be
 * `shape` and `dataWidth`.
 * @throws ChunkDecodeError naming `key` for a corrupt or truncated stream.
 */
export function decodeCompresso(
  bytes: Uint8Array,
  dataWidth: 1 | 2 | 4 | 8,
  shape: readonly [number, number, number],
  key?: string,
): Uint32Array {
  const fail = decodeFailure(key);
  const h = readCompressoHeader(bytes, key);
  const [sx, sy, sz] = shape;
  if (h.sx !== sx || h.sy !== sy || h.sz !== sz)
    throw fail(
      `compresso stream holds ${h.sx}x${h.sy}x${h.sz} voxels, the chunk is ${shape.join("x")}`,
    );
  if (h.dataWidth !== dataWidth)
    throw fail(
      `compresso stream holds ${h.dataWidth}-byte labels, the layer ${dataWidth}-byte ones`,
    );
  const wpe = dataWidth === 8 ? 2 : 1;
  const voxels = sx * sy * sz;
  const out = new Uint32Array(voxels * wpe);
  if (voxels === 0) return out;

  const sxy = sx * sy;
  const [nx, ny, nz] = windowCounts(shape, h.steps);
  const wb = windowBytes(h.steps[0] * h.steps[1] * h.steps[2]);
  const tail = h.formatVersion === 1 ? 2 * sz * zIndexWidth(sx, sy) : 0;
  const valuesAt = HEADER_BYTES + h.idSize * dataWidth;
  const locationsAt = valuesAt + h.valueSize * wb;
  const windowsAt = locationsAt + h.locationSize * dataWidth;
  const windowsEnd = bytes.length - tail;
  if (windowsAt > windowsEnd || (windowsEnd - windowsAt) % wb !== 0)
    throw fail(
      `compresso stream of ${bytes.length} bytes is truncated or corrupt: its header needs ${windowsAt + tail} bytes before the windows, whose ${windowsEnd - windowsAt} bytes are not whole ${wb}-byte words`,
    );
  const nblocks = nx * ny * nz;

  // Window value index of each block, from the run-length code.
  const blockValue = new Uint32Array(nblocks);
  let block = 0;
  for (let at = windowsAt; at < windowsEnd; at += wb) {
    const v = readUint(bytes, at, wb);
    const half = Math.floor(v / 2);
    if (v % 2 === 1) block += half;
    else {
      if (block >= nblocks || half >= h.valueSize)
        throw fail(
          `compresso window ${block} refers to value ${half} of ${h.valueSize} (corrupt stream)`,
        );
      blockValue[block++] = half;
    }
    if (block > nblocks)
      throw fail(`compresso windows run past the ${nblocks} blocks of the chunk (corrupt stream)`);
  }
  if (block !== nblocks && h.valueSize > 0)
    throw fail(`compresso windows cover ${block} of ${nblocks} blocks (truncated stream)`);

  const boundary = new Uint8Array(voxels);
  if (h.valueSize > 0) {
    const vlo = new Uint32Array(h.valueSize);
    const vhi = new Uint32Array(h.valueSize);
    for (let i = 0; i < h.valueSize; i++) {
      const at = valuesAt + i * wb;
      vlo[i] = readUint(bytes, at, Math.min(wb, 4));
      if (wb === 8) vhi[i] = readUint(bytes, at + 4, 4);
    }
    const [tx, ty, tz] = h.steps;
    const xBlock = Int32Array.from({ length: sx }, (_, x) => Math.floor(x / tx));
    const xBit = Int32Array.from({ length: sx }, (_, x) => x % tx);
    for (let z = 0, i = 0; z < sz; z++)
      for (let y = 0; y < sy; y++) {
        const rowBlock = nx * (Math.floor(y / ty) + ny * Math.floor(z / tz));
        const rowBit = tx * ((y % ty) + ty * (z % tz));
        for (let x = 0; x < sx; x++, i++) {
          const v = blockValue[rowBlock + xBlock[x]];
          const bit = rowBit + xBit[x];
          boundary[i] = bit < 32 ? (vlo[v] >>> bit) & 1 : (vhi[v] >>> (bit - 32)) & 1;
        }
      }
  }

  const regions = new Uint32Array(voxels);
  const n = labelRegions(boundary, sx, sy, sz, h.connectivity, regions);
  if (n !== h.idSize)
    throw fail(
      `compresso stream lists ${h.idSize} region labels, its boundaries make ${n} regions (corrupt stream)`,
    );
  const ids = readLabels(bytes, HEADER_BYTES, n, dataWidth);
  const locations = readLabels(bytes, locationsAt, h.locationSize, dataWidth);
  if (wpe === 1) {
    for (let i = 0; i < voxels; i++) if (regions[i]) out[i] = ids[regions[i] - 1];
  } else
    for (let i = 0; i < voxels; i++) {
      const r = regions[i];
      if (r === 0) continue;
      out[2 * i] = ids[2 * r - 2];
      out[2 * i + 1] = ids[2 * r - 1];
    }

  // Boundary voxels: from the left or upper (or, connectivity 6, lower-z)
  // non-boundary neighbour, else from the next location code.
  const six = h.connectivity === 6;
  let index = 0;
  for (let z = 0, i = 0; z < sz; z++)
    for (let y = 0; y < sy; y++)
      for (let x = 0; x < sx; x++, i++) {
        if (!boundary[i]) continue;
        let from = -1;
        if (x > 0 && !boundary[i - 1]) from = i - 1;
        else if (y > 0 && !boundary[i - sx]) from = i - sx;
        else if (six && z > 0 && !boundary[i - sxy]) from = i - sxy;
        else {
          if (index >= h.locationSize)
            throw fail(
              `compresso stream has ${h.locationSize} locations, its boundaries need more (corrupt stream)`,
            );
          const l = locations[index * wpe];
          const hw = wpe === 2 ? locations[index * 2 + 1] : 0;
          index++;
          const code = hw === 0 && l < 7 ? l : 7;
          if (code === 0 && x > 0) from = i - 1;
          else if (code === 1 && x < sx - 1) from = i + 1;
          else if (code === 2 && y > 0) from = i - sx;
          else if (code === 3 && y < sy - 1) from = i + sx;
          else if (code === 4 && z > 0) from = i - sxy;
          else if (code === 5 && z < sz - 1) from = i + sxy;
          else if (code === 6) {
            if (index >= h.locationSize)
              throw fail("compresso location code 6 ends the stream (truncated stream)");
            out[i * wpe] = locations[index * wpe];
            if (wpe === 2) out[i * 2 + 1] = locations[index * 2 + 1];
            index++;
            continue;
          } else if (code === 7) {
            // label + 7, with the borrow into the high word for 64-bit labels.
            out[i * wpe] = (l - 7) >>> 0;
            if (wpe === 2) out[i * 2 + 1] = l < 7 ? hw - 1 : hw;
            continue;
          } else
            throw fail(
              `compresso location code ${code} at voxel ${x},${y},${z} points outside the chunk`,
            );
        }
        out[i * wpe] = out[from * wpe];
        if (wpe === 2) out[i * 2 + 1] = out[from * 2 + 1];
      }
  if (index !== h.locationSize)
    throw fail(
      `compresso stream has ${h.locationSize} locations, its boundaries use ${index} (corrupt stream)`,
    );
  return out;
}
