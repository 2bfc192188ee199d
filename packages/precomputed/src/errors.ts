/**
 * Typed errors of @ngpipe/precomputed. Messages say what went wrong, where
 * (key, URL, field or bbox) and, where it helps, what to do.
 */

/** Base class of every precomputed-format error. */
export class PrecomputedError extends Error {
  override name = "PrecomputedError";
}

/**
 * A pool worker died while running a kernel (it exited, or ran out of heap).
 * Names the kernel; the pool replaces the worker, so later calls work.
 */
export class KernelCrashError extends PrecomputedError {
  override name = "KernelCrashError";
  constructor(
    message: string,
    /** Kernel module file and function name. */
    readonly kernel: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * An array whose shape is malformed or does not match its data (wrong
 * number of axes, negative sizes, too few or too many elements).
 */
export class ArrayShapeError extends PrecomputedError {
  override name = "ArrayShapeError";
}

/** Stored chunk bytes that do not decode (corrupt, truncated, wrong size). Names the chunk key. */
export class ChunkDecodeError extends PrecomputedError {
  override name = "ChunkDecodeError";
  constructor(
    message: string,
    readonly key?: string,
    options?: { cause?: unknown },
  ) {
    super(key ? `${key}: ${message}` : message, options);
  }
}

/** Voxels that a codec cannot encode (wrong dtype, wrong length for the shape). */
export class ChunkEncodeError extends PrecomputedError {
  override name = "ChunkEncodeError";
}

/** An `encoding` with no codec in the registry. */
export class UnknownEncodingError extends PrecomputedError {
  override name = "UnknownEncodingError";
}
