import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileQueue } from "./file";
import { MemoryQueue } from "./mem";
import { backoffDelay, type PollEvent, type PollOptions, poll } from "./poll";
import type { Queue } from "./types";

const root = mkdtempSync(join(tmpdir(), "ngpipe-poll-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const fast: PollOptions = { backoff: { initialMs: 5, maxMs: 40 }, stopWhenEmpty: true };
const tasks = (n: number, name = "t") =>
  Array.from({ length: n }, (_, i) => ({ name, id: `${name}${i}`, params: { i } }));
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

const backends: [string, () => Queue][] = [
  ["mem://", () => new MemoryQueue(randomUUID())],
  ["fq://", () => new FileQueue(join(root, randomUUID()))],
];

describe.each(backends)("poll on %s", (_label, make) => {
  test("runs every task once, deletes it, and stops when the queue is empty", async () => {
    const q = make();
    await q.insert(tasks(20));
    const seen: number[] = [];
    const summary = await poll(q, (t) => void seen.push(t.params.i as number), {
      ...fast,
      concurrency: 3,
    });
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(summary).toMatchObject({ succeeded: 20, failed: 0, dead: 0, stoppedBy: "empty" });
    expect(await q.status()).toMatchObject({ enqueued: 0, leased: 0, completed: 20 });
  });

  test("a task that always throws ends in the dead-letter queue; the others complete", async () => {
    const q = make();
    await q.insert([...tasks(5), { name: "poison", id: "poison" }]);
    let poisonRuns = 0;
    const events: PollEvent["type"][] = [];
    const summary = await poll(
      q,
      (t) => {
        if (t.name === "poison") {
          poisonRuns++;
          throw new Error("always fails");
        }
      },
      { ...fast, maxAttempts: 3, onEvent: (e) => events.push(e.type) },
    );
    expect(poisonRuns).toBe(3);
    expect(summary).toMatchObject({ succeeded: 5, failed: 2, dead: 1 });
    expect(events.filter((e) => e === "dead")).toHaveLength(1);
    expect(events.filter((e) => e === "failed")).toHaveLength(2);
    expect(events.filter((e) => e === "succeeded")).toHaveLength(5);
    expect(await q.status()).toMatchObject({ enqueued: 0, leased: 0, completed: 5, dead: 1 });
  });

  test("a handler running 3x longer than its lease is never handed to a second worker", async () => {
    const q = make();
    await q.insert([{ name: "slow", id: "slow" }]);
    const leasedBy: string[] = [];
    let runs = 0;
    const handler = async () => {
      runs++;
      await wait(3000);
    };
    const worker = (name: string) =>
      poll(q, handler, {
        ...fast,
        leaseSeconds: 1,
        onEvent: (e) => e.type === "leased" && leasedBy.push(name),
      });
    const [a, b] = await Promise.all([worker("a"), worker("b")]);
    expect(runs).toBe(1);
    expect(leasedBy).toHaveLength(1);
    expect(a.succeeded + b.succeeded).toBe(1);
    expect(a.lost + b.lost).toBe(0);
  });

  test("a handler that hangs past the hard timeout is abandoned and counted as a failure", async () => {
    const q = make();
    await q.insert([{ name: "hang", id: "hang" }]);
    const aborted: boolean[] = [];
    const summary = await poll(
      q,
      (_t, ctx) =>
        new Promise(() => {
          ctx.signal.addEventListener("abort", () => aborted.push(true));
        }),
      { ...fast, timeoutSeconds: 0.2, maxAttempts: 2 },
    );
    expect(summary).toMatchObject({ succeeded: 0, failed: 1, dead: 1 });
    expect(aborted).toEqual([true, true]);
  });

  test("a renewal in flight when the task ends does not keep renewing it afterwards", async () => {
    const q = make();
    const renew = q.renew.bind(q);
    let renewCalls = 0;
    // A slow renewal (150 ms) that is still in flight when the handler fails.
    q.renew = async (lease, seconds) => {
      renewCalls++;
      await wait(150);
      return renew(lease, seconds);
    };
    await q.insert([{ name: "fails", id: "f" }]);
    const summary = await poll(
      q,
      async () => {
        await wait(1100);
        throw new Error("fails once");
      },
      { ...fast, leaseSeconds: 3, renewSeconds: 1, maxAttempts: 1 },
    );
    expect(summary).toMatchObject({ dead: 1 });
    const after = renewCalls;
    expect(after).toBeGreaterThanOrEqual(1);
    await wait(2500);
    expect(renewCalls).toBe(after);
  });

  test("a hard timeout beyond the longest Node timer means no timeout, not an instant one", async () => {
    const q = make();
    await q.insert([{ name: "t", id: "long" }]);
    const summary = await poll(q, () => wait(50), { ...fast, timeoutSeconds: 30 * 86400 });
    expect(summary).toMatchObject({ succeeded: 1, failed: 0, dead: 0 });
    await q.insert([{ name: "t", id: "inf" }]);
    expect(
      await poll(q, () => wait(50), { ...fast, timeoutSeconds: Number.POSITIVE_INFINITY }),
    ).toMatchObject({ succeeded: 1 });
    await expect(poll(q, () => {}, { ...fast, timeoutSeconds: 0 })).rejects.toThrow(
      /timeoutSeconds must be > 0/,
    );
  });

  test("runs `concurrency` handlers at once", async () => {
    const q = make();
    await q.insert(tasks(8));
    let running = 0;
    let most = 0;
    let release!: () => void;
    const fourRunning = new Promise<void>((r) => (release = r));
    await poll(
      q,
      async () => {
        most = Math.max(most, ++running);
        if (running === 4) release();
        // Falls through after 2 s if fewer than 4 ever run together.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([fourRunning, new Promise((r) => (timer = setTimeout(r, 2000)))]);
        clearTimeout(timer);
        running--;
      },
      { ...fast, concurrency: 4 },
    );
    expect(most).toBe(4);
  });

  test("aborting the signal stops leasing and lets the task in hand finish", async () => {
    const q = make();
    await q.insert(tasks(5));
    const ac = new AbortController();
    let finished = 0;
    const summary = await poll(
      q,
      async () => {
        ac.abort();
        await wait(50);
        finished++;
      },
      { ...fast, signal: ac.signal, stopWhenEmpty: false },
    );
    expect(finished).toBe(1);
    expect(summary).toMatchObject({ succeeded: 1, stoppedBy: "signal" });
    expect(await q.status()).toMatchObject({ enqueued: 4, leased: 0 });
  });

  test("a stop timeout releases tasks still running", async () => {
    const q = make();
    await q.insert(tasks(1));
    const ac = new AbortController();
    const summary = await poll(q, () => ac.abort() ?? new Promise(() => {}), {
      ...fast,
      signal: ac.signal,
      stopTimeoutSeconds: 0.1,
    });
    expect(summary).toMatchObject({ succeeded: 0, failed: 0, dead: 0 });
    expect(await q.status()).toMatchObject({ enqueued: 1, leased: 0 });
  });

  test("a task leased more than maxAttempts times without finishing goes to dead letters", async () => {
    const q = make();
    await q.insert(tasks(1));
    for (let i = 0; i < 2; i++) await q.release((await q.lease({ seconds: 30 }))[0]);
    let ran = false;
    const summary = await poll(q, () => void (ran = true), { ...fast, maxAttempts: 2 });
    expect(ran).toBe(false);
    expect(summary.dead).toBe(1);
  });
});

test("backoff doubles from the initial delay up to the cap, with jitter in [d/2, d]", () => {
  expect(backoffDelay(1, 100, 1000, () => 0)).toBe(50);
  expect(backoffDelay(1, 100, 1000, () => 1)).toBe(100);
  expect(backoffDelay(3, 100, 1000, () => 1)).toBe(400);
  expect(backoffDelay(10, 100, 1000, () => 1)).toBe(1000);
  expect(backoffDelay(10, 100, 1000, () => 0)).toBe(500);
});
