/**
 * Task payload validation and encoding. Every backend stores the same JSON
 * `{name, params, id}`, checked at insert time so that a bad task fails where
 * it is created rather than in a worker hours later.
 */
import { randomUUID } from "node:crypto";
import { InvalidTaskError, PayloadTooLargeError, QueueError } from "./errors";
import type { DeadLetterOptions, QueuedTask } from "./types";

/** SQS's message size limit, applied to every backend so tasks stay portable. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/** Ids appear in file names: letters, digits, `_`, `.`, single `-`; at most 128 chars. */
const ID_RE = /^[A-Za-z0-9_.-]{1,128}$/;

const ALLOWED = new Set(["name", "params", "id"]);

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

function checkJson(v: unknown, path: string, fail: (field: string, msg: string) => never): void {
  switch (typeof v) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(v)) fail(path, `${path} is ${v}, which JSON cannot represent`);
      return;
    case "object": {
      if (v === null) return;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) checkJson(v[i], `${path}[${i}]`, fail);
        return;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        const ctor = (v as object).constructor?.name ?? "unknown";
        fail(path, `${path} is a ${ctor}, not a plain JSON object`);
      }
      for (const [k, x] of Object.entries(v as object)) checkJson(x, `${path}.${k}`, fail);
      return;
    }
    default:
      fail(path, `${path} is ${describe(v)}, which is not JSON`);
  }
}

/**
 * Validate a task and fill in defaults (`params: {}`, a random UUID `id`).
 * Throws `InvalidTaskError` naming the field, or `PayloadTooLargeError`.
 * Returns the payload and its JSON text.
 */
export function encodeTask(
  input: unknown,
  url: string,
  index: number,
  maxBytes = MAX_PAYLOAD_BYTES,
): { task: QueuedTask; body: string } {
  const fail = (field: string, msg: string): never => {
    throw new InvalidTaskError(`task #${index} for ${url}: ${msg}`, url, index, field);
  };
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    fail("", `expected an object {name, params, id}, got ${describe(input)}`);
  }
  const t = input as Record<string, unknown>;
  for (const k of Object.keys(t)) {
    if (!ALLOWED.has(k)) fail(k, `unknown field "${k}" (allowed: name, params, id)`);
  }
  if (typeof t.name !== "string" || t.name.length === 0) {
    fail("name", `"name" must be a non-empty string, got ${describe(t.name)}`);
  }
  const params = t.params === undefined ? {} : t.params;
  if (typeof params !== "object" || params === null || Array.isArray(params)) {
    fail("params", `"params" must be a JSON object, got ${describe(params)}`);
  }
  checkJson(params, "params", fail);
  let id = t.id;
  if (id === undefined) id = randomUUID();
  else if (
    typeof id !== "string" ||
    !ID_RE.test(id) ||
    id.includes("--") ||
    id.endsWith(".error")
  ) {
    // "--" separates the parts of fq:// file names; "<id>.error.json" is a
    // dead letter's error record there.
    fail(
      "id",
      `"id" must be 1-128 characters of [A-Za-z0-9_.-] without "--" and not ending in ".error", got ${JSON.stringify(id)}`,
    );
  }
  const task = {
    name: t.name as string,
    params: params as QueuedTask["params"],
    id: id as string,
  };
  const body = JSON.stringify(task);
  const bytes = Buffer.byteLength(body);
  if (bytes > maxBytes) {
    throw new PayloadTooLargeError(
      `task #${index} (id ${task.id}) for ${url}: payload is ${bytes} bytes, over the ${maxBytes}-byte limit; store large inputs elsewhere and pass their location in params`,
      url,
      index,
      "params",
    );
  }
  return { task, body };
}

/** Parse a stored payload; throws a plain Error naming `where` if it is not a task. */
export function decodeTask(body: string, where: string): QueuedTask {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch (err) {
    throw new Error(`${where}: stored task is not JSON`, { cause: err });
  }
  const t = v as Partial<QueuedTask> | null;
  if (!t || typeof t.name !== "string" || typeof t.id !== "string") {
    throw new Error(`${where}: stored task lacks name or id`);
  }
  return { name: t.name, params: (t.params ?? {}) as QueuedTask["params"], id: t.id };
}

/** `{message, stack}` of anything thrown. */
export function describeError(err: unknown): { message: string; stack?: string } {
  if (err instanceof Error) return { message: err.message, stack: err.stack };
  return { message: String(err) };
}

/** The `limit` of `dead`/`redrive` as a count (Infinity when absent); throws `QueueError` if it is not a whole number ≥ 0. */
export function deadLetterLimit(options: DeadLetterOptions, url: string, op: string): number {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  if (limit !== Number.POSITIVE_INFINITY && !(Number.isInteger(limit) && limit >= 0)) {
    throw new QueueError(`${op} ${url}: limit must be a whole number ≥ 0, got ${limit}`, url);
  }
  return limit;
}
