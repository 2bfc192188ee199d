/**
 * Pipelines: stages run one after another, each starting when the previous
 * one is complete — beyond Igneous, which leaves the ordering to the user.
 * Tasks of a step go through a queue; workers in this process (`workers`)
 * or elsewhere (`ngpipe execute`) run them, and the step is complete when the
 * queue holds nothing enqueued or leased. A task that dies stops the
 * pipeline with its error, instead of letting later stages read half a layer.
 */
import { openQueue, poll, type Queue, type TaskInput } from "@ngpipe/queue";
import { createTaskContext, executeTask, type TaskPayload } from "@ngpipe/tasks";
import { createProgress } from "./progress";

/** One step: a name and the (lazily created) tasks it runs. */
export interface PipelineStep {
  name: string;
  tasks: () => Promise<Iterable<TaskPayload> | AsyncIterable<TaskPayload>>;
  /**
   * A step of several phases (connected components): made when the step
   * starts, each phase run as a step of its own, in order.
   */
  phases?: () => Promise<PipelineStep[]>;
}

/** Options of {@link runPipeline}. */
export interface PipelineOptions {
  /** Queue URL the steps' tasks go through. */
  queue: string;
  /** Workers in this process (poll concurrency). 0 = external workers; only wait. Default 1. */
  workers?: number;
  leaseSeconds?: number;
  maxAttempts?: number;
  quiet?: boolean;
  signal?: AbortSignal;
  /** Called after each step with its summary. */
  onStep?: (step: StepResult) => void;
}

/** What one step did. */
export interface StepResult {
  name: string;
  tasks: number;
  seconds: number;
}

/** A step whose tasks ended in the dead-letter queue. */
export class PipelineStepError extends Error {
  override name = "PipelineStepError";
}

async function drain(
  queue: Queue,
  o: PipelineOptions,
  label: string,
  total: number,
): Promise<void> {
  const progress = createProgress(label, { quiet: o.quiet });
  progress.setTotal(total);
  const deadBefore = (await queue.status()).dead ?? 0;
  let firstError: unknown;
  let done = 0;
  let dead = 0;
  if ((o.workers ?? 1) > 0) {
    // This step's tasks are all the queue holds: stop as soon as each has
    // succeeded or died, instead of waiting for the queue to look empty
    // (which takes SQS long polls and repeated empty checks).
    const finished = new AbortController();
    await poll(
      queue,
      async (task, tctx) => {
        await executeTask(task, createTaskContext({ signal: tctx.signal }));
      },
      {
        concurrency: o.workers ?? 1,
        leaseSeconds: o.leaseSeconds ?? 300,
        maxAttempts: o.maxAttempts ?? 3,
        stopWhenEmpty: true,
        signal: o.signal ? AbortSignal.any([o.signal, finished.signal]) : finished.signal,
        waitSeconds: Math.min(queue.longPollSeconds ?? 0, 1),
        backoff: { initialMs: 20, maxMs: 500 },
        onEvent: (e) => {
          if (e.type === "succeeded") {
            done++;
            progress.tick();
          }
          if (e.type === "dead") {
            dead++;
            firstError ??= e.error;
          }
          if (done + dead >= total) finished.abort();
        },
      },
    );
    o.signal?.throwIfAborted();
  }
  if (done + dead < total) {
    // Workers elsewhere (or leases of crashed ones still to lapse): watch the
    // counts. SQS's are approximate, so "nothing left" must be seen twice.
    let ticked = done;
    let zeros = 0;
    for (;;) {
      const s = await queue.status();
      const left = s.enqueued + s.leased;
      const seen = Math.max(0, Math.min(total, total - left));
      if (seen > ticked) {
        progress.tick(seen - ticked);
        ticked = seen;
      }
      if (left === 0) {
        if (++zeros >= 2) {
          dead = Math.max(dead, (s.dead ?? 0) - deadBefore);
          break;
        }
      } else zeros = 0;
      await new Promise((r) => setTimeout(r, 500));
      o.signal?.throwIfAborted();
    }
  }
  progress.stop();
  if (dead > 0) {
    const why = firstError instanceof Error ? `: ${firstError.message}` : "";
    throw new PipelineStepError(
      `step "${label}": ${dead} task(s) failed for good and are in the dead-letter queue of ${queue.url}${why}`,
    );
  }
}

/** Run the steps in order through the queue. */
export async function runPipeline(
  steps: PipelineStep[],
  o: PipelineOptions,
): Promise<StepResult[]> {
  const queue = await openQueue(o.queue, { create: true });
  const results: StepResult[] = [];
  for (const step of steps) {
    if (step.phases) {
      results.push(...(await runPipeline(await step.phases(), o)));
      continue;
    }
    const started = Date.now();
    const tasks = (await step.tasks()) as AsyncIterable<TaskInput>;
    const n = await queue.insert(tasks, { signal: o.signal });
    await drain(queue, o, step.name, n);
    const r = { name: step.name, tasks: n, seconds: (Date.now() - started) / 1000 };
    results.push(r);
    o.onStep?.(r);
  }
  return results;
}
