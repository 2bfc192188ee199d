import {
  AbortError,
  IntegrityError,
  PermissionDeniedError,
  PreconditionFailedError,
  TransientError,
} from "./errors";
import {
  abortable,
  attemptCall,
  attemptWith,
  backoffDelay,
  isRetryableError,
  retryFailed,
  withRetries,
} from "./retry";

const ctx = { url: "mem://retry", key: "k", op: "get" };
const fast = { retries: 4, retryBaseMs: 1, retryMaxMs: 2, timeoutMs: 0 };

test("transient failures are retried until success", async () => {
  let calls = 0;
  const value = await withRetries(
    async () => {
      calls++;
      if (calls < 3) throw new TransientError("503", "mem://retry", "k", 503);
      return "ok";
    },
    fast,
    undefined,
    ctx,
  );
  expect(value).toBe("ok");
  expect(calls).toBe(3);
});

test("the last transient error is thrown when retries run out", async () => {
  let calls = 0;
  const err = await withRetries(
    async () => {
      calls++;
      throw new TransientError(`503 #${calls}`, "mem://retry", "k", 503);
    },
    { ...fast, retries: 2 },
    undefined,
    ctx,
  ).catch((e) => e);
  expect(err).toBeInstanceOf(TransientError);
  expect(err.message).toBe("503 #3");
  expect(calls).toBe(3);
});

test("permanent errors fail at once", async () => {
  for (const make of [
    () => new PermissionDeniedError("403", "mem://retry", "k"),
    () => new PreconditionFailedError("412", "mem://retry", "k"),
    () => new TypeError("bug"),
  ]) {
    let calls = 0;
    const err = await withRetries(
      async () => {
        calls++;
        throw make();
      },
      fast,
      undefined,
      ctx,
    ).catch((e) => e);
    expect(err).toBeInstanceOf(make().constructor);
    expect(calls).toBe(1);
  }
});

test("integrity errors and raw connection resets are retryable", () => {
  expect(isRetryableError(new IntegrityError("md5", "gs://b", "k"))).toBe(true);
  expect(isRetryableError(Object.assign(new Error("reset"), { code: "ECONNRESET" }))).toBe(true);
  expect(isRetryableError(Object.assign(new Error("nope"), { code: "ENOENT" }))).toBe(false);
});

test("backoff is full jitter below the capped exponential", () => {
  for (let attempt = 0; attempt < 12; attempt++) {
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(attempt, 100, 3000);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(Math.min(3000, 100 * 2 ** attempt));
    }
  }
});

test("a hung attempt times out as a transient error and is retried", async () => {
  let calls = 0;
  let sawAbort = false;
  const value = await withRetries(
    (signal) => {
      calls++;
      if (calls === 1) {
        // Never settles by itself; only the timeout frees the caller.
        return new Promise<string>(() => {
          signal!.addEventListener("abort", () => {
            sawAbort = true;
          });
        });
      }
      return Promise.resolve("second try");
    },
    { retries: 2, retryBaseMs: 1, retryMaxMs: 1, timeoutMs: 20 },
    undefined,
    ctx,
  );
  expect(value).toBe("second try");
  expect(sawAbort).toBe(true);
});

test("aborting during a backoff wait rejects at once with AbortError", async () => {
  const ac = new AbortController();
  let calls = 0;
  // A ten-minute backoff: only the abort can end this call within jest's timeout.
  const p = withRetries(
    async () => {
      calls++;
      setTimeout(() => ac.abort(), 5);
      throw new TransientError("503", "mem://retry", "k", 503);
    },
    { retries: 5, retryBaseMs: 600_000, retryMaxMs: 600_000, timeoutMs: 0 },
    ac.signal,
    ctx,
  );
  const err = await p.catch((e) => e);
  expect(err).toBeInstanceOf(AbortError);
  expect(err.key).toBe("k");
  expect(calls).toBe(1);
});

test("aborting an attempt that ignores its signal still settles the call", async () => {
  const ac = new AbortController();
  const p = withRetries(() => new Promise<never>(() => {}), fast, ac.signal, ctx);
  ac.abort(new Error("user pressed stop"));
  const err = await p.catch((e) => e);
  expect(err).toBeInstanceOf(AbortError);
  expect(err.cause.message).toBe("user pressed stop");
});

