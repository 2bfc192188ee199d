/**
 * A worker process for the crash-safety and signal tests, run as
 * `node --import tsx worker.ts` with its settings in the environment:
 * QUEUE_URL, MARKERS (directory), LOG (file), LEASE_SECONDS, CONCURRENCY,
 * TASK_MS, SQS_ENDPOINT (optional). Each task appends its id to LOG (one line
 * per execution) and writes MARKERS/<id> idempotently (temp file + rename).
 * Prints "ready" once polling and "started <id>" as each task starts.
 */
import { appendFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { openQueue, poll } from "../index";

const env = process.env;
const markers = env.MARKERS!;
const log = env.LOG!;
const taskMs = Number(env.TASK_MS ?? 10);

async function main(): Promise<void> {
  const queue = await openQueue(env.QUEUE_URL!, { endpoint: env.SQS_ENDPOINT });
  process.stdout.write("ready\n");
  const summary = await poll(
    queue,
    async (task) => {
      process.stdout.write(`started ${task.id}\n`);
      appendFileSync(log, `${task.id}\n`);
      await new Promise((r) => setTimeout(r, taskMs * (0.5 + Math.random())));
      const tmp = join(markers, `.${task.id}.${process.pid}.tmp`);
      await writeFile(tmp, task.id);
      await rename(tmp, join(markers, task.id));
    },
    {
      leaseSeconds: Number(env.LEASE_SECONDS ?? 1),
      concurrency: Number(env.CONCURRENCY ?? 2),
      maxAttempts: 1000,
      stopWhenEmpty: true,
      waitSeconds: 0,
      handleSignals: true,
      backoff: { initialMs: 20, maxMs: 200 },
    },
  );
  await queue.close();
  process.stdout.write(`done ${JSON.stringify(summary)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
