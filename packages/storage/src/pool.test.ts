import { runPool, runPoolOfCalls } from "./pool";

const tick = () => new Promise<void>((r) => setImmediate(r));

describe("runPoolOfCalls", () => {
  test("gives the results runPool gives, in input order, with at most `concurrency` in flight", async () => {
    const items = [...Array(60).keys()];
    let running = 0;
    let most = 0;
    const progress: number[] = [];
    const res = await runPoolOfCalls<number, number>(
      items,
      (i) => `k${i}`,
      (i, done) => {
        most = Math.max(most, ++running);
        // Some items finish before start returns, some later, some fail.
        if (i % 7 === 0) {
          running--;
          done(true, i * 2);
        } else
          void tick().then(() => {
            running--;
            if (i % 5 === 0) done(false, new Error(`bad ${i}`));
            else done(true, i * 2);
          });
      },
      { concurrency: 4, onProgress: (n) => progress.push(n) },
      () => new Error("aborted"),
    );
    const reference = await runPool<number, number>(
      items,
      (i) => `k${i}`,
      async (i) => {
        if (i % 7 !== 0 && i % 5 === 0) throw new Error(`bad ${i}`);
        return i * 2;
      },
      { concurrency: 4 },
      () => new Error("aborted"),
    );
    expect(res).toEqual(reference);
    expect(most).toBe(4);
    expect(progress).toEqual(items.map((i) => i + 1));
  });

  test("a throwing start or keyOf is that item's error; a second done is ignored", async () => {
    const res = await runPoolOfCalls<string, string>(
      ["a", "bad-key", "throw", "twice"],
      (k) => {
        if (k === "bad-key") throw new TypeError("no key");
        return k;
      },
      (k, done) => {
        if (k === "throw") throw new RangeError("start failed");
        done(true, k.toUpperCase());
        done(false, new Error("late"));
      },
      { concurrency: 2 },
      () => new Error("aborted"),
    );
    expect(res[0]).toEqual({ key: "a", ok: true, value: "A" });
    expect(res[1]).toMatchObject({ key: "", ok: false, error: expect.any(TypeError) });
    expect(res[2]).toMatchObject({ key: "throw", ok: false, error: expect.any(RangeError) });
    expect(res[3]).toEqual({ key: "twice", ok: true, value: "TWICE" });
  });

  test("an abort starts no new item and rejects with onAbort() once the items in flight settle", async () => {
    const ac = new AbortController();
    let started = 0;
    let settled = 0;
    const run = runPoolOfCalls<number, number>(
      [...Array(100).keys()],
      String,
      (i, done) => {
        started++;
        if (i === 10) ac.abort();
        void tick().then(() => {
          settled++;
          done(true, i);
        });
      },
      { concurrency: 3, signal: ac.signal },
      () => new Error("pool aborted"),
    );
    await expect(run).rejects.toThrow("pool aborted");
    expect(started).toBeLessThan(15);
    expect(settled).toBe(started);
  });

  test("an empty batch resolves at once; an already aborted one rejects", async () => {
    const never = () => {
      throw new Error("not called");
    };
    await expect(runPoolOfCalls([], String, never, { concurrency: 4 }, Error)).resolves.toEqual([]);
    await expect(
      runPoolOfCalls(
        [1],
        String,
        never,
        { concurrency: 4, signal: AbortSignal.abort() },
        () => new Error("was aborted"),
      ),
    ).rejects.toThrow("was aborted");
  });

  test("a throwing onProgress rejects the pool after the items in flight, with that error", async () => {
    let started = 0;
    const run = runPoolOfCalls<number, number>(
      [...Array(20).keys()],
      String,
      (i, done) => {
        started++;
        void tick().then(() => done(true, i));
      },
      {
        concurrency: 2,
        onProgress: (n) => {
          if (n === 3) throw new Error("progress failed");
        },
      },
      () => new Error("aborted"),
    );
    await expect(run).rejects.toThrow("progress failed");
    expect(started).toBeLessThan(6);
  });
});
