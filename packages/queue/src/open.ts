/** `openQueue(url)`: one entry point over a registry of backends keyed by URL scheme. */
import { resolve } from "node:path";
import { InvalidQueueUrlError } from "./errors";
import { FileQueue, type FileQueueOptions } from "./file";
import { MemoryQueue } from "./mem";
import { parseSqsUrl, SqsQueue, type SqsQueueOptions } from "./sqs";
import type { Queue } from "./types";

/** Options understood by `openQueue`; each backend reads the ones that concern it. */
export interface OpenQueueOptions extends SqsQueueOptions, FileQueueOptions {}

/** Opens a queue for a URL of one scheme. */
export type QueueOpener = (url: string, options: OpenQueueOptions) => Queue | Promise<Queue>;

function memName(url: string): string {
  const name = url.slice("mem://".length);
  if (!name) throw new InvalidQueueUrlError(`mem:// needs a name: ${url}`, url);
  return name;
}

const sqsOpener: QueueOpener = (url, o) => SqsQueue.open(url, o);

const backends = new Map<string, QueueOpener>([
  ["mem", (url, o) => new MemoryQueue(memName(url), o.now)],
  [
    "fq",
    async (url, o) => {
      const q = FileQueue.fromUrl(url, o);
      if (o.create) await q.create();
      return q;
    },
  ],
  ["sqs", sqsOpener],
  ["https", sqsOpener],
  ["http", sqsOpener],
]);

/** URL checks of the built-in schemes that need no request (see checkQueueUrl). */
const checks = new Map<string, (url: string) => unknown>([
  ["mem", memName],
  ["fq", (url) => FileQueue.fromUrl(url)],
  ["sqs", parseSqsUrl],
  ["https", parseSqsUrl],
  ["http", parseSqsUrl],
]);

/** `url` with a bare path turned into fq:// (percent signs kept literal), and its backend. */
function resolveUrl(url: string): { full: string; open: QueueOpener; scheme: string } {
  // fq:// URLs are percent-decoded: a literal % in a bare path must survive that.
  const full =
    url.length > 0 && !url.includes("://") ? `fq://${resolve(url).replaceAll("%", "%25")}` : url;
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(full);
  const scheme = m ? m[1].toLowerCase() : "";
  const open = backends.get(scheme);
  if (!open) {
    throw new InvalidQueueUrlError(
      `no queue backend for ${url} (known schemes: ${[...backends.keys()].join(", ")}; a bare path means fq://)`,
      url,
    );
  }
  return { full, open, scheme };
}

/**
 * Check a queue URL without opening the queue or making any request: the
 * scheme has a backend and the URL has the form that backend needs (an fq://
 * path, an SQS queue name of [A-Za-z0-9_-], not FIFO, ...). Throws
 * InvalidQueueUrlError; commands call it before they write anything.
 * Backends added with registerQueueBackend are checked for their scheme only.
 */
export function checkQueueUrl(url: string): void {
  const { full, scheme } = resolveUrl(url);
  checks.get(scheme)?.(full);
}

/**
 * Check a queue URL as {@link checkQueueUrl} does, then, for SQS, that the
 * queue exists (one request, bounded in time): a missing queue or an
 * endpoint where no SQS answers is a QueueNotFoundError naming the URL. With
 * `create`, a missing `sqs://name` is fine (opening will create it). fq://
 * and mem:// need no request: opening creates them. Commands call it before
 * they write anything.
 */
export async function checkQueueExists(url: string, options: OpenQueueOptions = {}): Promise<void> {
  const { full, scheme } = resolveUrl(url);
  checks.get(scheme)?.(full);
  if (backends.get(scheme) === sqsOpener) await SqsQueue.check(full, options);
}

/**
 * Register a backend for a URL scheme (without `://`), replacing any existing one.
 *
 * @example registerQueueBackend("redis", (url) => new RedisQueue(url));
 */
export function registerQueueBackend(scheme: string, open: QueueOpener): void {
  backends.set(scheme, open);
  checks.delete(scheme);
}

/**
 * Open a task queue:
 * - `mem://name`: in-process, shared by name within the process;
 * - `fq:///path/to/dir`: a directory, shared by processes and hosts; a bare path
 *   (`/scratch/jobs`, `./jobs`), as Igneous and python-task-queue accept, means
 *   the same, resolved against the working directory;
 * - `sqs://name` or `https://sqs.<region>.amazonaws.com/<account>/<name>`: Amazon SQS
 *   (`{region, endpoint}` options; `{create: true}` creates a missing queue).
 *
 * @example
 * const q = await openQueue("fq:///scratch/jobs");
 * await q.insert([{ name: "downsample", params: { bbox: [0, 0, 0, 512, 512, 64] } }]);
 */
export async function openQueue(url: string, options: OpenQueueOptions = {}): Promise<Queue> {
  const { full, open } = resolveUrl(url);
  return open(full, options);
}
