/**
 * The `jpeg` chunk encoding: uint8 chunks of 1 or 3 channels stored as one
 * JPEG image whose rows, concatenated, are the voxels in x-fastest order
 * (Neuroglancer writes and reads width `sx`, height `sy * sz`; CloudVolume
 * writes the same). Channels are the components of each pixel (gray or RGB);
 * in the decoded chunk they are planar again.
 *
 * 3-channel images are encoded with jpeg-js; 1-channel images with our own
 * 1-component baseline encoder (jpeg-js only writes 3 components, which
 * Neuroglancer rejects for a 1-channel volume). Decoding uses jpeg-js and
 * accepts any width x height with the right pixel count.
 */
import { createRequire } from "node:module";
import type * as JpegJs from "jpeg-js";
import type { TypedArray } from "../dtypes";
import { ChunkDecodeError } from "../errors";
import { checkShape, decodeFailure, encodeFailure, shapeText, voxelsPerChannel } from "./common";
import { encodeGrayJpeg } from "./jpeg_gray_encoder";
import type { ChunkCodec, ChunkContext, ChunkShape } from "./types";

let jpegModule: typeof JpegJs | undefined;

/** jpeg-js, loaded on first use (most layers are not JPEG; the CLI starts faster without it). */
function jpegJs(): typeof JpegJs {
  jpegModule ??= createRequire(__filename)("jpeg-js") as typeof JpegJs;
  return jpegModule;
}

/** Default JPEG quality, as CloudVolume's. */
export const DEFAULT_JPEG_QUALITY = 85;

/** JPEG dimensions are 16-bit. */
const MAX_SIDE = 65535;

/** Image width and height for a chunk: `sx` by `sy*sz`, or `sx*sy` by `sz` when that is too tall. */
function imageSize(shape: ChunkShape): [number, number] | undefined {
  const [sx, sy, sz] = shape;
  if (sx <= MAX_SIDE && sy * sz <= MAX_SIDE) return [sx, sy * sz];
  if (sx * sy <= MAX_SIDE && sz <= MAX_SIDE) return [sx * sy, sz];
  return undefined;
}

/**
 * Encodes uint8 voxels (x fastest, planar channels; 1 or 3 channels) as a JPEG.
 * @param quality 1..100 (default 85).
 */
export function encodeJpeg(
  data: Uint8Array,
  shape: ChunkShape,
  quality = DEFAULT_JPEG_QUALITY,
): Uint8Array {
  const size = imageSize(shape);
  if (!size) throw new RangeError(`chunk ${shapeText(shape)} does not fit a 65535x65535 JPEG`);
  const [width, height] = size;
  if (shape[3] === 1) return encodeGrayJpeg(data, width, height, quality);
  const n = width * height;
  const rgba = new Uint8Array(4 * n);
  for (let p = 0; p < n; p++) {
    rgba[4 * p] = data[p];
    rgba[4 * p + 1] = data[p + n];
    rgba[4 * p + 2] = data[p + 2 * n];
    rgba[4 * p + 3] = 255;
  }
  const encoded = jpegJs().encode({ data: rgba, width, height }, quality).data;
  return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
}

/** Width, height and component count from the frame header (SOFn) of a JPEG. */
function frameHeader(bytes: Uint8Array): { width: number; height: number; components: number } {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8)
    throw new Error("not a JPEG image");
  let pos = 2;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) throw new Error(`expected a marker at byte ${pos}`);
    const marker = bytes[pos + 1];
    if (marker === 0xff) {
      pos++;
      continue;
    }
    const length = (bytes[pos + 2] << 8) | bytes[pos + 3];
    const isFrame =
      marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      if (pos + 10 > bytes.length) break;
      return {
        height: (bytes[pos + 5] << 8) | bytes[pos + 6],
        width: (bytes[pos + 7] << 8) | bytes[pos + 8],
        components: bytes[pos + 9],
      };
    }
    if (length < 2) throw new Error(`bad segment length at byte ${pos}`);
    pos += 2 + length;
  }
  throw new Error("no frame header (SOF) found");
}

