/**
 * Maps failures of the cloud SDKs (HTTP statuses, socket errors) to the typed
 * storage errors, the same way for gs:// and s3://. Messages name the URL and
 * key and a short reason; the SDK error is kept as `cause` only as a bare
 * {name, code, message} copy, so request headers (and credentials) never ride
 * along in an error.
 */
import {
  PermissionDeniedError,
  PreconditionFailedError,
  RequestError,
  StorageError,
  TransientError,
} from "./errors";

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

// Matched on messages too: some SDK layers wrap socket errors and drop `code`.
const NETWORK_MESSAGE = new RegExp(
  `socket hang up|premature close|timed? ?out|aborted|network|${[...NETWORK_CODES].join("|")}`,
  "i",
);

/** Strip anything that looks like a credential from a message. */
export function scrubSecrets(text: string): string {
  return text
    .replace(/-----BEGIN [^-]*PRIVATE KEY-----[\s\S]*?(-----END [^-]*PRIVATE KEY-----|$)/g, "[key]")
    .replace(/(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, "$1 [redacted]")
    .replace(
      /(Credential|Signature|X-Amz-Security-Token|access_token)=[^&\s,"]+/gi,
      "$1=[redacted]",
    )
    .replace(/\b(AKIA|ASIA)[A-Z0-9]{12,}\b/g, "[access-key]");
}

/** Whether the error is a user abort (AbortSignal), which is passed through unchanged. */
export function isAbort(err: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  const name = (err as { name?: string } | null)?.name;
  return name === "AbortError";
}

function bareCause(err: unknown): Error {
  const e = err as { name?: string; code?: unknown; message?: string } | null;
  const copy = new Error(scrubSecrets(String(e?.message ?? err)).slice(0, 500));
  copy.name = String(e?.name ?? "Error");
  if (e?.code !== undefined) (copy as Error & { code?: unknown }).code = e.code;
  return copy;
}

/** Whether a failure without an HTTP status is a dropped or timed-out connection. */
export function isNetworkError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: string; cause?: unknown; name?: string } | null;
  if (!e) return false;
  if (typeof e.code === "string" && NETWORK_CODES.has(e.code)) return true;
  if (e.name === "TimeoutError" || e.name === "RequestTimeout") return true;
  if (typeof e.message === "string" && NETWORK_MESSAGE.test(e.message)) return true;
  return e.cause !== undefined && e.cause !== err && isNetworkError(e.cause);
}

/**
 * The typed error for a failed request. `status` is the HTTP status when the
 * service answered; `reason` a short service error code or message.
 */
export function cloudError(
  err: unknown,
  status: number | undefined,
  op: string,
  url: string,
  key: string | undefined,
  reason?: string,
): StorageError {
  const where = key === undefined ? url : `${url}/${key}`;
  const why = scrubSecrets(reason ?? (err as { message?: string } | null)?.message ?? String(err))
    .split("\n")[0]
    .slice(0, 200);
  const cause = bareCause(err);
  const msg = (what: string) => `${op} ${where}: ${what}${why ? ` (${why})` : ""}`;
  if (status === 401 || status === 403) {
    return new PermissionDeniedError(
      msg(`permission denied (${status}); check the credentials for this bucket`),
      url,
      key,
      { cause },
    );
  }
  if (status === 412)
    return new PreconditionFailedError(msg("precondition failed (412)"), url, key, { cause });
  if (status === 408 || status === 429 || (status !== undefined && status >= 500)) {
    return new TransientError(msg(`transient failure (${status})`), url, key, status, { cause });
  }
  if (status !== undefined && status >= 400) {
    return new RequestError(msg(`request failed (${status})`), url, key, status, { cause });
  }
  if (isNetworkError(err)) {
    return new TransientError(msg("connection failed"), url, key, undefined, { cause });
  }
  return new StorageError(msg("failed"), url, key, { cause });
}
