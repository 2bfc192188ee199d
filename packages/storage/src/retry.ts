/**
 * The retry policy of every storage request: transient failures (429, 5xx,
 * resets, timeouts, MD5 mismatches) are retried with full-jitter exponential
 * backoff; everything else fails at once. Backends never retry on their own.
 */

import { setMaxListeners } from "node:events";
import { AbortError, IntegrityError, StorageError, TransientError } from "./errors";

/** How {@link withRetries} retries. Every field has a default. */
export interface RetryPolicy {
  /** Retries after the first attempt. Default 6. */
  retries?: number;
  /** Base of the exponential backoff, ms. Default 100. */
  retryBaseMs?: number;
  /** Cap of one backoff delay, ms. Default 10_000. */
  retryMaxMs?: number;
  /**
   * Timeout of one whole attempt (every request `fn` makes), ms; a timed-out
   * attempt counts as transient. Default 60_000. 0 disables: `Storage` passes 0
   * for long transfers on backends that bound each request themselves.
   */
  timeoutMs?: number;
  /** Which errors to retry. Default {@link isRetryableError}. */
  isRetryable?: (err: unknown) => boolean;
}

/** What a failure is about, for the messages of timeout and abort errors. */
export interface RetryContext {
  url: string;
  key?: string;
  /** Short name of the operation, e.g. `"get"`. */
  op?: string;
  /** Turns the error {@link withRetries} would reject with into the one it rejects with. */
  finalError?: (err: unknown) => unknown;
}

