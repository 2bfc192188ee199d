/**
 * The `compresso` chunk codec (seung-lab/compresso, format versions 0 and 1,
 * as CloudVolume writes it and newer Neuroglancer reads it).
 *
 * A stream is a 36-byte header, then four sections: `ids` (the label of
 * each connected region of non-boundary voxels, in order of first
 * appearance), `values` (the distinct boundary bitfields of the
 * step-sized windows, sorted), `locations` (how to label each boundary
 * voxel that no earlier neighbour labels) and the run-length coded window
 * indices; version 1 appends a per-slice index that only random z access
 * needs. A voxel is a boundary voxel when its +x or +y neighbour (and, with
 * connectivity 6, its +z neighbour) holds another label.
 *
 * Labels are handled as 32-bit words (see label_words.ts), window
 * bitfields as (low, high) word pairs, so no BigInt is used.
 */

import type { TypedArray } from "../dtypes";
import { ChunkDecodeError } from "../errors";
import { checkShape, decodeFailure, encodeFailure, shapeText, voxelsPerChannel } from "./common";
import {
  fromLabelWords,
  isLabelType,
  type LabelType,
  type LabelWords,
  labelBytes,
  toLabelWords,
} from "./label_words";
import type { ChunkCodec, ChunkContext } from "./types";

const HEADER_BYTES = 36;
const MAGIC = [0x63, 0x70, 0x73, 0x6f]; // "cpso"

/** Parsed compresso header. */
export interface CompressoHeader {
  formatVersion: number;
  dataWidth: number;
  sx: number;
  sy: number;
  sz: number;
  steps: [number, number, number];
  idSize: number;
  valueSize: number;
  locationSize: number;
  connectivity: 4 | 6;
}

/** Bytes of a window bitfield for steps covering `bits` voxels (the reference's rule). */
function windowBytes(bits: number): 1 | 2 | 4 | 8 {
  if (bits <= 8) return 1;
  if (bits <= 16) return 2;
  return bits <= 32 ? 4 : 8;
}

/** Byte width of each entry of the version 1 z index. */
function zIndexWidth(sx: number, sy: number): number {
  const worst = 2 * sx * sy;
  if (worst < 0xff) return 1;
  if (worst < 0xffff) return 2;
  return worst < 0xffffffff ? 4 : 8;
}

function readUint(bytes: Uint8Array, at: number, width: number): number {
  let v = 0;
  for (let i = width - 1; i >= 0; i--) v = v * 256 + bytes[at + i];
  return v;
}

/**
 * Parses and checks a compresso header.
 * @throws ChunkDecodeError (naming `key`) for a short stream, bad magic, an
 * unknown version, data width, connectivity or step size.
 */
export function readCompressoHeader(bytes: Uint8Array, key?: string): CompressoHeader {
  const fail = decodeFailure(key);
  if (bytes.length < HEADER_BYTES)
    throw fail(
      `compresso stream of ${bytes.length} bytes is shorter than its ${HEADER_BYTES}-byte header`,
    );
  if (!MAGIC.every((m, i) => bytes[i] === m))
    throw fail('not a compresso stream (no "cpso" magic)');
  const h: CompressoHeader = {
    formatVersion: bytes[4],
    dataWidth: bytes[5],
    sx: readUint(bytes, 6, 2),
    sy: readUint(bytes, 8, 2),
    sz: readUint(bytes, 10, 2),
    steps: [bytes[12], bytes[13], bytes[14]],
    idSize: readUint(bytes, 15, 8),
    valueSize: readUint(bytes, 23, 4),
    locationSize: readUint(bytes, 27, 8),
    connectivity: bytes[35] as 4 | 6,
  };
  if (h.formatVersion > 1)
    throw fail(`compresso format version ${h.formatVersion} is unknown (0 and 1 are read)`);
  if (![1, 2, 4, 8].includes(h.dataWidth))
    throw fail(`compresso data width ${h.dataWidth} is not 1, 2, 4 or 8`);
  if (h.connectivity !== 4 && h.connectivity !== 6)
    throw fail(`compresso connectivity ${h.connectivity} is not 4 or 6`);
  const bits = h.steps[0] * h.steps[1] * h.steps[2];
  if (bits === 0 || bits > 64)
    throw fail(`compresso steps ${h.steps.join("x")} do not cover 1..64 voxels`);
  return h;
}

