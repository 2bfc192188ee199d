/**
 * How every stage command runs its tasks: inserted into a queue when
 * `--queue` is given (workers elsewhere run them with `ngpipe execute`), or
 * at once in this process, `parallel` at a time, with a progress bar.
 */
import { openQueue, type TaskInput } from "@ngpipe/queue";
import { forEachLimit } from "@ngpipe/storage";
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
  let count = 0;
  try {
    await forEachLimit(
      tasks as Iterable<TaskPayload> | AsyncIterable<TaskPayload>,
      options.parallel ?? 1,
      async (task) => {
        count++;
        if (total === undefined) progress.setTotal(count);
        await executeTask(task, ctx);
        progress.tick();
      },
      { signal: options.signal },
    );
  } finally {
    progress.stop();
  }
  return { count, inserted: false, seconds: (Date.now() - started) / 1000 };
}
