import { PrecomputedError } from "../errors";

/** One broken rule of the info spec, at a JSON path such as `scales[2].chunk_sizes[0]`. */
export interface InfoProblem {
  /** JSON path from the info root (`""` for the root itself). */
  path: string;
  /** What the rule requires, e.g. "must be 3 positive integers". */
  rule: string;
}

function describe(p: InfoProblem): string {
  return `${p.path || "(root)"}: ${p.rule}`;
}

/**
 * An info file that breaks the precomputed spec. `path` and `rule` describe
 * the first problem; `problems` lists all of them.
 */
export class InfoValidationError extends PrecomputedError {
  override name = "InfoValidationError";
  /** JSON path of the first problem. */
  readonly path: string;
  /** Rule broken by the first problem. */
  readonly rule: string;
  constructor(
    readonly problems: InfoProblem[],
    /** Where the info came from (URL), if known. */
    readonly source?: string,
  ) {
    const head = source ? `invalid info at ${source}` : "invalid info";
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : "";
    super(`${head}: ${describe(problems[0])}${more}`);
    this.path = problems[0].path;
    this.rule = problems[0].rule;
  }
}

/** No `info` object at the layer URL. */
export class InfoNotFoundError extends PrecomputedError {
  override name = "InfoNotFoundError";
  constructor(
    /** URL of the missing info file. */
    readonly url: string,
  ) {
    super(`no info file at ${url}`);
  }
}

/** A mip level or resolution that the info has no scale for. Lists what exists. */
export class ScaleNotFoundError extends PrecomputedError {
  override name = "ScaleNotFoundError";
}
