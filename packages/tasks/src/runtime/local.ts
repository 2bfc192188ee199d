/**
 * Running tasks in this process without a queue, as python-task-queue's
 * `LocalTaskQueue(parallel=N).insert(tasks)` does: for scripts, notebooks
 * and tests. For many machines, insert the same payloads into a queue.
 */
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
  const parallel = Math.max(1, Math.floor(options.parallel ?? 1));
  const ctx = options.context ?? createTaskContext({ signal: options.signal });
  const it =
    Symbol.asyncIterator in (tasks as object)
      ? (tasks as AsyncIterable<unknown>)[Symbol.asyncIterator]()
      : (tasks as Iterable<unknown>)[Symbol.iterator]();
  const results: unknown[] = [];
  let index = 0;
  let done = 0;
  let failure: { error: unknown } | undefined;
  let pulling: Promise<unknown> = Promise.resolve();
  const next = (): Promise<IteratorResult<unknown>> => {
    // One pull at a time from the (possibly async) iterator.
    const p = pulling.then(() => it.next());
    pulling = p.catch(() => {});
    return p;
  };
  const worker = async (): Promise<void> => {
    while (failure === undefined && !options.signal?.aborted) {
      let r: IteratorResult<unknown>;
      try {
        r = await next();
      } catch (error) {
        // The task source failed: stop like a failed task.
        failure ??= { error };
        return;
      }
      if (r.done) return;
      const at = index++;
      try {
        results[at] = await executeTask(r.value, ctx);
      } catch (error) {
        failure ??= { error };
        return;
      }
      done++;
      options.onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  if (failure) {
    // Let a generator clean up (finally blocks) when we stop early.
    await Promise.resolve(it.return?.()).catch(() => {});
    throw failure.error;
  }
  options.signal?.throwIfAborted();
  return { done, results };
}
