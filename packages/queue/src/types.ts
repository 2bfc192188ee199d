/**
 * The queue contract shared by every backend (mem://, fq://, sqs://).
 */

/** A JSON value as carried in task params. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** A task as it travels through a queue: JSON `{name, params, id}`. */
export interface QueuedTask {
  /** The task kind, e.g. `"downsample"`; the worker dispatches on it. */
  name: string;
  /** The task's arguments; any JSON object. */
  params: { [key: string]: JsonValue };
  /** Stable id: the same across retries, used for dedup and dead-letter names. */
  id: string;
}

/** What `insert` accepts: `params` defaults to `{}`, `id` to a random UUID. */
export interface TaskInput {
  name: string;
  params?: { [key: string]: JsonValue };
  id?: string;
}

/**
 * A task held by one worker until `expiresAt`. `renew` updates `expiresAt`
 * (and, on fq://, `handle`) in place.
 */
export interface Lease {
  /** Backend handle: an SQS receipt handle, an fq:// file name, a mem:// token. */
  handle: string;
  /** The task. */
  readonly task: QueuedTask;
  /** 1 on the first lease of this task, 2 on the first retry, ... */
  readonly attempt: number;
  /** Epoch milliseconds at which the lease lapses unless renewed. */
  expiresAt: number;
}

/** Counts a backend knows; a count the backend cannot know is `undefined`. */
export interface QueueStatus {
  /** Tasks waiting to be leased (including delayed ones and lapsed leases). */
  enqueued: number;
  /** Tasks currently leased. */
  leased: number;
  /** Tasks deleted after success (fq://, mem://). */
  completed?: number;
  /** Tasks ever inserted (fq://, mem://). */
  inserted?: number;
  /** Tasks in the dead-letter queue. */
  dead?: number;
}

/** Options of `Queue.insert`. */
export interface InsertOptions {
  /** Hide the tasks for this long after insertion (SQS: at most 900). */
  delaySeconds?: number;
  /** Writes/requests in flight at once (default: backend-specific). */
  concurrency?: number;
  /** Stops inserting (the call rejects with the signal's reason); tasks already written stay. */
  signal?: AbortSignal;
  /** Called with the running count of inserted tasks. */
  onProgress?: (inserted: number) => void;
}

/** Options of `Queue.lease`. */
export interface LeaseOptions {
  /** Lease duration (default 60). SQS rounds up to whole seconds. */
  seconds?: number;
  /** At most this many tasks (default 1). */
  count?: number;
  /** Wait up to this long for a task when none is available (SQS: long polling, max 20). */
  waitSeconds?: number;
  /** Aborts a wait. */
  signal?: AbortSignal;
}

/**
 * A task in the dead-letter queue, with the failure that put it there when
 * the backend kept it (SQS: not for messages moved by a `RedrivePolicy`).
 */
export interface DeadLetter {
  /** The task as inserted (a corrupt stored task: empty name and params). */
  task: QueuedTask;
  /** The error that killed it: message and, where it fitted, the stack. */
  error?: { message: string; stack?: string };
  /** The attempt on which it died. */
  attempts?: number;
}

/** Options of `Queue.dead` and `Queue.redrive`. */
export interface DeadLetterOptions {
  /** At most this many dead letters (default: all). */
  limit?: number;
}

/** A task queue. Obtain one with `openQueue(url)`. */
export interface Queue {
  /** The URL the queue was opened with (normalised). */
  readonly url: string;
  /** Where the backend waits server-side for tasks (SQS long polling), how long `poll` waits per lease call. */
  readonly longPollSeconds?: number;
  /**
   * Insert tasks from any iterable or async iterable, streaming: the
   * sequence is consumed lazily with bounded concurrency. Every task is
   * validated first; a bad one throws `InvalidTaskError` and stops the
   * insert (tasks already sent stay). Resolves to the number inserted.
   */
  insert(
    tasks: Iterable<TaskInput> | AsyncIterable<TaskInput>,
    options?: InsertOptions,
  ): Promise<number>;
  /** Lease up to `count` tasks; resolves to `[]` when none is available. */
  lease(options?: LeaseOptions): Promise<Lease[]>;
  /** Extend a lease to `seconds` from now; throws `LeaseLostError` if no longer held. */
  renew(lease: Lease, seconds: number): Promise<Lease>;
  /** Remove a completed task; throws `LeaseLostError` if no longer held. */
  delete(lease: Lease): Promise<void>;
  /** Give a task back for a retry, visible again after `delaySeconds` (default 0). */
  release(lease: Lease, delaySeconds?: number): Promise<void>;
  /** Move a task to the dead-letter queue with the error that killed it. */
  deadLetter(lease: Lease, error: unknown): Promise<void>;
  /**
   * The tasks in the dead-letter queue with their errors, at most `limit`.
   * The dead letters stay where they are. (SQS hides the messages read for
   * a moment, so two readers at once each see part of them.)
   */
  dead(options?: DeadLetterOptions): Promise<DeadLetter[]>;
  /**
   * Move up to `limit` dead tasks back into the queue as new tasks (the next
   * lease is attempt 1) and drop their error records; resolves to how many.
   * Concurrent redrives never move one dead letter twice.
   */
  redrive(options?: DeadLetterOptions): Promise<number>;
  /** Release every current lease (fq://, mem://); resolves to how many. */
  releaseAll(): Promise<number>;
  /** Remove every task, lease, completion record and dead letter. */
  purge(): Promise<void>;
  /** Current counts. */
  status(): Promise<QueueStatus>;
  /** Free clients and timers. */
  close(): Promise<void>;
}
