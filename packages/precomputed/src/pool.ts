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

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { basename, join } from "node:path";
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
  signal?: AbortSignal;
}

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

/** Run one kernel on the shared pool. Errors thrown by the kernel keep their registered class. */
export async function runKernel<T>(
  module: string,
  name: string,
  args: unknown[],
  options: KernelCallOptions = {},
): Promise<T> {
  let result: unknown;
  try {
    result = await getPool().run(
      { module, name, args },
      {
        transferList: options.transfer?.filter((b): b is ArrayBuffer => b instanceof ArrayBuffer),
        signal: options.signal,
      },
    );
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
