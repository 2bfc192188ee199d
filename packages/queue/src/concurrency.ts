/** Small async helpers: abortable sleep and batching (bounded concurrency is in limit.ts). */

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
