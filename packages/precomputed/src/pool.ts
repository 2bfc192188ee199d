/**
 * The process-wide worker pool for CPU kernels (chunk codecs, pooling,
 * meshing, ...). One piscina pool per process, created on first use and sized
 * to the cores. Any package submits its own kernels: a kernel is an exported
 * synchronous function of a module file, called by name with structured-
 * cloneable arguments; ArrayBuffers passed in `transfer` are moved, not
 * copied, and every ArrayBuffer in the result is moved back.
 *
 * ```ts
 * const KERNELS = kernelModulePath(__dirname, "kernels");
 * const out = await runKernel<Uint8Array>(KERNELS, "encodeChunk", [data, "raw", ctx], {
 *   transfer: [data.buffer],
 * });
 * ```
 */

import { setMaxListeners } from "node:events";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { basename, join } from "node:path";
import { abortable } from "@ngpipe/storage";
import type { Piscina } from "piscina";
import { KernelCrashError } from "./errors";

/** Options of the shared pool. */
export interface PoolOptions {
  /** Worker threads. Default: the number of cores. */
  threads?: number;
  /** Milliseconds an idle thread lives before it is stopped. Default 2000. */
  idleTimeoutMs?: number;
}

/** Options of one kernel call. */
export interface KernelCallOptions {
  /**
   * Buffers to move into the worker (they become unusable in the caller).
   * A SharedArrayBuffer among them (e.g. under a large decoded chunk) is
   * shared with the worker instead: it cannot be moved.
   */
  transfer?: ArrayBufferLike[];
  /**
   * Aborting rejects the call with an error named `AbortError`. A call not
   * yet started never runs; a started one is stopped with its thread, or,
   * for a `short` call, runs to its end with its result dropped.
   */
  signal?: AbortSignal;
  /**
   * A short kernel (one chunk's coding: milliseconds): the call may wait in
   * a thread's own queue, up to {@link SHORT_CALLS_PER_THREAD} deep, so the
   * thread goes from one to the next without waiting for this thread to
   * hand it over. Long kernels (the default) only go to idle threads.
   */
  short?: boolean;
}

/**
 * Short calls one thread holds at once (one running, the rest queued): a
 * thread whose next call is already queued does not idle while the calling
 * thread is busy (reading files, in a GC pause, or, with as many threads as
 * cores, not scheduled at all).
 */
export const SHORT_CALLS_PER_THREAD = 4;

let pool: Piscina | undefined;
let poolOptions: PoolOptions = {};

function workerFile(): string {
  // dist/ holds worker.cjs beside the bundle; the sources hold it beside this file.
  const file = join(__dirname, "worker.cjs");
  if (!existsSync(file)) throw new Error(`ngpipe worker pool: ${file} is missing`);
  return file;
}

/**
 * The path of a kernel module next to the calling module: `<dir>/<base>.js`
 * (built packages), `.cjs`, or `.ts` (running from the sources under jest or
 * tsx). Call it from a file at the root of a package's `src/` so that `dir`
 * is `src/` in the sources and `dist/` once bundled.
 */
export function kernelModulePath(dir: string, base: string): string {
  for (const ext of [".js", ".cjs", ".ts"]) {
    const file = join(dir, base + ext);
    if (existsSync(file)) return file;
  }
  throw new Error(`kernel module ${base} not found in ${dir}`);
}

/** Configure the shared pool; takes effect at the next (re)creation. */
export function configurePool(options: PoolOptions): void {
  poolOptions = { ...options };
}

/** Number of threads the shared pool uses (or will use). */
export function poolSize(): number {
  return poolOptions.threads ?? Math.max(1, availableParallelism());
}

/** The shared pool, created on first use. */
export function getPool(): Piscina {
  if (!pool) {
    const threads = poolSize();
    // Loaded here, not with the package: a process that runs no kernel never pays for it.
    const { Piscina: PiscinaPool } = createRequire(__filename)(
      "piscina",
    ) as typeof import("piscina");
    pool = new PiscinaPool({
      filename: workerFile(),
      minThreads: 0,
      maxThreads: threads,
      // Only short calls share a thread: piscina gives a call with a signal an idle thread.
      concurrentTasksPerWorker: SHORT_CALLS_PER_THREAD,
      idleTimeout: poolOptions.idleTimeoutMs ?? 2000,
    });
  }
  return pool;
}