/** Voxel strides of one step along x, y, z. */
interface Geometry {
  sx: number;
  sy: number;
  sz: number;
  steps: [number, number, number];
  nx: number;
  ny: number;
  nz: number;
}

function geometry(sx: number, sy: number, sz: number, steps: [number, number, number]): Geometry {
  return {
    sx,
    sy,
    sz,
    steps,
    nx: Math.ceil(sx / steps[0]),
    ny: Math.ceil(sy / steps[1]),
    nz: Math.ceil(sz / steps[2]),
  };
}

/**
 * Numbers the connected regions of non-boundary voxels 1, 2, ... in order
 * of first appearance in x-fastest order (0 marks boundary voxels):
 * 4-connected within each z slice, or 6-connected in 3-D. The reference's
 * two-pass labelling numbers regions the same way. Returns the count.
 */
function labelRegions(
  boundary: Uint8Array,
  sx: number,
  sy: number,
  sz: number,
  connectivity: 4 | 6,
  out: Uint32Array,
): number {
  const sxy = sx * sy;
  const stack = new Int32Array(boundary.length);
  let n = 0;
  for (let start = 0; start < boundary.length; start++) {
    if (boundary[start] || out[start]) continue;
    n++;
    out[start] = n;
    let top = 0;
    stack[top++] = start;
    while (top > 0) {
      const i = stack[--top];
      const z = Math.floor(i / sxy);
      const r = i - z * sxy;
      const y = Math.floor(r / sx);
      const x = r - y * sx;
      if (x > 0 && !boundary[i - 1] && !out[i - 1]) {
        out[i - 1] = n;
        stack[top++] = i - 1;
      }
      if (x < sx - 1 && !boundary[i + 1] && !out[i + 1]) {
        out[i + 1] = n;
        stack[top++] = i + 1;
      }
      if (y > 0 && !boundary[i - sx] && !out[i - sx]) {
        out[i - sx] = n;
        stack[top++] = i - sx;
      }
      if (y < sy - 1 && !boundary[i + sx] && !out[i + sx]) {
        out[i + sx] = n;
        stack[top++] = i + sx;
      }
      if (connectivity === 6) {
        if (z > 0 && !boundary[i - sxy] && !out[i - sxy]) {
          out[i - sxy] = n;
          stack[top++] = i - sxy;
        }
        if (z < sz - 1 && !boundary[i + sxy] && !out[i + sxy]) {
          out[i + sxy] = n;
          stack[top++] = i + sxy;
        }
      }
    }
  }
  return n;
}

function sameLabel(w: Uint32Array, wpe: number, a: number, b: number): boolean {
  return wpe === 1 ? w[a] === w[b] : w[2 * a] === w[2 * b] && w[2 * a + 1] === w[2 * b + 1];
}

/** Options of {@link encodeCompresso}. */
export interface CompressoEncodeOptions {
  /** Window size; default [4, 4, 1], falling back to [8, 8, 1] as the reference does. */
  steps?: [number, number, number];
}

/** Growable list of 32-bit words. */
class WordList {
  data = new Uint32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Uint32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
}

/** Thrown inside the encoder when 16-bit windows cannot index all window values. */
class WindowOverflow extends Error {}

/**
 * Encodes labels (x fastest, `shape` [sx, sy, sz]) as a compresso stream,
 * format version 0, connectivity 4, byte-compatible with the reference
 * encoder except that 64-bit labels of 2^32 - 7 and above are stored after
 * location code 6 (see the comment in the body). With the default steps, volumes whose window values do not fit
 * 16-bit run-length codes are encoded with [8, 8, 1] steps instead.
 * @throws ChunkEncodeError for a size over 65535 or steps outside 1..64 voxels.
 */
