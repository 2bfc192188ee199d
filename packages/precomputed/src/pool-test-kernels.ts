/** Kernels used only by the pool's own tests. */
export function double(data: Float64Array): Float64Array {
  for (let i = 0; i < data.length; i++) data[i] *= 2;
  return data;
}

export function describe(data: Uint8Array): { length: number; first: number } {
  return { length: data.length, first: data[0] };
}

export function fail(message: string): never {
  throw new RangeError(message);
}

/** Ends the worker thread (a crash, as far as the pool can tell). */
export function crash(code: number): never {
  process.exit(code);
}

/** Reads a large input and keeps nothing. */
export function consume(data: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < data.length; i += 4096) sum += data[i];
  return sum;
}

/** A kernel that returns a rejected promise. */
export function rejects(message: string): Promise<never> {
  return Promise.reject(new RangeError(message));
}

/** Keeps the thread busy for `ms` milliseconds, then sets `done[0]` to 1. */
export function spin(ms: number, done: Int32Array): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
  Atomics.store(done, 0, 1);
}

/** Adds one to `counter[0]` (a SharedArrayBuffer the test reads). */
export function bump(counter: Int32Array): void {
  Atomics.add(counter, 0, 1);
}
