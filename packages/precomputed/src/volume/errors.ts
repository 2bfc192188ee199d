/** Typed errors of `Volume`. */
import { PrecomputedError } from "../errors";

/** A box that reaches outside the dataset of a bounded volume. */
export class OutOfBoundsError extends PrecomputedError {
  override name = "OutOfBoundsError";
}

/** A chunk that should exist but does not (and `fillMissing` is off). */
export class MissingChunkError extends PrecomputedError {
  override name = "MissingChunkError";
  constructor(
    readonly key: string,
    readonly url: string,
  ) {
    super(
      `missing chunk ${url}/${key}; open the volume with { fillMissing: true } to read missing chunks as background`,
    );
  }
}

/** A write or delete whose box is not aligned to the chunk grid (and no read-modify-write was asked). */
export class AlignmentError extends PrecomputedError {
  override name = "AlignmentError";
}

/** An array whose dtype, channel count or shape does not fit the volume or the box. */
export class ArrayMismatchError extends PrecomputedError {
  override name = "ArrayMismatchError";
}

/**
 * A read whose array would hold more bytes than Node can allocate
 * (`MAX_ARRAY_BYTES`). Names the box; read it in smaller boxes.
 */
export class CutoutTooLargeError extends PrecomputedError {
  override name = "CutoutTooLargeError";
}
