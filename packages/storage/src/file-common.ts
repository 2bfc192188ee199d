/**
 * What file:// shares between `FileBackend` (async, on the event loop) and
 * `file-sync.ts` (synchronous, in pool threads), so that both name their
 * temporaries alike and turn the same failures into the same typed errors.
 */
import { PermissionDeniedError, StorageError, TransientError } from "./errors";

/**
 * A temporary of an in-flight write: `.<name>.ngpipe-<pid>-<n>.tmp` beside
 * the object `<name>` it is for (`.ngpipe-<pid>-<n>.tmp` before 2026-12);
 * group 1 is `<name>`.
 */
export const TEMP_NAME = /^\.(?:(.*)\.)?ngpipe-\d+-\d+\.tmp$/;

/**
 * A temporary older than this is left over from a killed writer (a write
 * of one object takes seconds; the default task lease is 10 minutes) and
 * the first write into its directory removes it.
 */
export const STALE_TEMP_MS = 10 * 60_000;

/** Error codes of a file operation that may succeed when retried: out of descriptors, EAGAIN, EBUSY. */
export const TRANSIENT_FILE_CODES: ReadonlySet<string> = new Set([
  "EMFILE",
  "ENFILE",
  "EAGAIN",
  "EBUSY",
]);

/**
 * The typed error of a failed file operation with error `code`:
 * `PermissionDeniedError` for EACCES/EPERM/EROFS, `TransientError` for
 * {@link TRANSIENT_FILE_CODES}, `StorageError` otherwise, named by the
 * storage's `url` and the `key` (undefined for the whole storage).
 */
export function fileError(
  msg: string,
  url: string,
  key: string | undefined,
  code: string | undefined,
  cause: unknown,
): StorageError {
  if (code === "EACCES" || code === "EPERM" || code === "EROFS")
    return new PermissionDeniedError(msg, url, key, { cause });
  if (code !== undefined && TRANSIENT_FILE_CODES.has(code))
    return new TransientError(msg, url, key, undefined, { cause });
  return new StorageError(msg, url, key, { cause });
}