describe("abortable", () => {
  test("settles as the promise does while the signal stays quiet", async () => {
    const ac = new AbortController();
    await expect(abortable(Promise.resolve(7), ac.signal)).resolves.toBe(7);
    await expect(abortable(Promise.reject(new RangeError("x")), ac.signal)).rejects.toThrow(
      RangeError,
    );
  });

  test("rejects with the reason as soon as the signal fires, or at once if it has", async () => {
    let finish: (v: number) => void = () => undefined;
    const slow = new Promise<number>((r) => {
      finish = r;
    });
    const ac = new AbortController();
    const call = abortable(slow, ac.signal, () => new RangeError("gave up"));
    ac.abort();
    await expect(call).rejects.toThrow("gave up");
    finish(1);
    const late = Promise.reject(new Error("late failure"));
    await expect(abortable(late, ac.signal)).rejects.toBe(ac.signal.reason);
  });
});

test("retryFailed after a callback attempt retries as withRetries does and names the final error", async () => {
  let calls = 0;
  const fn = async () => {
    calls++;
    if (calls < 3) throw new TransientError(`503 #${calls}`, "mem://retry", "k", 503);
    return "ok";
  };
  const first = await new Promise<unknown>((resolve) =>
    attemptWith(fn, undefined, 1000, (ok, v) => resolve(ok ? "ok at once" : v)),
  );
  expect(first).toBeInstanceOf(TransientError);
  await expect(retryFailed(first, fn, fast, undefined, ctx)).resolves.toBe("ok");
  expect(calls).toBe(3);
  const named = (err: unknown) => new Error(`named: ${(err as Error).message}`);
  const bad = new PermissionDeniedError("403", "mem://retry", "k");
  await expect(
    retryFailed(bad, fn, fast, undefined, { ...ctx, finalError: named }),
  ).rejects.toThrow("named: 403");
  const throwing = {
    ...fast,
    isRetryable: () => {
      throw new RangeError("predicate broke");
    },
  };
  await expect(
    retryFailed(first, fn, throwing, undefined, { ...ctx, finalError: named }),
  ).rejects.toThrow("named: predicate broke");
});

describe("attemptCall", () => {
  /** The outcome attemptCall reports, and how many times it reported. */
  function outcome(
    start: Parameters<typeof attemptCall<string>>[0],
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<{ ok: boolean; v: unknown; reports: () => number }> {
    let reports = 0;
    return new Promise((resolve) =>
      attemptCall<string>(start, signal, timeoutMs, (ok, v) => {
        reports++;
        resolve({ ok, v, reports: () => reports });
      }),
    );
  }

  test("reports the attempt's own outcome once, later reports ignored", async () => {
    const r = await outcome(
      (_s, report) =>
        setImmediate(() => {
          report(true, "bytes");
          report(false, new Error("second report"));
        }),
      undefined,
      1000,
    );
    expect(r).toMatchObject({ ok: true, v: "bytes" });
    await new Promise((x) => setImmediate(x));
    expect(r.reports()).toBe(1);
  });

  test("a start that throws is the attempt's error, with and without a timeout", async () => {
    for (const timeoutMs of [0, 1000]) {
      const r = await outcome(
        () => {
          throw new RangeError("bad start");
        },
        undefined,
        timeoutMs,
      );
      expect(r.ok).toBe(false);
      expect(r.v).toBeInstanceOf(RangeError);
    }
  });

  test("an attempt that never reports times out, and its signal fires", async () => {
    let seen: AbortSignal | undefined;
    const r = await outcome(
      (s) => {
        seen = s;
      },
      undefined,
      30,
    );
    expect(r.ok).toBe(false);
    expect((r.v as Error).message).toMatch(/timed out after 30 ms/);
    expect(seen?.aborted).toBe(true);
    // retryFailed turns the timeout into a TransientError naming the key.
    await expect(
      retryFailed(r.v, () => Promise.reject(new Error("no")), { retries: 0 }, undefined, ctx),
    ).rejects.toBeInstanceOf(TransientError);
  });

  test("the caller's abort settles an attempt that ignores its signal", async () => {
    const ac = new AbortController();
    const pending = outcome(() => {}, ac.signal, 60_000);
    ac.abort(new Error("stop"));
    const r = await pending;
    expect(r.ok).toBe(false);
    expect((r.v as Error).message).toBe("stop");
  });
});
