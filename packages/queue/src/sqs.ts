/**
 * sqs://queue-name (or a full queue URL): Amazon SQS through
 * `@aws-sdk/client-sqs`. Leases are receives with a visibility timeout;
 * renewals are ChangeMessageVisibility; attempts are SQS's
 * ApproximateReceiveCount. Dead letters go to the queue's redrive target if it
 * has one, else to `<name>-dead` (created on first use), with the error as
 * message attributes. Reading or redriving dead letters receives them from
 * that queue, so each is hidden from other readers while one handles it.
 */
import type { Message, SendMessageBatchRequestEntry, SQSClient } from "@aws-sdk/client-sqs";
import { forEachLimit } from "../../storage/src/limit";
import { batch, sleep } from "./concurrency";
import {
  LeaseLostError,
  QueueError,
  QueueNotFoundError,
  UnsupportedOperationError,
} from "./errors";
import {
  deadLetterLimit,
  decodeTask,
  describeError,
  encodeTask,
  MAX_PAYLOAD_BYTES,
} from "./payload";
import { readSqsSecret } from "./secrets";
import {
  errName,
  LOST_CODES,
  MISSING_CODES,
  parseSqsUrl,
  type SqsQueueOptions,
  sqs,
  truncate,
} from "./sqs-common";
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

export { parseSqsUrl, type SqsQueueOptions };

