/**
 * Queue URLs are checked without a request, and a queue that does not exist
 * is reported by every reading operation instead of looking empty (and being
 * created): only insert, and open with {create: true}, make one.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidQueueUrlError, QueueNotFoundError } from "./errors";
import type { FileQueue } from "./file";
import { checkQueueUrl, openQueue } from "./open";

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "ngpipe-missing-q-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test.each([
  ["fq://", /expected fq:\/\/\/path/],
  ["sqs://bad name!", /bad SQS queue name/],
  ["sqs://jobs.fifo", /FIFO queues are not supported/],
  ["ftp://host/q", /no queue backend for ftp:\/\/host\/q/],
  ["http://127.0.0.1:1/notsqs", /not an SQS queue URL/],
  ["mem://", /mem:\/\/ needs a name/],
  ["", /no queue backend/],
])("checkQueueUrl(%p) throws InvalidQueueUrlError", (url, message) => {
  expect(() => checkQueueUrl(url)).toThrow(InvalidQueueUrlError);
  expect(() => checkQueueUrl(url)).toThrow(message);
});

test.each([
  "fq:///scratch/jobs",
  "./relative/jobs",
  "sqs://jobs",
  "https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
  "mem://jobs",
])("checkQueueUrl(%p) accepts it without touching anything", (url) => {
  expect(() => checkQueueUrl(url)).not.toThrow();
});

test.each([
  ["status", (q: FileQueue) => q.status()],
  ["lease", (q: FileQueue) => q.lease()],
  ["dead", (q: FileQueue) => q.dead()],
  ["redrive", (q: FileQueue) => q.redrive()],
  ["releaseAll", (q: FileQueue) => q.releaseAll()],
])("%s of a missing fq:// queue names the path and creates nothing", async (_op, run) => {
  const dir = join(tmp, "typo-q");
  const q = (await openQueue(dir)) as FileQueue;
  await expect(run(q)).rejects.toThrow(QueueNotFoundError);
  await expect(run(q)).rejects.toThrow(`${dir} does not exist`);
  expect(existsSync(dir)).toBe(false);
});

test("insert and open with {create: true} create the queue", async () => {
  const a = join(tmp, "made-by-insert");
  await (await openQueue(a)).insert([{ name: "t" }]);
  expect((await (await openQueue(a)).status()).enqueued).toBe(1);
  const b = join(tmp, "made-by-open");
  await openQueue(b, { create: true });
  expect((await (await openQueue(b)).status()).enqueued).toBe(0);
});
