/**
 * Small helpers shared by the chunk codecs: shape checks and the messages of
 * the errors they throw.
 */
import { ChunkDecodeError, ChunkEncodeError } from "../errors";
import type { ChunkShape } from "./types";

/** Number of voxels of one channel of a chunk (`sx * sy * sz`). */
export function voxelsPerChannel(shape: ChunkShape): number {
  return shape[0] * shape[1] * shape[2];
}

/** Throws if `shape` is not four non-negative integers (channels >= 1). */
export function checkShape(shape: ChunkShape, fail: (message: string) => Error): void {
  if (
    !Array.isArray(shape) ||
    shape.length !== 4 ||
    !shape.every((n) => Number.isInteger(n) && n >= 0) ||
    shape[3] < 1
  )
    throw fail(`invalid chunk shape ${JSON.stringify(shape)}: expected [x, y, z, channels]`);
}

/** A function building a `ChunkDecodeError` that names `key`. */
export function decodeFailure(key: string | undefined): (message: string) => ChunkDecodeError {
  return (message) => new ChunkDecodeError(message, key);
}

/** A function building a `ChunkEncodeError` that names `key`. */
export function encodeFailure(key: string | undefined): (message: string) => ChunkEncodeError {
  return (message) => new ChunkEncodeError(key ? `${key}: ${message}` : message);
}

/** Formats a shape for messages, e.g. `64x64x64x1`. */
export function shapeText(shape: ChunkShape): string {
  return shape.join("x");
}
