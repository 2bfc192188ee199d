/**
 * Chunk files that pool workers read and write themselves: on file://,
 * an unsharded scale's chunks are files, and a worker that decodes a chunk
 * into a shared block (or encodes one out of it) reads (or writes) the file
 * with synchronous calls, into and from its own scratch memory. The main
 * thread only hands out paths: no chunk bytes cross threads, no read or
 * write goes through libuv's pool, and no storage promise chain runs per
 * chunk (bench/RESULTS.md, dstask5). Other backends, and sharded scales,
 * keep the store's `getMany`/`putMany`.
 *
 * The same files and names as the store's own IO: reads find the forms
 * `Storage.getRaw` finds, writes put `key<suffix>` through a temporary
 * file and a rename and remove other forms, as `Storage.putRaw` does on a
 * `FileBackend`. Transient failures are retried in the worker with the
 * storage's retry options; a failure comes back as the `StorageError`
 * subclass `FileBackend` throws, naming the storage and the chunk's key.
 */
import { FileBackend, forEachLimit, type Storage } from "@ngpipe/storage";
import {
  type FileSyncFailure,
  type FileSyncRetry,
  fileSyncError,
  isFileSyncFailure,
} from "@ngpipe/storage/file-sync";
import type { VoxelArray } from "../array";
import type { Bbox } from "../geometry/bbox";
import { precomputedKernels } from "../kernel-module";
import { poolSize, runKernel } from "../pool";
import type { ShardEntry } from "../sharding/shard";
import type { ShardingSpec } from "../sharding/spec";
import type { ChunkCoder } from "./coder";
import type { ChunkCell } from "./store";
import type { ChunkCompression } from "./stored";

/** Objects of a storage that are files a worker may read and write itself. */
export interface LocalFiles {
  /** The storage's URL, which errors name. */
  readonly url: string;
  /** The path of the object at `key` (relative to {@link url}), without a compression suffix. */
  pathOf(key: string): string;
  /** Retries of transient failures, from the storage's options. */
  readonly retry: FileSyncRetry;
}

/**
 * The objects of `storage` as files, or undefined when the storage is not a
 * directory (a `FileBackend` itself: a subclass may change how objects are
 * read or written, and keeps the store's IO).
 */
export function localFilesOf(storage: Storage): LocalFiles | undefined {
  const backend = storage.backend;
  if (!(backend instanceof FileBackend) || Object.getPrototypeOf(backend) !== FileBackend.prototype)
    return undefined;
  const { retries, retryBaseMs, retryMaxMs } = storage.options;
  return {
    url: storage.url,
    pathOf: (key) => backend.pathOf(storage.prefix + key),
    retry: { retries, retryBaseMs, retryMaxMs },
  };
}

/** Where the chunk files of one scale are, for workers that read and write them. */
export interface ChunkFiles extends LocalFiles {
  /** The storage key of a chunk (relative to {@link url}), which errors name. */
  keyOf(cell: ChunkCell): string;
}

/**
 * The chunk files of the scale whose chunks are `<scaleKey>/<chunk name>`
 * in `storage`, or undefined when its objects are not files
 * ({@link localFilesOf}).
 */
export function chunkFilesOf(storage: Storage, scaleKey: string): ChunkFiles | undefined {
  const local = localFilesOf(storage);
  if (local === undefined) return undefined;
  return { ...local, keyOf: (cell) => `${scaleKey}/${cell.bbox.toChunkName()}` };
}

/** Calls of one batch queued on the pool per thread: enough to keep every thread busy. */
const CALLS_PER_THREAD = 4;

/** The flags of {@link abortFlag}, per signal. */
const abortFlags = new WeakMap<AbortSignal, Int32Array>();

/**
 * A flag for `signal` that workers read (and wait on between retries)
 * before putting a written file in place: 1 once it has aborted.
 */
export function abortFlag(signal: AbortSignal | undefined): Int32Array | undefined {
  if (signal === undefined) return undefined;
  let flag = abortFlags.get(signal);
  if (flag === undefined) {
    const f = new Int32Array(new SharedArrayBuffer(4));
    const set = () => {
      Atomics.store(f, 0, 1);
      // Wakes a worker waiting between retries.
      Atomics.notify(f, 0);
    };
    if (signal.aborted) set();
    else signal.addEventListener("abort", set, { once: true });
    abortFlags.set(signal, f);
    flag = f;
  }
  return flag;
}

