/**
 * The `crackle` chunk codec (seung-lab/crackle, format versions 0 and 1,
 * as CloudVolume writes it and newer Neuroglancer reads it). Decoding only:
 * ngpipe writes segmentation as compresso or compressed_segmentation.
 *
 * A stream is a header (24 bytes in version 0; 29 in version 1, ending in
 * a CRC-8), the z index (crack code bytes per slice, plus a CRC-32C in
 * version 1), the label section, an optional Markov model, the crack code
 * of each slice (crackle_cracks.ts) and, in version 1, CRC-32Cs of the label
 * section and of each slice's component ids. The crack codes split every
 * slice into 4-connected components; the label section gives each
 * component its label, either "flat" (a key into the sorted unique labels
 * per component) or as "pins" (vertical runs through components of one
 * label, the most common label left as the background).
 */
import type { TypedArray } from "../dtypes";
import { ChunkDecodeError } from "../errors";
import { checkShape, decodeFailure, encodeFailure } from "./common";
import {
  byteWidth,
  type CrackCoding,
  paintCrackCode,
  readMarkovModel,
  readUint,
} from "./crackle_cracks";
import { crc8, crc32c } from "./crc";
import { colorSlice } from "./label_regions";
import { fromLabelWords, isLabelType, type LabelType, labelBytes } from "./label_words";
import type { ChunkCodec, ChunkContext } from "./types";

const MAGIC = [0x63, 0x72, 0x6b, 0x6c]; // "crkl"

/** Label section formats. */
export type CrackleLabelFormat = "flat" | "fixed-pins" | "pins";

/** Parsed crackle header. */
export interface CrackleHeader {
  formatVersion: 0 | 1;
  headerBytes: number;
  dataWidth: number;
  storedDataWidth: number;
  permissible: boolean;
  labelFormat: CrackleLabelFormat;
  signed: boolean;
  markovOrder: number;
  sx: number;
  sy: number;
  sz: number;
  gridSize: number;
  labelBytes: number;
}

const LABEL_FORMATS: CrackleLabelFormat[] = ["flat", "fixed-pins", "pins"];

/**
 * Parses and checks a crackle header (magic, version, the CRC-8 of version 1).
 * @throws ChunkDecodeError naming `key`.
 */
export function readCrackleHeader(bytes: Uint8Array, key?: string): CrackleHeader {
  const fail = decodeFailure(key);
  if (bytes.length < 24)
    throw fail(`crackle stream of ${bytes.length} bytes is shorter than its header`);
  if (!MAGIC.every((m, i) => bytes[i] === m)) throw fail('not a crackle stream (no "crkl" magic)');
  const version = bytes[4];
  if (version > 1) throw fail(`crackle format version ${version} is unknown (0 and 1 are read)`);
  const headerBytes = version === 0 ? 24 : 29;
  if (bytes.length < headerBytes)
    throw fail(`crackle stream of ${bytes.length} bytes is shorter than its header`);
  if (version === 1 && crc8(bytes, 5, 28) !== bytes[28])
    throw fail("crackle header fails its CRC-8 (corrupt stream)");
  const format = readUint(bytes, 5, 2);
  const labelFormat = LABEL_FORMATS[(format >> 5) & 3];
  if (labelFormat === undefined) throw fail("crackle label format 3 is reserved (corrupt stream)");
  return {
    formatVersion: version as 0 | 1,
    headerBytes,
    dataWidth: 2 ** (format & 3),
    storedDataWidth: 2 ** ((format >> 2) & 3),
    permissible: ((format >> 4) & 1) === 1,
    labelFormat,
    signed: ((format >> 8) & 1) === 1,
    markovOrder: (format >> 9) & 0b1111,
    sx: readUint(bytes, 7, 4),
    sy: readUint(bytes, 11, 4),
    sz: readUint(bytes, 15, 4),
    gridSize: 2 ** bytes[19],
    labelBytes: readUint(bytes, 20, version === 0 ? 4 : 8),
  };
}

