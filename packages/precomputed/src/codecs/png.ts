/**
 * The `png` chunk encoding (newer upstream Neuroglancer spec): the chunk is a
 * PNG image of width `sx` and height `sy * sz` whose rows, concatenated, are
 * the voxels in x-fastest order; channels (1..4) are the samples of each pixel
 * (gray, gray+alpha, RGB, RGBA), 8-bit for uint8 and 16-bit for uint16.
 *
 * Implemented over `node:zlib` (deflate is the only compression PNG has), so
 * that it loads in every runtime the package supports. The decoder accepts
 * any image whose pixel count matches (the spec's "concatenated rows" rule),
 * every PNG color type and bit depth that maps to the chunk's channels and
 * data type, all five row filters and Adam7 interlacing, and checks chunk
 * CRCs; anything else is a `ChunkDecodeError`.
 */
import { deflateSync, inflateSync } from "node:zlib";
import type { TypedArray } from "../dtypes";
import { ChunkDecodeError } from "../errors";
import { checkShape, decodeFailure, encodeFailure, shapeText, voxelsPerChannel } from "./common";
import type { ChunkCodec, ChunkContext, ChunkShape } from "./types";

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** PNG color type for 1..4 samples per pixel. */
const COLOR_TYPE_FOR_CHANNELS = [-1, 0, 4, 2, 6];

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array, start: number, end: number): number {
  const crcTable = CRC_TABLE;
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Encodes uint8 or uint16 voxels as a PNG image (width sx, height sy*sz).
 * @param level zlib compression level 0..9 (default 6).
 */
export function encodePng(
  data: Uint8Array | Uint16Array,
  shape: ChunkShape,
  level = 6,
): Uint8Array {
  const [sx, , , nc] = shape;
  const nvox = voxelsPerChannel(shape);
  const width = sx;
  const height = nvox / sx;
  const bps = data.BYTES_PER_ELEMENT;
  const bpp = nc * bps;
  const rowBytes = width * bpp;
  // Interleave the channels of each row into `cur`, then pick the filter
  // with the smallest sum of absolute (signed) residuals, as libpng does.
  let prev = new Uint8Array(rowBytes);
  let cur = new Uint8Array(rowBytes);
  const candidates = Array.from({ length: 5 }, () => new Uint8Array(rowBytes));
  const filtered = new Uint8Array(height * (rowBytes + 1));
  for (let r = 0; r < height; r++) {
    const base = r * width;
    for (let c = 0; c < nc; c++) {
      const src = c * nvox + base;
      if (bps === 1) for (let x = 0; x < width; x++) cur[x * bpp + c] = data[src + x];
      else
        for (let x = 0; x < width; x++) {
          const v = data[src + x];
          cur[x * bpp + 2 * c] = v >>> 8;
          cur[x * bpp + 2 * c + 1] = v & 0xff;
        }
    }
    let best = 0;
    let bestScore = Number.POSITIVE_INFINITY;
    for (let f = 0; f < 5; f++) {
      const out = candidates[f];
      let score = 0;
      for (let i = 0; i < rowBytes; i++) {
        const a = i >= bpp ? cur[i - bpp] : 0;
        const b = prev[i];
        const cc = i >= bpp ? prev[i - bpp] : 0;
        const p =
          f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >>> 1 : paeth(a, b, cc);
        const v = (cur[i] - p) & 0xff;
        out[i] = v;
        score += v < 128 ? v : 256 - v;
      }
      if (score < bestScore) {
        bestScore = score;
        best = f;
      }
    }
    filtered[r * (rowBytes + 1)] = best;
    filtered.set(candidates[best], r * (rowBytes + 1) + 1);
    [prev, cur] = [cur, prev];
  }
  const idat = deflateSync(filtered, { level });
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  ihdr[8] = bps * 8;
  ihdr[9] = COLOR_TYPE_FOR_CHANNELS[nc];
  const parts: [string, Uint8Array][] = [
    ["IHDR", ihdr],
    ["IDAT", idat],
    ["IEND", new Uint8Array(0)],
  ];
  const total = 8 + parts.reduce((n, [, d]) => n + 12 + d.length, 0);
  const png = new Uint8Array(total);
  const view = new DataView(png.buffer);
  png.set(SIGNATURE, 0);
  let pos = 8;
  for (const [type, body] of parts) {
    view.setUint32(pos, body.length);
    for (let i = 0; i < 4; i++) png[pos + 4 + i] = type.charCodeAt(i);
    png.set(body, pos + 8);
    view.setUint32(pos + 8 + body.length, crc32(png, pos + 4, pos + 8 + body.length));
    pos += 12 + body.length;
  }
  return png;
}

interface Header {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlace: number;
}

/** Samples per pixel as stored, and the bit depths PNG allows, per color type. */
const COLOR_TYPES: Record<number, { samples: number; depths: number[] }> = {
  0: { samples: 1, depths: [1, 2, 4, 8, 16] },
  2: { samples: 3, depths: [8, 16] },
  3: { samples: 1, depths: [1, 2, 4, 8] },
  4: { samples: 2, depths: [8, 16] },
  6: { samples: 4, depths: [8, 16] },
};

const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/**
 * Decodes a PNG chunk into uint8 or uint16 voxels (x fastest, planar channels).
 * @throws ChunkDecodeError naming `key` for anything that is not a PNG of the
 *   chunk's pixel count, channels and bit depth.
 */
export function decodePng(
  bytes: Uint8Array,
  shape: ChunkShape,
  dtype: "uint8" | "uint16",
  key?: string,
): Uint8Array | Uint16Array {
  const fail = (m: string) => new ChunkDecodeError(`png: ${m}`, key);
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw fail("not a PNG image");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: Header | undefined;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let ended = false;
  let pos = 8;
  while (pos < bytes.length && !ended) {
    if (pos + 12 > bytes.length) throw fail(`truncated chunk header at byte ${pos}`);
    const length = view.getUint32(pos);
    if (length > bytes.length - pos - 12) throw fail(`chunk at byte ${pos} runs past the end`);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const body = bytes.subarray(pos + 8, pos + 8 + length);
    if (view.getUint32(pos + 8 + length) !== crc32(bytes, pos + 4, pos + 8 + length))
      throw fail(`CRC mismatch in ${type} chunk at byte ${pos}`);
    if (!header && type !== "IHDR") throw fail("first chunk is not IHDR");
    if (type === "IHDR") {
      if (header || length !== 13) throw fail("bad IHDR chunk");
      const h = new DataView(body.buffer, body.byteOffset, 13);
      header = {
        width: h.getUint32(0),
        height: h.getUint32(4),
        depth: body[8],
        colorType: body[9],
        interlace: body[12],
      };
      if (body[10] !== 0 || body[11] !== 0 || body[12] > 1)
        throw fail("unsupported compression, filter or interlace method");
    } else if (type === "PLTE") {
      if (length % 3 !== 0 || length === 0) throw fail("bad PLTE chunk");
      palette = body;
    } else if (type === "IDAT") idat.push(body);
    else if (type === "IEND") ended = true;
    pos += 12 + length;
  }
  if (!header || !ended) throw fail("truncated image (no IEND chunk)");
  const { width, height, depth, colorType, interlace } = header;
  const ct = COLOR_TYPES[colorType];
  if (!ct?.depths.includes(depth))
    throw fail(`invalid color type ${colorType} with bit depth ${depth}`);
  const channels = colorType === 3 ? 3 : ct.samples;
  const nvox = voxelsPerChannel(shape);
  if (width * height !== nvox)
    throw fail(`image is ${width}x${height} pixels, chunk ${shapeText(shape)} needs ${nvox}`);
  if (channels !== shape[3]) throw fail(`image has ${channels} channels, chunk has ${shape[3]}`);
  if ((dtype === "uint16") !== (depth === 16))
    throw fail(`a ${depth}-bit image cannot hold ${dtype} voxels`);
  if (colorType === 3 && !palette) throw fail("palette image without PLTE chunk");

  const passes = interlace ? ADAM7 : [[0, 0, 1, 1]];
  const bitsPerPixel = ct.samples * depth;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  let expected = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((width - x0) / dx);
    const ph = Math.ceil((height - y0) / dy);
    if (pw > 0 && ph > 0) expected += ph * (1 + Math.ceil((pw * bitsPerPixel) / 8));
  }
  let raw: Uint8Array;
  try {
    raw = inflateSync(concat(idat), { maxOutputLength: Math.max(expected, 1) });
  } catch (e) {
    throw new ChunkDecodeError(`png: corrupt image data (${(e as Error).message})`, key, {
      cause: e,
    });
  }
  if (raw.length < expected) throw fail(`image data is ${raw.length} bytes, expected ${expected}`);

  const out =
    dtype === "uint16" ? new Uint16Array(nvox * channels) : new Uint8Array(nvox * channels);
  let offset = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((width - x0) / dx);
    const ph = Math.ceil((height - y0) / dy);
    if (pw <= 0 || ph <= 0) continue;
    const rowBytes = Math.ceil((pw * bitsPerPixel) / 8);
    unfilter(raw, offset, rowBytes, ph, bpp, fail);
    for (let r = 0; r < ph; r++) {
      const row = offset + r * (rowBytes + 1) + 1;
      const pixelBase = (y0 + r * dy) * width + x0;
      for (let i = 0; i < pw; i++) {
        const p = pixelBase + i * dx;
        if (colorType === 3) {
          const entry = sampleAt(raw, row, i, depth);
          if (3 * entry + 3 > palette!.length) throw fail(`palette index ${entry} out of range`);
          for (let c = 0; c < 3; c++) out[p + c * nvox] = palette![3 * entry + c];
        } else if (depth === 8) {
          for (let c = 0; c < channels; c++) out[p + c * nvox] = raw[row + i * channels + c];
        } else if (depth === 16) {
          for (let c = 0; c < channels; c++) {
            const b = row + 2 * (i * channels + c);
            out[p + c * nvox] = (raw[b] << 8) | raw[b + 1];
          }
        } else out[p] = sampleAt(raw, row, i, depth);
      }
    }
    offset += ph * (rowBytes + 1);
  }
  return out;
}