/**
 * Reads the chunks `cells` from their files and decodes each into `out`
 * (an array on a SharedArrayBuffer covering `outBox`), in the pool, as
 * `ChunkCoder.decodeInto` does with bytes the store read. `done` is called
 * with each chunk's box and whether it was found (false: no file).
 */
export async function readChunkFilesInto(
  files: ChunkFiles,
  coder: ChunkCoder,
  cells: readonly ChunkCell[],
  out: VoxelArray,
  outBox: Bbox,
  done: (bbox: Bbox, found: boolean) => void,
  opts: { signal?: AbortSignal },
): Promise<void> {
  const { signal } = opts;
  const module = precomputedKernels();
  await forEachLimit(
    cells,
    CALLS_PER_THREAD * poolSize(),
    async (cell) => {
      const { bbox } = cell;
      let result: boolean | FileSyncFailure;
      try {
        result = await runKernel<boolean | FileSyncFailure>(
          module,
          "decodeStoredFileInto",
          [files.pathOf(files.keyOf(cell)), files.retry, ...coder.paintArgs(bbox, out, outBox)],
          { signal, short: true },
        );
      } catch (e) {
        throw coder.namedDecompressionError(e, bbox);
      }
      if (isFileSyncFailure(result)) throw fileSyncError(result, files.url, files.keyOf(cell));
      done(bbox, result);
    },
    { signal },
  );
}

/**
 * Encodes the chunks `cells` of `source` (an array on a SharedArrayBuffer
 * covering `sourceBox`) in the pool and has each worker store its chunk's
 * file, compressed with `compression`, as `Storage.putRaw` would.
 * `progress` is called as chunks are stored. A call aborted by `signal`
 * puts nothing more in place.
 */
export async function writeChunkFiles(
  files: ChunkFiles,
  coder: ChunkCoder,
  cells: readonly ChunkCell[],
  source: VoxelArray,
  sourceBox: Bbox,
  compression: ChunkCompression | undefined,
  progress: (done: number) => void,
  opts: { signal?: AbortSignal },
): Promise<void> {
  const { signal } = opts;
  const module = precomputedKernels();
  const abort = abortFlag(signal);
  const view = {
    data: source.data,
    shape: source.shape,
    stride: source.stride,
    offset: source.offset,
  };
  let stored = 0;
  await forEachLimit(
    cells,
    CALLS_PER_THREAD * poolSize(),
    async (cell) => {
      const { bbox } = cell;
      const result = await runKernel<boolean | FileSyncFailure>(
        module,
        "encodeStoredFileFrom",
        [
          view,
          [0, 1, 2].map((i) => bbox.min[i] - sourceBox.min[i]),
          coder.options.encoding,
          coder.context(bbox),
          compression,
          coder.options.compressLevel,
          files.pathOf(files.keyOf(cell)),
          abort,
          files.retry,
        ],
        { signal, short: true },
      );
      if (isFileSyncFailure(result)) throw fileSyncError(result, files.url, files.keyOf(cell));
      progress(++stored);
    },
    { signal },
  );
}

/**
 * Builds the shard files holding `entries` (chunks already carrying the
 * spec's `data_encoding`) and writes each to `<prefix>/<name>` in a pool
 * worker, as `writeShards` would through the storage (bare, through a
 * temporary file and a rename, other forms removed): the shard's bytes are
 * assembled and written off the main thread. Entries on shared memory
 * (the workers' leases) are shared with that worker, not copied.
 */
export async function writeShardFiles(
  files: LocalFiles,
  entries: ShardEntry[],
  spec: ShardingSpec,
  prefix: string,
  opts: { signal?: AbortSignal },
): Promise<void> {
  const { signal } = opts;
  const result = await runKernel<(FileSyncFailure & { name?: string }) | true>(
    precomputedKernels(),
    "writeShardFiles",
    [entries, spec, `${files.pathOf(prefix)}/`, abortFlag(signal), files.retry],
    { signal, short: true },
  );
  if (result !== true) throw fileSyncError(result, files.url, `${prefix}/${result.name ?? ""}`);
}
