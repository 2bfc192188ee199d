/**
 * How every stage command runs its tasks: inserted into a queue when
 * `--queue` is given (workers elsewhere run them with `ngpipe execute`), or
 * at once in this process, `parallel` at a time, with a progress bar.
 */
import { openQueue, type TaskInput } from "@ngpipe/queue";
import { createTaskContext, executeTask, type TaskPayload } from "@ngpipe/tasks";
import { createProgress } from "./progress";

/** Options of {@link runTasks}. */
export interface RunTasksOptions {
  /** Queue URL; when set, tasks are inserted instead of run. */
  queue?: string;
  /** Tasks at once when running here (default 1). */
  parallel?: number;
  quiet?: boolean;
  signal?: AbortSignal;
  /** Number of tasks, when known, for the progress bar's ETA. */
  total?: number;
}

/** What {@link runTasks} did. */
export interface RunTasksResult {
  /** Tasks run here, or inserted into the queue. */
  count: number;
  inserted: boolean;
  seconds: number;
}

/** Run (or enqueue) a lazily created sequence of tasks. */
export async function runTasks(
  label: string,
  tasks: AsyncIterable<TaskPayload> | Iterable<TaskPayload>,
  options: RunTasksOptions = {},
): Promise<RunTasksResult> {
  const started = Date.now();
  const progress = createProgress(label, { quiet: options.quiet });
  const known = (tasks as { count?: unknown }).count;
  const total = options.total ?? (typeof known === "number" ? known : undefined);
  if (total !== undefined) progress.setTotal(total);
  if (options.queue) {
    const queue = await openQueue(options.queue, { create: true });
    let n = 0;
    try {
      n = await queue.insert(tasks as AsyncIterable<TaskInput>, {
        signal: options.signal,
        onProgress: (k) => {
          progress.tick(k - n);
          n = k;
        },
      });
    } finally {
      progress.stop();
      await (queue as { close?: () => Promise<void> }).close?.();
    }
    return { count: n, inserted: true, seconds: (Date.now() - started) / 1000 };
  }

  const ctx = createTaskContext({ signal: options.signal });
  const it =
    Symbol.asyncIterator in tasks
      ? (tasks as AsyncIterable<TaskPayload>)[Symbol.asyncIterator]()
      : (tasks as Iterable<TaskPayload>)[Symbol.iterator]();
  let count = 0;
  let failed: unknown;
  let pulling: Promise<unknown> = Promise.resolve();
  const next = async (): Promise<IteratorResult<TaskPayload>> => {
    // Serialise pulls from the (async) generator.
    const p = pulling.then(() => it.next());
    pulling = p.catch(() => {});
    return p;
  };
  const worker = async () => {
    while (failed === undefined) {
      options.signal?.throwIfAborted();
      const r = await next();
      if (r.done) return;
      count++;
      if (total === undefined) progress.setTotal(count);
      try {
        await executeTask(r.value, ctx);
      } catch (e) {
        failed ??= e;
        return;
      }
      progress.tick();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.parallel ?? 1) }, worker));
  } finally {
    progress.stop();
  }
  if (failed !== undefined) throw failed;
  return { count, inserted: false, seconds: (Date.now() - started) / 1000 };
}
