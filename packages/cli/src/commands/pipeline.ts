/**
 * `ngpipe pipeline <spec.json>`: stages that run in order, each starting when
 * the previous one is complete, through a queue — with workers in this
 * process, or elsewhere (`--workers 0` inserts and waits).
 *
 * ```json
 * { "queue": "fq:///shared/queue",
 *   "steps": [
 *     { "stage": "ingest", "source": "raw.h5#/main", "layer": "file:///data/img", "options": { "resolution": [4, 4, 40] } },
 *     { "stage": "downsample", "layer": "file:///data/img", "options": { "mips": 3 } } ] }
 * ```
 */
import { readFile } from "node:fs/promises";
import { checkQueueUrl } from "@ngpipe/queue";
import {
  getStage,
  InvalidStageOptionsError,
  parseStageOptions,
  registeredStages,
  type StageDefinition,
  type StageInput,
  UnknownStageError,
} from "@ngpipe/tasks";
import type { Command } from "commander";
import { parseIntArg, toSourcePath, toUrl } from "../args";
import { UsageError } from "../errors";
import { type PipelineStep, runPipeline } from "../pipeline";
import { printNotice, takesBounds } from "./stage-commands";

/** One step of a pipeline spec. */
export interface StepSpec {
  stage: string;
  /** The layer a stage works on (ingest: the destination). */
  layer?: string;
  /** ingest: the source. */
  source?: string;
  /** transfer/quantize: source and destination layers. */
  src?: string;
  dest?: string;
  /** Options of the stage's task creation function. */
  options?: Record<string, unknown>;
}

/** A pipeline spec file. */
export interface PipelineSpec {
  queue?: string;
  steps: StepSpec[];
}

function need(step: StepSpec, i: number, field: StageInput): string {
  const v = step[field];
  if (typeof v !== "string" || v === "") {
    throw new UsageError(`pipeline step ${i + 1} (${step.stage}) needs "${field}"`);
  }
  // Workers may run in another directory: local paths become absolute here.
  return field === "source" ? toSourcePath(v) : toUrl(v);
}

/** The registered stage a step names. */
function stageOf(step: StepSpec, i: number): StageDefinition {
  try {
    return getStage(step.stage);
  } catch (e) {
    if (!(e instanceof UnknownStageError)) throw e;
    const known = registeredStages().map((s) => s.name);
    throw new UsageError(
      `pipeline step ${i + 1}: unknown stage "${step.stage}" (${known.join(", ")})`,
    );
  }
}

/**
 * Turn a spec's steps into pipeline steps (validating names, fields and
 * options first). A step limited to `bounds` partly outside its dataset is
 * clipped and tells `onNotice` in one line, as the stage commands do (or is
 * refused with `"strictBounds": true` in its options).
 */
export function pipelineSteps(
  spec: PipelineSpec,
  onNotice?: (message: string) => void,
): PipelineStep[] {
  if (!Array.isArray(spec.steps) || spec.steps.length === 0)
    throw new UsageError('a pipeline spec needs a non-empty "steps" list');
  return spec.steps.map((step, i): PipelineStep => {
    const stage = stageOf(step, i);
    const inputs = Object.fromEntries(stage.inputs.map((field) => [field, need(step, i, field)]));
    let options: unknown;
    try {
      options = parseStageOptions(stage, step.options);
    } catch (e) {
      if (!(e instanceof InvalidStageOptionsError)) throw e;
      throw new UsageError(`pipeline step ${i + 1}: ${e.message}`);
    }
    if (onNotice && takesBounds(stage)) options = { ...(options as object), onNotice };
    const name = `${i + 1}. ${step.stage}`;
    const at = inputs as Record<StageInput, string>;
    const { create, createPhases } = stage;
    if (createPhases)
      return {
        name,
        tasks: async () => [],
        phases: async () =>
          (await createPhases(at, options)).map((phase) => ({
            name: `${name}: ${phase.name}`,
            tasks: () => phase.tasks(),
          })),
      };
    return { name, tasks: () => (create as NonNullable<typeof create>)(at, options) };
  });
}

export function registerPipeline(program: Command): void {
  program
    .command("pipeline")
    .summary("run stages in order, each when the previous one is complete, through a queue")
    .description(
      "run stages in order, each when the previous one is complete, through a queue.\n" +
        "Relative local paths in the spec are resolved against the current directory.\n" +
        "Exit code 1 when a step's tasks went to the dead-letter queue (later steps do not run).",
    )
    .argument("<spec>", "JSON file: {queue?, steps: [{stage, layer|source|src|dest, options}]}")
    .option("--queue <url>", "queue for the tasks (default: the spec's)")
    .option(
      "--workers <n>",
      "workers in this process; 0 = only insert and wait for `ngpipe execute` elsewhere",
      "1",
    )
    .action(async (file: string, o) => {
      let spec: PipelineSpec;
      try {
        spec = JSON.parse(await readFile(file, "utf8"));
      } catch (e) {
        throw new UsageError(`cannot read pipeline spec ${file}: ${(e as Error).message}`);
      }
      const queue = o.queue ?? spec.queue;
      if (!queue)
        throw new UsageError(
          'a pipeline needs a queue: --queue fq:///dir (or sqs://name), or "queue" in the spec',
        );
      // The whole spec, queue URL included, is checked before step 1 runs.
      checkQueueUrl(queue);
      const steps = pipelineSteps(spec, printNotice);
      const workers = parseIntArg(o.workers, "--workers");
      await runPipeline(steps, {
        queue,
        workers,
        quiet: program.opts().quiet,
        onStep: (r) =>
          process.stderr.write(`${r.name}: ${r.tasks} task(s) in ${r.seconds.toFixed(1)} s\n`),
      });
    });
}
