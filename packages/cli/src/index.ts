export { describeLayer } from "./commands/info";
export { DeadTasksError, UsageError } from "./errors";
export { buildProgram, main } from "./program";
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
