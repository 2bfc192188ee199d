import { randomUUID } from "node:crypto";
import { CreateQueueCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { useMoto } from "../../../test/support/moto";
import { queueConformance } from "./__tests__/conformance";
import { QueueNotFoundError, UnsupportedOperationError } from "./errors";
import { openQueue } from "./open";
import { poll } from "./poll";
import type { SqsQueue } from "./sqs";

const moto = useMoto();
const maybe = moto.available ? test : test.skip;

const fresh = () =>
  openQueue(`sqs://q-${randomUUID().slice(0, 8)}`, { endpoint: moto.endpoint, create: true });

queueConformance(
  "sqs:// (moto)",
  fresh,
  { countsCompletions: false, releaseAll: false, detectsStaleRenew: false },
  moto.available,
);

maybe("a missing queue is a clear error unless create is asked for", async () => {
  const err = await openQueue("sqs://no-such-queue", { endpoint: moto.endpoint }).catch((e) => e);
  expect(err).toBeInstanceOf(QueueNotFoundError);
  expect(err.message).toContain("no-such-queue");
});

maybe("a full queue URL opens the same queue as its name", async () => {
  const a = (await fresh()) as SqsQueue;
  const b = await openQueue(a.queueUrl);
  await a.insert([{ name: "u", id: "u1" }]);
  const [l] = await b.lease({ seconds: 30 });
  expect(l.task.id).toBe("u1");
  await a.close();
  await b.close();
});

maybe("releaseAll says SQS cannot do it", async () => {
  const q = await fresh();
  await expect(q.releaseAll()).rejects.toBeInstanceOf(UnsupportedOperationError);
  await q.close();
});

maybe("dead letters go to <name>-dead with the error kept as message attributes", async () => {
  const q = (await fresh()) as SqsQueue;
  await q.insert([{ name: "p", id: "p1" }]);
  const [l] = await q.lease({ seconds: 30 });
  await q.deadLetter(l, new Error("broken input"));
  const dead = (await openQueue(`sqs://${q.name}-dead`, { endpoint: moto.endpoint })) as SqsQueue;
  const { ReceiveMessageCommand } = await import("@aws-sdk/client-sqs");
  const res = await dead.client.send(
    new ReceiveMessageCommand({ QueueUrl: dead.queueUrl, MessageAttributeNames: ["All"] }),
  );
  const m = res.Messages![0];
  expect(JSON.parse(m.Body!)).toEqual({ name: "p", params: {}, id: "p1" });
  expect(m.MessageAttributes?.["ngpipe.error"]?.StringValue).toBe("broken input");
  expect(m.MessageAttributes?.["ngpipe.stack"]?.StringValue).toContain("broken input");
  await q.close();
  await dead.close();
});

maybe(
  "poll: a poison task ends in <name>-dead after maxAttempts; the others complete",
  async () => {
    const q = await fresh();
    await q.insert([
      { name: "ok", id: "ok1" },
      { name: "ok", id: "ok2" },
      { name: "poison", id: "bad" },
    ]);
    let poisonRuns = 0;
    const summary = await poll(
      q,
      (t) => {
        if (t.name === "poison") {
          poisonRuns++;
          throw new Error("always fails");
        }
      },
      { maxAttempts: 2, stopWhenEmpty: true, waitSeconds: 0, backoff: { initialMs: 5, maxMs: 40 } },
    );
    expect(poisonRuns).toBe(2);
    expect(summary).toMatchObject({ succeeded: 2, failed: 1, dead: 1 });
    expect(await q.status()).toMatchObject({ enqueued: 0, leased: 0, dead: 1 });
    await q.close();
  },
);

maybe(
  "poll: a handler running 3x longer than its lease is never handed to a second worker",
  async () => {
    const q = await fresh();
    await q.insert([{ name: "slow", id: "slow" }]);
    let leases = 0;
    let runs = 0;
    const worker = () =>
      poll(
        q,
        async () => {
          runs++;
          await new Promise((r) => setTimeout(r, 3000));
        },
        {
          leaseSeconds: 1,
          stopWhenEmpty: true,
          waitSeconds: 0,
          backoff: { initialMs: 20, maxMs: 100 },
          onEvent: (e) => void (e.type === "leased" && leases++),
        },
      );
    const [a, b] = await Promise.all([worker(), worker()]);
    expect(runs).toBe(1);
    expect(leases).toBe(1);
    expect(a.succeeded + b.succeeded).toBe(1);
    await q.close();
  },
);

maybe("large tasks are split across batches to keep each request under 256 KiB", async () => {
  const q = await fresh();
  const blob = "x".repeat(100 * 1024);
  const n = await q.insert(
    ["a", "b", "c", "d"].map((id) => ({ name: "big", id, params: { blob } })),
  );
  expect(n).toBe(4);
  const got = await q.lease({ seconds: 30, count: 10 });
  expect(got.map((l) => l.task.id).sort()).toEqual(["a", "b", "c", "d"]);
  expect(got.every((l) => l.task.params.blob === blob)).toBe(true);
  await q.close();
});

maybe("a queue with a redrive policy dead-letters into its redrive target", async () => {
  const endpoint = moto.endpoint;
  const target = (await openQueue(`sqs://target-${randomUUID().slice(0, 8)}`, {
    endpoint,
    create: true,
  })) as SqsQueue;
  const arn = (
    await target.client.send(
      new GetQueueAttributesCommand({ QueueUrl: target.queueUrl, AttributeNames: ["QueueArn"] }),
    )
  ).Attributes!.QueueArn!;
  const name = `redriven-${randomUUID().slice(0, 8)}`;
  await target.client.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 50 }),
      },
    }),
  );
  const q = await openQueue(`sqs://${name}`, { endpoint });
  await q.insert([{ name: "p", id: "p1" }]);
  const [l] = await q.lease({ seconds: 30 });
  await q.deadLetter(l, new Error("kaput"));
  const [d] = await target.lease({ seconds: 30 });
  expect(d.task.id).toBe("p1");
  expect(await q.status()).toMatchObject({ enqueued: 0, leased: 0, dead: 1 });
  await q.close();
  await target.close();
});

