/** A mistake of the user's (bad URL, missing layer, bad bbox): one line on stderr, no stack. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Tasks ended in a queue's dead-letter queue (`ngpipe execute`, `ngpipe queue wait`): exit code 1. */
export class DeadTasksError extends Error {
  override name = "DeadTasksError";
}