export function encodeCompresso(
  labels: LabelWords,
  dataWidth: 1 | 2 | 4 | 8,
  shape: readonly [number, number, number],
  options: CompressoEncodeOptions = {},
  key?: string,
): Uint8Array {
  const fail = encodeFailure(key);
  const [sx, sy, sz] = shape;
  if (shape.some((n) => n > 0xffff))
    throw fail(`compresso stores sizes up to 65535, got ${shape.join("x")}`);
  const steps = options.steps ?? [4, 4, 1];
  const bits = steps[0] * steps[1] * steps[2];
  if (!steps.every((s) => Number.isInteger(s) && s > 0) || bits > 64)
    throw fail(`compresso steps ${steps.join("x")} must be positive and cover at most 64 voxels`);
  try {
    return encodeWithSteps(labels, dataWidth, shape, steps);
  } catch (e) {
    if (e instanceof WindowOverflow && options.steps === undefined)
      return encodeWithSteps(labels, dataWidth, [sx, sy, sz], [8, 8, 1]);
    if (e instanceof WindowOverflow) throw fail(e.message);
    throw e;
  }
}

function encodeWithSteps(
  labels: LabelWords,
  dataWidth: 1 | 2 | 4 | 8,
  shape: readonly [number, number, number],
  steps: [number, number, number],
): Uint8Array {
  const [sx, sy, sz] = shape;
  const { words: w, wpe } = labels;
  const voxels = sx * sy * sz;
  const sxy = sx * sy;
  const g = geometry(sx, sy, sz, steps);
  const wb = windowBytes(steps[0] * steps[1] * steps[2]);
  if (voxels === 0) return writeStream(shape, steps, dataWidth, wb, [], 0, new WordList(), [], []);

  const boundary = new Uint8Array(voxels);
  for (let z = 0, i = 0; z < sz; z++)
    for (let y = 0; y < sy; y++)
      for (let x = 0; x < sx; x++, i++)
        if (
          (x < sx - 1 && !sameLabel(w, wpe, i, i + 1)) ||
          (y < sy - 1 && !sameLabel(w, wpe, i, i + sx))
        )
          boundary[i] = 1;

  const regions = new Uint32Array(voxels);
  const n = labelRegions(boundary, sx, sy, sz, 4, regions);
  const ids = new Uint32Array(n * wpe);
  for (let i = 0; i < voxels; i++) {
    const r = regions[i];
    if (r === 0) continue;
    ids[(r - 1) * wpe] = w[i * wpe];
    if (wpe === 2) ids[(r - 1) * 2 + 1] = w[i * 2 + 1];
  }

  // Window bitfields as (low, high) words.
  const nblocks = g.nx * g.ny * g.nz;
  const lo = new Uint32Array(nblocks);
  const hi = new Uint32Array(nblocks);
  for (let z = 0, i = 0; z < sz; z++)
    for (let y = 0; y < sy; y++)
      for (let x = 0; x < sx; x++, i++) {
        if (!boundary[i]) continue;
        const block =
          Math.floor(x / steps[0]) +
          g.nx * (Math.floor(y / steps[1]) + g.ny * Math.floor(z / steps[2]));
        const bit = (x % steps[0]) + steps[0] * ((y % steps[1]) + steps[1] * (z % steps[2]));
        if (bit < 32) lo[block] |= 1 << bit;
        else hi[block] |= 1 << (bit - 32);
      }

  const locations = new WordList();
  const maxLabel = 2 ** (8 * Math.min(dataWidth, 4)) - 1;
  for (let z = 0, i = 0; z < sz; z++)
    for (let y = 0; y < sy; y++)
      for (let x = 0; x < sx; x++, i++) {
        if (!boundary[i] || (x > 0 && !boundary[i - 1]) || (y > 0 && !boundary[i - sx])) continue;
        const near = (j: number) => !boundary[j] && sameLabel(w, wpe, i, j);
        let code = -1;
        if (x > 0 && near(i - 1)) code = 0;
        else if (x < sx - 1 && near(i + 1)) code = 1;
        else if (y > 0 && near(i - sx)) code = 2;
        else if (y < sy - 1 && near(i + sx)) code = 3;
        else if (z > 0 && near(i - sxy)) code = 4;
        else if (z < sz - 1 && near(i + sxy)) code = 5;
        if (code >= 0) {
          locations.push(code);
          if (wpe === 2) locations.push(0);
          continue;
        }
        const l = w[i * wpe];
        const h = wpe === 2 ? w[i * 2 + 1] : 0;
        // Code 6 and the label itself when label + 7 overflows the label type and,
        // for 64-bit labels, whenever label + 7 needs the high word: Neuroglancer's
        // WebAssembly decoder reads location codes through a 32-bit size_t and
        // would drop that word (every decoder reads code 6 the same way).
        if (wpe === 2 ? h !== 0 || l > 0xffffffff - 7 : l > maxLabel - 7) {
          locations.push(6);
          if (wpe === 2) locations.push(0);
          locations.push(l);
          if (wpe === 2) locations.push(h);
        } else {
          locations.push(l + 7);
          if (wpe === 2) locations.push(0);
        }
      }

  // Distinct window values, sorted, and each window's index among them
  // (keyed by high word, then low word: 64-bit values do not fit a number).
  const keys = new Map<number, Map<number, number>>();
  const values: [number, number][] = [];
  for (let b = 0; b < nblocks; b++) {
    let row = keys.get(hi[b]);
    if (!row) {
      row = new Map();
      keys.set(hi[b], row);
    }
    if (!row.has(lo[b])) {
      row.set(lo[b], -1);
      values.push([lo[b], hi[b]]);
    }
  }
  values.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  values.forEach(([l, h], idx) => {
    keys.get(h)?.set(l, idx);
  });
  const maxRun = wb === 8 ? 2 ** 53 : 2 ** (8 * wb - 1) - 1;
  if (values.length - 1 > maxRun)
    throw new WindowOverflow(
      `${values.length} distinct compresso windows do not fit ${8 * wb}-bit codes; use steps [8, 8, 1]`,
    );
  const runs: number[] = [];
  let zeros = 0;
  for (let b = 0; b < nblocks; b++) {
    const idx = keys.get(hi[b])?.get(lo[b]) as number;
    if (idx === 0) {
      zeros++;
      if (zeros === maxRun) {
        runs.push(zeros * 2 + 1);
        zeros = 0;
      }
      continue;
    }
    if (zeros) {
      runs.push(zeros * 2 + 1);
      zeros = 0;
    }
    runs.push(idx * 2);
  }
  if (zeros) runs.push(zeros * 2 + 1);
  return writeStream(shape, steps, dataWidth, wb, values, n, locations, runs, ids);
}

