/**
 * Fresh, uninitialised 32-bit word arrays for decoders that write every word
 * of their output.
 *
 * Why large outputs go on a SharedArrayBuffer: V8 counts the memory of every
 * ordinary ArrayBuffer as external memory, and one allocation that grows it
 * by more than 64 MB since the last full collection starts incremental
 * marking at once ("external memory pressure"). A 256 MiB decode then pays
 * concurrent marking threads and a mark-compact inside the call, work the
 * same decoder in C++ never does. V8 leaves shared backing stores out of that
 * count (it cannot tell how many isolates hold one), so a SharedArrayBuffer
 * of the same size costs the page faults only. The array behaves like any
 * other, except that its buffer cannot be put in a transfer list: posted to
 * a worker it is shared, not moved (the pool's `runKernel` leaves such
 * buffers out of `transfer` for that reason).
 *
 * Memory V8 does not count does not prompt a collection either, so garbage
 * outputs could pile up in a process that allocates little else. While the
 * process holds more than {@link SHARED_OUTPUT_BUDGET} bytes of array-buffer
 * memory, outputs are ordinary ArrayBuffers again: V8 sees the pressure and
 * collects, which frees the dead shared outputs too.
 *
 * A kernel whose WebAssembly module imports a shared memory can have its
 * output live in that memory ({@link sharedOutputMemory}), so the module
 * writes it directly instead of through a copy. Such a memory's buffer is a
 * SharedArrayBuffer too, but V8 maps WebAssembly memory itself, outside
 * Node's array-buffer allocator, so `process.memoryUsage().arrayBuffers`
 * would not count it. Each such memory therefore carries a ledger entry: a
 * SharedArrayBuffer of the memory's size that is never touched (at 64 MiB
 * and more it is above malloc's mmap threshold, and the kernel maps it
 * without committing a page: it costs address space, not RAM),
 * held through a WeakMap keyed by the memory's first buffer object. The
 * entry is collected in the same collection as that buffer, so the count the
 * budget reads falls as soon as V8 frees the memory, in a synchronous loop
 * too. (A FinalizationRegistry, used before, only reports between jobs of
 * the event loop: a synchronous loop of decodes spent the budget after a few
 * calls and never got it back. A WeakRef would keep each memory alive until
 * the job ends.)
 */

/** Outputs of at least this many bytes go on a SharedArrayBuffer (V8's external-memory soft limit). */
export const SHARED_OUTPUT_BYTES = 64 * 1024 * 1024;

/**
 * Above this much array-buffer memory held by the process (live or not yet
 * collected, as `process.memoryUsage().arrayBuffers` reports it), outputs are
 * ordinary ArrayBuffers so that V8 collects.
 */
export const SHARED_OUTPUT_BUDGET = 1024 * 1024 * 1024;

/** The thresholds in force: the constants above, unless a test lowered them. */
const limits = { bytes: SHARED_OUTPUT_BYTES, budget: SHARED_OUTPUT_BUDGET };

/**
 * Whether an output of `bytes` goes on a SharedArrayBuffer when the process
 * holds `heldBytes` of array-buffer memory.
 */
export function useSharedOutput(bytes: number, heldBytes: number): boolean {
  return bytes >= limits.bytes && heldBytes + bytes <= limits.budget;
}

/**
 * Test hook: sets the smallest shared output and the budget (the constants
 * above when called without arguments), so that tests can run the shared
 * paths and their fallbacks on small arrays.
 *
 * @internal
 */
export function setSharedOutputLimits(
  bytes: number = SHARED_OUTPUT_BYTES,
  budget: number = SHARED_OUTPUT_BUDGET,
): void {
  limits.bytes = bytes;
  limits.budget = budget;
}

/** A shared WebAssembly memory (the repo's TypeScript libs do not declare the API). */
export interface SharedOutputMemory {
  /** The memory's bytes; a new object after each grow (earlier ones stay valid, at their old length). */
  readonly buffer: SharedArrayBuffer;
  /** Adds 64 KiB pages (up to 4 GiB in all) and returns the old size in pages. */
  grow(pages: number): number;
}

/**
 * The ledger entry of each memory {@link sharedOutputMemory} made, keyed by
 * the memory's first buffer object (which the output's array holds).
 */
const ledger = new WeakMap<SharedArrayBuffer, SharedArrayBuffer>();

/** Array-buffer memory the process holds, WebAssembly output memories included (through their ledger entries). */
function heldBytes(): number {
  return process.memoryUsage().arrayBuffers;
}

/**
 * A new, zeroed SharedArrayBuffer of `bytes` for an output when
 * {@link useSharedOutput} says so, else `undefined` (allocate an ordinary
 * one). Small sizes return at once, without asking the process for its
 * memory use.
 */
export function sharedOutputBuffer(bytes: number): SharedArrayBuffer | undefined {
  return bytes >= limits.bytes && useSharedOutput(bytes, heldBytes())
    ? new SharedArrayBuffer(bytes)
    : undefined;
}

/**
 * A new, zeroed, shared WebAssembly memory of at least `bytes + extra` bytes
 * (growable to 4 GiB) for an output of `bytes` at its start and `extra`
 * bytes of a kernel's working space after it, when {@link useSharedOutput}
 * says so for `bytes`; else `undefined`. The memory counts toward the budget
 * (and in `process.memoryUsage().arrayBuffers`) at its initial size until
 * its first buffer object is collected: make the output's array on
 * `memory.buffer` before growing the memory.
 */
export function sharedOutputMemory(bytes: number, extra: number): SharedOutputMemory | undefined {
  const pages = Math.ceil((bytes + extra) / 65536);
  if (bytes < limits.bytes || pages > 65536 || !useSharedOutput(pages * 65536, heldBytes()))
    return undefined;
  const { WebAssembly } = globalThis as unknown as {
    WebAssembly: {
      Memory: new (d: { initial: number; maximum: number; shared: boolean }) => SharedOutputMemory;
    };
  };
  let entry: SharedArrayBuffer;
  try {
    entry = new SharedArrayBuffer(pages * 65536);
  } catch {
    // No address space for the entry (e.g. under `ulimit -v`): no memory either.
    return undefined;
  }
  const memory = new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true });
  ledger.set(memory.buffer, entry);
  return memory;
}

/**
 * `n` 32-bit words the caller will overwrite in full: not zero-filled by
 * JavaScript (a fresh mapping's pages are zeroed by the kernel on first
 * touch, as for any large `malloc`), owning their whole buffer, on a
 * SharedArrayBuffer when {@link useSharedOutput} says so.
 */
export function freshWords(n: number): Uint32Array {
  const bytes = n * 4;
  const shared = sharedOutputBuffer(bytes);
  if (shared) return new Uint32Array(shared);
  const buf = Buffer.allocUnsafeSlow(bytes);
  return new Uint32Array(buf.buffer, buf.byteOffset, n);
}
