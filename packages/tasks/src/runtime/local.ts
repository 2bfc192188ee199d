/**
 * Running tasks in this process without a queue, as python-task-queue's
 * `LocalTaskQueue(parallel=N).insert(tasks)` does: for scripts, notebooks
 * and tests. For many machines, insert the same payloads into a queue.
 */
import { forEachLimit } from "@ngpipe/storage";
import { createTaskContext, type TaskContext } from "./context";
import { executeTask, type TaskPayload } from "./define";

/** Options of {@link executeTasks}. */
export interface ExecuteTasksOptions {
  /** Tasks at once (default 1). */
  parallel?: number;
  /** Stops handing out tasks; those running see it as their context's signal. */
  signal?: AbortSignal;
  /** Called after each task with the number done so far. */
  onProgress?: (done: number) => void;
  /** The context tasks run with (default: a fresh one on `signal`). */
  context?: TaskContext;
}

/** What {@link executeTasks} did. */
export interface ExecuteTasksResult {
  /** Tasks that ran to completion. */
  done: number;
  /** Each task's return value, in the order the tasks were given. */
  results: unknown[];
}

/**
 * Runs task payloads (any iterable or async iterable, e.g. a TaskSet) in
 * this process, `parallel` at a time, pulling them lazily. The first task to
 * fail stops the hand-out; the call rejects with its error once the tasks
 * already running have finished (so nothing is left half-written behind).
 *
 * ```ts
 * const { done } = await executeTasks(await createDownsampleTasks(url), { parallel: 4 });
 * ```
 */
export async function executeTasks(
  tasks: Iterable<TaskPayload | unknown> | AsyncIterable<TaskPayload | unknown>,
  options: ExecuteTasksOptions = {},
): Promise<ExecuteTasksResult> {
  const ctx = options.context ?? createTaskContext({ signal: options.signal });
  const results: unknown[] = [];
  let done = 0;
  await forEachLimit(
    tasks,
    options.parallel ?? 1,
    async (task, at) => {
      results[at] = await executeTask(task, ctx);
      done++;
      options.onProgress?.(done);
    },
    { signal: options.signal },
  );
  return { done, results };
}
