/**
 * The worker loop: lease, run, delete on success, retry on failure,
 * dead-letter after `maxAttempts`, renew leases while handlers run, back off
 * when the queue is empty, and stop cleanly on SIGTERM/SIGINT.
 */
import { sleep as realSleep } from "./concurrency";
import { LeaseLostError } from "./errors";
import type { Lease, Queue, QueuedTask } from "./types";

/** The longest delay a Node timer can hold. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What a handler receives beside the task. */
export interface HandlerContext {
  /** The lease (attempt, expiry). The loop renews it; do not delete it yourself. */
  lease: Lease;
  /** 1 on the first run of this task, 2 on the first retry, ... */
  attempt: number;
  /** Aborted when the loop abandons the task (hard timeout, lease lost, forced stop). */
  signal: AbortSignal;
}

/** Runs one task; throw (or reject) to fail it. */
export type TaskHandler = (task: QueuedTask, context: HandlerContext) => unknown;

/** Progress events, e.g. for a progress bar with an ETA. */
export type PollEvent =
  | { type: "leased"; lease: Lease }
  | { type: "succeeded"; lease: Lease; ms: number }
  | { type: "failed"; lease: Lease; error: unknown; ms: number }
  | { type: "dead"; lease: Lease; error: unknown }
  | { type: "lost"; lease: Lease; error: unknown }
  | { type: "released"; lease: Lease }
  | { type: "idle"; waitMs: number }
  | { type: "error"; error: unknown }
  | { type: "stopping"; reason: string };

/** Options of `poll`. */
export interface PollOptions {
  /** Lease duration; renewed automatically while a handler runs (default 60). */
  leaseSeconds?: number;
  /** Renew this often (default: a third of `leaseSeconds`). */
  renewSeconds?: number;
  /** Tasks run at once in this process (default 1). */
  concurrency?: number;
  /** After this many failed attempts a task goes to the dead-letter queue (default 5). */
  maxAttempts?: number;
  /**
   * A handler still running after this long is abandoned and counted as
   * failed (default 3600). `Infinity`, or anything over 2^31 - 1 ms (about
   * 24.8 days, the longest Node timer), means no hard timeout.
   */
  timeoutSeconds?: number;
  /** A failed task becomes visible again after this long (default 0). */
  retryDelaySeconds?: number;
  /** Return once the queue holds nothing enqueued or leased. */
  stopWhenEmpty?: boolean;
  /** Stop leasing when aborted, then finish the tasks in hand. */
  signal?: AbortSignal;
  /** Stop on SIGTERM/SIGINT as on `signal`; a second signal exits at once. */
  handleSignals?: boolean;
  /** After a stop, release tasks still running after this long (default: wait for them). */
  stopTimeoutSeconds?: number;
  /** Seconds one lease call may wait for a task (default: the queue's long-poll time, else 0). */
  waitSeconds?: number;
  /** Empty-queue backoff: first delay and cap in ms (defaults 100 and 10,000). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Progress callback. */
  onEvent?: (event: PollEvent) => void;
  /** Injectable sleep (for tests). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injectable randomness for backoff jitter (for tests). */
  random?: () => number;
  /** Called on a second signal (default `process.exit`). */
  exit?: (code: number) => void;
}

/** What `poll` did. */
export interface PollSummary {
  /** Tasks leased (including ones that were then abandoned). */
  leased: number;
  succeeded: number;
  /** Failed attempts that were released for a retry (or abandoned). */
  failed: number;
  /** Tasks moved to the dead-letter queue. */
  dead: number;
  /** Leases lost to expiry while running. */
  lost: number;
  /** Why the loop ended: "empty", "signal", "SIGTERM", "SIGINT". */
  stoppedBy: string;
}

type Outcome =
  | { kind: "ok" }
  | { kind: "error"; error: unknown }
  | { kind: "timeout"; error: Error }
  | { kind: "lost"; error: unknown }
  | { kind: "stopped" };

const SIGNAL_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/** `initialMs * 2^(n-1)` capped at `maxMs`, with "equal jitter" (half fixed, half random). */
export function backoffDelay(n: number, initialMs: number, maxMs: number, random: () => number) {
  const d = Math.min(maxMs, initialMs * 2 ** Math.min(30, Math.max(0, n - 1)));
  return d / 2 + (random() * d) / 2;
}