/**
 * Decodes a JPEG chunk into uint8 voxels (x fastest, planar channels).
 * A 3-component image decoded into a 1-channel chunk keeps its first (red)
 * component, as Neuroglancer does.
 * @throws ChunkDecodeError naming `key` when the bytes are not a JPEG of the
 *   chunk's pixel count and channels.
 */
export function decodeJpeg(bytes: Uint8Array, shape: ChunkShape, key?: string): Uint8Array {
  const nc = shape[3];
  const n = voxelsPerChannel(shape);
  let header: { width: number; height: number; components: number };
  try {
    header = frameHeader(bytes);
  } catch (e) {
    throw new ChunkDecodeError(`jpeg: ${(e as Error).message}`, key, { cause: e });
  }
  const { width, height, components } = header;
  if (width * height !== n)
    throw new ChunkDecodeError(
      `jpeg: image is ${width}x${height} pixels, chunk ${shapeText(shape)} needs ${n}`,
      key,
    );
  if (components !== 1 && components !== 3)
    throw new ChunkDecodeError(`jpeg: ${components}-component images are not supported`, key);
  if (nc === 3 && components !== 3)
    throw new ChunkDecodeError(
      `jpeg: image has ${components} component(s), chunk has 3 channels`,
      key,
    );
  let rgb: Uint8Array;
  try {
    rgb = jpegJs().decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: Math.max(1, Math.ceil(n / 1e6)),
      maxMemoryUsageInMB: Math.max(64, Math.ceil((16 * n) / 2 ** 20)),
    }).data;
  } catch (e) {
    throw new ChunkDecodeError(`jpeg: corrupt image (${String((e as Error)?.message ?? e)})`, key, {
      cause: e,
    });
  }
  if (rgb.length !== 3 * n)
    throw new ChunkDecodeError(`jpeg: decoded ${rgb.length / 3} pixels, expected ${n}`, key);
  const out = new Uint8Array(n * nc);
  for (let c = 0; c < nc; c++) {
    const base = c * n;
    for (let p = 0; p < n; p++) out[base + p] = rgb[3 * p + c];
  }
  return out;
}

function encode(data: TypedArray, ctx: ChunkContext): Uint8Array {
  const fail = encodeFailure(ctx.key);
  checkShape(ctx.shape, fail);
  if (ctx.dtype !== "uint8" || !(data instanceof Uint8Array))
    throw fail(`jpeg stores uint8 only, not ${ctx.dtype} (${data.constructor.name})`);
  const nc = ctx.shape[3];
  if (nc !== 1 && nc !== 3) throw fail(`jpeg stores 1 or 3 channels, not ${nc}`);
  const n = voxelsPerChannel(ctx.shape);
  if (data.length !== n * nc)
    throw fail(`chunk of shape ${shapeText(ctx.shape)} needs ${n * nc} voxels, got ${data.length}`);
  if (n === 0) throw fail("jpeg cannot store an empty chunk");
  const quality = ctx.quality ?? DEFAULT_JPEG_QUALITY;
  if (!(quality >= 1 && quality <= 100)) throw fail(`jpeg quality must be 1..100, got ${quality}`);
  if (!imageSize(ctx.shape))
    throw fail(`chunk ${shapeText(ctx.shape)} does not fit a 65535x65535 JPEG`);
  return encodeJpeg(data, ctx.shape, quality);
}

function decode(bytes: Uint8Array, ctx: ChunkContext): TypedArray {
  const fail = decodeFailure(ctx.key);
  checkShape(ctx.shape, fail);
  if (ctx.dtype !== "uint8") throw fail(`jpeg stores uint8 only, not ${ctx.dtype}`);
  if (ctx.shape[3] !== 1 && ctx.shape[3] !== 3)
    throw fail(`jpeg stores 1 or 3 channels, not ${ctx.shape[3]}`);
  return decodeJpeg(bytes, ctx.shape, ctx.key);
}

/** The `jpeg` codec: uint8, 1 or 3 channels; `ctx.quality` 1..100 (default 85). Lossy. */
export const jpegCodec: ChunkCodec = {
  encoding: "jpeg",
  dataTypes: ["uint8"],
  encode,
  decode,
};