/** A sub-byte (1, 2, 4-bit) or 8-bit sample `i` of a row starting at `row`. */
function sampleAt(raw: Uint8Array, row: number, i: number, depth: number): number {
  if (depth === 8) return raw[row + i];
  const bit = i * depth;
  return (raw[row + (bit >> 3)] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
}

/** Reverses the PNG row filters in place. */
function unfilter(
  raw: Uint8Array,
  offset: number,
  rowBytes: number,
  rows: number,
  bpp: number,
  fail: (m: string) => Error,
): void {
  for (let r = 0; r < rows; r++) {
    const start = offset + r * (rowBytes + 1);
    const f = raw[start];
    const cur = start + 1;
    const prev = r > 0 ? cur - rowBytes - 1 : -1;
    switch (f) {
      case 0:
        break;
      case 1:
        for (let i = bpp; i < rowBytes; i++)
          raw[cur + i] = (raw[cur + i] + raw[cur + i - bpp]) & 0xff;
        break;
      case 2:
        if (prev >= 0)
          for (let i = 0; i < rowBytes; i++) raw[cur + i] = (raw[cur + i] + raw[prev + i]) & 0xff;
        break;
      case 3:
        for (let i = 0; i < rowBytes; i++) {
          const a = i >= bpp ? raw[cur + i - bpp] : 0;
          const b = prev >= 0 ? raw[prev + i] : 0;
          raw[cur + i] = (raw[cur + i] + ((a + b) >>> 1)) & 0xff;
        }
        break;
      case 4:
        for (let i = 0; i < rowBytes; i++) {
          const a = i >= bpp ? raw[cur + i - bpp] : 0;
          const b = prev >= 0 ? raw[prev + i] : 0;
          const c = i >= bpp && prev >= 0 ? raw[prev + i - bpp] : 0;
          raw[cur + i] = (raw[cur + i] + paeth(a, b, c)) & 0xff;
        }
        break;
      default:
        throw fail(`invalid filter type ${f} in row ${r}`);
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

function encode(data: TypedArray, ctx: ChunkContext): Uint8Array {
  const fail = encodeFailure(ctx.key);
  checkShape(ctx.shape, fail);
  const nc = ctx.shape[3];
  if (ctx.dtype !== "uint8" && ctx.dtype !== "uint16")
    throw fail(`png stores uint8 or uint16, not ${ctx.dtype}`);
  const ok = ctx.dtype === "uint8" ? data instanceof Uint8Array : data instanceof Uint16Array;
  if (!ok) throw fail(`png of ${ctx.dtype} got a ${data.constructor.name}`);
  if (nc > 4) throw fail(`png stores 1 to 4 channels, not ${nc}`);
  const nvox = voxelsPerChannel(ctx.shape);
  if (data.length !== nvox * nc)
    throw fail(
      `chunk of shape ${shapeText(ctx.shape)} needs ${nvox * nc} voxels, got ${data.length}`,
    );
  if (nvox === 0) throw fail("png cannot store an empty chunk");
  const level = ctx.quality ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9)
    throw fail(`png compression level must be an integer 0..9, got ${level}`);
  return encodePng(data as Uint8Array | Uint16Array, ctx.shape, level);
}

function decode(bytes: Uint8Array, ctx: ChunkContext): TypedArray {
  checkShape(ctx.shape, decodeFailure(ctx.key));
  if (ctx.dtype !== "uint8" && ctx.dtype !== "uint16")
    throw new ChunkDecodeError(`png stores uint8 or uint16, not ${ctx.dtype}`, ctx.key);
  return decodePng(bytes, ctx.shape, ctx.dtype, ctx.key);
}

/** The `png` codec: uint8/uint16, 1..4 channels; `ctx.quality` is the zlib level (default 6). */
export const pngCodec: ChunkCodec = {
  encoding: "png",
  dataTypes: ["uint8", "uint16"],
  encode,
  decode,
};
