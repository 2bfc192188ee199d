/**
 * Groups the keys a batch call starts into batches of reads: what
 * `getMany` hands the file reader thread (file-batch-reader.ts) one
 * message at a time.
 */

import type { ItemDone } from "./pool";

/** One batch of keys: backend keys, the caller's keys, and where each key's outcome goes. */
export interface KeyBatch<R> {
  fulls: string[];
  keys: string[];
  dones: ItemDone<R>[];
}

/**
 * Collects keys into batches of at most `size`: a batch is sent as soon as
 * it is full, or at the end of the current turn (a microtask) with what it
 * holds. With `size` half the batch call's concurrency, two batches are in
 * flight: while the main thread hands out the results of one, the reader
 * works on the other.
 */
export class KeyBatches<R> {
  private batch: KeyBatch<R> = { fulls: [], keys: [], dones: [] };
  private scheduled = false;

  constructor(
    private readonly size: number,
    private readonly send: (batch: KeyBatch<R>) => void,
  ) {}

  /** Adds one key; its outcome goes to `done` once its batch is read. */
  add(full: string, key: string, done: ItemDone<R>): void {
    const b = this.batch;
    b.fulls.push(full);
    b.keys.push(key);
    b.dones.push(done);
    if (b.fulls.length >= this.size) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flusher());
    }
  }

  /** The microtask that sends what the batch holds (returned, not assigned: see keepNames in pool.ts). */
  private flusher(): () => void {
    return () => {
      this.scheduled = false;
      this.flush();
    };
  }

  private flush(): void {
    const b = this.batch;
    if (b.fulls.length === 0) return;
    this.batch = { fulls: [], keys: [], dones: [] };
    this.send(b);
  }
}