/**
 * Run `handler` on tasks from `queue` until stopped (or, with
 * `stopWhenEmpty`, until the queue is drained).
 *
 * @example
 * const summary = await poll(queue, async (task) => runTask(task), {
 *   leaseSeconds: 60, concurrency: 4, maxAttempts: 3, handleSignals: true,
 * });
 */
export async function poll(
  queue: Queue,
  handler: TaskHandler,
  options: PollOptions = {},
): Promise<PollSummary> {
  const leaseSeconds = options.leaseSeconds ?? 60;
  const renewMs = (options.renewSeconds ?? leaseSeconds / 3) * 1000;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const maxAttempts = options.maxAttempts ?? 5;
  const timeoutMs = (options.timeoutSeconds ?? 3600) * 1000;
  if (!(timeoutMs > 0))
    throw new RangeError(`timeoutSeconds must be > 0, got ${options.timeoutSeconds}`);
  const retryDelay = options.retryDelaySeconds ?? 0;
  const waitSeconds = options.waitSeconds ?? queue.longPollSeconds ?? 0;
  const initialMs = options.backoff?.initialMs ?? 100;
  const maxMs = options.backoff?.maxMs ?? 10_000;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const emit = (e: PollEvent) => {
    try {
      options.onEvent?.(e);
    } catch {
      // A broken progress callback must not stop the worker.
    }
  };

  const summary: PollSummary = {
    leased: 0,
    succeeded: 0,
    failed: 0,
    dead: 0,
    lost: 0,
    stoppedBy: "",
  };
  const stop = new AbortController();
  const stopped = new Promise<void>((r) => stop.signal.addEventListener("abort", () => r()));
  const requestStop = (reason: string) => {
    if (stop.signal.aborted) return;
    summary.stoppedBy = reason;
    emit({ type: "stopping", reason });
    stop.abort();
  };
  const onAbort = () => requestStop("signal");
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort);
  const onSignal = (sig: NodeJS.Signals) => {
    if (stop.signal.aborted) (options.exit ?? process.exit)(SIGNAL_CODES[sig] ?? 1);
    else requestStop(sig);
  };
  if (options.handleSignals) {
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  }

  const abandonHooks = new Set<() => void>();

  async function run(lease: Lease): Promise<void> {
    summary.leased++;
    emit({ type: "leased", lease });
    const started = Date.now();
    if (lease.attempt > maxAttempts) {
      const error = new Error(
        `task ${lease.task.id} was leased ${lease.attempt} times (maxAttempts ${maxAttempts}) without completing: its workers crashed or lost the lease`,
      );
      return finishFailure(lease, error, false, started);
    }
    const ac = new AbortController();
    let renewing: Promise<void> = Promise.resolve();
    let settle!: (o: Outcome) => void;
    const outcome = new Promise<Outcome>((r) => (settle = r));
    let renewTimer: NodeJS.Timeout | undefined;
    // Once the task has an outcome no renewal may be scheduled again (one
    // in flight at that moment would otherwise re-arm the timer and keep a
    // released or failed task hidden, and the process alive, for ever).
    let settled = false;
    const scheduleRenew = () => {
      if (settled) return;
      renewTimer = setTimeout(() => {
        renewing = queue.renew(lease, leaseSeconds).then(scheduleRenew, (error) => {
          if (error instanceof LeaseLostError) settle({ kind: "lost", error });
          else {
            emit({ type: "error", error });
            scheduleRenew();
          }
        });
      }, renewMs);
    };
    scheduleRenew();
    // Node timers hold at most 2^31 - 1 ms (~24.8 days); a longer (or
    // infinite) timeout means none, not an overflow that fires at once.
    const hardTimer =
      timeoutMs <= MAX_TIMER_MS
        ? setTimeout(
            () =>
              settle({
                kind: "timeout",
                error: new Error(
                  `task ${lease.task.id} (${lease.task.name}) was abandoned after running ${timeoutMs / 1000} s`,
                ),
              }),
            timeoutMs,
          )
        : undefined;
    const abandon = () => settle({ kind: "stopped" });
    abandonHooks.add(abandon);
    Promise.resolve()
      .then(() => handler(lease.task, { lease, attempt: lease.attempt, signal: ac.signal }))
      .then(
        () => settle({ kind: "ok" }),
        (error) => settle({ kind: "error", error }),
      );
    const o = await outcome;
    settled = true;
    clearTimeout(renewTimer);
    clearTimeout(hardTimer);
    abandonHooks.delete(abandon);
    if (o.kind !== "ok" && o.kind !== "error") ac.abort(o.kind === "stopped" ? "stopped" : o.error);
    // A renewal in progress changes the fq:// handle: let it land first.
    await renewing;
    clearTimeout(renewTimer);
    const ms = Date.now() - started;
    try {
      switch (o.kind) {
        case "ok":
          try {
            await queue.delete(lease);
          } catch (error) {
            if (!(error instanceof LeaseLostError)) throw error;
            summary.lost++;
            emit({ type: "lost", lease, error });
          }
          summary.succeeded++;
          emit({ type: "succeeded", lease, ms });
          return;
        case "lost":
          summary.lost++;
          emit({ type: "lost", lease, error: o.error });
          return;
        case "stopped":
          await queue.release(lease);
          emit({ type: "released", lease });
          return;
        default:
          return await finishFailure(lease, o.error, true, started);
      }
    } catch (error) {
      if (error instanceof LeaseLostError) {
        summary.lost++;
        emit({ type: "lost", lease, error });
      } else emit({ type: "error", error });
    }
  }

  async function finishFailure(lease: Lease, error: unknown, ran: boolean, started: number) {
    try {
      if (lease.attempt >= maxAttempts) {
        await queue.deadLetter(lease, error);
        summary.dead++;
        emit({ type: "dead", lease, error });
      } else {
        await queue.release(lease, retryDelay);
        summary.failed++;
        emit({ type: "failed", lease, error, ms: ran ? Date.now() - started : 0 });
      }
    } catch (err) {
      if (err instanceof LeaseLostError) {
        summary.lost++;
        emit({ type: "lost", lease, error: err });
      } else emit({ type: "error", error: err });
    }
  }

  const inFlight = new Set<Promise<void>>();
  let empty = 0;
  let drainedChecks = 0;
  try {
    while (!stop.signal.aborted) {
      const room = concurrency - inFlight.size;
      if (room === 0) {
        await Promise.race([...inFlight, stopped]);
        continue;
      }
      let leases: Lease[] = [];
      try {
        leases = await queue.lease({
          seconds: leaseSeconds,
          count: room,
          waitSeconds: inFlight.size > 0 ? 0 : waitSeconds,
          signal: stop.signal,
        });
      } catch (error) {
        emit({ type: "error", error });
      }
      if (leases.length > 0) {
        empty = 0;
        drainedChecks = 0;
        for (const lease of leases) {
          const p: Promise<void> = run(lease).finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
        continue;
      }
      if (stop.signal.aborted) break;
      if (options.stopWhenEmpty && inFlight.size === 0) {
        try {
          const s = await queue.status();
          // Two observations in a row: SQS counts are approximate.
          if (s.enqueued + s.leased === 0 && ++drainedChecks >= 2) {
            summary.stoppedBy = "empty";
            break;
          }
          if (s.enqueued + s.leased > 0) drainedChecks = 0;
        } catch (error) {
          emit({ type: "error", error });
        }
      }
      const waitMs = backoffDelay(++empty, initialMs, maxMs, random);
      emit({ type: "idle", waitMs });
      await Promise.race([sleep(waitMs, stop.signal), ...inFlight]);
    }
    if (inFlight.size > 0 && options.stopTimeoutSeconds !== undefined) {
      const grace = new AbortController();
      await Promise.race([
        Promise.all(inFlight),
        sleep(options.stopTimeoutSeconds * 1000, grace.signal),
      ]);
      grace.abort();
      for (const abandon of abandonHooks) abandon();
    }
    await Promise.all(inFlight);
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    if (options.handleSignals) {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    }
  }
  return summary;
}