function writeStream(
  shape: readonly [number, number, number],
  steps: [number, number, number],
  dataWidth: number,
  wb: number,
  values: [number, number][],
  idCount: number,
  locations: WordList,
  runs: number[],
  ids: Uint32Array | number[],
): Uint8Array {
  const wpe = dataWidth === 8 ? 2 : 1;
  const locCount = locations.length / wpe;
  const size = HEADER_BYTES + (idCount + locCount) * dataWidth + (values.length + runs.length) * wb;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = 0;
  out[5] = dataWidth;
  view.setUint16(6, shape[0], true);
  view.setUint16(8, shape[1], true);
  view.setUint16(10, shape[2], true);
  out[12] = steps[0];
  out[13] = steps[1];
  out[14] = steps[2];
  writeUint(view, 15, idCount, 8);
  writeUint(view, 23, values.length, 4);
  writeUint(view, 27, locCount, 8);
  out[35] = 4;
  let at = HEADER_BYTES;
  const writeLabels = (src: Uint32Array | number[], count: number) => {
    for (let i = 0; i < count; i++) {
      if (wpe === 2) {
        view.setUint32(at, src[2 * i], true);
        view.setUint32(at + 4, src[2 * i + 1], true);
      } else writeUint(view, at, src[i], dataWidth);
      at += dataWidth;
    }
  };
  writeLabels(ids, idCount);
  for (const [l, h] of values) {
    if (wb === 8) {
      view.setUint32(at, l, true);
      view.setUint32(at + 4, h, true);
    } else writeUint(view, at, l, wb);
    at += wb;
  }
  writeLabels(locations.data, locCount);
  for (const r of runs) {
    writeUint(view, at, r, wb);
    at += wb;
  }
  return out;
}