/** The sorted unique labels as (low, high) words, sign-extended when the stream is signed. */
function readValues(bytes: Uint8Array, at: number, count: number, h: CrackleHeader): Uint32Array {
  const w = h.storedDataWidth;
  const out = new Uint32Array(count * 2);
  for (let i = 0; i < count; i++) {
    const p = at + i * w;
    let lo = readUint(bytes, p, Math.min(w, 4));
    let hi = w === 8 ? readUint(bytes, p + 4, 4) : 0;
    if (h.signed && w < 8 && bytes[p + w - 1] & 0x80) {
      if (w < 4) lo = (lo - 2 ** (8 * w)) >>> 0;
      hi = 0xffffffff;
    }
    out[2 * i] = lo;
    out[2 * i + 1] = hi;
  }
  return out;
}

/** Where the sections of a stream lie, checked against its length. */
interface Layout {
  labelsAt: number;
  codeStarts: number[];
}

function layout(bytes: Uint8Array, h: CrackleHeader, fail: (m: string) => Error): Layout {
  const indexAt = h.headerBytes;
  const indexBytes = 4 * h.sz + (h.formatVersion === 1 ? 4 : 0);
  if (indexAt + indexBytes > bytes.length)
    throw fail("crackle z index runs past the stream (truncated stream)");
  if (
    h.formatVersion === 1 &&
    crc32c(bytes, indexAt, indexAt + 4 * h.sz) !== readUint(bytes, indexAt + 4 * h.sz, 4)
  )
    throw fail("crackle z index fails its CRC-32C (corrupt stream)");
  const labelsAt = indexAt + indexBytes;
  const modelBytes = h.markovOrder > 0 ? Math.ceil((4 ** h.markovOrder * 5) / 8) : 0;
  const codeStarts = [labelsAt + h.labelBytes + modelBytes];
  for (let z = 0; z < h.sz; z++)
    codeStarts.push(codeStarts[z] + readUint(bytes, indexAt + 4 * z, 4));
  const codesEnd = codeStarts[h.sz];
  const expected = codesEnd + (h.formatVersion === 1 ? 4 * (h.sz + 1) : 0);
  if (h.formatVersion === 1 ? expected !== bytes.length : expected > bytes.length)
    throw fail(
      `crackle stream is ${bytes.length} bytes, its index describes ${expected} (truncated or corrupt stream)`,
    );
  if (h.formatVersion === 1) {
    const stored = readUint(bytes, codesEnd, 4);
    if (crc32c(bytes, labelsAt, labelsAt + h.labelBytes) !== stored)
      throw fail("crackle label section fails its CRC-32C (corrupt stream)");
  }
  return { labelsAt, codeStarts };
}

/** Reads a run of `count` little-endian values of `width` bytes from a bounded section. */
class SectionReader {
  constructor(
    readonly bytes: Uint8Array,
    public at: number,
    readonly end: number,
    readonly fail: (m: string) => Error,
  ) {}
  take(width: number): number {
    if (this.at + width > this.end)
      throw this.fail("crackle label section is truncated (corrupt stream)");
    const v = readUint(this.bytes, this.at, width);
    this.at += width;
    return v;
  }
}

/** Label of each component (global id, slices in order), as an index into the unique labels; -1 is the background. */
interface LabelMap {
  values: Uint32Array;
  keys: Int32Array;
  background: [number, number];
}

function flatLabels(
  bytes: Uint8Array,
  h: CrackleHeader,
  at: number,
  perSlice: Uint32Array,
  fail: (m: string) => Error,
): LabelMap {
  const r = new SectionReader(bytes, at, at + h.labelBytes, fail);
  const n = r.take(8);
  if (r.at + n * h.storedDataWidth > r.end)
    throw fail("crackle unique labels run past the label section (corrupt stream)");
  const values = readValues(bytes, r.at, n, h);
  r.at += n * h.storedDataWidth;
  const total = readComponentCounts(r, h, perSlice, fail);
  const kw = byteWidth(n);
  const keys = new Int32Array(total);
  for (let i = 0; i < total; i++) {
    const k = r.take(kw);
    if (k >= n)
      throw fail(`crackle component key ${k} is past the ${n} unique labels (corrupt stream)`);
    keys[i] = k;
  }
  return { values, keys, background: [0, 0] };
}

