/** `ngpipe execute` (the worker) and `ngpipe queue status|dead|redrive|release|purge|wait`. */
import { openQueue, type PollEvent, poll, type QueueStatus } from "@ngpipe/queue";
import { createTaskContext, executeTask } from "@ngpipe/tasks";
import { type Command, Option } from "commander";
import { parseIntArg, parseNumberArg } from "../args";
import { DeadTasksError } from "../errors";
import { createProgress } from "../progress";

/**
 * Where the dead letters of a queue are, for messages: a directory for fq://
 * (or a bare path, which means fq://), else the queue.
 */
export function deadLetterPlace(url: string): string {
  if (url.startsWith("fq://")) return `${url.slice("fq://".length).replace(/\/+$/, "")}/dead/`;
  if (!url.includes("://")) return `${url.replace(/\/+$/, "")}/dead/`;
  return `the dead-letter queue of ${url}`;
}

/** One line of `queue dead`: id, name and the first line of the error, tab-separated. */
function deadLine(d: { task: { id: string; name: string }; error?: { message: string } }): string {
  const message = d.error ? d.error.message.split("\n", 1)[0] : "(no error recorded)";
  return `${d.task.id}\t${d.task.name}\t${message}\n`;
}

/**
 * Resolve once the queue holds nothing enqueued or leased, to its status
 * then. SQS's counts are approximate, so "nothing left" must be read twice
 * in a row (one interval apart) before it is believed.
 */
export async function waitForQueue(
  url: string,
  options: { intervalMs?: number; signal?: AbortSignal; onStatus?: (left: number) => void } = {},
): Promise<QueueStatus> {
  const queue = await openQueue(url);
  let zeros = 0;
  for (;;) {
    const s = await queue.status();
    const left = s.enqueued + s.leased;
    options.onStatus?.(left);
    if (left === 0) {
      if (++zeros >= 2) return s;
    } else zeros = 0;
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 1000));
    options.signal?.throwIfAborted();
  }
}

export function registerQueueCommands(program: Command): void {
  program
    .command("execute")
    .summary(
      "the worker: lease tasks from a queue and run them until stopped (SIGTERM stops cleanly)",
    )
    .description(
      "the worker: lease tasks from a queue and run them until stopped (SIGTERM stops cleanly).\n" +
        "Exit code 0 when no task died; 1 when a task it ran went to the dead-letter queue\n" +
        "after --max-attempts failures, or on an error.",
    )
    .argument("<queue>", "queue URL: fq:///dir (or a bare path), sqs://name, mem://name")
    .option("--lease-seconds <n>", "lease duration, renewed while a task runs", "600")
    .option("-c, --concurrency <n>", "tasks at once in this process", "1")
    .option("--max-attempts <n>", "failures before a task goes to the dead-letter queue", "5")
    .option("--exit-when-empty", "stop once the queue is drained")
    .option("--timeout-seconds <n>", "abandon a task running longer than this", "86400")
    // The spellings Igneous users type, kept out of the help.
    .addOption(new Option("-x, --exit-on-empty").hideHelp())
    .addOption(new Option("--lease-sec <n>").hideHelp())
    .addOption(new Option("-p <n>").hideHelp())
    .action(async (url: string, o) => {
      const options = {
        leaseSeconds:
          o.leaseSec === undefined
            ? parseIntArg(o.leaseSeconds, "--lease-seconds", 1)
            : parseIntArg(o.leaseSec, "--lease-sec", 1),
        concurrency:
          o.p === undefined
            ? parseIntArg(o.concurrency, "--concurrency", 1)
            : parseIntArg(o.p, "-p", 1),
        maxAttempts: parseIntArg(o.maxAttempts, "--max-attempts", 1),
        timeoutSeconds: parseIntArg(o.timeoutSeconds, "--timeout-seconds", 1),
      };
      const queue = await openQueue(url);
      // A queue that does not exist fails here, naming it, instead of
      // being polled (or created) as if it were empty.
      await queue.status();
      const progress = createProgress("execute", { quiet: program.opts().quiet });
      const summary = await poll(
        queue,
        async (task, tctx) => {
          await executeTask(task, createTaskContext({ signal: tctx.signal }));
        },
        {
          ...options,
          stopWhenEmpty: Boolean(o.exitWhenEmpty || o.exitOnEmpty),
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
      if (summary.dead > 0)
        throw new DeadTasksError(
          `${summary.dead} task(s) failed for good during this run; they are in ${deadLetterPlace(queue.url)} (list them with: ngpipe queue dead ${queue.url}; retry with: ngpipe queue redrive ${queue.url})`,
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
  q.command("dead")
    .argument("<queue>")
    .option("--limit <n>", "list at most this many")
    .summary("list the dead-lettered tasks: id, name and error, one per line")
    .description(
      "list the tasks in the dead-letter queue, one per line: id, name and the error\n" +
        "that put it there, tab-separated. They stay there (see `queue redrive`).",
    )
    .action(async (url: string, o) => {
      const limit = o.limit === undefined ? undefined : parseIntArg(o.limit, "--limit", 0);
      const queue = await openQueue(url);
      try {
        for (const d of await queue.dead({ limit })) process.stdout.write(deadLine(d));
      } finally {
        await queue.close();
      }
    });
  q.command("redrive")
    .argument("<queue>")
    .option("--limit <n>", "send back at most this many")
    .summary("send dead-lettered tasks back into the queue for another try")
    .description(
      "send dead-lettered tasks back into the queue as new tasks (attempt count reset,\n" +
        "error records removed), e.g. after fixing the credentials that made them fail.\n" +
        "Prints how many were sent back. Safe to run from several places at once.",
    )
    .action(async (url: string, o) => {
      const limit = o.limit === undefined ? undefined : parseIntArg(o.limit, "--limit", 0);
      const queue = await openQueue(url);
      try {
        const n = await queue.redrive({ limit });
        process.stdout.write(`sent ${n} task(s) back to ${queue.url}\n`);
      } finally {
        await queue.close();
      }
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
    .summary("block until the queue has nothing enqueued or leased")
    .description(
      "block until the queue has nothing enqueued or leased.\n" +
        "Exit code 0 when every task completed; 1 when the queue holds dead tasks\n" +
        "(so `ngpipe queue wait Q && ngpipe mesh merge L` stops after failed tasks).",
    )
    .action(async (url: string, o) => {
      const intervalMs = parseNumberArg(o.interval, "--interval") * 1000;
      let shown = -1;
      const s = await waitForQueue(url, {
        intervalMs,
        onStatus: (left) => {
          if (left !== shown && !program.opts().quiet)
            process.stderr.write(`${left} task(s) left\n`);
          shown = left;
        },
      });
      if ((s.dead ?? 0) > 0)
        throw new DeadTasksError(
          `${s.dead} task(s) of ${url} failed for good; they are in ${deadLetterPlace(url)} (list them with: ngpipe queue dead ${url}; retry with: ngpipe queue redrive ${url})`,
        );
    });
}
