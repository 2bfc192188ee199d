/** Typed errors of the task runtime. */

/** Base class of task runtime errors. */
export class TaskError extends Error {
  override name = "TaskError";
}

/** A payload names a task that no definition registers. */
export class UnknownTaskError extends TaskError {
  override name = "UnknownTaskError";
  constructor(
    readonly taskName: string,
    known: readonly string[],
  ) {
    super(
      `unknown task "${taskName}"; registered tasks: ${known.length ? known.join(", ") : "(none)"}. ` +
        "Import the module that defines it (or call registerTask) in the worker.",
    );
  }
}

/** A payload whose params do not match the task's schema. */
export class InvalidTaskParamsError extends TaskError {
  override name = "InvalidTaskParamsError";
  constructor(
    readonly taskName: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid params for task "${taskName}": ${problems.join("; ")}`);
  }
}

/** Two different definitions registered under one name. */
export class DuplicateTaskError extends TaskError {
  override name = "DuplicateTaskError";
}

/** A payload that is not `{name, params}` JSON. */
export class InvalidPayloadError extends TaskError {
  override name = "InvalidPayloadError";
}
