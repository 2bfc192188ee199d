import { PrecomputedError } from "../errors";

/** An invalid bounding box or an impossible operation on one. Names the bbox. */
export class BboxError extends PrecomputedError {
  override name = "BboxError";
  constructor(
    message: string,
    /** The offending bbox as text (chunk-name form or the raw input). */
    readonly bbox?: string,
  ) {
    super(bbox === undefined ? message : `bbox ${bbox}: ${message}`);
  }
}
