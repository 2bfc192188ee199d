import { KernelCrashError } from "./errors";
import { closePool, configurePool, kernelModulePath, runKernel } from "./pool";

const MODULE = kernelModulePath(__dirname, "pool-test-kernels");

afterAll(() => closePool());

test("a kernel runs in a worker thread and its result buffer comes back", async () => {
  const input = new Float64Array([1, 2, 3]);
  const out = await runKernel<Float64Array>(MODULE, "double", [input]);
  expect(Array.from(out)).toEqual([2, 4, 6]);
  expect(Array.from(input)).toEqual([1, 2, 3]);
});

test("transferred input buffers are moved, not copied", async () => {
  const input = new Uint8Array([7, 8, 9]);
  const out = await runKernel<{ length: number; first: number }>(MODULE, "describe", [input], {
    transfer: [input.buffer],
  });
  expect(out).toEqual({ length: 3, first: 7 });
  expect(input.byteLength).toBe(0);
});

test("a SharedArrayBuffer named in transfer is shared with the worker, not moved", async () => {
  const input = new Float64Array(new SharedArrayBuffer(24));
  input.set([1, 2, 3]);
  const out = await runKernel<Float64Array>(MODULE, "double", [input], {
    transfer: [input.buffer],
  });
  expect(Array.from(out)).toEqual([2, 4, 6]);
  // The worker doubled the caller's own memory: it was shared.
  expect(Array.from(input)).toEqual([2, 4, 6]);
});

test("an error thrown by a kernel rejects the call and the pool keeps working", async () => {
  await expect(runKernel(MODULE, "fail", ["bad chunk"])).rejects.toThrow("bad chunk");
  const out = await runKernel<Float64Array>(MODULE, "double", [new Float64Array([5])]);
  expect(out[0]).toBe(10);
});

test("an unknown kernel name is a clear error", async () => {
  await expect(runKernel(MODULE, "nope", [])).rejects.toThrow(/kernel "nope" is not exported/);
});

test("a worker that dies is a KernelCrashError naming the kernel, and is replaced", async () => {
  const err = await runKernel(MODULE, "crash", [3]).catch((e) => e);
  expect(err).toBeInstanceOf(KernelCrashError);
  expect((err as Error).message).toMatch(
    /kernel crash of pool-test-kernels\.\w+ failed in the worker pool/,
  );
  const out = await runKernel<Float64Array>(MODULE, "double", [new Float64Array([4])]);
  expect(out[0]).toBe(8);
});

test("large inputs moved into a worker are released before its next call", async () => {
  await closePool();
  configurePool({ threads: 1, idleTimeoutMs: 60_000 });
  try {
    const block = 128 * 1024 * 1024;
    await runKernel(MODULE, "double", [new Float64Array(1)]);
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 5; i++) {
      const data = new Uint8Array(block).fill(1);
      expect(await runKernel(MODULE, "consume", [data], { transfer: [data.buffer] })).toBe(
        block / 4096,
      );
    }
    // Without collection in the worker the five blocks (640 MiB) stay; with
    // it, at most the last one (and the allocator's slack) does.
    expect(process.memoryUsage().rss - before).toBeLessThan(3 * block);
  } finally {
    await closePool();
    configurePool({});
  }
});

test("a kernel's rejected promise is its error, not a crash", async () => {
  const err = await runKernel(MODULE, "rejects", ["bad range"]).catch((e) => e);
  expect(err).not.toBeInstanceOf(KernelCrashError);
  expect((err as Error).name).toBe("RangeError");
  expect((err as Error).message).toBe("bad range");
});

describe("short calls", () => {
  const flag = () => new Int32Array(new SharedArrayBuffer(4));
  beforeAll(async () => {
    await closePool();
    configurePool({ threads: 1 });
  });
  afterAll(async () => {
    await closePool();
    configurePool({});
  });

  test("queued on one busy thread, all run", async () => {
    const counter = flag();
    const busy = runKernel(MODULE, "spin", [50, flag()], { short: true });
    const calls = Array.from({ length: 6 }, () =>
      runKernel(MODULE, "bump", [counter], { short: true }),
    );
    await Promise.all([busy, ...calls]);
    expect(counter[0]).toBe(6);
  });

  test("aborted while waiting: they reject with AbortError at once and never run", async () => {
    const done = flag();
    const counter = flag();
    const busy = runKernel(MODULE, "spin", [300, done], { short: true });
    const ac = new AbortController();
    const waiting = Array.from({ length: 3 }, () =>
      runKernel(MODULE, "bump", [counter], { short: true, signal: ac.signal }).catch((e) => e),
    );
    ac.abort();
    const errors = await Promise.all(waiting);
    // Rejected before the thread was free to look at them.
    expect(done[0]).toBe(0);
    for (const e of errors) expect((e as Error).name).toBe("AbortError");
    await busy;
    // The thread has gone through its queue: the aborted calls were skipped.
    await runKernel(MODULE, "bump", [flag()], { short: true });
    expect(counter[0]).toBe(0);
  });

  test("aborted while running: the call rejects at once and its thread finishes the kernel", async () => {
    const done = flag();
    const ac = new AbortController();
    const call = runKernel(MODULE, "spin", [300, done], { short: true, signal: ac.signal });
    const err = await new Promise<unknown>((resolve) => {
      call.catch(resolve);
      setTimeout(() => ac.abort(), 20);
    });
    expect((err as Error).name).toBe("AbortError");
    expect(done[0]).toBe(0);
    // The same thread, not a replacement, runs the next call once the kernel has ended.
    const out = await runKernel<Float64Array>(MODULE, "double", [new Float64Array([3])]);
    expect(out[0]).toBe(6);
    expect(done[0]).toBe(1);
  });

  test("a call already aborted rejects without running", async () => {
    const counter = flag();
    const ac = new AbortController();
    ac.abort();
    const err = await runKernel(MODULE, "bump", [counter], {
      short: true,
      signal: ac.signal,
    }).catch((e) => e);
    expect((err as Error).name).toBe("AbortError");
    await runKernel(MODULE, "bump", [flag()], { short: true });
    expect(counter[0]).toBe(0);
  });
});

test("an aborted long call rejects with AbortError, and the pool keeps working", async () => {
  const done = new Int32Array(new SharedArrayBuffer(4));
  const ac = new AbortController();
  const call = runKernel(MODULE, "spin", [2000, done], { signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  const err = await call.catch((e) => e);
  expect((err as Error).name).toBe("AbortError");
  const out = await runKernel<Float64Array>(MODULE, "double", [new Float64Array([2])]);
  expect(out[0]).toBe(4);
});
