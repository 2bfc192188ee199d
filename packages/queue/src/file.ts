/**
 * fq:///path/to/dir: a queue in a directory, shared by any number of worker
 * processes on one host or on a shared file system (NFS, Lustre, GPFS).
 *
 * Layout:
 *
 * ```
 * queue/<time>--<id>--<attempt>.json           waiting; leasable once <time> (epoch ms) has passed
 * queue/<time>--<id>--<attempt>--<token>.json  leased until <time> by the holder of <token>
 * completed/<id>.json                          done (one file per task id)
 * dead/<id>.json, dead/<id>.error.json         dead letters and the error that put them there
 * insertions/<writer>.count                    tasks inserted by one insert() call
 * tmp/                                         files being written
 * ```
 *
 * Every state change is one `rename` of the task file, which is atomic on a
 * local or network file system: of two workers renaming the same file only
 * one succeeds, the other gets ENOENT. A lease therefore lives in the file
 * name; renewing it renames the file to a later time (so a stale name held by
 * another worker no longer exists); a lapsed lease is just a file whose time
 * has passed and is taken like any waiting task. Completion moves the file to
 * `completed/<id>.json`, so a task is counted once however often it ran, and
 * no lock or append-only file is needed. A redrive renames `dead/<id>.json`
 * back into queue/ under a lapsed-lease name with a fresh token (a name no
 * other file can have, so the rename never replaces a task): of two
 * redrives, one moves each dead letter. Times come from each host's clock:
 * keep clocks synchronised (NTP) when workers run on several hosts.
 */
