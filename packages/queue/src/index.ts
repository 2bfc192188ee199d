export {
  InvalidQueueUrlError,
  InvalidTaskError,
  LeaseLostError,
  PayloadTooLargeError,
  QueueError,
  QueueNotFoundError,
  UnsupportedOperationError,
} from "./errors";
export { FileQueue, type FileQueueOptions } from "./file";
export { MemoryQueue } from "./mem";
export {
  checkQueueExists,
  checkQueueUrl,
  type OpenQueueOptions,
  openQueue,
  type QueueOpener,
  registerQueueBackend,
} from "./open";
export { MAX_PAYLOAD_BYTES } from "./payload";
export {
  type HandlerContext,
  type PollEvent,
  type PollOptions,
  type PollSummary,
  poll,
  type TaskHandler,
} from "./poll";
export { findAwsSecretFile, readSqsSecret, type SqsSecret } from "./secrets";
export { parseSqsUrl, SqsQueue, type SqsQueueOptions } from "./sqs";
export type {
  DeadLetter,
  DeadLetterOptions,
  InsertOptions,
  JsonValue,
  Lease,
  LeaseOptions,
  Queue,
  QueuedTask,
  QueueStatus,
  TaskInput,
} from "./types";
