/**
 * mem://name: an in-process queue. Queues are shared by name within one
 * process (two `openQueue("mem://jobs")` see the same tasks), which makes it
 * the backend for tests, examples and single-process pipelines.
 */
import { randomUUID } from "node:crypto";
import { forEachLimit } from "../../storage/src/limit";
import { sleep } from "./concurrency";
import { LeaseLostError } from "./errors";
import { deadLetterLimit, describeError, encodeTask } from "./payload";
import type {
  DeadLetter,
  DeadLetterOptions,
  InsertOptions,
  Lease,
  LeaseOptions,
  Queue,
  QueuedTask,
  QueueStatus,
  TaskInput,
} from "./types";

interface Entry {
  task: QueuedTask;
  attempt: number;
  availableAt: number;
}

interface Store {
  ready: Entry[];
  head: number;
  delayed: Entry[];
  leased: Map<string, Entry>;
  completed: number;
  inserted: number;
  dead: DeadLetter[];
}

const stores = new Map<string, Store>();

function newStore(): Store {
  return {
    ready: [],
    head: 0,
    delayed: [],
    leased: new Map(),
    completed: 0,
    inserted: 0,
    dead: [],
  };
}

/** The in-memory backend. Use `openQueue("mem://name")`. */
export class MemoryQueue implements Queue {
  readonly url: string;
  private readonly store: Store;

  /**
   * @param name - the queue's name; queues of one name share their tasks.
   * @param now - clock in epoch ms (injectable for tests).
   */
  constructor(
    readonly name: string,
    private readonly now: () => number = Date.now,
  ) {
    this.url = `mem://${name}`;
    let s = stores.get(name);
    if (!s) stores.set(name, (s = newStore()));
    this.store = s;
  }

  /** Tasks moved to the dead-letter queue, with their errors. */
  deadLetters(): readonly DeadLetter[] {
    return this.store.dead;
  }

  async insert(
    tasks: Iterable<TaskInput> | AsyncIterable<TaskInput>,
    options: InsertOptions = {},
  ): Promise<number> {
    const delayMs = (options.delaySeconds ?? 0) * 1000;
    let n = 0;
    // Concurrency 1: the work is synchronous; the helper only streams the iterable.
    await forEachLimit(
      tasks,
      1,
      async (input, index) => {
        const { task } = encodeTask(input, this.url, index);
        const entry = { task, attempt: 0, availableAt: this.now() + delayMs };
        if (delayMs > 0) this.store.delayed.push(entry);
        else this.store.ready.push(entry);
        this.store.inserted++;
        n++;
        if (options.onProgress && n % 1000 === 0) options.onProgress(n);
      },
      { signal: options.signal },
    );
    options.onProgress?.(n);
    return n;
  }

  /** Move due delayed tasks and lapsed leases back to the ready list. */
  private recover(now: number): void {
    const s = this.store;
    if (s.delayed.length > 0) {
      const keep: Entry[] = [];
      for (const e of s.delayed) (e.availableAt <= now ? s.ready : keep).push(e);
      s.delayed = keep;
    }
    for (const [token, e] of s.leased) {
      if (e.availableAt <= now) {
        s.leased.delete(token);
        s.ready.push(e);
      }
    }
  }

  async lease(options: LeaseOptions = {}): Promise<Lease[]> {
    const seconds = options.seconds ?? 60;
    const count = options.count ?? 1;
    const deadline = this.now() + (options.waitSeconds ?? 0) * 1000;
    for (;;) {
      const now = this.now();
      this.recover(now);
      const s = this.store;
      const out: Lease[] = [];
      while (out.length < count && s.head < s.ready.length) {
        const e = s.ready[s.head++];
        e.attempt++;
        e.availableAt = now + seconds * 1000;
        const token = randomUUID();
        s.leased.set(token, e);
        out.push({ handle: token, task: e.task, attempt: e.attempt, expiresAt: e.availableAt });
      }
      if (s.head > 1024 && s.head * 2 > s.ready.length) {
        s.ready = s.ready.slice(s.head);
        s.head = 0;
      }
      if (out.length > 0 || now >= deadline || options.signal?.aborted) return out;
      await sleep(Math.min(50, deadline - now), options.signal);
    }
  }

  private held(lease: Lease, op: string): Entry {
    const e = this.store.leased.get(lease.handle);
    if (!e) {
      throw new LeaseLostError(
        `${op} ${this.url}: lease on task ${lease.task.id} is no longer held`,
        this.url,
        lease.task.id,
      );
    }
    return e;
  }

  async renew(lease: Lease, seconds: number): Promise<Lease> {
    const e = this.held(lease, "renew");
    e.availableAt = this.now() + seconds * 1000;
    lease.expiresAt = e.availableAt;
    return lease;
  }

  async delete(lease: Lease): Promise<void> {
    this.held(lease, "delete");
    this.store.leased.delete(lease.handle);
    this.store.completed++;
  }

  async release(lease: Lease, delaySeconds = 0): Promise<void> {
    const e = this.held(lease, "release");
    this.store.leased.delete(lease.handle);
    e.availableAt = this.now() + delaySeconds * 1000;
    (delaySeconds > 0 ? this.store.delayed : this.store.ready).push(e);
  }

  async deadLetter(lease: Lease, error: unknown): Promise<void> {
    const e = this.held(lease, "dead-letter");
    this.store.leased.delete(lease.handle);
    this.store.dead.push({ task: e.task, attempts: e.attempt, error: describeError(error) });
  }

  async dead(options: DeadLetterOptions = {}): Promise<DeadLetter[]> {
    return this.store.dead.slice(0, deadLetterLimit(options, this.url, "dead"));
  }

  async redrive(options: DeadLetterOptions = {}): Promise<number> {
    const s = this.store;
    const moved = s.dead.splice(0, deadLetterLimit(options, this.url, "redrive"));
    const now = this.now();
    for (const d of moved) s.ready.push({ task: d.task, attempt: 0, availableAt: now });
    return moved.length;
  }

  async releaseAll(): Promise<number> {
    const s = this.store;
    const n = s.leased.size;
    const now = this.now();
    for (const e of s.leased.values()) {
      e.availableAt = now;
      s.ready.push(e);
    }
    s.leased.clear();
    return n;
  }

  async purge(): Promise<void> {
    stores.set(this.name, Object.assign(this.store, newStore()));
  }

  async status(): Promise<QueueStatus> {
    const s = this.store;
    const now = this.now();
    let leased = 0;
    for (const e of s.leased.values()) if (e.availableAt > now) leased++;
    return {
      enqueued: s.ready.length - s.head + s.delayed.length + (s.leased.size - leased),
      leased,
      completed: s.completed,
      inserted: s.inserted,
      dead: s.dead.length,
    };
  }

  async close(): Promise<void> {}
}