/** Reads the component count of each slice; checks them against the crack codes' counts. */
function readComponentCounts(
  r: SectionReader,
  h: CrackleHeader,
  perSlice: Uint32Array,
  fail: (m: string) => Error,
): number {
  const cw = byteWidth(h.sx * h.sy);
  let total = 0;
  for (let z = 0; z < h.sz; z++) {
    const c = r.take(cw);
    if (c !== perSlice[z])
      throw fail(
        `crackle label section gives slice ${z} ${c} components, its crack code makes ${perSlice[z]} (corrupt stream)`,
      );
    total += c;
  }
  return total;
}

function pinLabels(
  bytes: Uint8Array,
  h: CrackleHeader,
  at: number,
  perSlice: Uint32Array,
  components: Uint32Array,
  fail: (m: string) => Error,
): LabelMap {
  const r = new SectionReader(bytes, at, at + h.labelBytes, fail);
  const sw = h.storedDataWidth;
  const bg = readValues(bytes, r.at, 1, h);
  r.at += sw;
  const n = r.take(8);
  if (r.at + n * sw > r.end)
    throw fail("crackle unique labels run past the label section (corrupt stream)");
  const values = readValues(bytes, r.at, n, h);
  r.at += n * sw;
  const total = readComponentCounts(r, h, perSlice, fail);
  const widths = r.take(1);
  const pinsWidth = 2 ** (widths & 3);
  const depthWidth = 2 ** ((widths >> 2) & 3);
  const ccWidth = 2 ** ((widths >> 4) & 3);
  const indexWidth = byteWidth(h.sx * h.sy * h.sz);
  const keys = new Int32Array(total).fill(-1);
  const sxy = h.sx * h.sy;
  const offsets = new Float64Array(h.sz + 1);
  for (let z = 0; z < h.sz; z++) offsets[z + 1] = offsets[z] + perSlice[z];
  const pins: number[] = [];
  for (let label = 0; label < n; label++) {
    const count = r.take(pinsWidth);
    const indexAt = r.at;
    r.at += count * indexWidth;
    const depthAt = r.at;
    r.at += count * depthWidth;
    if (r.at > r.end) throw fail("crackle pins run past the label section (corrupt stream)");
    let index = 0;
    for (let j = 0; j < count; j++) {
      index += readUint(bytes, indexAt + j * indexWidth, indexWidth);
      pins.push(label, index, readUint(bytes, depthAt + j * depthWidth, depthWidth));
    }
    const ccCount = r.take(pinsWidth);
    let cc = 0;
    for (let j = 0; j < ccCount; j++) {
      cc += r.take(ccWidth);
      if (cc >= total)
        throw fail(`crackle component ${cc} is past the ${total} components (corrupt stream)`);
      keys[cc] = label;
    }
  }
  // Pins are applied after the component lists, as the reference decoder does.
  for (let p = 0; p < pins.length; p += 3) {
    const [label, index, depth] = [pins[p], pins[p + 1], pins[p + 2]];
    const z0 = Math.floor(index / sxy);
    const loc = index - z0 * sxy;
    if (z0 + depth >= h.sz)
      throw fail(`crackle pin at ${index} of depth ${depth} leaves the volume (corrupt stream)`);
    for (let z = z0; z <= z0 + depth; z++) keys[offsets[z] + components[z * sxy + loc]] = label;
  }
  return { values, keys, background: [bg[0], bg[1]] };
}

/**
 * Decodes a crackle stream into label words (two per voxel for 8-byte
 * labels, else one). The stream's size and data width must be `shape` and
 * `dataWidth`.
 * @throws ChunkDecodeError naming `key` for a corrupt or truncated stream,
 * a failed checksum, or the fixed-width pin format (which the reference
 * decoder does not read either).
 */
