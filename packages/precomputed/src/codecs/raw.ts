/**
 * The `raw` chunk encoding: voxels stored as they are, little-endian, x
 * fastest, then y, z and channel (planar channels), no header.
 */
import { allocTyped, bytesPerVoxel, DATA_TYPES, type TypedArray, viewTyped } from "../dtypes";
import { ChunkDecodeError } from "../errors";
import { checkShape, decodeFailure, encodeFailure, shapeText, voxelsPerChannel } from "./common";
import type { ChunkCodec, ChunkContext } from "./types";

/**
 * Bytes of a raw chunk. Returns a view of the same memory as `data` (no copy).
 * Assumes a little-endian host, as every platform Node runs on is.
 */
export function encodeRaw(data: TypedArray, ctx: ChunkContext): Uint8Array {
  const fail = encodeFailure(ctx.key);
  checkShape(ctx.shape, fail);
  const expected = voxelsPerChannel(ctx.shape) * ctx.shape[3];
  if (data.length !== expected)
    throw fail(
      `raw chunk of shape ${shapeText(ctx.shape)} needs ${expected} voxels, got ${data.length}`,
    );
  if (data.BYTES_PER_ELEMENT !== bytesPerVoxel(ctx.dtype))
    throw fail(`raw chunk of ${ctx.dtype} got a ${data.constructor.name}`);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Voxels of a raw chunk: a typed-array view of `bytes` without copying when
 * its offset is aligned to the voxel size, a copy otherwise.
 * @throws ChunkDecodeError when the byte length is not shape x bytes per voxel.
 */
export function decodeRaw(bytes: Uint8Array, ctx: ChunkContext): TypedArray {
  checkShape(ctx.shape, decodeFailure(ctx.key));
  const bpv = bytesPerVoxel(ctx.dtype);
  const n = voxelsPerChannel(ctx.shape) * ctx.shape[3];
  if (bytes.byteLength !== n * bpv)
    throw new ChunkDecodeError(
      `raw chunk is ${bytes.byteLength} bytes, but shape ${shapeText(ctx.shape)} of ${ctx.dtype} needs ${n * bpv}`,
      ctx.key,
    );
  if (bytes.byteOffset % bpv === 0) return viewTyped(ctx.dtype, bytes.buffer, bytes.byteOffset, n);
  const out = allocTyped(ctx.dtype, n);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** The `raw` codec: every data type. */
export const rawCodec: ChunkCodec = {
  encoding: "raw",
  dataTypes: DATA_TYPES,
  encode: encodeRaw,
  decode: decodeRaw,
};
