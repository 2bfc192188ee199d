/**
 * Typed queue errors. Every message names the queue URL and, where one is
 * concerned, the task id. Catch by class (`err instanceof LeaseLostError`) or
 * by `err.name`.
 */

/** Base class of every queue failure. */
export class QueueError extends Error {
  override name = "QueueError";
  constructor(
    message: string,
    /** The queue URL. */
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A URL no backend handles, or that is malformed (`fq://` without a path, ...). */
export class InvalidQueueUrlError extends QueueError {
  override name = "InvalidQueueUrlError";
}

/** The queue does not exist (SQS) and was not opened with `create: true`. */
export class QueueNotFoundError extends QueueError {
  override name = "QueueNotFoundError";
}

/**
 * A task refused at insert time: not a plain object, unknown fields, a
 * missing name, params that are not JSON, or a bad id. `index` is the task's
 * position in the inserted sequence and `field` the offending field.
 */
export class InvalidTaskError extends QueueError {
  override name = "InvalidTaskError";
  constructor(
    message: string,
    url: string,
    /** Position of the task in the iterable given to `insert`. */
    readonly index: number,
    /** The offending field (`name`, `params.a.b`, `id`, ...), if any. */
    readonly field?: string,
  ) {
    super(message, url);
  }
}

/** A task whose JSON encoding exceeds the queue's payload limit (256 KiB, as SQS). */
export class PayloadTooLargeError extends InvalidTaskError {
  override name = "PayloadTooLargeError";
}

/**
 * The lease is no longer held: it expired and another worker took the task,
 * or the task was deleted or purged. The caller must stop working on it.
 */
export class LeaseLostError extends QueueError {
  override name = "LeaseLostError";
  constructor(
    message: string,
    url: string,
    /** The task id of the lost lease. */
    readonly taskId: string,
    options?: { cause?: unknown },
  ) {
    super(message, url, options);
  }
}

/** An operation the backend cannot perform (e.g. `releaseAll` on SQS). */
export class UnsupportedOperationError extends QueueError {
  override name = "UnsupportedOperationError";
}
