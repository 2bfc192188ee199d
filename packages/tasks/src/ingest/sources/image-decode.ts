/**
 * Decoding of 2-D image slices (TIFF pages, PNG, JPEG) into planar
 * [x, y, c] typed arrays, x fastest. Pure functions over bytes.
 */

import { createRequire } from "node:module";
import { allocTyped, type DataType, type TypedArray, viewTyped } from "@ngpipe/precomputed";
import type * as JpegJs from "jpeg-js";
import type UTIF from "utif";
import type { IFD } from "utif";
import { CorruptSourceError, UnsupportedDataTypeError } from "./errors";
import { swapBytes } from "./layout";

const lazyRequire = createRequire(__filename);
let decoders: { jpeg: typeof JpegJs; utif: typeof UTIF } | undefined;

/** jpeg-js and UTIF, loaded when the first image is decoded rather than with the package. */
function imageDecoders(): { jpeg: typeof JpegJs; utif: typeof UTIF } {
  decoders ??= { jpeg: lazyRequire("jpeg-js"), utif: lazyRequire("utif") };
  return decoders;
}

/** One decoded slice: `data[x + width * (y + height * c)]`. */
export interface Slice {
  width: number;
  height: number;
  channels: number;
  dataType: DataType;
  data: TypedArray;
}

/** Interleaved pixels (x fastest, channels innermost) to planar channels. */
function planar(
  inter: TypedArray,
  width: number,
  height: number,
  channels: number,
  dataType: DataType,
): TypedArray {
  if (channels === 1) return inter;
  const n = width * height;
  const out = allocTyped(dataType, n * channels);
  for (let c = 0; c < channels; c++) {
    for (let i = 0, j = c; i < n; i++, j += channels) out[c * n + i] = inter[j];
  }
  return out;
}

/** The pages of a TIFF file (its main IFD chain). */
export function tiffPages(bytes: Uint8Array, source: string): IFD[] {
  let ifds: IFD[];
  try {
    ifds = imageDecoders().utif.decode(bytes);
  } catch (e) {
    throw new CorruptSourceError(
      `${source}: not a readable TIFF (${(e as Error).message})`,
      source,
      { cause: e },
    );
  }
  const pages = ifds.filter((f) => f.t256 !== undefined && f.t257 !== undefined);
  if (pages.length === 0)
    throw new CorruptSourceError(`${source}: TIFF has no image pages`, source);
  return pages;
}

const tag = (ifd: IFD, t: number, dflt: number): number => {
  const v = ifd[`t${t}`];
  return v === undefined ? dflt : Number(v[0]);
};

/** Data type of a TIFF page from BitsPerSample and SampleFormat. */
function tiffDataType(ifd: IFD, source: string): DataType {
  const bits = tag(ifd, 258, 1);
  const fmt = tag(ifd, 339, 1); // 1 uint, 2 int, 3 float
  const name =
    fmt === 3
      ? bits === 32
        ? "float32"
        : bits === 64
          ? "float64"
          : undefined
      : [8, 16, 32].includes(bits)
        ? `${fmt === 2 ? "int" : "uint"}${bits}`
        : undefined;
  if (name === undefined) {
    throw new UnsupportedDataTypeError(source, `TIFF ${bits}-bit sample format ${fmt}`);
  }
  return name as DataType;
}

/** The bytes of uncompressed strips, concatenated up to `total` bytes. */
function stripBytes(
  bytes: Uint8Array,
  offsets: number[],
  counts: number[],
  total: number,
  source: string,
) {
  const out = new Uint8Array(total);
  let pos = 0;
  for (let i = 0; i < offsets.length && pos < total; i++) {
    const len = Math.min(counts[i] ?? 0, total - pos);
    if (offsets[i] + len > bytes.length) {
      throw new CorruptSourceError(
        `${source}: TIFF strip ${i} runs past the end of the file`,
        source,
      );
    }
    out.set(bytes.subarray(offsets[i], offsets[i] + len), pos);
    pos += len;
  }
  if (pos < total) {
    throw new CorruptSourceError(
      `${source}: TIFF page holds ${pos} of ${total} pixel bytes`,
      source,
    );
  }
  return out;
}

