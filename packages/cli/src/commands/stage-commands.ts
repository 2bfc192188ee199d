/**
 * The stage commands, built from @ngpipe/tasks' stage registry: each
 * registered stage with a CLI form becomes `ngpipe <group> <name>` with its
 * own options plus `--queue` and `-p`, and runs (or enqueues) its tasks.
 */

import { checkQueueExists, checkQueueUrl } from "@ngpipe/queue";
import {
  registeredStages,
  type StageArgParsers,
  type StageDefinition,
  type StageInput,
  type TaskPhase,
} from "@ngpipe/tasks";
import type { Command } from "commander";
import {
  parseBbox,
  parseCompress,
  parseDataType,
  parseEncoding,
  parseIntArg,
  parseNumberArg,
  parseShape,
  parseVec3,
  toSourcePath,
  toUrl,
} from "../args";
import { UsageError } from "../errors";
import { runPipeline } from "../pipeline";
import { type RunTasksOptions, runTasks } from "../run-tasks";
import { parseBackground, parseMemory, parsePositiveBytes } from "./stages";

/** Options every stage command shares: where tasks go, how many at once. */
export function withRunOptions(cmd: Command): Command {
  return cmd
    .option("--queue <url>", "insert the tasks into this queue instead of running them here")
    .option("-p, --parallel <n>", "tasks at once when running here", "1");
}

/**
 * The run options every stage command shares (`--queue`, `-p`, `--quiet`),
 * parsed before anything is written.
 */
export function runOptions(
  program: Command,
  o: Record<string, string | undefined>,
): RunTasksOptions & { queue?: string } {
  // The queue is opened only after the tasks are made (which writes infos):
  // a URL that cannot name a queue is refused here, before that.
  if (o.queue !== undefined) checkQueueUrl(o.queue);
  return {
    queue: o.queue,
    parallel: parseIntArg(o.parallel ?? "1", "--parallel", 1),
    quiet: program.opts().quiet,
  };
}

/**
 * How a stage treats bounds outside the dataset: refused under
 * `--strict-bounds`, else clipped with a one-line notice on stderr.
 */
export function boundsChecks(o: Record<string, unknown>): {
  strictBounds: boolean;
  onNotice: (message: string) => void;
} {
  return {
    strictBounds: Boolean(o.strictBounds),
    onNotice: printNotice,
  };
}

/** Print a stage's one-line notice (bounds clipped to the dataset) on stderr. */
export function printNotice(message: string): void {
  process.stderr.write(`ngpipe: ${message}\n`);
}

/**
 * Whether a stage's options take `bounds`, a box of a layer the stage is
 * limited to (ingest's bounds are a box of its source, not of a layer).
 */
export function takesBounds(stage: StageDefinition): boolean {
  const shape = (stage.options as { shape?: Record<string, unknown> }).shape;
  return shape !== undefined && "bounds" in shape && !stage.inputs.includes("source");
}

/** Run (or enqueue) a stage's tasks, then say what was done in one line. */
export async function runStage(
  label: string,
  what: string,
  tasks: Parameters<typeof runTasks>[1],
  run: RunTasksOptions & { queue?: string },
): Promise<void> {
  const r = await runTasks(label, tasks, run);
  report(r.inserted, r.count, run.queue, what, r.seconds);
}

/**
 * Run a stage's phases in order: here, each after the previous is done; or
 * through `--queue`, inserting each phase when the queue has drained the
 * previous one (run workers elsewhere with `ngpipe execute`).
 */
async function runPhases(
  program: Command,
  stage: string,
  phases: TaskPhase[],
  run: RunTasksOptions & { queue?: string },
): Promise<void> {
  if (run.queue) {
    process.stderr.write(
      `${stage}: ${phases.length} phases through ${run.queue}; each is inserted when the previous one has finished — run workers with: ngpipe execute ${run.queue}\n`,
    );
    const steps = phases.map((p) => ({ name: p.name, tasks: () => p.tasks() }));
    await runPipeline(steps, { queue: run.queue, workers: 0, quiet: program.opts().quiet });
    return;
  }
  for (const phase of phases) await runStage(phase.name, phase.name, await phase.tasks(), run);
}

