/**
 * Batch calls of the storage layer (getMany, putMany, ...): one result per
 * item, a failing item never stopping the others, run through
 * {@link forEachLimit}.
 */

import { forEachLimit, type LimitInput } from "./limit";
import type { BatchResult, ProgressCallback } from "./types";

/** Items of a batch: an array, or any (async) iterable, consumed lazily. */
export type BatchInput<T> = LimitInput<T>;

/** How {@link runPool} runs. */
export interface PoolOptions {
  concurrency: number;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /** Receives each result as it settles; when given, results are not collected (an empty array is returned). */
  onResult?: (result: BatchResult<unknown>) => void;
}

/**
 * Calls `work` on every item with at most `concurrency` calls in flight and
 * returns one result per item, in input order. A failing item never stops the
 * others. When `signal` aborts, no new item starts and the pool rejects with
 * `onAbort()` once the items in flight have settled; a failing iterable
 * rejects with its error the same way.
 */
export async function runPool<T, R>(
  input: BatchInput<T>,
  keyOf: (item: T) => string,
  work: (item: T) => Promise<R>,
  opts: PoolOptions,
  onAbort: () => Error,
): Promise<BatchResult<R>[]> {
  const { signal, onProgress, onResult } = opts;
  const total = Array.isArray(input) ? input.length : undefined;
  const results: BatchResult<R>[] = total === undefined ? [] : new Array(total);
  let done = 0;
  try {
    await forEachLimit(
      input,
      opts.concurrency,
      async (item, i) => {
        let result: BatchResult<R>;
        let key = "";
        try {
          key = keyOf(item);
          result = { key, ok: true, value: await work(item) };
        } catch (error) {
          result = { key, ok: false, error: error as Error };
        }
        if (onResult !== undefined) onResult(result);
        else results[i] = result;
        onProgress?.(++done, total);
      },
      { signal },
    );
  } catch (err) {
    if (signal?.aborted) throw onAbort();
    throw err;
  }
  return results;
}

/** Receives the outcome of one item's work in {@link runPoolOfCalls}, exactly once. */
export type ItemDone<R> = (ok: boolean, valueOrError: R | unknown) => void;

/**
 * {@link runPool} for an array of items whose work reports by callback:
 * the same results, order, concurrency bound, progress and abort
 * behaviour, with no async function or promise per item. For batches of
 * many small reads (a 4 KiB file:// read costs about as much as the
 * promises and closures around it). `start` must call `done` exactly once,
 * and may call it before it returns; if it throws instead, that is the
 * item's error.
 */
export function runPoolOfCalls<T, R>(
  items: readonly T[],
  keyOf: (item: T) => string,
  start: (item: T, done: ItemDone<R>) => void,
  opts: PoolOptions,
  onAbort: () => Error,
): Promise<BatchResult<R>[]> {
  const { signal, onProgress, onResult } = opts;
  const total = items.length;
  const slots = Math.max(1, Math.floor(opts.concurrency) || 1);
  const results: BatchResult<R>[] = new Array(total);
  return new Promise((resolve, reject) => {
    let next = 0;
    let inFlight = 0;
    let done = 0;
    let pumping = false;
    let failure: { error: unknown } | undefined;
    const stopped = () => failure !== undefined || signal?.aborted === true;
    const finish = (i: number, result: BatchResult<R>) => {
      inFlight--;
      try {
        if (onResult !== undefined) onResult(result);
        else results[i] = result;
        onProgress?.(++done, total);
      } catch (error) {
        failure ??= { error };
      }
      if (!pumping) pump();
    };
    // Returned, not assigned, so that no per-item function is renamed by
    // esbuild's keepNames (what tsx runs sources with).
    const reporter = (i: number, key: string): ItemDone<R> => {
      let settled = false;
      return (ok, v) => {
        if (settled) return;
        settled = true;
        finish(i, ok ? { key, ok: true, value: v as R } : { key, ok: false, error: v as Error });
      };
    };
    const launch = (i: number) => {
      const item = items[i];
      let key: string;
      try {
        key = keyOf(item);
      } catch (error) {
        finish(i, { key: "", ok: false, error: error as Error });
        return;
      }
      const report = reporter(i, key);
      try {
        start(item, report);
      } catch (error) {
        report(false, error);
      }
    };
    const pump = () => {
      pumping = true;
      while (inFlight < slots && next < total && !stopped()) {
        inFlight++;
        launch(next++);
      }
      pumping = false;
      if (inFlight > 0 || (next < total && !stopped())) return;
      if (failure !== undefined) reject(failure.error);
      else if (signal?.aborted) reject(onAbort());
      else resolve(onResult !== undefined ? [] : results);
    };
    pump();
  });
}
