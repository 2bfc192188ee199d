/**
 * Pool kernels that read and write file:// chunk files themselves: a
 * worker reads a stored chunk into its own scratch memory and decodes it
 * into the reader's shared array, or cuts a chunk out of a shared array,
 * encodes it into its scratch memory and writes the file, synchronously.
 * The chunk's bytes then never reach the main thread or libuv's pool
 * (bench/RESULTS.md, dstask5). IO failures come back as a
 * `FileSyncFailure` value, which the caller turns into the storage's
 * typed error (see files.ts).
 */
import type { Compression } from "@ngpipe/storage/compression";
import {
  type FileSyncFailure,
  type FileSyncRetry,
  readStoredFileSync,
  writeStoredFileSync,
} from "@ngpipe/storage/file-sync";
import type { Shape4, VoxelInput } from "../array";
import type { ChunkContext } from "../codecs/types";
import type { TypedArray } from "../dtypes";
import { buildShards, type ShardEntry } from "../sharding/shard";
import type { ShardingSpec } from "../sharding/spec";
import { type ChunkCompression, decodeStoredChunkInto, encodeStoredChunkFrom } from "./stored";

/** Scratch memory a thread starts with for stored chunk bytes, each way. */
const FIRST_SCRATCH = 1024 * 1024;
/** Stored chunks larger than this are read or encoded into memory of their own. */
const MAX_SCRATCH = 64 * 1024 * 1024;

/** This thread's memory for stored bytes read, and for stored bytes encoded. */
let readScratch: Uint8Array | undefined;
let writeScratch: Uint8Array | undefined;

/** Scratch of at least `bytes` (a power of two from 1 MiB), up to {@link MAX_SCRATCH}. */
function grown(current: Uint8Array, bytes: number): Uint8Array {
  if (current.byteLength >= bytes || bytes > MAX_SCRATCH) return current;
  let size = FIRST_SCRATCH;
  while (size < bytes) size *= 2;
  return new Uint8Array(size);
}

/**
 * Reads the stored chunk at path `p` (bare, `.gz`, `.br`, `.zstd` or
 * `.zst`, as `Storage.getRaw`) into this thread's scratch memory and
 * decodes it into `out` as {@link decodeStoredChunkInto} does. Returns
 * true when painted, false when the chunk has no file, or the failure.
 */
export function decodeStoredFileInto(
  p: string,
  retry: FileSyncRetry | undefined,
  encoding: string,
  ctx: ChunkContext,
  out: TypedArray,
  outShape: Shape4,
  srcMin: readonly number[],
  dstMin: readonly number[],
  size: readonly number[],
): boolean | FileSyncFailure {
  readScratch ??= new Uint8Array(FIRST_SCRATCH);
  const got = readStoredFileSync(p, readScratch, retry);
  if (got === null) return false;
  if ("op" in got) return got;
  if (got.bytes.buffer !== readScratch.buffer)
    readScratch = grown(readScratch, got.bytes.byteLength);
  decodeStoredChunkInto(
    got.bytes,
    got.compression,
    encoding,
    ctx,
    out,
    outShape,
    srcMin,
    dstMin,
    size,
  );
  return true;
}

/**
 * Encodes the chunk at `srcMin` of `source` as {@link encodeStoredChunkFrom}
 * does, into this thread's scratch memory, and stores it at path `p` as
 * `Storage.putRaw` does (`p` plus the compression's suffix, written to a
 * temporary file and renamed; other forms removed). With `abort` set
 * before the rename, nothing is put in place. Returns true when stored,
 * false when aborted, or the failure.
 */
export function encodeStoredFileFrom(
  source: VoxelInput,
  srcMin: readonly number[],
  encoding: string,
  ctx: ChunkContext,
  compression: ChunkCompression | undefined,
  level: number | undefined,
  p: string,
  abort: Int32Array | undefined,
  retry: FileSyncRetry | undefined,
): boolean | FileSyncFailure {
  writeScratch ??= new Uint8Array(FIRST_SCRATCH);
  const bytes = encodeStoredChunkFrom(
    source,
    srcMin,
    encoding,
    ctx,
    compression,
    level,
    writeScratch,
  );
  if (bytes.buffer !== writeScratch.buffer)
    writeScratch = grown(writeScratch, bytes.byteLength + (bytes.byteLength >>> 3));
  return writeStoredFileSync(p, bytes, compression as Compression | undefined, abort, retry);
}

/**
 * Builds the shard files of `entries` (chunk bytes already carrying the
 * spec's `data_encoding`) and writes each to `dir` plus its name
 * (`<hex>.shard`) as `writeShards` does through a `FileBackend`: bare,
 * through a temporary file and a rename, other forms removed. With
 * `abort` set, no further file is put in place. Returns true when all are
 * stored (or aborted), or the failure with the shard's name.
 */
export function writeShardFiles(
  entries: ShardEntry[],
  spec: ShardingSpec,
  dir: string,
  abort: Int32Array | undefined,
  retry: FileSyncRetry | undefined,
): true | (FileSyncFailure & { name: string }) {
  for (const [name, bytes] of buildShards(entries, spec, { dataEncoded: true })) {
    const r = writeStoredFileSync(dir + name, bytes, undefined, abort, retry);
    if (r === false) return true;
    if (r !== true) return { ...r, name };
  }
  return true;
}
