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