const RETRYABLE_CODES = new Set([
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "EMFILE",
  "ENFILE",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/**
 * The default retry predicate: {@link TransientError}, {@link IntegrityError}
 * (a corrupted download is worth fetching again) and raw network errors with a
 * code such as `ECONNRESET`. Storage errors of any other class are permanent.
 */
export function isRetryableError(err: unknown): boolean {
  if (err instanceof TransientError || err instanceof IntegrityError) return true;
  if (err instanceof StorageError) return false;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && RETRYABLE_CODES.has(code);
}

/** Full-jitter backoff: a uniform delay in `[0, min(max, base * 2^attempt))`. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.random() * Math.min(maxMs, baseMs * 2 ** attempt);
}

function abortError(signal: AbortSignal, ctx: RetryContext): AbortError {
  const where = ctx.key === undefined ? ctx.url : `${ctx.url} key ${ctx.key}`;
  return new AbortError(`${ctx.op ?? "request"} aborted: ${where}`, ctx.url, ctx.key, {
    cause: signal.reason,
  });
}

/**
 * `p`, or, as soon as `signal` fires (or if it has), a rejection with
 * `reason()` (default: the signal's reason), whichever comes first: for
 * work that takes no signal itself, which then finishes in the background
 * with its outcome dropped.
 */
export function abortable<T>(
  p: Promise<T>,
  signal: AbortSignal | undefined,
  reason: () => unknown = () => signal?.reason,
): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reason());
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** Whether `err` is any flavour of abort error (ours, DOMException, Node's). */
export function isAbortError(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === "AbortError";
}

class AttemptTimeout extends Error {}

/** One attempt in flight: settled once, by its own outcome, a timeout or an abort. */
class PendingAttempt {
  settled = false;
  constructor(
    readonly done: AttemptDone<unknown>,
    readonly pending: Set<PendingAttempt>,
  ) {
    pending.add(this);
  }
  fail(reason: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.done(false, reason);
  }
  /** The attempt's own outcome, unless a timeout or an abort settled it first. */
  finish(ok: boolean, valueOrError: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.pending.delete(this);
    this.done(ok, valueOrError);
  }
}

/**
 * Receives the outcome of one attempt run by {@link attemptWith}: `ok` and
 * the value, or not `ok` and the error (a timeout, the caller's abort
 * reason, or what the attempt rejected with).
 */
export type AttemptDone<T> = (ok: boolean, valueOrError: T | unknown) => void;

/**
 * Attempts that start within one short window (a tenth of the timeout) share
 * one AbortController and one timer. A controller per attempt would cost more
 * than a small local file read; sharing keeps every attempt's timeout between
 * `timeoutMs` and `1.1 * timeoutMs`.
 */
class Bucket {
  readonly ac = new AbortController();
  readonly pending = new Set<PendingAttempt>();
  constructor(
    private readonly scope: SignalScope,
    readonly start: number,
    timeoutMs: number,
    width: number,
  ) {
    // Many requests listen on this one signal at once.
    setMaxListeners(0, this.ac.signal);
    if (timeoutMs > 0) {
      const timer = setTimeout(() => this.expire(timeoutMs), timeoutMs + width);
      timer.unref?.();
    }
  }

  private expire(timeoutMs: number): void {
    this.scope.drop(this);
    if (this.pending.size > 0) this.fail(new AttemptTimeout(`timed out after ${timeoutMs} ms`));
  }

  fail(reason: unknown): void {
    this.ac.abort(reason);
    for (const p of this.pending) p.fail(reason);
    this.pending.clear();
  }
}

/** The buckets of one caller signal (or none) and one timeout. */
class SignalScope {
  private current: Bucket | undefined;
  private readonly live = new Set<Bucket>();
  private readonly width: number;

  constructor(
    private readonly timeoutMs: number,
    signal: AbortSignal | undefined,
  ) {
    this.width = Math.max(1, timeoutMs / 10);
    signal?.addEventListener(
      "abort",
      () => {
        for (const b of this.live)
          b.fail(signal.reason ?? new DOMException("aborted", "AbortError"));
        this.live.clear();
        this.current = undefined;
      },
      { once: true },
    );
  }

  bucket(): Bucket {
    const now = Date.now();
    let b = this.current;
    if (b === undefined || (this.timeoutMs > 0 && now - b.start >= this.width)) {
      b = new Bucket(this, now, this.timeoutMs, this.width);
      this.current = b;
      this.live.add(b);
    }
    return b;
  }

  drop(b: Bucket): void {
    this.live.delete(b);
    if (this.current === b) this.current = undefined;
  }
}

const unsignalledScopes = new Map<number, SignalScope>();
const signalScopes = new WeakMap<AbortSignal, Map<number, SignalScope>>();

function scopeFor(signal: AbortSignal | undefined, timeoutMs: number): SignalScope {
  let scopes = unsignalledScopes;
  if (signal !== undefined) {
    let m = signalScopes.get(signal);
    if (m === undefined) {
      m = new Map();
      signalScopes.set(signal, m);
    }
    scopes = m;
  }
  let scope = scopes.get(timeoutMs);
  if (scope === undefined) {
    scope = new SignalScope(timeoutMs, signal);
    scopes.set(timeoutMs, scope);
  }
  return scope;
}

/**
 * Runs one attempt with the per-attempt timeout and the caller's signal
 * combined into the signal handed to `fn`. Settles as soon as either fires,
 * even if `fn` ignores its signal.
 */
function attempt<T>(
  fn: (signal: AbortSignal | undefined) => Promise<T>,
  signal: AbortSignal | undefined,
  timeoutMs: number,
): Promise<T> {
  if (timeoutMs <= 0 && signal === undefined) return fn(undefined);
  return new Promise<T>((resolve, reject) =>
    attemptWith(fn, signal, timeoutMs, (ok, v) => (ok ? resolve(v as T) : reject(v))),
  );
}

/**
 * One attempt as {@link withRetries} makes it (the per-attempt timeout and
 * the caller's signal combined into the signal handed to `fn`), reporting
 * to `done` exactly once instead of through a promise.
 */
export function attemptWith<T>(
  fn: (signal: AbortSignal | undefined) => Promise<T>,
  signal: AbortSignal | undefined,
  timeoutMs: number,
  done: AttemptDone<T>,
): void {
  attemptCall(
    (s, report: AttemptDone<T>) => {
      fn(s).then(
        (v) => report(true, v),
        (e) => report(false, e),
      );
    },
    signal,
    timeoutMs,
    done,
  );
}

/**
 * {@link attemptWith} for work that itself reports by callback: `start`
 * gets the attempt's signal and a callback to call exactly once (or it
 * throws, which is the attempt's error). Batch reads make thousands of
 * small attempts, and a promise per attempt, with its reactions and
 * microtask turns, costs about as much as a small local read.
 */
export function attemptCall<T>(
  start: (signal: AbortSignal | undefined, report: AttemptDone<T>) => void,
  signal: AbortSignal | undefined,
  timeoutMs: number,
  done: AttemptDone<T>,
): void {
  if (timeoutMs <= 0 && signal === undefined) {
    try {
      start(undefined, done);
    } catch (e) {
      done(false, e);
    }
    return;
  }
  const bucket = scopeFor(signal, timeoutMs).bucket();
  const p = new PendingAttempt(done as AttemptDone<unknown>, bucket.pending);
  try {
    start(bucket.ac.signal, reporterOf(p));
  } catch (e) {
    p.finish(false, e);
  }
}

/** The callback that settles `p` by its attempt's own outcome (returned, not assigned: see keepNames in pool.ts). */
function reporterOf(p: PendingAttempt): AttemptDone<unknown> {
  return (ok, v) => p.finish(ok, v);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Calls `fn` until it succeeds, it throws a permanent error, or the retries
 * run out (then the last error is thrown). `fn` receives a signal that fires
 * on the caller's abort or on the per-attempt timeout; pass it on to the IO.
 *
 * Aborting `signal` rejects at once with {@link AbortError}, also while
 * waiting between attempts. A timed-out attempt becomes a
 * {@link TransientError} and is retried.
 *
 * @example
 * const bytes = await withRetries((signal) => backend.get("info", { signal }),
 *   { retries: 3 }, signal, { url: backend.url, key: "info", op: "get" });
 */
export function withRetries<T>(
  fn: (signal: AbortSignal | undefined) => Promise<T>,
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  ctx: RetryContext,
): Promise<T> {
  if (signal?.aborted) return Promise.reject(finalError(abortError(signal, ctx), ctx));
  // The first attempt is not awaited inside an async loop: most requests
  // succeed at once, and a small local read costs little more than the
  // promises wrapped around it.
  return attempt(fn, signal, policy.timeoutMs ?? 60_000).catch((err) =>
    retryFailed(err, fn, policy, signal, ctx),
  );
}

function finalError(err: unknown, ctx: RetryContext): unknown {
  return ctx.finalError === undefined ? err : ctx.finalError(err);
}

/**
 * The rest of {@link withRetries} for a call whose first attempt (made by
 * `withRetries` or with {@link attemptWith}) failed with `first`: the
 * remaining retries, then the final error as `withRetries` rejects with it.
 */
export async function retryFailed<T>(
  first: unknown,
  fn: (signal: AbortSignal | undefined) => Promise<T>,
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  ctx: RetryContext,
): Promise<T> {
  const retries = policy.retries ?? 6;
  const base = policy.retryBaseMs ?? 100;
  const max = policy.retryMaxMs ?? 10_000;
  const timeoutMs = policy.timeoutMs ?? 60_000;
  const retryable = policy.isRetryable ?? isRetryableError;
  let err = first;
  for (let i = 0; ; i++) {
    if (signal?.aborted) throw finalError(abortError(signal, ctx), ctx);
    let e = err;
    if (err instanceof AttemptTimeout) {
      const where = ctx.key === undefined ? ctx.url : `${ctx.url} key ${ctx.key}`;
      e = new TransientError(
        `${ctx.op ?? "request"} ${err.message}: ${where}`,
        ctx.url,
        ctx.key,
        undefined,
      );
    }
    let again: boolean;
    try {
      again = i < retries && retryable(e);
    } catch (thrown) {
      throw finalError(thrown, ctx);
    }
    if (!again) throw finalError(e, ctx);
    try {
      await sleep(backoffDelay(i, base, max), signal);
    } catch {
      throw finalError(abortError(signal!, ctx), ctx);
    }
    if (signal?.aborted) throw finalError(abortError(signal, ctx), ctx);
    try {
      return await attempt(fn, signal, timeoutMs);
    } catch (next) {
      err = next;
    }
  }
}
