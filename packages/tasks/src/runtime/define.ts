/**
 * Tasks: a name, a params schema and a function that runs them. Built-in
 * stages and users' own tasks are defined the same way and live in one
 * registry, so a worker can execute any payload it is handed.
 *
 * ```ts
 * import { z } from "zod";
 * export const countTask = defineTask({
 *   name: "count-voxels",
 *   params: z.object({ layer: z.string(), bbox: z.string() }),
 *   async run({ layer, bbox }, ctx) { ... },
 * });
 * await executeTask(countTask.payload({ layer: "file:///data/seg", bbox: "0-64_0-64_0-64" }));
 * ```
 */
import type { z } from "zod";
import { createTaskContext, type TaskContext } from "./context";
import {
  DuplicateTaskError,
  InvalidPayloadError,
  InvalidTaskParamsError,
  UnknownTaskError,
} from "./errors";

/** The JSON a queue carries: which task, with which params. */
export interface TaskPayload<P = unknown> {
  name: string;
  params: P;
  /** Set by queues; stays the same across retries. */
  id?: string;
}

/** A task definition: what {@link defineTask} returns. */
export interface TaskDefinition<P = unknown, R = unknown> {
  readonly name: string;
  readonly schema: z.ZodType<P>;
  /** Run with already-validated params. */
  run(params: P, ctx: TaskContext): Promise<R>;
  /** Validate params and wrap them in a payload for a queue. */
  payload(params: P): TaskPayload<P>;
  /** Validate unknown params; throws InvalidTaskParamsError. */
  parse(params: unknown): P;
}

const registry = new Map<string, TaskDefinition>();

function problemsOf(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(params)"}: ${i.message}`);
}

/**
 * Define a task and register it under its name. Defining the same object twice
 * is harmless; a different definition under a taken name is an error.
 */
export function defineTask<S extends z.ZodType, R = void>(spec: {
  name: string;
  params: S;
  run(params: z.output<S>, ctx: TaskContext): Promise<R>;
}): TaskDefinition<z.output<S>, R> {
  const { name, params: schema } = spec;
  const parse = (params: unknown): z.output<S> => {
    const r = schema.safeParse(params);
    if (!r.success) throw new InvalidTaskParamsError(name, problemsOf(r.error));
    return r.data;
  };
  const def: TaskDefinition<z.output<S>, R> = {
    name,
    schema: schema as unknown as z.ZodType<z.output<S>>,
    run: spec.run,
    parse,
    // A payload is JSON: a round trip drops undefined members and checks it is serialisable.
    payload: (params) => ({ name, params: JSON.parse(JSON.stringify(parse(params))) }),
  };
  registerTask(def as TaskDefinition);
  return def;
}

/** Add a definition to the registry (defineTask does this). */
export function registerTask(def: TaskDefinition): void {
  const existing = registry.get(def.name);
  if (existing && existing !== def && existing.run !== def.run) {
    throw new DuplicateTaskError(`a different task is already registered as "${def.name}"`);
  }
  registry.set(def.name, def);
}

/** The definition registered under a name. */
export function getTask(name: string): TaskDefinition {
  const def = registry.get(name);
  if (!def) throw new UnknownTaskError(name, [...registry.keys()].sort());
  return def;
}

/** Names of every registered task. */
export function registeredTasks(): string[] {
  return [...registry.keys()].sort();
}

/** Check that a value is a `{name, params}` payload (parsing JSON text first). */
export function parsePayload(value: unknown): TaskPayload {
  const obj = typeof value === "string" ? parseJson(value) : value;
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new InvalidPayloadError("a task payload must be a JSON object {name, params}");
  }
  const { name, params, id } = obj as Record<string, unknown>;
  if (typeof name !== "string" || name === "") {
    throw new InvalidPayloadError('a task payload needs a string "name"');
  }
  if (id !== undefined && typeof id !== "string") {
    throw new InvalidPayloadError(`task "${name}": "id" must be a string`);
  }
  return { name, params: params ?? {}, id };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InvalidPayloadError(`task payload is not JSON: ${(e as Error).message}`);
  }
}

/**
 * Execute a payload: look up its task, validate params, run it. With no
 * context, a default one (shared storages, the shared pool) is used.
 */
export async function executeTask(payload: unknown, ctx?: TaskContext): Promise<unknown> {
  const { name, params } = parsePayload(payload);
  const def = getTask(name);
  return def.run(def.parse(params), ctx ?? createTaskContext());
}
