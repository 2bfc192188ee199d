/**
 * One behavioural suite every queue backend must pass. A backend test file
 * calls `queueConformance(label, open)` with a factory for fresh, empty queues.
 */
import { describeIf, testIf } from "../../../../test/support/skip";
import { InvalidTaskError, LeaseLostError, PayloadTooLargeError } from "../errors";
import type { Lease, Queue, TaskInput } from "../types";

export interface ConformanceOptions {
  /** The backend counts completions and insertions. */
  countsCompletions: boolean;
  /** `releaseAll` is supported. */
  releaseAll: boolean;
  /** Renewing a lease another worker has since taken throws LeaseLostError. */
  detectsStaleRenew: boolean;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function* generate(n: number): AsyncGenerator<TaskInput> {
  for (let i = 0; i < n; i++) {
    await Promise.resolve();
    yield { name: "gen", params: { i }, id: `gen-${i}` };
  }
}

async function drainLeases(q: Queue): Promise<Lease[]> {
  const leases: Lease[] = [];
  for (;;) {
    const got = await q.lease({ seconds: 30, count: 10 });
    if (got.length === 0) return leases;
    leases.push(...got);
  }
}

async function drain(q: Queue): Promise<string[]> {
  return (await drainLeases(q)).map((l) => l.task.id);
}

export function queueConformance(
  label: string,
  open: () => Promise<Queue>,
  opts: ConformanceOptions,
  enabled = true,
): void {
  const maybe = describeIf(enabled, `${label} queue conformance: its backend is not available`);
  maybe(`${label} queue conformance`, () => {
    let q: Queue;
    beforeEach(async () => {
      q = await open();
    });
    afterEach(async () => {
      await q.close();
    });

    test("a leased task carries the inserted name, params and id", async () => {
      const n = await q.insert([{ name: "mesh", params: { bbox: [0, 1, 2], mip: 3 }, id: "t-1" }]);
      expect(n).toBe(1);
      const [lease, ...rest] = await q.lease({ seconds: 30 });
      expect(rest).toEqual([]);
      expect(lease.task).toEqual({ name: "mesh", params: { bbox: [0, 1, 2], mip: 3 }, id: "t-1" });
      expect(lease.attempt).toBe(1);
      expect(lease.expiresAt).toBeGreaterThan(Date.now());
    });

    test("missing params default to {} and a missing id to a fresh UUID", async () => {
      await q.insert([{ name: "a" }, { name: "a" }]);
      const leases = await q.lease({ seconds: 30, count: 2 });
      expect(leases.map((l) => l.task.params)).toEqual([{}, {}]);
      const ids = leases.map((l) => l.task.id);
      expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
      expect(ids[0]).not.toBe(ids[1]);
    });

    test("tasks repeating an id, in one insert or two, are all kept", async () => {
      await q.insert([
        { name: "dup", id: "same", params: { k: 1 } },
        { name: "dup", id: "same", params: { k: 2 } },
      ]);
      await q.insert([{ name: "dup", id: "same", params: { k: 3 } }]);
      const got: number[] = [];
      for (let tries = 0; tries < 10 && got.length < 3; tries++) {
        for (const l of await q.lease({ seconds: 30, count: 3 })) {
          expect(l.task.id).toBe("same");
          got.push(l.task.params.k as number);
        }
      }
      expect(got.sort()).toEqual([1, 2, 3]);
    });

    test("a held task is never leased twice", async () => {
      await q.insert(Array.from({ length: 5 }, (_, i) => ({ name: "x", id: `x${i}` })));
      const first = await q.lease({ seconds: 30, count: 10 });
      const second = await q.lease({ seconds: 30, count: 10 });
      expect(first.map((l) => l.task.id).sort()).toEqual(["x0", "x1", "x2", "x3", "x4"]);
      expect(second).toEqual([]);
    });

    test("insert streams an async iterable across batch boundaries", async () => {
      const n = await q.insert(generate(27), { concurrency: 3 });
      expect(n).toBe(27);
      const ids = await drain(q);
      expect(ids.sort()).toEqual(Array.from({ length: 27 }, (_, i) => `gen-${i}`).sort());
    });

    test("a released task comes back with the same id and the next attempt number", async () => {
      await q.insert([{ name: "r", id: "r1" }]);
      const [a] = await q.lease({ seconds: 30 });
      await q.release(a);
      const [b] = await q.lease({ seconds: 30 });
      expect(b.task.id).toBe("r1");
      expect(b.attempt).toBe(2);
    });

    test("a lapsed lease is handed out again", async () => {
      await q.insert([{ name: "e", id: "e1" }]);
      const [a] = await q.lease({ seconds: 1 });
      expect(await q.lease({ seconds: 1 })).toEqual([]);
      await wait(1300);
      const [b] = await q.lease({ seconds: 30 });
      expect(b?.task.id).toBe("e1");
      expect(b.attempt).toBe(2);
      if (opts.detectsStaleRenew) {
        await expect(q.renew(a, 30)).rejects.toBeInstanceOf(LeaseLostError);
      }
    });

    test("renewing a lease keeps the task from other workers", async () => {
      await q.insert([{ name: "n", id: "n1" }]);
      const [a] = await q.lease({ seconds: 1 });
      const before = a.expiresAt;
      await q.renew(a, 4);
      expect(a.expiresAt).toBeGreaterThan(before);
      await wait(1500);
      expect(await q.lease({ seconds: 30 })).toEqual([]);
      await q.delete(a);
    });

    test("deleted tasks are gone and counted where the backend counts", async () => {
      await q.insert([
        { name: "d", id: "d1" },
        { name: "d", id: "d2" },
      ]);
      const leases = await q.lease({ seconds: 30, count: 2 });
      expect(await q.status()).toMatchObject({ enqueued: 0, leased: 2 });
      for (const l of leases) await q.delete(l);
      const s = await q.status();
      expect(s).toMatchObject({ enqueued: 0, leased: 0 });
      if (opts.countsCompletions) expect(s).toMatchObject({ completed: 2, inserted: 2 });
      expect(await q.lease({ seconds: 30 })).toEqual([]);
    });

    test("delaySeconds hides tasks until due", async () => {
      await q.insert([{ name: "late", id: "late1" }], { delaySeconds: 1 });
      expect(await q.lease({ seconds: 30 })).toEqual([]);
      expect((await q.status()).enqueued).toBe(1);
      await wait(1500);
      const [l] = await q.lease({ seconds: 30, waitSeconds: 1 });
      expect(l?.task.id).toBe("late1");
    });

    test("a dead-lettered task leaves the queue and is counted as dead", async () => {
      await q.insert([{ name: "p", id: "p1" }]);
      const [l] = await q.lease({ seconds: 30 });
      await q.deadLetter(l, new Error("kaput"));
      const s = await q.status();
      expect(s).toMatchObject({ enqueued: 0, leased: 0, dead: 1 });
    });

    test("dead lists dead letters with their errors and leaves them in place", async () => {
      await q.insert([
        { name: "up", params: { key: "a" }, id: "a1" },
        { name: "up", params: { key: "b" }, id: "a2" },
        { name: "up", id: "a3" },
      ]);
      const leases = await q.lease({ seconds: 30, count: 3 });
      for (const l of leases) {
        if (l.task.id === "a3") await q.delete(l);
        else await q.deadLetter(l, new Error(`403 Forbidden for ${l.task.params.key}`));
      }
      const dead = (await q.dead()).sort((x, y) => x.task.id.localeCompare(y.task.id));
      expect(dead.map((d) => d.task)).toEqual([
        { name: "up", params: { key: "a" }, id: "a1" },
        { name: "up", params: { key: "b" }, id: "a2" },
      ]);
      expect(dead.map((d) => d.error?.message)).toEqual([
        "403 Forbidden for a",
        "403 Forbidden for b",
      ]);
      expect(dead[0].error?.stack).toContain("403 Forbidden for a");
      expect(dead.map((d) => d.attempts)).toEqual([1, 1]);
      expect(await q.dead({ limit: 1 })).toHaveLength(1);
      expect(await q.status()).toMatchObject({ enqueued: 0, leased: 0, dead: 2 });
    });

    test("redrive sends dead letters back as new tasks, up to limit", async () => {
      await q.insert([
        { name: "r", id: "r1" },
        { name: "r", id: "r2" },
      ]);
      for (const l of await q.lease({ seconds: 30, count: 2 })) await q.release(l);
      for (const l of await q.lease({ seconds: 30, count: 2 })) {
        expect(l.attempt).toBe(2);
        await q.deadLetter(l, new Error("no credentials"));
      }
      expect(await q.redrive({ limit: 1 })).toBe(1);
      expect(await q.status()).toMatchObject({ enqueued: 1, leased: 0, dead: 1 });
      expect(await q.redrive()).toBe(1);
      expect(await q.status()).toMatchObject({ enqueued: 2, leased: 0, dead: 0 });
      expect(await q.dead()).toEqual([]);
      expect(await q.redrive()).toBe(0);
      const back = await q.lease({ seconds: 30, count: 5 });
      expect(back.map((l) => l.task.id).sort()).toEqual(["r1", "r2"]);
      expect(back.map((l) => l.attempt)).toEqual([1, 1]);
      expect(back[0].task).toEqual({ name: "r", params: {}, id: back[0].task.id });
      // A redriven task that dies again is dead with its new error only.
      await q.deadLetter(back[0], new Error("still failing"));
      const [again] = await q.dead();
      expect(again).toMatchObject({ task: back[0].task, attempts: 1 });
      expect(again.error?.message).toBe("still failing");
    });

    test("concurrent redrives move every dead letter exactly once", async () => {
      const ids = Array.from({ length: 12 }, (_, i) => `c${i}`);
      await q.insert(ids.map((id) => ({ name: "c", id })));
      for (const l of await drainLeases(q)) await q.deadLetter(l, new Error("down"));
      expect((await q.status()).dead).toBe(12);
      const moved = await Promise.all([q.redrive(), q.redrive(), q.redrive()]);
      expect(moved.reduce((a, b) => a + b, 0)).toBe(12);
      expect((await drain(q)).sort()).toEqual([...ids].sort());
      expect(await q.dead()).toEqual([]);
    });

    test("purge removes tasks and leases", async () => {
      await q.insert([{ name: "g" }, { name: "g" }, { name: "g" }]);
      await q.lease({ seconds: 30 });
      await q.purge();
      expect(await q.status()).toMatchObject({ enqueued: 0, leased: 0 });
      expect(await q.lease({ seconds: 30 })).toEqual([]);
    });

    testIf(opts.releaseAll, `${label} has no releaseAll: its releaseAll test is skipped`)(
      "releaseAll returns every lease",
      async () => {
        await q.insert([{ name: "h" }, { name: "h" }]);
        await q.lease({ seconds: 30, count: 2 });
        expect(await q.releaseAll()).toBe(2);
        expect(await q.lease({ seconds: 30, count: 5 })).toHaveLength(2);
      },
    );

    test("bad payloads are refused at insert time with the field named", async () => {
      const bad: [unknown, string][] = [
        ["not a task", ""],
        [{ name: "x", param: {} }, "param"],
        [{ params: {} }, "name"],
        [{ name: "x", params: [1, 2] }, "params"],
        [{ name: "x", params: { f: () => 1 } }, "params.f"],
        [{ name: "x", params: { a: { b: Number.NaN } } }, "params.a.b"],
        [{ name: "x", params: { when: new Date() } }, "params.when"],
        [{ name: "x", id: "has space" }, "id"],
        [{ name: "x", id: "a--b" }, "id"],
        [{ name: "x", id: "run.error" }, "id"],
      ];
      for (const [task, field] of bad) {
        const err = await q.insert([task as TaskInput]).catch((e) => e);
        expect(err).toBeInstanceOf(InvalidTaskError);
        expect(err.field).toBe(field);
        expect(err.message).toContain(q.url);
      }
      const big = { name: "x", params: { blob: "z".repeat(256 * 1024) } };
      await expect(q.insert([big])).rejects.toBeInstanceOf(PayloadTooLargeError);
      expect(await q.status()).toMatchObject({ enqueued: 0, leased: 0 });
    });

    test("an insert stops at the first bad task and reports its index", async () => {
      const tasks = [{ name: "ok", id: "ok1" }, { name: "ok", id: "ok2" }, { name: 7 }];
      const err = await q.insert(tasks as TaskInput[], { concurrency: 1 }).catch((e) => e);
      expect(err).toBeInstanceOf(InvalidTaskError);
      expect(err.index).toBe(2);
    });
  });
}