import { randomBytes } from "node:crypto";
import {
  link,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from "node:fs/promises";
import { join, resolve } from "node:path";
import { forEachLimit } from "../../storage/src/limit";
import { sleep } from "./concurrency";
import { InvalidQueueUrlError, LeaseLostError, QueueError, QueueNotFoundError } from "./errors";
import { deadLetterLimit, decodeTask, describeError, encodeTask } from "./payload";
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

const NAME_RE = /^(\d{15})--(.+?)--(\d+)(?:--([0-9a-f]+))?\.json$/;
const DIRS = ["queue", "completed", "dead", "insertions", "tmp"] as const;

interface Parsed {
  time: number;
  id: string;
  attempt: number;
  token?: string;
}

function parseName(name: string): Parsed | undefined {
  const m = NAME_RE.exec(name);
  if (!m) return undefined;
  return { time: Number(m[1]), id: m[2], attempt: Number(m[3]), token: m[4] };
}

function taskName(time: number, id: string, attempt: number, token?: string): string {
  const t = String(Math.max(0, Math.round(time))).padStart(15, "0");
  return token ? `${t}--${id}--${attempt}--${token}.json` : `${t}--${id}--${attempt}.json`;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === "ENOENT";
}

/** Options of the fq:// backend. */
export interface FileQueueOptions {
  /** Clock (epoch ms); injectable for tests. */
  now?: () => number;
  /**
   * Longest reuse of a directory listing (ms, default 10,000). A listing is
   * also re-read when its names run out and when a time in it falls due.
   */
  listTtlMs?: number;
}

/** The directory backend. Use `openQueue("fq:///path")`. */
export class FileQueue implements Queue {
  readonly url: string;
  /** Absolute path of the queue directory. */
  readonly dir: string;
  private readonly now: () => number;
  private readonly listTtlMs: number;
  private readonly worker = randomBytes(4).toString("hex");
  private seq = 0;
  private ready = false;
  // Names that were due at the last listing, shuffled so that workers sharing
  // the directory try different files first.
  private candidates: string[] = [];
  private listedAt = Number.NEGATIVE_INFINITY;
  private nextDueAt = Number.POSITIVE_INFINITY;

  constructor(dir: string, options: FileQueueOptions = {}) {
    this.dir = resolve(dir);
    this.url = `fq://${this.dir}`;
    this.now = options.now ?? Date.now;
    this.listTtlMs = options.listTtlMs ?? 10_000;
  }

  /** Parse `fq:///abs/dir` (or `fq://relative/dir`, relative to the working directory). */
  static fromUrl(url: string, options?: FileQueueOptions): FileQueue {
    const path = url.slice("fq://".length);
    if (!url.startsWith("fq://") || path.length === 0) {
      throw new InvalidQueueUrlError(
        `not a file queue URL: ${url} (expected fq:///path/to/dir)`,
        url,
      );
    }
    return new FileQueue(decodeURIComponent(path), options);
  }

  private path(sub: (typeof DIRS)[number], name: string): string {
    return join(this.dir, sub, name);
  }

  /**
   * Make the queue's subdirectories. Only `insert` creates the queue itself
   * (`create`): every other operation on a directory that does not exist
   * throws QueueNotFoundError, so a mistyped path is reported instead of
   * looking like an empty queue (and being created).
   */
  private async ensureDirs(create = false): Promise<void> {
    if (this.ready) return;
    if (!create) {
      const st = await stat(this.dir).catch((err) => {
        if (isMissing(err)) return undefined;
        throw err;
      });
      if (st === undefined || !st.isDirectory())
        throw new QueueNotFoundError(
          `no queue at ${this.url}: ${this.dir} ${st === undefined ? "does not exist" : "is not a directory"}; create it, or open with {create: true}`,
          this.url,
        );
    }
    await Promise.all(DIRS.map((d) => mkdir(join(this.dir, d), { recursive: true })));
    this.ready = true;
  }

  /** Create the queue's directory (what `openQueue(url, {create: true})` does). */
  async create(): Promise<void> {
    await this.ensureDirs(true);
  }

  private token(): string {
    return `${this.worker}${(this.seq++).toString(16).padStart(6, "0")}`;
  }

  async insert(
    tasks: Iterable<TaskInput> | AsyncIterable<TaskInput>,
    options: InsertOptions = {},
  ): Promise<number> {
    await this.ensureDirs(true);
    const availableAt = this.now() + (options.delaySeconds ?? 0) * 1000;
    const writer = `${process.pid}-${this.token()}.count`;
    let n = 0;
    let counted = Promise.resolve();
    const record = (count: number) => {
      counted = counted.then(async () => {
        const tmp = this.path("tmp", writer);
        await writeFile(tmp, String(count));
        await rename(tmp, this.path("insertions", writer));
      });
      return counted;
    };
    try {
      await forEachLimit(
        tasks,
        options.concurrency ?? 32,
        async (input, index) => {
          const { task, body } = encodeTask(input, this.url, index);
          const tmp = this.path("tmp", `${this.token()}.json`);
          await writeFile(tmp, body);
          // A task's file name is its due time and id. Linking (unlike a
          // rename) never replaces a file: a task repeating an id due in the
          // same millisecond is made due a millisecond later instead.
          for (let at = availableAt; ; at++) {
            try {
              await link(tmp, this.path("queue", taskName(at, task.id, 0)));
              break;
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
            }
          }
          await unlink(tmp);
          n++;
          if (n % 10_000 === 0) {
            void record(n);
            options.onProgress?.(n);
          }
        },
        { signal: options.signal },
      );
    } finally {
      if (n > 0) await record(n);
    }
    options.onProgress?.(n);
    return n;
  }

  private async relist(now: number): Promise<void> {
    const names = await readdir(join(this.dir, "queue"));
    const due: string[] = [];
    let nextDueAt = Number.POSITIVE_INFINITY;
    for (const name of names) {
      const p = parseName(name);
      if (!p) continue;
      if (p.time <= now) due.push(name);
      else if (p.time < nextDueAt) nextDueAt = p.time;
    }
    for (let i = due.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      const t = due[i];
      due[i] = due[j];
      due[j] = t;
    }
    this.candidates = due;
    this.listedAt = now;
    this.nextDueAt = nextDueAt;
  }

  async lease(options: LeaseOptions = {}): Promise<Lease[]> {
    await this.ensureDirs();
    const seconds = options.seconds ?? 60;
    const count = options.count ?? 1;
    const deadline = this.now() + (options.waitSeconds ?? 0) * 1000;
    const out: Lease[] = [];
    for (;;) {
      let now = this.now();
      let relisted = false;
      if (now - this.listedAt > this.listTtlMs || now >= this.nextDueAt) {
        await this.relist(now);
        relisted = true;
      }
      while (out.length < count) {
        if (this.candidates.length === 0) {
          // Other workers may have taken every cached name: look once more.
          if (relisted) break;
          await this.relist(this.now());
          relisted = true;
          continue;
        }
        const name = this.candidates.pop()!;
        const p = parseName(name)!;
        now = this.now();
        const attempt = p.attempt + 1;
        const expiresAt = now + seconds * 1000;
        const leased = taskName(expiresAt, p.id, attempt, this.token());
        try {
          await rename(this.path("queue", name), this.path("queue", leased));
        } catch (err) {
          if (isMissing(err)) continue; // another worker took it, or it was renewed
          throw err;
        }
        const lease = await this.readLeased(leased, attempt, expiresAt);
        if (lease) out.push(lease);
      }
      now = this.now();
      if (out.length > 0 || now >= deadline || options.signal?.aborted) return out;
      await sleep(Math.min(100, deadline - now), options.signal);
    }
  }

  /** Read a file we just leased; a corrupt one goes straight to dead/. */
  private async readLeased(name: string, attempt: number, expiresAt: number) {
    const path = this.path("queue", name);
    const body = await readFile(path, "utf8");
    try {
      const task = decodeTask(body, `${this.url}/queue/${name}`);
      return { handle: name, task, attempt, expiresAt } satisfies Lease;
    } catch (err) {
      const id = parseName(name)!.id;
      await this.writeError(id, attempt, { name: "", params: {}, id }, err);
      await rename(path, this.path("dead", `${id}.json`)).catch(() => {});
      return undefined;
    }
  }

  private lost(lease: Lease, op: string, cause: unknown): LeaseLostError {
    return new LeaseLostError(
      `${op} ${this.url}: lease on task ${lease.task.id} is no longer held (it lapsed and another worker took it, or the queue was purged)`,
      this.url,
      lease.task.id,
      { cause },
    );
  }

  /** Rename the leased file; ENOENT means the lease is gone. */
  private async move(lease: Lease, op: string, to: string): Promise<void> {
    try {
      await rename(this.path("queue", lease.handle), to);
    } catch (err) {
      if (isMissing(err)) throw this.lost(lease, op, err);
      throw new QueueError(`${op} ${this.url}: task ${lease.task.id}: ${String(err)}`, this.url, {
        cause: err,
      });
    }
  }

  async renew(lease: Lease, seconds: number): Promise<Lease> {
    const p = parseName(lease.handle)!;
    const expiresAt = this.now() + seconds * 1000;
    const name = taskName(expiresAt, p.id, p.attempt, p.token);
    await this.move(lease, "renew", this.path("queue", name));
    lease.handle = name;
    lease.expiresAt = expiresAt;
    return lease;
  }

  async delete(lease: Lease): Promise<void> {
    await this.move(lease, "delete", this.path("completed", `${lease.task.id}.json`));
  }

  async release(lease: Lease, delaySeconds = 0): Promise<void> {
    const p = parseName(lease.handle)!;
    const name = taskName(this.now() + delaySeconds * 1000, p.id, p.attempt);
    await this.move(lease, "release", this.path("queue", name));
  }

  private async writeError(id: string, attempt: number, task: unknown, error: unknown) {
    const tmp = this.path("tmp", `${this.token()}.error.json`);
    const record = { task, attempt, error: describeError(error), at: new Date().toISOString() };
    await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`);
    await rename(tmp, this.path("dead", `${id}.error.json`));
  }

  async deadLetter(lease: Lease, error: unknown): Promise<void> {
    const id = lease.task.id;
    await this.writeError(id, lease.attempt, lease.task, error);
    try {
      await this.move(lease, "dead-letter", this.path("dead", `${id}.json`));
    } catch (err) {
      await unlink(this.path("dead", `${id}.error.json`)).catch(() => {});
      throw err;
    }
  }

  /** Names of the dead task files (not their error records), sorted. */
  private async deadNames(): Promise<string[]> {
    const names = await readdir(join(this.dir, "dead"));
    return names.filter((n) => n.endsWith(".json") && !n.endsWith(".error.json")).sort();
  }

  async dead(options: DeadLetterOptions = {}): Promise<DeadLetter[]> {
    const limit = deadLetterLimit(options, this.url, "dead");
    await this.ensureDirs();
    const out: DeadLetter[] = [];
    for (const name of await this.deadNames()) {
      if (out.length >= limit) break;
      const id = name.slice(0, -".json".length);
      let body: string;
      try {
        body = await readFile(this.path("dead", name), "utf8");
      } catch (err) {
        if (isMissing(err)) continue; // redriven meanwhile
        throw err;
      }
      let task: QueuedTask;
      try {
        task = decodeTask(body, `${this.url}/dead/${name}`);
      } catch {
        task = { name: "", params: {}, id };
      }
      const record = await readFile(this.path("dead", `${id}.error.json`), "utf8").then(
        (text) => JSON.parse(text) as { attempt?: unknown; error?: DeadLetter["error"] },
        () => undefined,
      );
      const d: DeadLetter = { task };
      if (typeof record?.error?.message === "string") d.error = record.error;
      if (typeof record?.attempt === "number") d.attempts = record.attempt;
      out.push(d);
    }
    return out;
  }

  async redrive(options: DeadLetterOptions = {}): Promise<number> {
    const limit = deadLetterLimit(options, this.url, "redrive");
    await this.ensureDirs();
    let n = 0;
    for (const name of await this.deadNames()) {
      if (n >= limit) break;
      const id = name.slice(0, -".json".length);
      // The error record is taken aside first: removing it after the task had
      // moved could remove the record of a second death in between.
      const errorPath = this.path("dead", `${id}.error.json`);
      const aside = this.path("tmp", `${this.token()}.error.json`);
      const hadError = await rename(errorPath, aside).then(
        () => true,
        (err) => {
          if (isMissing(err)) return false;
          throw err;
        },
      );
      try {
        const back = taskName(this.now(), id, 0, this.token());
        await rename(this.path("dead", name), this.path("queue", back));
        n++;
      } catch (err) {
        if (isMissing(err)) continue; // another redrive moved it
        if (hadError) await rename(aside, errorPath).catch(() => {});
        throw new QueueError(`redrive ${this.url}: task ${id}: ${String(err)}`, this.url, {
          cause: err,
        });
      } finally {
        if (hadError) await unlink(aside).catch(() => {});
      }
    }
    if (n > 0) this.listedAt = Number.NEGATIVE_INFINITY;
    return n;
  }

  async releaseAll(): Promise<number> {
    await this.ensureDirs();
    const now = this.now();
    let n = 0;
    for (const name of await readdir(join(this.dir, "queue"))) {
      const p = parseName(name);
      if (!p?.token || p.time <= now) continue;
      try {
        await rename(this.path("queue", name), this.path("queue", taskName(now, p.id, p.attempt)));
        n++;
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    }
    this.listedAt = Number.NEGATIVE_INFINITY;
    return n;
  }

  async purge(): Promise<void> {
    await Promise.all(DIRS.map((d) => rm(join(this.dir, d), { recursive: true, force: true })));
    this.ready = false;
    this.candidates = [];
    await this.ensureDirs();
  }

  async status(): Promise<QueueStatus> {
    await this.ensureDirs();
    const now = this.now();
    const [queue, completed, dead, insertions] = await Promise.all(
      (["queue", "completed", "dead", "insertions"] as const).map((d) =>
        readdir(join(this.dir, d)),
      ),
    );
    let enqueued = 0;
    let leased = 0;
    for (const name of queue) {
      const p = parseName(name);
      if (!p) continue;
      if (p.token && p.time > now) leased++;
      else enqueued++;
    }
    let inserted = 0;
    for (const name of insertions) {
      const text = await readFile(this.path("insertions", name), "utf8").catch(() => "0");
      inserted += Number(text) || 0;
    }
    return {
      enqueued,
      leased,
      completed: completed.filter((n) => n.endsWith(".json")).length,
      inserted,
      dead: dead.filter((n) => n.endsWith(".json") && !n.endsWith(".error.json")).length,
    };
  }

  async close(): Promise<void> {}
}