/** One line about what a stage command did. */
export function report(
  inserted: boolean,
  count: number,
  queue: string | undefined,
  what: string,
  seconds: number,
): void {
  process.stderr.write(
    inserted
      ? `inserted ${count} ${what} task(s) into ${queue}; run workers with: ngpipe execute ${queue}\n`
      : `ran ${count} ${what} task(s) in ${seconds.toFixed(1)} s\n`,
  );
}

/** The CLI's value parsers, as stage definitions call them. */
export const stageArgParsers: StageArgParsers = {
  int: parseIntArg,
  number: parseNumberArg,
  vec3: parseVec3,
  shape: parseShape,
  bbox: parseBbox,
  encoding: parseEncoding,
  compress: parseCompress,
  dataType: parseDataType,
  memory: parseMemory,
  bytes: parsePositiveBytes,
  background: parseBackground,
  location: toUrl,
  usage: (message) => new UsageError(message),
};

/** Descriptions of the command groups stages put their commands in. */
const GROUPS: Record<string, string> = {
  image: "image and segmentation layers",
  mesh: "meshes of segmentation layers (legacy and multiresolution precomputed formats)",
  seg: "segmentation layers: watershed, agglomeration, segment properties",
  skeleton: "skeletons of segmentation layers (precomputed skeletons, TEASAR)",
};

/** The group command `name` under `program`, made if it does not exist yet. */
export function commandGroup(program: Command, name: string): Command {
  return (
    program.commands.find((c) => c.name() === name) ??
    program.command(name).description(GROUPS[name] ?? `${name} stages`)
  );
}

/** A location argument as the stage takes it: sources stay paths, layers become URLs. */
function inputLocation(input: string, text: string): string {
  return input === "source" ? toSourcePath(text) : toUrl(text);
}

function addStageCommand(program: Command, stage: StageDefinition): void {
  const cli = stage.cli;
  if (!cli) return;
  const path = [...cli.command];
  const name = path.pop() as string;
  let parent = program;
  for (const group of path) parent = commandGroup(parent, group);
  const cmd = parent.command(name).description(cli.description);
  for (const a of cli.arguments) cmd.argument(`<${a.name}>`, a.description);
  for (const o of cli.options) cmd.option(o.flags, o.description, o.default);
  // Every stage limited to a box checks it against the dataset (see
  // checkBounds in @ngpipe/tasks): clipped with a notice, or refused.
  const bounded = takesBounds(stage);
  if (bounded)
    cmd.option(
      "--strict-bounds",
      "refuse a box that reaches outside the dataset instead of clipping it",
    );
  withRunOptions(cmd).action(async (...args: unknown[]) => {
    const positional = args.slice(0, cli.arguments.length) as string[];
    const values = { ...(args[cli.arguments.length] as Record<string, string | boolean>) };
    const inputs: Record<string, string> = {};
    cli.arguments.forEach((a, i) => {
      if (a.input) inputs[a.input] = inputLocation(a.input, positional[i]);
      else values[a.name] = positional[i];
    });
    const run = runOptions(program, values as Record<string, string | undefined>);
    // A well-formed URL of a queue that does not exist fails here, not at
    // insert after the stage has written its infos.
    if (run.queue !== undefined) await checkQueueExists(run.queue, { create: true });
    const options = await cli.parse(values, { inputs, parse: stageArgParsers });
    const at = inputs as Record<StageInput, string>;
    if (stage.createPhases) {
      await runPhases(program, stage.name, await stage.createPhases(at, options), run);
      return;
    }
    const tasks = await (stage.create as NonNullable<typeof stage.create>)(
      at,
      bounded ? { ...(options as object), ...boundsChecks(values) } : options,
    );
    await runStage(cli.label ?? stage.name, cli.noun ?? stage.name, tasks, run);
  });
}

/** Add a command for every registered stage that has a CLI form. */
export function registerStageCommands(program: Command): void {
  for (const stage of registeredStages()) addStageCommand(program, stage);
}
