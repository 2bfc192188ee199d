/**
 * The worker pool behind every batch call: N async workers pulling items from
 * one source. Arrays are indexed directly; other iterables are pulled one item
 * at a time, so a million-key listing never sits in memory.
 */

import type { BatchResult, ProgressCallback } from "./types";

/** Items of a batch: an array, or any (async) iterable, consumed lazily. */
export type BatchInput<T> = readonly T[] | Iterable<T> | AsyncIterable<T>;

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
 * `onAbort()` once the items in flight have settled.
 */
export async function runPool<T, R>(
  input: BatchInput<T>,
  keyOf: (item: T) => string,
  work: (item: T) => Promise<R>,
  opts: PoolOptions,
  onAbort: () => Error,
): Promise<BatchResult<R>[]> {
  const { signal, onProgress, onResult } = opts;
  const concurrency = Math.max(1, Math.floor(opts.concurrency) || 1);
  let done = 0;

  if (Array.isArray(input)) {
    const items = input as readonly T[];
    const total = items.length;
    const results: BatchResult<R>[] = new Array(total);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total && !signal?.aborted) {
        const i = next++;
        const item = items[i];
        let key = "";
        try {
          key = keyOf(item);
          results[i] = { key, ok: true, value: await work(item) };
        } catch (error) {
          results[i] = { key, ok: false, error: error as Error };
        }
        if (onResult !== undefined) onResult(results[i]);
        done++;
        onProgress?.(done, total);
      }
    };
    const workers: Promise<void>[] = [];
    for (let w = Math.min(concurrency, total); w > 0; w--) workers.push(worker());
    await Promise.all(workers);
    if (signal?.aborted) throw onAbort();
    return results;
  }

  const results: BatchResult<R>[] = [];
  const asyncIt = (input as AsyncIterable<T>)[Symbol.asyncIterator];
  const syncIt = (input as Iterable<T>)[Symbol.iterator];
  let pull: () => Promise<IteratorResult<T>> | IteratorResult<T>;
  if (asyncIt !== undefined) {
    const it = asyncIt.call(input);
    // Serialise pulls: not every async iterator tolerates concurrent next().
    let gate: Promise<unknown> = Promise.resolve();
    pull = () => {
      const p = gate.then(() => it.next());
      gate = p.catch(() => {});
      return p;
    };
  } else {
    const it = syncIt.call(input);
    pull = () => it.next();
  }
  let index = 0;
  let exhausted = false;
  let sourceError: unknown;
  const worker = async (): Promise<void> => {
    while (!exhausted && !signal?.aborted) {
      let r: IteratorResult<T>;
      try {
        const p = pull();
        r = p instanceof Promise ? await p : p;
      } catch (err) {
        exhausted = true;
        sourceError ??= err;
        return;
      }
      if (r.done) {
        exhausted = true;
        return;
      }
      const i = index++;
      const item = r.value;
      let key = "";
      let result: BatchResult<R>;
      try {
        key = keyOf(item);
        result = { key, ok: true, value: await work(item) };
      } catch (error) {
        result = { key, ok: false, error: error as Error };
      }
      if (onResult !== undefined) onResult(result);
      else results[i] = result;
      done++;
      onProgress?.(done, undefined);
    }
  };
  const workers: Promise<void>[] = [];
  for (let w = concurrency; w > 0; w--) workers.push(worker());
  await Promise.all(workers);
  if (signal?.aborted) throw onAbort();
  if (sourceError !== undefined) throw sourceError;
  return results;
}
