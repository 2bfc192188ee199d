/** `ngpipe execute` (the worker) and `ngpipe queue status|release|purge|wait`. */
import { openQueue, type PollEvent, poll } from "@ngpipe/queue";
import { createTaskContext, executeTask } from "@ngpipe/tasks";
import type { Command } from "commander";
import { parseIntArg } from "../args";
import { createProgress } from "../progress";

/** Resolve once the queue holds nothing enqueued or leased. */
export async function waitForQueue(
  url: string,
  options: { intervalMs?: number; signal?: AbortSignal; onStatus?: (left: number) => void } = {},
): Promise<void> {
  const queue = await openQueue(url);
  for (;;) {
    const s = await queue.status();
    const left = s.enqueued + s.leased;
    options.onStatus?.(left);
    if (left === 0) return;
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 1000));
    options.signal?.throwIfAborted();
  }
}

export function registerQueueCommands(program: Command): void {
  program
    .command("execute")
    .description(
      "the worker: lease tasks from a queue and run them until stopped (SIGTERM stops cleanly)",
    )
    .argument("<queue>", "queue URL: fq:///dir, sqs://name, mem://name")
    .option("--lease-seconds <n>", "lease duration, renewed while a task runs", "600")
    .option("-c, --concurrency <n>", "tasks at once in this process", "1")
    .option("--max-attempts <n>", "failures before a task goes to the dead-letter queue", "5")
    .option("--exit-when-empty", "stop once the queue is drained")
    .option("--timeout-seconds <n>", "abandon a task running longer than this", "86400")
    .action(async (url: string, o) => {
      const queue = await openQueue(url);
      const progress = createProgress("execute", { quiet: program.opts().quiet });
      const summary = await poll(
        queue,
        async (task, tctx) => {
          await executeTask(task, createTaskContext({ signal: tctx.signal }));
        },
        {
          leaseSeconds: parseIntArg(o.leaseSeconds, "--lease-seconds", 1),
          concurrency: parseIntArg(o.concurrency, "--concurrency", 1),
          maxAttempts: parseIntArg(o.maxAttempts, "--max-attempts", 1),
          timeoutSeconds: parseIntArg(o.timeoutSeconds, "--timeout-seconds", 1),
          stopWhenEmpty: Boolean(o.exitWhenEmpty),
          handleSignals: true,
          onEvent: (e: PollEvent) => {
            if (e.type === "succeeded") progress.tick();
            else if (e.type === "failed" || e.type === "dead")
              process.stderr.write(
                `task ${e.lease.task.name} ${e.lease.task.id} ${e.type}: ${String((e.error as Error)?.message ?? e.error)}\n`,
              );
          },
        },
      );
      progress.stop();
      process.stderr.write(
        `executed ${summary.succeeded} task(s), ${summary.failed} failed attempt(s), ${summary.dead} dead; stopped by ${summary.stoppedBy}\n`,
      );
    });

  const q = program.command("queue").description("inspect and manage a task queue");
  q.command("status")
    .argument("<queue>")
    .description("counts: enqueued, leased, completed, inserted, dead")
    .action(async (url: string) => {
      const s = await (await openQueue(url)).status();
      process.stdout.write(
        `${Object.entries(s)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${k}: ${v}`)
          .join("\n")}\n`,
      );
    });
  q.command("release")
    .argument("<queue>")
    .description("release every leased task (fq://, mem://)")
    .action(async (url: string) => {
      const n = await (await openQueue(url)).releaseAll();
      process.stdout.write(`released ${n} task(s)\n`);
    });
  q.command("purge")
    .argument("<queue>")
    .description("remove every task, lease, completion record and dead letter")
    .action(async (url: string) => {
      await (await openQueue(url)).purge();
      process.stdout.write("purged\n");
    });
  q.command("wait")
    .argument("<queue>")
    .option("--interval <seconds>", "seconds between checks", "2")
    .description("block until the queue has nothing enqueued or leased")
    .action(async (url: string, o) => {
      let shown = -1;
      await waitForQueue(url, {
        intervalMs: Number(o.interval) * 1000,
        onStatus: (left) => {
          if (left !== shown && !program.opts().quiet)
            process.stderr.write(`${left} task(s) left\n`);
          shown = left;
        },
      });
    });
}