/** Decode page `ifd` of the TIFF `bytes` (as returned by {@link tiffPages}). */
export function decodeTiffPage(bytes: Uint8Array, ifd: IFD, source: string): Slice {
  const dataType = tiffDataType(ifd, source);
  const channels = tag(ifd, 277, 1);
  if (tag(ifd, 284, 1) !== 1 && channels > 1) {
    throw new UnsupportedDataTypeError(
      source,
      "TIFF with planar configuration 2 (separate planes)",
    );
  }
  if (tag(ifd, 262, 1) === 3) throw new UnsupportedDataTypeError(source, "palette-colour TIFF");
  const width = tag(ifd, 256, 0);
  const height = tag(ifd, 257, 0);
  const item = allocTyped(dataType, 0).BYTES_PER_ELEMENT;
  const n = width * height * channels;
  const bigEndian = bytes[0] === 0x4d; // "MM"
  // Uncompressed strips are copied directly (UTIF's generic path is ~10x slower);
  // anything else (compression, tiles, predictors) goes through UTIF.
  const plain = tag(ifd, 259, 1) === 1 && tag(ifd, 317, 1) === 1 && ifd.t322 === undefined;
  let bytesLE: Uint8Array;
  if (plain && ifd.t273 !== undefined && ifd.t279 !== undefined) {
    bytesLE = stripBytes(bytes, ifd.t273 as number[], ifd.t279 as number[], n * item, source);
    if (bigEndian) swapBytes(bytesLE, item);
  } else {
    try {
      imageDecoders().utif.decodeImage(bytes, ifd);
    } catch (e) {
      throw new CorruptSourceError(
        `${source}: can't decode TIFF page (${(e as Error).message})`,
        source,
        { cause: e },
      );
    }
    const raw = ifd.data;
    ifd.data = undefined; // don't keep the decoded bytes twice
    if (!raw || raw.length < n * item) {
      throw new CorruptSourceError(
        `${source}: TIFF page holds fewer pixels than ${width}x${height}x${channels}`,
        source,
      );
    }
    // an aligned copy of exactly the pixels, in native (little-endian) order;
    // UTIF already turns big-endian 16-bit samples little-endian, but not 32-bit ones
    bytesLE = raw.slice(0, n * item);
    if (bigEndian && item > 2) swapBytes(bytesLE, item);
  }
  const inter = viewTyped(dataType, bytesLE.buffer, 0, n);
  return {
    width,
    height,
    channels,
    dataType,
    data: planar(inter, width, height, channels, dataType),
  };
}

type FastPng = typeof import("fast-png");
let fastPng: Promise<FastPng> | undefined;

/** Decode a PNG (8- or 16-bit grey, grey+alpha, RGB, RGBA, or palette expanded to RGB(A)). */
export async function decodePng(bytes: Uint8Array, source: string): Promise<Slice> {
  // fast-png is ESM-only: loaded by dynamic import so CommonJS builds work
  fastPng ??= import("fast-png");
  const png = await fastPng;
  let img: import("fast-png").DecodedPng;
  try {
    img = png.decode(bytes);
  } catch (e) {
    throw new CorruptSourceError(
      `${source}: not a readable PNG (${(e as Error).message})`,
      source,
      { cause: e },
    );
  }
  let pixels: Uint8Array | Uint16Array | Uint8ClampedArray = img.data;
  let channels = img.channels;
  let depth: number = img.depth;
  if (img.palette) {
    pixels = png.convertIndexedToRgb(img);
    channels = img.palette[0]?.length ?? 3;
    depth = 8;
  }
  if (depth !== 8 && depth !== 16)
    throw new UnsupportedDataTypeError(source, `PNG bit depth ${depth}`);
  const dataType: DataType = depth === 16 ? "uint16" : "uint8";
  const data: TypedArray =
    pixels instanceof Uint8ClampedArray
      ? new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.length)
      : pixels;
  return {
    width: img.width,
    height: img.height,
    channels,
    dataType,
    data: planar(data, img.width, img.height, channels, dataType),
  };
}

/** Number of colour components of a JPEG, from its start-of-frame marker. */
function jpegComponents(b: Uint8Array): number {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return 3;
    const marker = b[i + 1];
    const len = (b[i + 2] << 8) | b[i + 3];
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return b[i + 9];
    }
    i += 2 + len;
  }
  return 3;
}

/** Decode a baseline or progressive JPEG (greyscale → 1 channel, colour → RGB). */
export async function decodeJpeg(bytes: Uint8Array, source: string): Promise<Slice> {
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = imageDecoders().jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
  } catch (e) {
    throw new CorruptSourceError(
      `${source}: not a readable JPEG (${(e as Error).message})`,
      source,
      { cause: e },
    );
  }
  const { width, height } = img;
  const rgb = planar(img.data, width, height, 3, "uint8");
  if (jpegComponents(bytes) === 1) {
    return { width, height, channels: 1, dataType: "uint8", data: rgb.subarray(0, width * height) };
  }
  return { width, height, channels: 3, dataType: "uint8", data: rgb };
}
