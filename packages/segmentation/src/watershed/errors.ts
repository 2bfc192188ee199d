/**
 * Typed errors of the watershed, region-graph and agglomeration kernels.
 * Messages name the argument or option at fault and say what was expected.
 */

/**
 * An affinity map (or a label array beside it) that the kernels cannot use:
 * a shape that is not [x, y, z, 3], a data length that does not match the
 * shape, an element type other than float32 or uint8, or a NaN affinity.
 */
export class AffinityInputError extends Error {
  override name = "AffinityInputError";
  constructor(
    message: string,
    /** The argument or field at fault (`aff`, `shape`, `labels`, ...). */
    readonly field: string,
  ) {
    super(message);
  }
}

/**
 * A watershed or agglomeration option out of range: thresholds outside
 * [0, 1], `low` above `high`, negative sizes, an unknown method.
 */
export class SegmentationOptionError extends Error {
  override name = "SegmentationOptionError";
  constructor(
    message: string,
    /** The option at fault (`low`, `merge[1][0]`, `threshold`, ...). */
    readonly option: string,
  ) {
    super(message);
  }
}
