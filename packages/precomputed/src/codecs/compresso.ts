/**
 * The `compresso` chunk codec: seung-lab's compresso streams (format
 * versions 0 and 1) for uint8..uint64 segmentation, as CloudVolume writes
 * them and newer Neuroglancer reads them. The stream format is in
 * compresso_format.ts, the encoder and decoder beside it.
 */
import type { TypedArray } from "../dtypes";
import { ChunkDecodeError } from "../errors";
import { checkShape, decodeFailure, encodeFailure, shapeText, voxelsPerChannel } from "./common";
import { decodeCompresso } from "./compresso_decode";
import { encodeCompresso } from "./compresso_encode";
import {
  fromLabelWords,
  isLabelType,
  type LabelType,
  labelBytes,
  toLabelWords,
} from "./label_words";
import type { ChunkCodec, ChunkContext } from "./types";

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
