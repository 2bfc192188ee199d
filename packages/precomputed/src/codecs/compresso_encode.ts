/**
 * The compresso encoder (see compresso_format.ts for the stream): format
 * version 0, connectivity 4, as seung-lab's encoder writes it.
 */
import { encodeFailure } from "./common";
import { HEADER_BYTES, MAGIC, windowBytes, windowCounts } from "./compresso_format";
import { labelRegions } from "./label_regions";
import type { LabelWords } from "./label_words";

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

/** Thrown inside the encoder when the window codes cannot index all window values. */
class WindowOverflow extends Error {}

/**
 * Encodes labels (x fastest, `shape` [sx, sy, sz]) as a compresso stream,
 * format version 0, connectivity 4, byte-compatible with the reference
 * encoder except that 64-bit labels of 2^32 - 7 and above are stored after
 * location code 6 (see the comment in the body). With the default steps,
 * volumes whose window values do not fit 16-bit run-length codes are
 * encoded with [8, 8, 1] steps instead, as the reference does.
 * @throws ChunkEncodeError for a size over 65535 or steps outside 1..64 voxels.
 * @example
 * const stream = encodeCompresso({ words: labels, wpe: 1 }, 4, [64, 64, 64]);
 */
export function encodeCompresso(
  labels: LabelWords,
  dataWidth: 1 | 2 | 4 | 8,
  shape: readonly [number, number, number],
  options: CompressoEncodeOptions = {},
  key?: string,
): Uint8Array {
  const fail = encodeFailure(key);
  if (shape.some((n) => n > 0xffff))
    throw fail(`compresso stores sizes up to 65535, got ${shape.join("x")}`);
  const steps = options.steps ?? [4, 4, 1];
  if (!steps.every((s) => Number.isInteger(s) && s > 0) || steps[0] * steps[1] * steps[2] > 64)
    throw fail(`compresso steps ${steps.join("x")} must be positive and cover at most 64 voxels`);
  try {
    return encodeWithSteps(labels, dataWidth, shape, steps);
  } catch (e) {
    if (e instanceof WindowOverflow && options.steps === undefined)
      return encodeWithSteps(labels, dataWidth, shape, [8, 8, 1]);
    if (e instanceof WindowOverflow) throw fail(e.message);
    throw e;
  }
}

/** 1 where a voxel's +x or +y neighbour holds another label. */
function boundaries(w: Uint32Array, wpe: 1 | 2, sx: number, sy: number, sz: number): Uint8Array {
  const out = new Uint8Array(sx * sy * sz);
  for (let z = 0, i = 0; z < sz; z++)
    for (let y = 0; y < sy; y++) {
      const lastRow = y === sy - 1;
      for (let x = 0; x < sx; x++, i++) {
        if (wpe === 1) {
          const v = w[i];
          if ((x < sx - 1 && w[i + 1] !== v) || (!lastRow && w[i + sx] !== v)) out[i] = 1;
        } else {
          const lo = w[2 * i];
          const hi = w[2 * i + 1];
          if (
            (x < sx - 1 && (w[2 * i + 2] !== lo || w[2 * i + 3] !== hi)) ||
            (!lastRow && (w[2 * (i + sx)] !== lo || w[2 * (i + sx) + 1] !== hi))
          )
            out[i] = 1;
        }
      }
    }
  return out;
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
  const wb = windowBytes(steps[0] * steps[1] * steps[2]);
  if (voxels === 0)
    return writeStream(shape, steps, dataWidth, wb, [], new Uint32Array(0), new WordList(), []);

  const boundary = boundaries(w, wpe, sx, sy, sz);
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
  const [nx, ny, nz] = windowCounts(shape, steps);
  const nblocks = nx * ny * nz;
  const lo = new Uint32Array(nblocks);
  const hi = new Uint32Array(nblocks);
  const xBlock = Int32Array.from({ length: sx }, (_, x) => Math.floor(x / steps[0]));
  const xBit = Int32Array.from({ length: sx }, (_, x) => x % steps[0]);
  for (let z = 0, i = 0; z < sz; z++)
    for (let y = 0; y < sy; y++) {
      const rowBlock = nx * (Math.floor(y / steps[1]) + ny * Math.floor(z / steps[2]));
      const rowBit = steps[0] * ((y % steps[1]) + steps[1] * (z % steps[2]));
      for (let x = 0; x < sx; x++, i++) {
        if (!boundary[i]) continue;
        const block = rowBlock + xBlock[x];
        const bit = rowBit + xBit[x];
        if (bit < 32) lo[block] |= 1 << bit;
        else hi[block] |= 1 << (bit - 32);
      }
    }

  const locations = new WordList();
  const maxLabel = 2 ** (8 * Math.min(dataWidth, 4)) - 1;
  const same = (a: number, b: number) =>
    wpe === 1 ? w[a] === w[b] : w[2 * a] === w[2 * b] && w[2 * a + 1] === w[2 * b + 1];
  for (let z = 0, i = 0; z < sz; z++)
    for (let y = 0; y < sy; y++)
      for (let x = 0; x < sx; x++, i++) {
        if (!boundary[i] || (x > 0 && !boundary[i - 1]) || (y > 0 && !boundary[i - sx])) continue;
        let code = -1;
        if (x > 0 && !boundary[i - 1] && same(i, i - 1)) code = 0;
        else if (x < sx - 1 && !boundary[i + 1] && same(i, i + 1)) code = 1;
        else if (y > 0 && !boundary[i - sx] && same(i, i - sx)) code = 2;
        else if (y < sy - 1 && !boundary[i + sx] && same(i, i + sx)) code = 3;
        else if (z > 0 && !boundary[i - sxy] && same(i, i - sxy)) code = 4;
        else if (z < sz - 1 && !boundary[i + sxy] && same(i, i + sxy)) code = 5;
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
  return writeStream(shape, steps, dataWidth, wb, values, ids, locations, runs);
}

function writeStream(
  shape: readonly [number, number, number],
  steps: [number, number, number],
  dataWidth: number,
  wb: number,
  values: [number, number][],
  ids: Uint32Array,
  locations: WordList,
  runs: number[],
): Uint8Array {
  const wpe = dataWidth === 8 ? 2 : 1;
  const idCount = ids.length / wpe;
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
  out.set(steps, 12);
  writeUint(view, 15, idCount, 8);
  writeUint(view, 23, values.length, 4);
  writeUint(view, 27, locCount, 8);
  out[35] = 4;
  let at = HEADER_BYTES;
  const writeLabels = (src: Uint32Array, count: number) => {
    for (let i = 0; i < count; i++, at += dataWidth) {
      if (wpe === 2) {
        view.setUint32(at, src[2 * i], true);
        view.setUint32(at + 4, src[2 * i + 1], true);
      } else writeUint(view, at, src[i], dataWidth);
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
