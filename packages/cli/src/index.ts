export { parseBbox, parseVec3, toUrl } from "./args";
export { describeLayer } from "./commands/info";
export { waitForQueue } from "./commands/queue";
export { DeadTasksError, UsageError } from "./errors";
export { buildProgram, main } from "./program";
export { createProgress, type Progress, type ProgressOptions } from "./progress";
export { type RunTasksOptions, type RunTasksResult, runTasks } from "./run-tasks";
export {
  type FoundLayer,
  findLayers,
  neuroglancerState,
  neuroglancerUrl,
  startViewServer,
  type ViewServer,
  type ViewServerOptions,
} from "./view/server";
