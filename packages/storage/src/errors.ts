/**
 * Typed storage errors. Every message names the URL and key; none ever holds
 * credentials. Catch by class (`err instanceof PreconditionFailedError`) or by
 * `err.name`.
 */

/** Base class of every storage failure. */
export class StorageError extends Error {
  override name = "StorageError";
  constructor(
    message: string,
    /** The storage root URL. */
    readonly url: string,
    /** The key, relative to `url`, if the failure concerns one object. */
    readonly key?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An object read as JSON (`getJson`) that is not valid JSON. */
export class JsonDecodeError extends StorageError {
  override name = "JsonDecodeError";
}

/** A URL that no backend handles, or that is malformed. */
export class InvalidUrlError extends StorageError {
  override name = "InvalidUrlError";
}

/** A key that is empty, absolute, or climbs out of the root with `..`. */
export class InvalidKeyError extends StorageError {
  override name = "InvalidKeyError";
}

/** A write to a read-only backend (http). */
export class ReadOnlyStorageError extends StorageError {
  override name = "ReadOnlyStorageError";
}

/** `ifAbsent` found an object, or `ifVersion` found another version. */
export class PreconditionFailedError extends StorageError {
  override name = "PreconditionFailedError";
}

/** 401/403: missing or insufficient credentials. Not retried. */
export class PermissionDeniedError extends StorageError {
  override name = "PermissionDeniedError";
}

/** A 4xx other than 401/403/404/412/429: the request itself is wrong. Not retried. */
export class RequestError extends StorageError {
  override name = "RequestError";
  constructor(
    message: string,
    url: string,
    key: string | undefined,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, url, key, options);
  }
}

/** A failure worth retrying (429, 5xx, reset, timeout); raised once retries are exhausted. */
export class TransientError extends StorageError {
  override name = "TransientError";
  constructor(
    message: string,
    url: string,
    key: string | undefined,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, url, key, options);
  }
}

/** Downloaded bytes whose MD5 does not match the stored checksum (after retries). */
export class IntegrityError extends StorageError {
  override name = "IntegrityError";
}

/** Stored bytes that do not decompress with the codec they claim. */
export class DecompressionError extends StorageError {
  override name = "DecompressionError";
}

/**
 * Stored bytes that inflate to more than the reader allowed (`maxBytes`):
 * a decompression bomb, or an object far larger than what was expected at
 * that key. Inflation stops as soon as the limit is passed, so the memory
 * a bomb can take is bounded by the limit.
 */
export class DecompressionLimitError extends DecompressionError {
  override name = "DecompressionLimitError";
  constructor(
    message: string,
    url: string,
    key: string | undefined,
    /** The most bytes the reader allowed. */
    readonly limit: number,
    options?: { cause?: unknown },
  ) {
    super(message, url, key, options);
  }
}

/**
 * The caller's `AbortSignal` fired. `cause` holds the signal's reason. Like the
 * platform's own abort errors its `name` is `"AbortError"`, so
 * `err.name === "AbortError"` catches both.
 */
export class AbortError extends StorageError {
  override name = "AbortError";
}

/** The backend cannot do this operation at all (e.g. listing over plain http). */
export class NotSupportedError extends StorageError {
  override name = "NotSupportedError";
}
