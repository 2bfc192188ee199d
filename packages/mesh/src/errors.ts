/**
 * Typed errors of @ngpipe/mesh. Messages say what went wrong and where (key,
 * field) so a failed task log is enough to find the bad object.
 */

/** Base class of every mesh error. */
export class MeshError extends Error {
  override name = "MeshError";
}

/** Stored mesh bytes (fragment or manifest) that do not decode. Names the key when known. */
export class MeshDecodeError extends MeshError {
  override name = "MeshDecodeError";
  constructor(
    message: string,
    readonly key?: string,
    options?: { cause?: unknown },
  ) {
    super(key ? `${key}: ${message}` : message, options);
  }
}

/** Arguments a mesh kernel cannot work with (shape/length mismatch, bad resolution, ...). */
export class MeshInputError extends MeshError {
  override name = "MeshInputError";
}
