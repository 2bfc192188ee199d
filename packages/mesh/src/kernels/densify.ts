/**
 * Dense relabelling of a cutout for marching cubes: every meshed label gets
 * a small id, in order of first appearance, in a volume padded for closed
 * faces.
 */

import type { Label, Vec3 } from "../types";
import type { MeshLabelArray } from "./marching-cubes";

/** The unsigned bit patterns of an 8/16/32-bit label array, without copying. */
export function unsignedView(
  input: Uint8Array | Uint16Array | Uint32Array | Int8Array | Int16Array | Int32Array,
): Uint8Array | Uint16Array | Uint32Array {
  if (input instanceof Int8Array)
    return new Uint8Array(input.buffer, input.byteOffset, input.length);
  if (input instanceof Int16Array)
    return new Uint16Array(input.buffer, input.byteOffset, input.length);
  if (input instanceof Int32Array)
    return new Uint32Array(input.buffer, input.byteOffset, input.length);
  return input;
}

export interface Dense {
  data: Uint32Array;
  labels: Label[];
}

/**
 * Renumbers labels to dense ids 1..n (0 = background or not meshed) into a
 * volume padded by one voxel on each closed face.
 */
export function densify(
  input: MeshLabelArray,
  shape: Vec3,
  pad: Int32Array,
  include: Set<number | bigint> | null,
  exclude: Set<number | bigint>,
): Dense {
  const [sx, sy, sz] = shape;
  const px = sx + pad[0] + pad[1];
  const py = sy + pad[2] + pad[3];
  const pz = sz + pad[4] + pad[5];
  const data = new Uint32Array(px * py * pz);
  const labels: Label[] = [0];
  const wanted = (key: number | bigint) =>
    key !== 0 && !exclude.has(key) && (include === null || include.has(key));
  const wide = input instanceof BigUint64Array || input instanceof BigInt64Array;
  const words = wide
    ? new Uint32Array(input.buffer, input.byteOffset, input.length * 2)
    : input instanceof Int8Array
      ? new Uint8Array(input.buffer, input.byteOffset, input.length)
      : input instanceof Int16Array
        ? new Uint16Array(input.buffer, input.byteOffset, input.length)
        : input instanceof Int32Array
          ? new Uint32Array(input.buffer, input.byteOffset, input.length)
          : (input as Uint8Array | Uint16Array | Uint32Array);

  if (!wide && words.BYTES_PER_ELEMENT <= 2) {
    const lut = new Int32Array(words.BYTES_PER_ELEMENT === 1 ? 256 : 65536).fill(-1);
    let src = 0;
    for (let z = 0; z < sz; z++)
      for (let y = 0; y < sy; y++) {
        let dst = ((z + pad[4]) * py + (y + pad[2])) * px + pad[0];
        for (let x = 0; x < sx; x++) {
          const v = words[src++];
          let id = lut[v];
          if (id < 0) {
            id = wanted(v) ? labels.push(v) - 1 : 0;
            lut[v] = id;
          }
          data[dst++] = id;
        }
      }
    return { data, labels };
  }

  // Open-addressing hash of (low, high) label words to dense ids.
  let cap = 1024;
  let keyLo = new Uint32Array(cap);
  let keyHi = new Uint32Array(cap);
  let val = new Int32Array(cap).fill(-1);
  let used = 0;
  const slot = (lo: number, hi: number): number => {
    let h = (Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> 0) & (cap - 1);
    while (val[h] >= 0 && (keyLo[h] !== lo || keyHi[h] !== hi)) h = (h + 1) & (cap - 1);
    return h;
  };
  const lookup = (lo: number, hi: number): number => {
    let h = slot(lo, hi);
    if (val[h] >= 0) return val[h];
    const key: number | bigint =
      hi < 0x200000 ? hi * 4294967296 + lo : (BigInt(hi) << 32n) | BigInt(lo);
    const id = wanted(key) ? labels.push(key) - 1 : 0;
    if (2 * (used + 1) > cap) {
      const oLo = keyLo;
      const oHi = keyHi;
      const oVal = val;
      cap *= 2;
      keyLo = new Uint32Array(cap);
      keyHi = new Uint32Array(cap);
      val = new Int32Array(cap).fill(-1);
      for (let i = 0; i < oVal.length; i++)
        if (oVal[i] >= 0) {
          const j = slot(oLo[i], oHi[i]);
          keyLo[j] = oLo[i];
          keyHi[j] = oHi[i];
          val[j] = oVal[i];
        }
      h = slot(lo, hi);
    }
    keyLo[h] = lo;
    keyHi[h] = hi;
    val[h] = id;
    used++;
    return id;
  };
  let lastLo = -1;
  let lastHi = -1;
  let lastId = 0;
  let src = 0;
  for (let z = 0; z < sz; z++)
    for (let y = 0; y < sy; y++) {
      let dst = ((z + pad[4]) * py + (y + pad[2])) * px + pad[0];
      for (let x = 0; x < sx; x++) {
        let lo: number;
        let hi = 0;
        if (wide) {
          lo = words[2 * src];
          hi = words[2 * src + 1];
        } else lo = words[src];
        src++;
        if (lo !== lastLo || hi !== lastHi) {
          lastId = lookup(lo, hi);
          lastLo = lo;
          lastHi = hi;
        }
        data[dst++] = lastId;
      }
    }
  return { data, labels };
}
