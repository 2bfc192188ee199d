/**
 * The stage registry: every pipeline stage (ingest, downsample, mesh, ...)
 * registers what it is once — its tasks, its task creation function, the
 * JSON schema of its options and its command-line form — and the CLI's stage
 * commands and `ngpipe pipeline` are built from the registry, not from a
 * switch. Adding a stage is one file with a {@link defineStage} plus one line
 * in `builtin.ts` (or a {@link registerStage} call in a user's own package).
 */
import type { Bbox, DataType, Vec3 } from "@ngpipe/precomputed";
import type { z } from "zod";
import type { TaskDefinition, TaskPayload } from "../runtime/define";
import { TaskError } from "../runtime/errors";

/**
 * The locations a stage works on, named as pipeline specs name them:
 * `layer` (the layer a stage reads or writes; ingest's destination),
 * `source` (ingest's source: a local path stays a path), `src` and `dest`
 * (the two layers of a copy).
 */
export type StageInput = "layer" | "source" | "src" | "dest";

/** What a stage's task creation function resolves to: payloads, iterated lazily. */
export type StageTasks = Iterable<TaskPayload> | AsyncIterable<TaskPayload>;

/**
 * One phase of a stage that runs in phases: its name and its tasks, made
 * when the phase starts, after the previous phase has finished.
 */
export interface TaskPhase {
  readonly name: string;
  tasks(): Promise<StageTasks>;
}

/** A positional argument of a stage command. */
export interface StageCliArgument {
  /** Commander's name, without brackets (`layer`, `bbox`). */
  name: string;
  description: string;
  /**
   * The stage input this argument fills. Arguments without one reach
   * {@link StageCli.parse} among the option values, under `name`.
   */
  input?: StageInput;
}

/** An option of a stage command, as commander declares it. */
export interface StageCliOption {
  /** Commander flags, e.g. `--mip <n>` or `--fill-missing`. */
  flags: string;
  description: string;
  /** Default value as text (shown in --help). */
  default?: string;
}

/**
 * Parsers of command-line values the CLI hands to {@link StageCli.parse}:
 * each throws the CLI's usage error (one line, exit code 2) with a message
 * naming the option (`what`) and the text given.
 */
export interface StageArgParsers {
  /** A whole number in [min, max] (min default 0). */
  int(text: string, what: string, min?: number, max?: number): number;
  /** A finite number ≥ min (default 0). */
  number(text: string, what: string, min?: number): number;
  /** `4,4,40` or `4x4x40`. */
  vec3(text: string, what?: string): Vec3;
  /** Like `vec3`, each a whole number ≥ 1 (chunk and task shapes, factors). */
  shape(text: string, what?: string): Vec3;
  /** `x0-x1_y0-y1_z0-z1` or `x0,y0,z0:x1,y1,z1`. */
  bbox(text: string): Bbox;
  /** A chunk encoding the codec registry knows. */
  encoding(text: string, what?: string): string;
  /** `gzip`, `br` or `none`; undefined stays undefined. */
  compress(text: string | undefined): "gzip" | "br" | "none" | undefined;
  /** A data type name (uint8 .. float64). */
  dataType(text: string, what?: string): DataType;
  /** A byte count above zero: 3.5e9, 512M, 2G. */
  memory(text: string): number;
  /** A byte count above zero for the option `what` (e.g. `--shard-bytes`). */
  bytes(text: string, what: string): number;
  /** A voxel value of `dtype` as payloads take it (a decimal string beyond 2^53). */
  background(text: string, dtype: DataType): number | string;
  /** A path or URL of a file or layer, as a URL (relative paths made absolute). */
  location(text: string): string;
  /** The CLI's usage error with this message, to throw for checks across options. */
  usage(message: string): Error;
}

/** What {@link StageCli.parse} gets besides the option values. */
export interface StageCliContext {
  /** The stage's inputs as URLs (`source`: a path or URL), from the positional arguments. */
  inputs: Partial<Record<StageInput, string>>;
  parse: StageArgParsers;
}

