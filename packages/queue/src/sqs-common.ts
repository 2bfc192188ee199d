/**
 * What the sqs:// backend needs before it has a client: parsing queue URLs
 * (without a request), its options, loading the SDK lazily, and reading the
 * SDK's error codes.
 */
import { createRequire } from "node:module";
import type * as SqsSdk from "@aws-sdk/client-sqs";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { InvalidQueueUrlError } from "./errors";

/**
 * The queue name of `sqs://name`, or the queue URL of
 * `http(s)://host/account/name`; throws InvalidQueueUrlError for anything
 * else, without any request (so a command can check a URL before it writes).
 */
export function parseSqsUrl(url: string): { name?: string; queueUrl?: string } {
  if (url.startsWith("sqs://")) {
    const name = url.slice("sqs://".length).replace(/\/+$/, "");
    if (!/^[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(name)) {
      throw new InvalidQueueUrlError(
        `bad SQS queue name in ${url}: 1-80 characters of [A-Za-z0-9_-]`,
        url,
      );
    }
    if (name.endsWith(".fifo")) {
      throw new InvalidQueueUrlError(`FIFO queues are not supported: ${url}`, url);
    }
    return { name };
  }
  if (/^https?:\/\//.test(url)) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new InvalidQueueUrlError(`not a URL: ${url}`, url);
    }
    if (u.pathname.split("/").filter(Boolean).length !== 2) {
      throw new InvalidQueueUrlError(
        `not an SQS queue URL: ${url} (expected https://sqs.<region>.amazonaws.com/<account>/<name>)`,
        url,
      );
    }
    return { queueUrl: url.replace(/\/+$/, "") };
  }
  throw new InvalidQueueUrlError(`not an SQS URL: ${url}`, url);
}

/** Options of the sqs:// backend. */
export interface SqsQueueOptions {
  /**
   * AWS region; default: parsed from a queue URL, else `AWS_DEFAULT_REGION`
   * of `aws-secret.json`, else AWS_REGION, else us-east-1.
   */
  region?: string;
  /**
   * Access keys. Default: `aws-secret.json` in `$CLOUD_VOLUME_DIR/secrets`,
   * `~/.cloudvolume/secrets` or `~/.cloudfiles/secrets` (as python-task-queue
   * reads it), else the SDK's default chain (environment, profile, role).
   */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Service endpoint, e.g. `http://127.0.0.1:5000` for moto or LocalStack. */
  endpoint?: string;
  /** Create the queue if it does not exist (`sqs://name` only). */
  create?: boolean;
  /** Use this client instead of building one. */
  client?: SQSClient;
  /**
   * Longest wait for one SQS request before it fails (and is retried by the
   * SDK), so a half-open connection cannot stall a worker. Default 60 000 ms
   * (long polls take up to 20 s).
   */
  requestTimeoutMs?: number;
}

/** Error codes that mean a receipt handle no longer holds its message: the lease is lost. */
export const LOST_CODES = new Set([
  "ReceiptHandleIsInvalid",
  "MessageNotInflight",
  "AWS.SimpleQueueService.MessageNotInflight",
]);
let sdk: typeof SqsSdk | undefined;

/**
 * The AWS SDK's SQS module, loaded on first use: loading it takes a quarter
 * of a second, which every `ngpipe` start (and every user of mem:// or
 * fq:// queues) would pay otherwise.
 */
export function sqs(): typeof SqsSdk {
  sdk ??= createRequire(__filename)("@aws-sdk/client-sqs") as typeof SqsSdk;
  return sdk;
}

/** Error codes that mean the queue does not exist. */
export const MISSING_CODES = new Set([
  "QueueDoesNotExist",
  "AWS.SimpleQueueService.NonExistentQueue",
]);

/** The SDK error's code (its `Code`, `name` or `code`), or "" when it has none. */
export function errName(err: unknown): string {
  const e = err as { name?: string; Code?: string; code?: string };
  return e?.Code ?? e?.name ?? e?.code ?? "";
}

/** `s` cut to `n` characters with "..." after, for error text put in dead-letter attributes. */
export function truncate(s: string | undefined, n: number): string | undefined {
  return s && s.length > n ? `${s.slice(0, n)}...` : s;
}
