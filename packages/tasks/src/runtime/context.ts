/**
 * What a running task gets besides its params: storage access (opened once
 * per URL and shared by the tasks of a process), the worker pool, an abort
 * signal and a progress callback.
 */
import { setMaxListeners } from "node:events";
import { runKernel } from "@ngpipe/precomputed";
import { openStorage, type Storage, type StorageOptions } from "@ngpipe/storage";

/** Progress of a task, in units the task chooses (usually voxels or chunks). */
export type TaskProgress = (done: number, total?: number) => void;

/** The environment a task runs in. */
export interface TaskContext {
  /** Aborted when the worker stops or the task's lease is lost. */
  readonly signal: AbortSignal;
  /** Report progress; a no-op unless the caller listens. */
  readonly progress: TaskProgress;
  /** A Storage for a URL, opened once per process with the context's options. */
  storage(url: string): Storage;
  /** Run a CPU kernel on the shared worker pool. */
  readonly runKernel: typeof runKernel;
}

/** Options of {@link createTaskContext}. */
export interface TaskContextOptions {
  signal?: AbortSignal;
  progress?: TaskProgress;
  storageOptions?: StorageOptions;
}

const sharedStorages = new Map<string, Storage>();

/** A context for running tasks in this process. Storages are cached per URL. */
export function createTaskContext(options: TaskContextOptions = {}): TaskContext {
  const signal = options.signal ?? new AbortController().signal;
  // Every concurrent storage request of a task listens on this one signal.
  setMaxListeners(0, signal);
  const cache = options.storageOptions ? new Map<string, Storage>() : sharedStorages;
  return {
    signal,
    progress: options.progress ?? (() => {}),
    runKernel,
    storage(url: string): Storage {
      let s = cache.get(url);
      if (!s) {
        s = openStorage(url, options.storageOptions);
        cache.set(url, s);
      }
      return s;
    },
  };
}
