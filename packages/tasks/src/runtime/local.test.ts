import { z } from "zod";
import { defineTask } from "./define";
import { executeTasks } from "./local";

const log: number[] = [];
let running = 0;
let most = 0;
const sleepy = defineTask({
  name: "local-test-sleepy",
  params: z.object({ i: z.number(), fail: z.boolean().default(false) }),
  async run(p) {
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    if (p.fail) throw new Error(`task ${p.i} failed`);
    log.push(p.i);
    return p.i * 10;
  },
});

beforeEach(() => {
  log.length = 0;
  most = 0;
});

test("runs every task, parallel at a time, results in input order", async () => {
  const tasks = Array.from({ length: 12 }, (_, i) => sleepy.payload({ i, fail: false }));
  const seen: number[] = [];
  const r = await executeTasks(tasks, { parallel: 3, onProgress: (n) => seen.push(n) });
  expect(r.done).toBe(12);
  expect(r.results).toEqual(tasks.map((_, i) => i * 10));
  expect(most).toBe(3);
  expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
});

test("pulls lazily from an async iterable and stops handing out tasks after a failure", async () => {
  let made = 0;
  async function* gen() {
    for (let i = 0; i < 100; i++) {
      made++;
      yield sleepy.payload({ i, fail: i === 4 });
    }
  }
  await expect(executeTasks(gen(), { parallel: 2 })).rejects.toThrow("task 4 failed");
  expect(made).toBeLessThan(10);
  expect(log).not.toContain(4);
});

test("a failing task source rejects only after the running tasks end, and generators are closed", async () => {
  let closed = false;
  let finished = 0;
  async function* gen() {
    try {
      yield sleepy.payload({ i: 100, fail: false });
      yield sleepy.payload({ i: 101, fail: false });
      throw new Error("the listing broke");
    } finally {
      closed = true;
    }
  }
  const p = executeTasks(gen(), { parallel: 2, onProgress: (n) => (finished = n) });
  await expect(p).rejects.toThrow("the listing broke");
  expect(finished).toBe(2);
  expect(running).toBe(0);
  expect(closed).toBe(true);
});