test("a server that accepts and never answers fails the request instead of hanging", async () => {
  const { createServer } = await import("node:net");
  const sockets: import("node:net").Socket[] = [];
  const server = createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as import("node:net").AddressInfo).port;
  try {
    const err = await openQueue("sqs://silent", {
      endpoint: `http://127.0.0.1:${port}`,
      region: "us-east-1",
      credentials: { accessKeyId: "x", secretAccessKey: "y" },
      requestTimeoutMs: 300,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String(err.message)).toContain("sqs://silent");
    expect(sockets.length).toBeGreaterThan(0);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
});

maybe("dead letters moved by SQS itself are listed without an error and redriven", async () => {
  const q = (await fresh()) as SqsQueue;
  expect(await q.dead()).toEqual([]);
  expect(await q.redrive()).toBe(0);
  const dead = (await openQueue(`sqs://${q.name}-dead`, {
    endpoint: moto.endpoint,
    create: true,
  })) as SqsQueue;
  await dead.insert([{ name: "m", id: "m1" }]);
  expect(await q.dead()).toEqual([{ task: { name: "m", params: {}, id: "m1" } }]);
  expect(await q.redrive()).toBe(1);
  const [l] = await q.lease({ seconds: 30 });
  expect(l.task.id).toBe("m1");
  expect(l.attempt).toBe(1);
  expect(await q.status()).toMatchObject({ dead: 0 });
  await q.close();
  await dead.close();
});

maybe(
  "dead letters of a redrive-policy target are listed and redriven into the source",
  async () => {
    const target = (await openQueue(`sqs://target-${randomUUID().slice(0, 8)}`, {
      endpoint: moto.endpoint,
      create: true,
    })) as SqsQueue;
    const arn = (
      await target.client.send(
        new GetQueueAttributesCommand({ QueueUrl: target.queueUrl, AttributeNames: ["QueueArn"] }),
      )
    ).Attributes!.QueueArn!;
    const name = `redriven-${randomUUID().slice(0, 8)}`;
    await target.client.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 50 }),
        },
      }),
    );
    const q = await openQueue(`sqs://${name}`, { endpoint: moto.endpoint });
    await q.insert([{ name: "p", id: "p1" }]);
    const [l] = await q.lease({ seconds: 30 });
    await q.deadLetter(l, new Error("kaput"));
    const [d] = await q.dead();
    expect(d).toMatchObject({ task: { id: "p1" }, attempts: 1, error: { message: "kaput" } });
    expect(await q.redrive()).toBe(1);
    expect((await q.lease({ seconds: 30 })).map((x) => x.task.id)).toEqual(["p1"]);
    expect(await target.status()).toMatchObject({ enqueued: 0, leased: 0 });
    await q.close();
    await target.close();
  },
);
