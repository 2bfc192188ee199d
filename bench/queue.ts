/**
 * Queue throughput: inserts/s of small tasks into mem://, fq:// and sqs://
 * (moto on loopback), and lease+delete cycles/s through `poll` with 1 and 4
 * concurrent (no-op) handlers.
 *
 *   npx tsx bench/queue.ts [inserts=100000] [cycles-fq=20000] [cycles-sqs=300] [moto-inserts=1000]
 *
 * QUEUE_BENCH=mem,fq,stub,moto (the default) selects the backends.
 *
 * Reference: python-task-queue documents about 3,000 inserts/s to SQS from
 * one core with batching.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openQueue, poll, type Queue, type TaskInput } from "@ngpipe/queue";
import { startMoto } from "../test/support/moto";

const inserts = Number(process.argv[2] ?? 100_000);
const cyclesFq = Number(process.argv[3] ?? 20_000);
const cyclesSqs = Number(process.argv[4] ?? 300);
// moto's SendMessage is O(queue length) (it recounts the queue per message),
// so inserting 100,000 into moto is quadratic: a smaller count is timed there,
// and the full count against a stub endpoint that only acknowledges.
const motoInserts = Number(process.argv[5] ?? 1_000);
const selected = new Set((process.env.QUEUE_BENCH ?? "mem,fq,stub,moto").split(","));

/**
 * A loopback HTTP server speaking just enough of SQS's JSON protocol
 * (GetQueueUrl, SendMessageBatch) to time the client side of inserts:
 * validation, JSON, request signing, HTTP and batching.
 */
async function startSqsStub(): Promise<{ server: Server; endpoint: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const op = String(req.headers["x-amz-target"] ?? "").split(".")[1];
      const body = JSON.parse(Buffer.concat(chunks).toString() || "{}");
      let out: unknown = {};
      if (op === "GetQueueUrl")
        out = { QueueUrl: `http://127.0.0.1/000000000000/${body.QueueName}` };
      else if (op === "SendMessageBatch") {
        out = {
          Successful: body.Entries.map((e: { Id: string; MessageBody: string }) => ({
            Id: e.Id,
            MessageId: randomUUID(),
            MD5OfMessageBody: createHash("md5").update(e.MessageBody).digest("hex"),
          })),
          Failed: [],
        };
      }
      res.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
      res.end(JSON.stringify(out));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return { server, endpoint: `http://127.0.0.1:${port}` };
}

function* tasks(n: number): Generator<TaskInput> {
  for (let i = 0; i < n; i++) yield { name: "bench", params: { i, bbox: [0, 0, 0, 64, 64, 64] } };
}

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

const rows: string[] = [];
function report(backend: string, what: string, n: number, seconds: number) {
  const rate = Math.round(n / seconds);
  rows.push(`| ${backend} | ${what} | ${n} | ${seconds.toFixed(2)} | ${rate} |`);
  console.log(
    `${backend.padEnd(14)} ${what.padEnd(28)} ${n} in ${seconds.toFixed(2)} s: ${rate}/s`,
  );
}

async function bench(label: string, open: () => Promise<Queue>, cycles: number) {
  const q = await open();
  await q.purge();
  report(label, "insert", inserts, await timeIt(() => q.insert(tasks(inserts))));
  await q.purge();
  for (const concurrency of [1, 4]) {
    await q.insert(tasks(cycles));
    await drain(label, q, cycles, concurrency);
    await q.purge();
  }
  await q.close();
}

async function drain(label: string, q: Queue, n: number, concurrency: number) {
  const s = await timeIt(() =>
    poll(q, () => {}, {
      concurrency,
      leaseSeconds: 60,
      stopWhenEmpty: true,
      waitSeconds: 0,
      backoff: { initialMs: 5, maxMs: 20 },
    }),
  );
  report(label, `lease+delete, concurrency ${concurrency}`, n, s);
}

async function main() {
  if (selected.has("mem")) await bench("mem://", () => openQueue("mem://bench"), inserts);
  if (selected.has("fq")) {
    const dir = mkdtempSync(join(tmpdir(), "ngpipe-bench-fq-"));
    try {
      await bench("fq://", () => openQueue(`fq://${dir}`), cyclesFq);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  process.env.AWS_ACCESS_KEY_ID ??= "testing";
  process.env.AWS_SECRET_ACCESS_KEY ??= "testing";
  if (selected.has("stub")) {
    const stub = await startSqsStub();
    try {
      const q = await openQueue("sqs://stub", { endpoint: stub.endpoint });
      report("sqs:// (stub)", "insert", inserts, await timeIt(() => q.insert(tasks(inserts))));
      await q.close();
    } finally {
      stub.server.close();
    }
  }
  const moto = selected.has("moto")
    ? await startMoto().catch((err) => {
        console.log(`skipping sqs:// (moto unavailable: ${err.message})`);
        return undefined;
      })
    : undefined;
  if (moto) {
    try {
      // SQS allows one PurgeQueue per minute: a fresh queue per phase instead.
      let n = 0;
      const fresh = () =>
        openQueue(`sqs://bench-${n++}`, { endpoint: moto.endpoint, create: true });
      const label = "sqs:// (moto)";
      const q = await fresh();
      report(label, "insert", motoInserts, await timeIt(() => q.insert(tasks(motoInserts))));
      await q.close();
      for (const concurrency of [1, 4]) {
        const c = await fresh();
        await c.insert(tasks(cyclesSqs));
        await drain(label, c, cyclesSqs, concurrency);
        await c.close();
      }
    } finally {
      await moto.stop();
    }
  }
  console.log("\n| backend | operation | tasks | seconds | tasks/s |\n|---|---|---|---|---|");
  console.log(rows.join("\n"));
  console.log(
    `\nQUEUE_BENCH=${[...selected].join(",")} npx tsx bench/queue.ts ${inserts} ${cyclesFq} ${cyclesSqs} ${motoInserts}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
