/** Small async helpers: abortable sleep and bounded-concurrency streaming. */

/** Resolve after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Pull items from `items` lazily and run `fn` on each with at most
 * `concurrency` in flight. Stops pulling at the first failure (or abort),
 * waits for what is in flight, and rethrows the first error.
 */
export async function forEachConcurrent<T>(
  items: Iterable<T> | AsyncIterable<T>,
  concurrency: number,
  fn: (item: T, index: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  let failure: { err: unknown } | undefined;
  let index = 0;
  try {
    for await (const item of items as AsyncIterable<T>) {
      if (failure || signal?.aborted) break;
      const p: Promise<void> = fn(item, index++).then(
        () => {
          inFlight.delete(p);
        },
        (err) => {
          inFlight.delete(p);
          failure ??= { err };
        },
      );
      inFlight.add(p);
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
  } catch (err) {
    failure ??= { err };
  }
  await Promise.all(inFlight);
  if (failure) throw failure.err;
}

/** Group a (possibly async) iterable into arrays, closing a group by count or by `full`. */
export async function* batch<T>(
  items: Iterable<T> | AsyncIterable<T>,
  maxCount: number,
  full?: (group: T[], next: T) => boolean,
): AsyncGenerator<T[]> {
  let group: T[] = [];
  for await (const item of items as AsyncIterable<T>) {
    if (group.length >= maxCount || (group.length > 0 && full?.(group, item))) {
      yield group;
      group = [];
    }
    group.push(item);
  }
  if (group.length > 0) yield group;
}
