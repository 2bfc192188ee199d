export {
  createTaskContext,
  type TaskContext,
  type TaskContextOptions,
  type TaskProgress,
} from "./context";
export {
  defineTask,
  executeTask,
  getTask,
  parsePayload,
  registeredTasks,
  registerTask,
  type TaskDefinition,
  type TaskPayload,
} from "./define";
export {
  DuplicateTaskError,
  InvalidPayloadError,
  InvalidTaskParamsError,
  TaskError,
  UnknownTaskError,
} from "./errors";
export { type ExecuteTasksOptions, type ExecuteTasksResult, executeTasks } from "./local";