function writeUint(view: DataView, at: number, v: number, width: number): void {
  if (width === 1) view.setUint8(at, v);
  else if (width === 2) view.setUint16(at, v, true);
  else if (width === 4) view.setUint32(at, v >>> 0, true);
  else {
    view.setUint32(at, v % 4294967296, true);
    view.setUint32(at + 4, Math.floor(v / 4294967296), true);
  }
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
  const g = geometry(sx, sy, sz, h.steps);
  const wb = windowBytes(h.steps[0] * h.steps[1] * h.steps[2]);
  const tail = h.formatVersion === 1 ? 2 * sz * zIndexWidth(sx, sy) : 0;
  const idsAt = HEADER_BYTES;
  const valuesAt = idsAt + h.idSize * dataWidth;
  const locationsAt = valuesAt + h.valueSize * wb;
  const windowsAt = locationsAt + h.locationSize * dataWidth;
  const windowsEnd = bytes.length - tail;
  if (windowsAt > windowsEnd || (windowsEnd - windowsAt) % wb !== 0)
    throw fail(
      `compresso stream of ${bytes.length} bytes is truncated or corrupt: its header needs ${windowsAt + tail} bytes before the windows, whose ${windowsEnd - windowsAt} bytes are not whole ${wb}-byte words`,
    );
  const nblocks = g.nx * g.ny * g.nz;

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
      if (wb === 8) {
        vlo[i] = readUint(bytes, at, 4);
        vhi[i] = readUint(bytes, at + 4, 4);
      } else vlo[i] = readUint(bytes, at, wb);
    }
    const [tx, ty, tz] = h.steps;
    for (let z = 0, i = 0; z < sz; z++) {
      const zb = g.nx * g.ny * Math.floor(z / tz);
      const zo = tx * ty * (z % tz);
      for (let y = 0; y < sy; y++) {
        const yb = zb + g.nx * Math.floor(y / ty);
        const yo = zo + tx * (y % ty);
        for (let x = 0; x < sx; x++, i++) {
          const v = blockValue[yb + Math.floor(x / tx)];
          const bit = yo + (x % tx);
          boundary[i] = bit < 32 ? (vlo[v] >>> bit) & 1 : (vhi[v] >>> (bit - 32)) & 1;
        }
      }
    }
  }

  const regions = new Uint32Array(voxels);
  const n = labelRegions(boundary, sx, sy, sz, h.connectivity, regions);
  if (n !== h.idSize)
    throw fail(
      `compresso stream lists ${h.idSize} region labels, its boundaries make ${n} regions (corrupt stream)`,
    );
  for (let i = 0; i < voxels; i++) {
    const r = regions[i];
    if (r === 0) continue;
    const at = idsAt + (r - 1) * dataWidth;
    if (wpe === 2) {
      out[2 * i] = readUint(bytes, at, 4);
      out[2 * i + 1] = readUint(bytes, at + 4, 4);
    } else out[i] = readUint(bytes, at, dataWidth);
  }

  // Boundary voxels: from the left or upper neighbour, else from a location code.
  const copy = (i: number, j: number) => {
    out[i * wpe] = out[j * wpe];
    if (wpe === 2) out[i * 2 + 1] = out[j * 2 + 1];
  };
  let index = 0;
  const nextLocation = (): [number, number] => {
    if (index >= h.locationSize)
      throw fail(
        `compresso stream has ${h.locationSize} locations, its boundaries need more (corrupt stream)`,
      );
    const at = locationsAt + index++ * dataWidth;
    return wpe === 2
      ? [readUint(bytes, at, 4), readUint(bytes, at + 4, 4)]
      : [readUint(bytes, at, dataWidth), 0];
  };
  for (let z = 0, i = 0; z < sz; z++)
    for (let y = 0; y < sy; y++)
      for (let x = 0; x < sx; x++, i++) {
        if (!boundary[i]) continue;
        if (x > 0 && !boundary[i - 1]) copy(i, i - 1);
        else if (y > 0 && !boundary[i - sx]) copy(i, i - sx);
        else if (h.connectivity === 6 && z > 0 && !boundary[i - sxy]) copy(i, i - sxy);
        else {
          const [l, hw] = nextLocation();
          const code = hw === 0 && l < 7 ? l : 7;
          const neighbour = [
            x > 0 ? i - 1 : -1,
            x < sx - 1 ? i + 1 : -1,
            y > 0 ? i - sx : -1,
            y < sy - 1 ? i + sx : -1,
            z > 0 ? i - sxy : -1,
            z < sz - 1 ? i + sxy : -1,
          ];
          if (code < 6) {
            const j = neighbour[code];
            if (j < 0)
              throw fail(
                `compresso location code ${code} at voxel ${x},${y},${z} points outside the chunk`,
              );
            copy(i, j);
          } else if (code === 6) {
            const [vl, vh] = nextLocation();
            out[i * wpe] = vl;
            if (wpe === 2) out[i * 2 + 1] = vh;
          } else {
            // label + 7, with the borrow into the high word for 64-bit labels.
            out[i * wpe] = (l - 7) >>> 0;
            if (wpe === 2) out[i * 2 + 1] = l < 7 ? hw - 1 : hw;
          }
        }
      }
  if (index !== h.locationSize)
    throw fail(
      `compresso stream has ${h.locationSize} locations, its boundaries use ${index} (corrupt stream)`,
    );
  return out;
}