/** The SQS backend. Use `openQueue("sqs://name", {region, endpoint})`. */
export class SqsQueue implements Queue {
  /** SQS long polling: `poll` waits up to this long in one receive. */
  readonly longPollSeconds = 20;
  private deadUrl?: Promise<string>;
  /**
   * Redrives from this object run one after another. SQS standard queues
   * deliver at least once, and two receives racing on the dead-letter queue
   * can both get the same message (moto does so readily); serialized, a
   * process never sends a dead letter back twice. Redrives from different
   * hosts at once keep SQS's at-least-once guarantee, which tasks tolerate
   * because they are idempotent.
   */
  private redriving: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly url: string,
    /** The resolved https queue URL. */
    readonly queueUrl: string,
    readonly client: SQSClient,
    private readonly ownsClient: boolean,
  ) {}

  /** Queue name: the last path segment of the queue URL. */
  get name(): string {
    return this.queueUrl.slice(this.queueUrl.lastIndexOf("/") + 1);
  }

  /** Resolve `sqs://name` or `http(s)://host/account/name` to an open queue. */
  static async open(url: string, options: SqsQueueOptions = {}): Promise<SqsQueue> {
    let region = options.region;
    let endpoint = options.endpoint;
    let name: string | undefined;
    let queueUrl: string | undefined;
    const parsed = parseSqsUrl(url);
    if (parsed.name !== undefined) name = parsed.name;
    else {
      queueUrl = parsed.queueUrl;
      const u = new URL(url);
      region ??= /^sqs\.([a-z0-9-]+)\.amazonaws\.com/.exec(u.host)?.[1];
      if (!u.host.endsWith("amazonaws.com")) endpoint ??= u.origin;
    }
    const ownsClient = !options.client;
    let client = options.client;
    if (!client) {
      let credentials = options.credentials;
      if (!credentials) {
        const secret = readSqsSecret(url);
        credentials = secret?.credentials;
        region ??= secret?.region;
      }
      const timeout = options.requestTimeoutMs ?? 60_000;
      client = new (sqs().SQSClient)({
        region: region ?? process.env.AWS_REGION ?? "us-east-1",
        endpoint,
        ...(credentials ? { credentials } : {}),
        requestHandler: {
          connectionTimeout: Math.min(timeout, 10_000),
          requestTimeout: timeout,
          throwOnRequestTimeout: true,
        },
      });
    }
    if (!queueUrl) {
      try {
        if (options.create) {
          queueUrl = (await client.send(new (sqs().CreateQueueCommand)({ QueueName: name })))
            .QueueUrl;
        } else {
          queueUrl = (await client.send(new (sqs().GetQueueUrlCommand)({ QueueName: name })))
            .QueueUrl;
        }
      } catch (err) {
        if (ownsClient) client.destroy();
        if (MISSING_CODES.has(errName(err))) {
          throw new QueueNotFoundError(
            `SQS queue ${name} does not exist (${url}); create it, or open with {create: true}`,
            url,
            { cause: err },
          );
        }
        throw new QueueError(`cannot open ${url}: ${String(err)}`, url, { cause: err });
      }
    }
    return new SqsQueue(url, queueUrl!, client, ownsClient);
  }

  /**
   * Check, with one bounded request, that the queue at `url` exists (or,
   * for `sqs://name` with `create`, that the service answers and could
   * create it), so a command can refuse a missing queue before it writes
   * anything. Throws QueueNotFoundError naming `url` when the queue does not
   * exist or no SQS service answers there.
   */
  static async check(url: string, options: SqsQueueOptions = {}): Promise<void> {
    const bounded = { ...options, requestTimeoutMs: options.requestTimeoutMs ?? 10_000 };
    let q: SqsQueue;
    try {
      q = await SqsQueue.open(url, { ...bounded, create: false });
    } catch (err) {
      if (err instanceof QueueNotFoundError && options.create && parseSqsUrl(url).name) return;
      if (err instanceof QueueNotFoundError) throw err;
      throw new QueueNotFoundError(`no SQS service answers for ${url}: ${String(err)}`, url, {
        cause: err,
      });
    }
    try {
      // A full queue URL is not resolved by open: ask the queue itself.
      if (parseSqsUrl(url).queueUrl !== undefined)
        await q.client.send(
          new (sqs().GetQueueAttributesCommand)({
            QueueUrl: q.queueUrl,
            AttributeNames: ["QueueArn"],
          }),
        );
    } catch (err) {
      throw new QueueNotFoundError(
        MISSING_CODES.has(errName(err))
          ? `SQS queue ${url} does not exist; create it first`
          : `no SQS queue answers at ${url}: ${errName(err)}: ${String(err)}`,
        url,
        { cause: err },
      );
    } finally {
      await q.close();
    }
  }

  private fail(op: string, err: unknown): QueueError {
    return new QueueError(`${op} ${this.url}: ${errName(err)}: ${String(err)}`, this.url, {
      cause: err,
    });
  }

  async insert(
    tasks: Iterable<TaskInput> | AsyncIterable<TaskInput>,
    options: InsertOptions = {},
  ): Promise<number> {
    const delay = options.delaySeconds ?? 0;
    if (!Number.isInteger(delay) || delay < 0 || delay > 900) {
      throw new QueueError(`insert ${this.url}: delaySeconds must be an integer 0-900`, this.url);
    }
    const url = this.url;
    async function* encoded() {
      let index = 0;
      for await (const t of tasks as AsyncIterable<TaskInput>) {
        yield encodeTask(t, url, index++).body;
      }
    }
    // SendMessageBatch takes 10 messages and 256 KiB in total.
    const groups = batch(
      encoded(),
      10,
      (group, next) =>
        group.reduce((s, b) => s + Buffer.byteLength(b), 0) + Buffer.byteLength(next) >
        MAX_PAYLOAD_BYTES,
    );
    let n = 0;
    await forEachLimit(
      groups,
      options.concurrency ?? 16,
      async (bodies) => {
        await this.sendBatch(bodies, delay, options.signal);
        n += bodies.length;
        if (options.onProgress && n % 1000 < bodies.length) options.onProgress(n);
      },
      { signal: options.signal },
    );
    options.onProgress?.(n);
    return n;
  }

  private async sendBatch(bodies: string[], delay: number, signal?: AbortSignal): Promise<void> {
    let entries: SendMessageBatchRequestEntry[] = bodies.map((MessageBody, i) => ({
      Id: String(i),
      MessageBody,
      DelaySeconds: delay || undefined,
    }));
    for (let attempt = 0; ; attempt++) {
      let failed: { Id?: string; SenderFault?: boolean; Code?: string; Message?: string }[];
      try {
        const res = await this.client.send(
          new (sqs().SendMessageBatchCommand)({ QueueUrl: this.queueUrl, Entries: entries }),
          { abortSignal: signal },
        );
        failed = res.Failed ?? [];
      } catch (err) {
        throw this.fail("insert", err);
      }
      if (failed.length === 0) return;
      const fatal = failed.find((f) => f.SenderFault);
      if (fatal || attempt >= 5) {
        const f = fatal ?? failed[0];
        throw new QueueError(
          `insert ${this.url}: SQS refused a message (${f.Code}): ${f.Message}`,
          this.url,
        );
      }
      const ids = new Set(failed.map((f) => f.Id));
      entries = entries.filter((e) => ids.has(e.Id));
      await sleep(100 * 2 ** attempt * (0.5 + Math.random()), signal);
    }
  }

  async lease(options: LeaseOptions = {}): Promise<Lease[]> {
    const seconds = Math.max(0, Math.ceil(options.seconds ?? 60));
    const count = options.count ?? 1;
    const wait = Math.min(20, Math.max(0, Math.ceil(options.waitSeconds ?? 0)));
    const out: Lease[] = [];
    while (out.length < count) {
      let messages: Message[];
      try {
        const res = await this.client.send(
          new (sqs().ReceiveMessageCommand)({
            QueueUrl: this.queueUrl,
            MaxNumberOfMessages: Math.min(10, count - out.length),
            VisibilityTimeout: seconds,
            WaitTimeSeconds: out.length === 0 ? wait : 0,
            MessageSystemAttributeNames: ["ApproximateReceiveCount"],
          }),
          { abortSignal: options.signal },
        );
        messages = res.Messages ?? [];
      } catch (err) {
        if (options.signal?.aborted) return out;
        throw this.fail("lease", err);
      }
      const expiresAt = Date.now() + seconds * 1000;
      for (const m of messages) {
        const attempt = Number(m.Attributes?.ApproximateReceiveCount ?? 1);
        try {
          const task = decodeTask(m.Body ?? "", `${this.url} message ${m.MessageId}`);
          out.push({ handle: m.ReceiptHandle!, task, attempt, expiresAt });
        } catch (err) {
          await this.sendDead(m.Body ?? "", attempt, err);
          await this.client.send(
            new (sqs().DeleteMessageCommand)({
              QueueUrl: this.queueUrl,
              ReceiptHandle: m.ReceiptHandle,
            }),
          );
        }
      }
      if (messages.length < 10 || out.length === 0) break;
    }
    return out;
  }

  private async changeVisibility(lease: Lease, op: string, seconds: number): Promise<void> {
    try {
      await this.client.send(
        new (sqs().ChangeMessageVisibilityCommand)({
          QueueUrl: this.queueUrl,
          ReceiptHandle: lease.handle,
          VisibilityTimeout: Math.max(0, Math.min(43_200, Math.ceil(seconds))),
        }),
      );
    } catch (err) {
      if (LOST_CODES.has(errName(err))) {
        throw new LeaseLostError(
          `${op} ${this.url}: lease on task ${lease.task.id} is no longer held (${errName(err)})`,
          this.url,
          lease.task.id,
          { cause: err },
        );
      }
      throw this.fail(op, err);
    }
  }

  async renew(lease: Lease, seconds: number): Promise<Lease> {
    await this.changeVisibility(lease, "renew", seconds);
    lease.expiresAt = Date.now() + Math.ceil(seconds) * 1000;
    return lease;
  }

  async delete(lease: Lease): Promise<void> {
    try {
      await this.client.send(
        new (sqs().DeleteMessageCommand)({ QueueUrl: this.queueUrl, ReceiptHandle: lease.handle }),
      );
    } catch (err) {
      if (LOST_CODES.has(errName(err))) {
        throw new LeaseLostError(
          `delete ${this.url}: lease on task ${lease.task.id} is no longer held`,
          this.url,
          lease.task.id,
          { cause: err },
        );
      }
      throw this.fail("delete", err);
    }
  }

  async release(lease: Lease, delaySeconds = 0): Promise<void> {
    await this.changeVisibility(lease, "release", delaySeconds);
  }

  /** URL of the dead-letter queue: the redrive target, else `<name>-dead`. */
  private async deadLetterUrl(create: boolean): Promise<string | undefined> {
    if (this.deadUrl) return this.deadUrl;
    const resolveUrl = async () => {
      const attrs = await this.client.send(
        new (sqs().GetQueueAttributesCommand)({
          QueueUrl: this.queueUrl,
          AttributeNames: ["RedrivePolicy"],
        }),
      );
      const policy = attrs.Attributes?.RedrivePolicy;
      if (policy) {
        const arn = String(JSON.parse(policy).deadLetterTargetArn ?? "");
        const name = arn.slice(arn.lastIndexOf(":") + 1);
        return (await this.client.send(new (sqs().GetQueueUrlCommand)({ QueueName: name })))
          .QueueUrl!;
      }
      const QueueName = `${this.name}-dead`;
      const cmd = create
        ? new (sqs().CreateQueueCommand)({ QueueName })
        : new (sqs().GetQueueUrlCommand)({ QueueName });
      return (await this.client.send(cmd)).QueueUrl!;
    };
    try {
      const p = resolveUrl();
      if (create) this.deadUrl = p;
      return await p;
    } catch (err) {
      this.deadUrl = undefined;
      if (!create && MISSING_CODES.has(errName(err))) return undefined;
      throw this.fail("dead-letter", err);
    }
  }

  private async sendDead(body: string, attempt: number, error: unknown): Promise<void> {
    const url = (await this.deadLetterUrl(true))!;
    const e = describeError(error);
    const room = MAX_PAYLOAD_BYTES - Buffer.byteLength(body) - 256;
    const message = truncate(e.message, Math.min(4096, Math.max(64, room / 4)))!;
    const stack = room > 20_000 ? truncate(e.stack, 16_384) : undefined;
    await this.client.send(
      new (sqs().SendMessageCommand)({
        QueueUrl: url,
        MessageBody: body,
        MessageAttributes: {
          "ngpipe.error": { DataType: "String", StringValue: message || "(no message)" },
          "ngpipe.attempt": { DataType: "Number", StringValue: String(attempt) },
          ...(stack ? { "ngpipe.stack": { DataType: "String", StringValue: stack } } : {}),
        },
      }),
    );
  }

  async deadLetter(lease: Lease, error: unknown): Promise<void> {
    try {
      await this.sendDead(JSON.stringify(lease.task), lease.attempt, error);
    } catch (err) {
      throw err instanceof QueueError ? err : this.fail("dead-letter", err);
    }
    await this.delete(lease);
  }

  /**
   * Receive up to `limit` messages of the dead-letter queue, hidden for
   * `seconds`, 10 per request; long polling (1 s) so that SQS looks on every
   * server before it answers "none".
   */
  private async receiveDead(
    deadUrl: string,
    limit: number,
    seconds: number,
    each: (messages: Message[]) => Promise<void>,
  ): Promise<void> {
    let seen = 0;
    while (seen < limit) {
      const res = await this.client.send(
        new (sqs().ReceiveMessageCommand)({
          QueueUrl: deadUrl,
          MaxNumberOfMessages: Math.min(10, limit - seen),
          VisibilityTimeout: seconds,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ["All"],
        }),
      );
      const messages = res.Messages ?? [];
      if (messages.length === 0) return;
      seen += messages.length;
      await each(messages);
    }
  }

  async dead(options: DeadLetterOptions = {}): Promise<DeadLetter[]> {
    const limit = deadLetterLimit(options, this.url, "dead");
    const out: DeadLetter[] = [];
    const held: Message[] = [];
    try {
      const deadUrl = await this.deadLetterUrl(false);
      if (!deadUrl || limit === 0) return out;
      try {
        // A message seen twice (its 30 s hide ran out while a long list
        // was read) is listed once.
        const seen = new Set<string>();
        await this.receiveDead(deadUrl, limit, 30, async (messages) => {
          held.push(...messages);
          for (const m of messages) {
            const id = m.MessageId ?? m.ReceiptHandle ?? "";
            if (seen.has(id)) continue;
            seen.add(id);
            out.push(this.deadLetterOf(m));
          }
        });
      } finally {
        // Show them again at once: reading must not hide them from a redrive.
        for (let i = 0; i < held.length; i += 10) {
          await this.client.send(
            new (sqs().ChangeMessageVisibilityBatchCommand)({
              QueueUrl: deadUrl,
              Entries: held.slice(i, i + 10).map((m, j) => ({
                Id: String(j),
                ReceiptHandle: m.ReceiptHandle,
                VisibilityTimeout: 0,
              })),
            }),
          );
        }
      }
    } catch (err) {
      throw err instanceof QueueError ? err : this.fail("dead", err);
    }
    return out;
  }

  private deadLetterOf(m: Message): DeadLetter {
    const attr = (name: string) => m.MessageAttributes?.[name]?.StringValue;
    let task: QueuedTask;
    try {
      task = decodeTask(m.Body ?? "", `${this.url} dead letter ${m.MessageId}`);
    } catch {
      task = { name: "", params: {}, id: m.MessageId ?? "" };
    }
    const d: DeadLetter = { task };
    const message = attr("ngpipe.error");
    if (message !== undefined) {
      const stack = attr("ngpipe.stack");
      d.error = stack === undefined ? { message } : { message, stack };
    }
    const attempts = Number(attr("ngpipe.attempt"));
    if (Number.isInteger(attempts) && attempts > 0) d.attempts = attempts;
    return d;
  }

  redrive(options: DeadLetterOptions = {}): Promise<number> {
    const run = this.redriving.then(() => this.redriveNow(options));
    this.redriving = run.catch(() => undefined);
    return run;
  }

  private async redriveNow(options: DeadLetterOptions): Promise<number> {
    const limit = deadLetterLimit(options, this.url, "redrive");
    let n = 0;
    try {
      const deadUrl = await this.deadLetterUrl(false);
      if (!deadUrl || limit === 0) return 0;
      // Hidden for 5 minutes: far longer than sending and deleting 10 messages
      // takes, so no other redrive receives them meanwhile. Sent before deleted:
      // a crash in between leaves a task in both queues, never in neither.
      await this.receiveDead(deadUrl, limit, 300, async (messages) => {
        let group: Message[] = [];
        let bytes = 0;
        for (const m of messages) {
          const size = Buffer.byteLength(m.Body ?? "");
          if (group.length > 0 && bytes + size > MAX_PAYLOAD_BYTES) {
            await this.sendBatch(
              group.map((g) => g.Body ?? ""),
              0,
            );
            group = [];
            bytes = 0;
          }
          group.push(m);
          bytes += size;
        }
        if (group.length > 0)
          await this.sendBatch(
            group.map((g) => g.Body ?? ""),
            0,
          );
        const res = await this.client.send(
          new (sqs().DeleteMessageBatchCommand)({
            QueueUrl: deadUrl,
            Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
        const failed = res.Failed ?? [];
        if (failed.length > 0) {
          throw new QueueError(
            `redrive ${this.url}: sent ${messages.length} dead letter(s) back but could not delete ${failed.length} of them from ${deadUrl} (${failed[0].Code}: ${failed[0].Message}); those are now in both queues`,
            this.url,
          );
        }
        n += messages.length;
      });
    } catch (err) {
      throw err instanceof QueueError ? err : this.fail("redrive", err);
    }
    return n;
  }

  async releaseAll(): Promise<number> {
    throw new UnsupportedOperationError(
      `releaseAll ${this.url}: SQS cannot list in-flight messages; they become visible again when their visibility timeout lapses`,
      this.url,
    );
  }

  async purge(): Promise<void> {
    const dead = await this.deadLetterUrl(false);
    for (const QueueUrl of dead ? [this.queueUrl, dead] : [this.queueUrl]) {
      try {
        await this.client.send(new (sqs().PurgeQueueCommand)({ QueueUrl }));
      } catch (err) {
        if (errName(err).includes("PurgeQueueInProgress")) {
          throw new QueueError(
            `purge ${QueueUrl}: SQS allows one purge per queue every 60 s; try again later`,
            this.url,
            { cause: err },
          );
        }
        throw this.fail("purge", err);
      }
    }
  }

  private async counts(QueueUrl: string) {
    const res = await this.client.send(
      new (sqs().GetQueueAttributesCommand)({
        QueueUrl,
        AttributeNames: [
          "ApproximateNumberOfMessages",
          "ApproximateNumberOfMessagesNotVisible",
          "ApproximateNumberOfMessagesDelayed",
        ],
      }),
    );
    const a = res.Attributes ?? {};
    return {
      visible: Number(a.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
      delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
    };
  }

  async status(): Promise<QueueStatus> {
    try {
      const main = await this.counts(this.queueUrl);
      const deadUrl = await this.deadLetterUrl(false);
      const dead = deadUrl ? await this.counts(deadUrl) : undefined;
      return {
        enqueued: main.visible + main.delayed,
        leased: main.inFlight,
        dead: dead ? dead.visible + dead.inFlight + dead.delayed : 0,
      };
    } catch (err) {
      throw err instanceof QueueError ? err : this.fail("status", err);
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }
}
