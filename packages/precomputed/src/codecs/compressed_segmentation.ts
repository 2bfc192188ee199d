/**
 * The `compressed_segmentation` chunk codec: Neuroglancer's block-wise
 * lookup-table encoding of uint32/uint64 labels (see
 * compressed_segmentation_encode.ts and compressed_segmentation_decode.ts).
 */
import type { TypedArray } from "../dtypes";
import { ChunkEncodeError } from "../errors";
import { checkShape, decodeFailure, encodeFailure, shapeText, voxelsPerChannel } from "./common";
import { decodeCompressedSegmentation } from "./compressed_segmentation_decode";
import { type BlockSize, encodeCompressedSegmentation } from "./compressed_segmentation_encode";
import type { ChunkCodec, ChunkContext } from "./types";

/** Block size used when a context gives none. */
export const DEFAULT_CSEG_BLOCK_SIZE: BlockSize = [8, 8, 8];

/** Largest block (in voxels) accepted, far above any practical block size. */
const MAX_BLOCK_VOXELS = 1 << 24;

function blockSizeOf(ctx: ChunkContext, fail: (m: string) => Error): BlockSize {
  const b = ctx.blockSize ?? DEFAULT_CSEG_BLOCK_SIZE;
  if (
    !Array.isArray(b) ||
    b.length !== 3 ||
    !b.every((n) => Number.isInteger(n) && n > 0) ||
    b[0] * b[1] * b[2] > MAX_BLOCK_VOXELS
  )
    throw fail(`invalid compressed_segmentation block size ${JSON.stringify(b)}`);
  return b;
}

function dtypeOf(ctx: ChunkContext, fail: (m: string) => Error): "uint32" | "uint64" {
  if (ctx.dtype !== "uint32" && ctx.dtype !== "uint64")
    throw fail(`compressed_segmentation stores uint32 or uint64, not ${ctx.dtype}`);
  return ctx.dtype;
}

/** 32-bit words of uint32 or uint64 voxels (uint64 as low/high pairs), without copying. */
function wordsOfVoxels(data: TypedArray, fail: (m: string) => Error): Uint32Array {
  if (data instanceof Uint32Array) return data;
  if (data instanceof BigUint64Array)
    return new Uint32Array(data.buffer, data.byteOffset, data.length * 2);
  throw fail(
    `compressed_segmentation needs a Uint32Array or BigUint64Array, got ${data.constructor.name}`,
  );
}

/** Encodes a chunk for the registry: checks the context, then {@link encodeCompressedSegmentation}. */
function encode(data: TypedArray, ctx: ChunkContext): Uint8Array {
  const fail = encodeFailure(ctx.key);
  checkShape(ctx.shape, fail);
  const dtype = dtypeOf(ctx, fail);
  const blockSize = blockSizeOf(ctx, fail);
  const words = wordsOfVoxels(data, fail);
  const wpe = dtype === "uint64" ? 2 : 1;
  if (data instanceof BigUint64Array !== (wpe === 2))
    throw fail(`compressed_segmentation of ${dtype} got a ${data.constructor.name}`);
  const expected = voxelsPerChannel(ctx.shape) * ctx.shape[3] * wpe;
  if (words.length !== expected)
    throw fail(
      `chunk of shape ${shapeText(ctx.shape)} needs ${expected / wpe} voxels, got ${words.length / wpe}`,
    );
  try {
    return encodeCompressedSegmentation(words, ctx.shape, blockSize, dtype);
  } catch (e) {
    if (e instanceof ChunkEncodeError && ctx.key) throw fail(e.message);
    throw e;
  }
}

function decode(bytes: Uint8Array, ctx: ChunkContext): TypedArray {
  const fail = decodeFailure(ctx.key);
  checkShape(ctx.shape, fail);
  const dtype = dtypeOf(ctx, fail);
  const blockSize = blockSizeOf(ctx, fail);
  const words = decodeCompressedSegmentation(bytes, ctx.shape, blockSize, dtype, ctx.key);
  return dtype === "uint64" ? new BigUint64Array(words.buffer, 0, words.length / 2) : words;
}

function decodeInto(
  bytes: Uint8Array,
  ctx: ChunkContext,
  out: TypedArray,
  outShape: readonly [number, number, number, number],
  at: readonly number[],
): void {
  const fail = decodeFailure(ctx.key);
  checkShape(ctx.shape, fail);
  const dtype = dtypeOf(ctx, fail);
  const blockSize = blockSizeOf(ctx, fail);
  const words = wordsOfVoxels(out, fail);
  if (out instanceof BigUint64Array !== (dtype === "uint64"))
    throw fail(`compressed_segmentation of ${dtype} cannot decode into a ${out.constructor.name}`);
  const [X, Y, Z] = outShape;
  if ([0, 1, 2].some((i) => at[i] < 0 || at[i] + ctx.shape[i] > outShape[i]))
    throw new RangeError(
      `chunk ${shapeText(ctx.shape)} at ${at.join(",")} leaves the output ${shapeText(outShape)}`,
    );
  const layout = {
    offset: at[0] + X * (at[1] + Y * at[2]),
    rowStride: X,
    planeStride: X * Y,
    channelStride: X * Y * Z,
  };
  decodeCompressedSegmentation(bytes, ctx.shape, blockSize, dtype, ctx.key, words, layout);
}

/** The `compressed_segmentation` codec (uint32 and uint64; `ctx.blockSize`, default 8x8x8). */
export const compressedSegmentationCodec: ChunkCodec = {
  encoding: "compressed_segmentation",
  dataTypes: ["uint32", "uint64"],
  encode,
  decode,
  decodeInto,
};
