import { forEachLimit } from "./limit";

const tick = () => new Promise<void>((r) => setImmediate(r));

describe("forEachLimit", () => {
  test("runs every item of an array with at most `limit` calls in flight", async () => {
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    await forEachLimit([...Array(50).keys()], 4, async (item, index) => {
      most = Math.max(most, ++running);
      await tick();
      expect(index).toBe(item);
      seen.push(item);
      running--;
    });
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(50).keys()]);
    expect(most).toBe(4);
  });

  test("pulls a generator lazily: only the items in flight have been pulled", async () => {
    let pulled = 0;
    let done = 0;
    let mostAhead = 0;
    function* items() {
      for (let i = 0; i < 1_000_000; i++) {
        pulled++;
        mostAhead = Math.max(mostAhead, pulled - done);
        yield i;
      }
    }
    const ac = new AbortController();
    const run = forEachLimit(
      items(),
      5,
      async () => {
        await tick();
        if (++done === 300) ac.abort();
      },
      { signal: ac.signal },
    );
    await expect(run).rejects.toMatchObject({ name: "AbortError" });
    expect(mostAhead).toBeLessThanOrEqual(6);
    expect(pulled).toBeLessThan(320);
  });

  test("never overlaps next() calls of an async iterator", async () => {
    let pulling = false;
    let overlapped = false;
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]() {
        let i = 0;
        return {
          async next() {
            if (pulling) overlapped = true;
            pulling = true;
            await tick();
            pulling = false;
            return i < 40 ? { value: i++, done: false } : { value: undefined, done: true };
          },
        };
      },
    };
    let n = 0;
    await forEachLimit(source, 8, async () => {
      n++;
    });
    expect(n).toBe(40);
    expect(overlapped).toBe(false);
  });

  test("the first failure rejects only after the calls in flight have settled", async () => {
    const settled: number[] = [];
    let started = 0;
    const run = forEachLimit([...Array(100).keys()], 3, async (i) => {
      started++;
      if (i === 4) throw new Error("item 4");
      await tick();
      await tick();
      settled.push(i);
    });
    await expect(run).rejects.toThrow("item 4");
    const afterReject = settled.length;
    await tick();
    await tick();
    await tick();
    // Nothing was still running when the call rejected, and the hand-out stopped.
    expect(settled.length).toBe(afterReject);
    expect(started).toBeLessThan(10);
  });

  test("a second failure is not left as an unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      const run = forEachLimit([1, 2, 3, 4], 4, async (i) => {
        await tick();
        throw new Error(`item ${i}`);
      });
      await expect(run).rejects.toThrow("item 1");
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  test("a synchronous throw counts as a failure like a rejection", async () => {
    await expect(
      forEachLimit([1, 2], 2, (i) => {
        if (i === 2) throw new RangeError("two");
      }),
    ).rejects.toThrow(RangeError);
  });

  test("abort stops new work, lets the running calls finish and rejects with the signal's reason", async () => {
    const ac = new AbortController();
    let running = 0;
    let finished = 0;
    let started = 0;
    const run = forEachLimit(
      [...Array(100).keys()],
      4,
      async (i) => {
        started++;
        running++;
        if (i === 5) ac.abort(new Error("stop now"));
        await tick();
        running--;
        finished++;
      },
      { signal: ac.signal },
    );
    await expect(run).rejects.toThrow("stop now");
    expect(running).toBe(0);
    expect(finished).toBe(started);
    expect(started).toBeLessThan(12);
  });

  test("an already aborted signal runs nothing", async () => {
    let calls = 0;
    const ac = new AbortController();
    ac.abort();
    await expect(
      forEachLimit([1, 2, 3], 2, async () => void calls++, { signal: ac.signal }),
    ).rejects.toMatchObject({ name: "AbortError" });
    expect(calls).toBe(0);
  });

  test("a failing iterable rejects with its error after the calls in flight", async () => {
    let finished = 0;
    async function* items() {
      yield 1;
      yield 2;
      throw new Error("listing failed");
    }
    await expect(
      forEachLimit(items(), 2, async () => {
        await tick();
        finished++;
      }),
    ).rejects.toThrow("listing failed");
    expect(finished).toBe(2);
  });

  test("a generator left early is closed (its finally block runs)", async () => {
    let closed = false;
    function* items() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    await expect(
      forEachLimit(items(), 2, async (i) => {
        if (i === 3) throw new Error("three");
      }),
    ).rejects.toThrow("three");
    expect(closed).toBe(true);
  });

  test("a limit below 1 (or NaN) runs one call at a time", async () => {
    let running = 0;
    let most = 0;
    await forEachLimit([1, 2, 3], Number.NaN, async () => {
      most = Math.max(most, ++running);
      await tick();
      running--;
    });
    expect(most).toBe(1);
  });
});