/** The command-line form of a stage. */
export interface StageCli<O> {
  /** Command path under `ngpipe`: `["image", "downsample"]` is `ngpipe image downsample`. */
  command: readonly string[];
  description: string;
  arguments: readonly StageCliArgument[];
  /** The stage's own options; the CLI adds `--queue` and `-p` to every stage command. */
  options: readonly StageCliOption[];
  /**
   * Creator options from commander's option values (camel-cased flags, text
   * as typed). Checks everything before the stage writes anything.
   */
  parse(values: Record<string, string | boolean | undefined>, ctx: StageCliContext): Promise<O> | O;
  /** The progress bar's label (default: the stage name). */
  label?: string;
  /** Noun of the summary line, "ran 12 <noun> task(s)" (default: the stage name). */
  noun?: string;
}

/** A stage: what {@link defineStage} takes and the registry holds. */
export interface StageDefinition<O = unknown> {
  /** The name pipeline specs use (`"stage": "downsample"`). */
  readonly name: string;
  /** The tasks the stage's creation function makes payloads of. */
  readonly tasks: readonly TaskDefinition[];
  /** Inputs the creation function takes, in order. */
  readonly inputs: readonly StageInput[];
  /** Schema of the creation function's options as JSON (a pipeline step's `options`). */
  readonly options: z.ZodType<O>;
  /** Make the stage's tasks (writing infos first where the stage does). */
  create?(inputs: Record<StageInput, string>, options: O): Promise<StageTasks>;
  /**
   * Instead of `create`, for a stage whose tasks run in phases (each phase
   * reads what the previous wrote): the phases, in order.
   */
  createPhases?(inputs: Record<StageInput, string>, options: O): Promise<TaskPhase[]>;
  /** The CLI command; a stage without one runs only in pipelines and scripts. */
  readonly cli?: StageCli<O>;
}

/** Base class of stage registry errors. */
export class StageRegistryError extends TaskError {
  override name = "StageRegistryError";
}

/** A pipeline step names a stage that nothing registered. */
export class UnknownStageError extends StageRegistryError {
  override name = "UnknownStageError";
  constructor(
    readonly stageName: string,
    known: readonly string[],
  ) {
    super(`unknown stage "${stageName}" (${known.join(", ")})`);
  }
}

/** Two different stages registered under one name. */
export class DuplicateStageError extends StageRegistryError {
  override name = "DuplicateStageError";
}

/** Stage options that do not match the stage's schema; `problems` name each field. */
export class InvalidStageOptionsError extends StageRegistryError {
  override name = "InvalidStageOptionsError";
  constructor(
    readonly stageName: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid options for stage "${stageName}": ${problems.join("; ")}`);
  }
}

const stages = new Map<string, StageDefinition>();

/** Type a stage definition (inferring its options type); register it with {@link registerStage}. */
export function defineStage<O>(def: StageDefinition<O>): StageDefinition<O> {
  return def;
}

/** Add a stage to the registry. Registering the same object twice is harmless. */
export function registerStage<O>(def: StageDefinition<O>): void {
  if (!def.create === !def.createPhases)
    throw new StageRegistryError(
      `stage "${def.name}" needs exactly one of create and createPhases`,
    );
  const existing = stages.get(def.name);
  if (existing && existing !== def)
    throw new DuplicateStageError(`a different stage is already registered as "${def.name}"`);
  stages.set(def.name, def as StageDefinition);
}

/** The stage registered under `name`. */
export function getStage(name: string): StageDefinition {
  const def = stages.get(name);
  if (!def) throw new UnknownStageError(name, [...stages.keys()]);
  return def;
}

/** Every registered stage, in registration order (the CLI lists commands in it). */
export function registeredStages(): StageDefinition[] {
  return [...stages.values()];
}

/** Validate JSON options against a stage's schema. */
export function parseStageOptions<O>(def: StageDefinition<O>, options: unknown): O {
  const r = def.options.safeParse(options ?? {});
  if (!r.success)
    throw new InvalidStageOptionsError(
      def.name,
      r.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(options)"}: ${i.message}`),
    );
  return r.data;
}
