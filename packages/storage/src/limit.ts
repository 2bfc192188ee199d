/**
 * Bounded concurrency: the one helper every ngpipe package uses to run async
 * work over many items with a limit on calls in flight.
 *
 * @ngpipe/queue bundles this file at build time (it depends on no other
 * ngpipe package at run time), importing it by relative path.
 */

/** Items of {@link forEachLimit}: an array, or any iterable or async iterable, pulled lazily. */
export type LimitInput<T> = readonly T[] | Iterable<T> | AsyncIterable<T>;

/** Options of {@link forEachLimit}. */
export interface LimitOptions {
  /** Stops handing out items when it aborts; the call then rejects with its reason. */
  signal?: AbortSignal;
}

/**
 * Calls `fn` on every item of `items`, at most `limit` calls in flight,
 * pulling items only as a call becomes free (a million-item generator is
 * never materialised; pulls from an async iterator are serialised).
 *
 * - The first failure (a rejected or throwing call, or a failing iterator)
 *   stops the hand-out; the call rejects with that error once the calls
 *   already in flight have settled, so nothing runs on behind the caller.
 * - An abort of `signal` stops the hand-out the same way; the call rejects
 *   with the signal's reason unless a call failed first.
 * - An iterator left early is closed (`return()`), so generators run their
 *   `finally` blocks. No rejection is ever left unhandled.
 *
 * @example
 * await forEachLimit(keys, 32, async (key) => {
 *   await dst.put(key, await src.get(key));
 * }, { signal });
 */
export async function forEachLimit<T>(
  items: LimitInput<T>,
  limit: number,
  fn: (item: T, index: number) => Promise<unknown> | unknown,
  opts: LimitOptions = {},
): Promise<void> {
  const { signal } = opts;
  const slots = Math.max(1, Math.floor(limit) || 1);
  let failure: { error: unknown } | undefined;
  const stopped = () => failure !== undefined || signal?.aborted === true;
  let index = 0;

  if (Array.isArray(items)) {
    const list = items as readonly T[];
    const worker = async (): Promise<void> => {
      while (index < list.length && !stopped()) {
        const i = index++;
        try {
          await fn(list[i], i);
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(slots, list.length) }, worker));
  } else {
    const source = items as Iterable<T> & AsyncIterable<T>;
    const asyncIt = typeof source[Symbol.asyncIterator] === "function";
    const it: Iterator<T> | AsyncIterator<T> = asyncIt
      ? source[Symbol.asyncIterator]()
      : source[Symbol.iterator]();
    let exhausted = false;
    let gate: Promise<unknown> = Promise.resolve();
    // Not every async iterator tolerates overlapping next() calls: chain them.
    const pull = (): Promise<IteratorResult<T>> | IteratorResult<T> => {
      if (!asyncIt) return it.next() as IteratorResult<T>;
      const p = gate.then(() => it.next());
      gate = p.catch(() => {});
      return p;
    };
    const worker = async (): Promise<void> => {
      while (!exhausted && !stopped()) {
        let r: IteratorResult<T>;
        try {
          r = await pull();
        } catch (error) {
          exhausted = true;
          failure ??= { error };
          return;
        }
        if (r.done) {
          exhausted = true;
          return;
        }
        if (stopped()) return;
        const i = index++;
        try {
          await fn(r.value, i);
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: slots }, worker));
    if (!exhausted) {
      try {
        await it.return?.();
      } catch (error) {
        failure ??= { error };
      }
    }
  }
  if (failure !== undefined) throw failure.error;
  signal?.throwIfAborted();
}