function checkLabelContext(ctx: ChunkContext, fail: (m: string) => Error): LabelType {
  checkShape(ctx.shape, fail);
  if (ctx.shape[3] !== 1) throw fail(`compresso stores one channel, the chunk has ${ctx.shape[3]}`);
  const dtype = ctx.dtype;
  if (!isLabelType(dtype) || dtype.startsWith("int"))
    throw fail(`compresso stores uint8, uint16, uint32 or uint64, not ${dtype}`);
  return dtype as LabelType;
}

function encode(data: TypedArray, ctx: ChunkContext): Uint8Array {
  const fail = encodeFailure(ctx.key);
  const dtype = checkLabelContext(ctx, fail);
  if (data.length !== voxelsPerChannel(ctx.shape))
    throw fail(
      `chunk of shape ${shapeText(ctx.shape)} needs ${voxelsPerChannel(ctx.shape)} voxels, got ${data.length}`,
    );
  const [sx, sy, sz] = ctx.shape;
  return encodeCompresso(toLabelWords(data, dtype), labelBytes(dtype), [sx, sy, sz], {}, ctx.key);
}

function decode(bytes: Uint8Array, ctx: ChunkContext): TypedArray {
  const fail = decodeFailure(ctx.key);
  const dtype = checkLabelContext(ctx, fail);
  const [sx, sy, sz] = ctx.shape;
  try {
    return fromLabelWords(decodeCompresso(bytes, labelBytes(dtype), [sx, sy, sz], ctx.key), dtype);
  } catch (e) {
    if (e instanceof ChunkDecodeError) throw e;
    throw fail(`corrupt compresso stream (${(e as Error).message})`);
  }
}

/** The `compresso` codec: uint8..uint64 segmentation, one channel. */
export const compressoCodec: ChunkCodec = {
  encoding: "compresso",
  dataTypes: ["uint8", "uint16", "uint32", "uint64"],
  encode,
  decode,
};