const KERNEL_ERROR = "__ngpipeKernelError";
const errorClasses = new Map<string, new (message: string) => Error>();

/**
 * Errors thrown inside a worker reach the caller as this class (matched by
 * `name`) instead of a plain Error. Register each typed error a kernel throws.
 */
export function registerKernelError(cls: new (message: string) => Error, name = cls.name): void {
  errorClasses.set(name, cls);
}

interface KernelErrorInfo {
  name: string;
  message: string;
  stack?: string;
}

function revive(info: KernelErrorInfo): Error {
  const Cls = errorClasses.get(info.name);
  const err = Cls ? new Cls(info.message) : new Error(info.message);
  if (!Cls) err.name = info.name;
  // Keep the message exactly as thrown (some constructors decorate it).
  err.message = info.message;
  if (info.stack)
    err.stack = `${err.name}: ${info.message}\n    (in a worker thread)\n${info.stack.split("\n").slice(1).join("\n")}`;
  return err;
}

/**
 * The signal of long calls made without one: piscina puts a call with a
 * signal on an idle thread only, and queues no call behind it.
 */
const neverAborted = new AbortController().signal;
// Every long call in flight listens on it.
setMaxListeners(0, neverAborted);

/** Per signal, a shared flag that workers read before running a short call (1 once aborted). */
const abortFlags = new WeakMap<AbortSignal, Int32Array>();

function abortFlag(signal: AbortSignal): Int32Array {
  let flag = abortFlags.get(signal);
  if (flag === undefined) {
    const f = new Int32Array(new SharedArrayBuffer(4));
    signal.addEventListener("abort", () => Atomics.store(f, 0, 1), { once: true });
    abortFlags.set(signal, f);
    flag = f;
  }
  return flag;
}

function abortError(signal: AbortSignal, name: string): Error {
  const e = new Error(`kernel ${name} was aborted`, { cause: signal.reason });
  e.name = "AbortError";
  return e;
}

/**
 * A short call under `signal`: piscina is not given the signal (a call
 * with one never shares a thread), so the abort is handled here. It
 * rejects at once; a worker skips the call if it has not started it.
 */
function runShort(
  task: object,
  name: string,
  transfer: ArrayBuffer[] | undefined,
  signal: AbortSignal,
): Promise<unknown> {
  if (signal.aborted) return Promise.reject(abortError(signal, name));
  const run = getPool().run({ ...task, cancel: abortFlag(signal) }, { transferList: transfer });
  return abortable(run, signal, () => abortError(signal, name));
}

/** Run one kernel on the shared pool. Errors thrown by the kernel keep their registered class. */
export async function runKernel<T>(
  module: string,
  name: string,
  args: unknown[],
  options: KernelCallOptions = {},
): Promise<T> {
  let result: unknown;
  const { transfer, signal } = options;
  try {
    const task = { module, name, args };
    const moved = transfer?.filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
    result = await (options.short && signal
      ? runShort(task, name, moved, signal)
      : getPool().run(task, {
          transferList: moved,
          signal: signal ?? (options.short ? undefined : neverAborted),
        }));
  } catch (err) {
    const e = err as Error;
    if (options.signal?.aborted || e?.name === "AbortError") throw err;
    // Errors the kernel threw come back as values (below); a rejection here
    // is the worker itself failing: it exited or ran out of memory.
    throw new KernelCrashError(
      `kernel ${name} of ${basename(module)} failed in the worker pool: ${e?.message ?? String(err)}`,
      `${module}#${name}`,
      { cause: err },
    );
  }
  if (result !== null && typeof result === "object" && KERNEL_ERROR in result) {
    throw revive((result as Record<string, KernelErrorInfo>)[KERNEL_ERROR]);
  }
  return result as T;
}

/** Stop the shared pool's threads (a later call creates a new pool). */
export async function closePool(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.destroy();
}