export function decodeCrackle(
  bytes: Uint8Array,
  dataWidth: 1 | 2 | 4 | 8,
  shape: readonly [number, number, number],
  key?: string,
): Uint32Array {
  const fail = decodeFailure(key);
  const h = readCrackleHeader(bytes, key);
  const [sx, sy, sz] = shape;
  if (h.sx !== sx || h.sy !== sy || h.sz !== sz)
    throw fail(
      `crackle stream holds ${h.sx}x${h.sy}x${h.sz} voxels, the chunk is ${shape.join("x")}`,
    );
  if (h.dataWidth !== dataWidth)
    throw fail(`crackle stream holds ${h.dataWidth}-byte labels, the layer ${dataWidth}-byte ones`);
  if (h.labelFormat === "fixed-pins")
    throw fail("crackle fixed-width pins are not a readable label format");
  const wpe = dataWidth === 8 ? 2 : 1;
  const sxy = sx * sy;
  const out = new Uint32Array(sxy * sz * wpe);
  if (out.length === 0) return out;
  if (h.gridSize < Math.max(sx, sy))
    throw fail(`crackle grids of ${h.gridSize} pixels within a slice are not supported`);
  const { labelsAt, codeStarts } = layout(bytes, h, fail);
  const coding: CrackCoding = {
    permissible: h.permissible,
    markov:
      h.markovOrder > 0
        ? {
            model: readMarkovModel(bytes, labelsAt + h.labelBytes, h.markovOrder, fail),
            order: h.markovOrder,
          }
        : null,
  };

  const components = new Uint32Array(sxy * sz);
  const perSlice = new Uint32Array(sz);
  const vcg = new Uint8Array(sxy);
  const crcsAt = bytes.length - 4 * sz;
  for (let z = 0; z < sz; z++) {
    paintCrackCode(bytes.subarray(codeStarts[z], codeStarts[z + 1]), sx, sy, coding, vcg, fail);
    const slice = components.subarray(z * sxy, (z + 1) * sxy);
    perSlice[z] = colorSlice(vcg, sx, sy, slice);
    if (h.formatVersion === 1) {
      const ids = new Uint8Array(slice.buffer, slice.byteOffset, slice.byteLength);
      if (crc32c(ids) !== readUint(bytes, crcsAt + 4 * z, 4))
        throw fail(`crackle slice ${z} fails its CRC-32C (corrupt stream)`);
    }
  }

  const map =
    h.labelFormat === "flat"
      ? flatLabels(bytes, h, labelsAt, perSlice, fail)
      : pinLabels(bytes, h, labelsAt, perSlice, components, fail);
  let offset = 0;
  for (let z = 0, i = 0; z < sz; z++) {
    for (let p = 0; p < sxy; p++, i++) {
      const k = map.keys[offset + components[i]];
      const lo = k < 0 ? map.background[0] : map.values[2 * k];
      if (wpe === 2) {
        out[2 * i] = lo;
        out[2 * i + 1] = k < 0 ? map.background[1] : map.values[2 * k + 1];
      } else out[i] = lo;
    }
    offset += perSlice[z];
  }
  return out;
}

function labelType(ctx: ChunkContext, fail: (m: string) => Error): LabelType {
  checkShape(ctx.shape, fail);
  if (ctx.shape[3] !== 1) throw fail(`crackle stores one channel, the chunk has ${ctx.shape[3]}`);
  if (!isLabelType(ctx.dtype)) throw fail(`crackle stores integer labels, not ${ctx.dtype}`);
  return ctx.dtype;
}

function decode(bytes: Uint8Array, ctx: ChunkContext): TypedArray {
  const fail = decodeFailure(ctx.key);
  const dtype = labelType(ctx, fail);
  const [sx, sy, sz] = ctx.shape;
  try {
    return fromLabelWords(decodeCrackle(bytes, labelBytes(dtype), [sx, sy, sz], ctx.key), dtype);
  } catch (e) {
    if (e instanceof ChunkDecodeError) throw e;
    throw fail(`corrupt crackle stream (${(e as Error).message})`);
  }
}

function encode(_data: TypedArray, ctx: ChunkContext): Uint8Array {
  throw encodeFailure(ctx.key)(
    "ngpipe reads crackle but does not write it; write segmentation as compresso or compressed_segmentation",
  );
}

/** The `crackle` codec: reads integer segmentation (one channel); writing throws ChunkEncodeError. */
export const crackleCodec: ChunkCodec = {
  encoding: "crackle",
  dataTypes: ["uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"],
  encode,
  decode,
};
