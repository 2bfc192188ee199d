import type { StoredNames } from "./forms";
/**
 * The storage contract: bytes at keys. Every backend (file, mem, gs, s3, http)
 * implements {@link Backend}; {@link Storage} adds compression, retries and the
 * batch forms on top of any backend, so a backend stays one small file.
 *
 * Keys are relative to the storage's root URL, use `/` as the separator and
 * never start with `/`.
 */

/** Transport compression of a stored object. */
export type Compression = "gzip" | "br" | "zstd";

/** A byte range, inclusive start, exclusive end (like `Bbox`). */
export interface ByteRange {
  start: number;
  /** Exclusive end. Omit for "to the end of the object". */
  end?: number;
}

/** What `head` (and `get`) tell about a stored object. */
export interface ObjectInfo {
  /** Stored size in bytes (compressed size if the object is compressed). */
  size: number;
  /**
   * Opaque version token usable with `put(..., {ifVersion})`: a GCS generation,
   * an S3 ETag, a file:// mtime+inode+size fingerprint, a mem:// counter.
   */
  version?: string;
  contentType?: string;
  /** Transport compression the object is stored with, if any. */
  contentEncoding?: Compression;
  cacheControl?: string;
  /** Hex MD5 of the stored bytes where the backend reports one. */
  md5?: string;
  lastModified?: Date;
}

/** Options common to every IO call. */
export interface IoOptions {
  signal?: AbortSignal;
}

export interface GetOptions extends IoOptions {
  /** Fetch only these bytes. Ranges apply to the stored (uncompressed) object. */
  range?: ByteRange;
  /**
   * The most bytes a compressed object may inflate to: past it, inflation
   * stops with DecompressionLimitError. Default: no limit (readers that know
   * what to expect, such as chunk and info reads, set one).
   */
  maxBytes?: number;
  /**
   * Directory listings shared by the reads of one batch (from
   * `Storage.batchNames()`): on file://, the stored form of each key
   * (`key`, `key.gz`, ...) is then looked up in one listing per directory
   * instead of probed key by key. `getMany` uses one itself.
   */
  names?: StoredNames;
  /**
   * Memory for the object's bytes: called with the byte count, it returns a
   * Uint8Array of that length (e.g. a view of a reused SharedArrayBuffer),
   * and the result's `data` is then that array. For readers that give the
   * memory back once the bytes are used, so that reads allocate nothing
   * (and start no garbage collection). Backends that receive the bytes in
   * memory of their own (the network ones) ignore it; file:// uses it.
   * For `getRaw` and `getWithInfo` (`get`, which returns new memory, does
   * not pass it on).
   */
  alloc?: (bytes: number) => Uint8Array;
}

export interface PutOptions extends IoOptions {
  contentType?: string;
  /**
   * Compress before storing. `true` means gzip. Never use on objects that are
   * read with byte ranges (sharded volumes): compressed objects can't be ranged.
   */
  compress?: Compression | boolean;
  cacheControl?: string;
  /** Write only if no object exists at the key; otherwise `PreconditionFailedError`. */
  ifAbsent?: boolean;
  /** Write only if the current object has this version; otherwise `PreconditionFailedError`. */
  ifVersion?: string;
}

/** Result of a `get`: the (decompressed) bytes and what is known of the object. */
export interface GetResult {
  data: Uint8Array;
  info: ObjectInfo;
}

/** Result of a `put`. */
export interface PutResult {
  /** Version of the object just written, where the backend reports it. */
  version?: string;
}

export interface ListOptions extends IoOptions {
  /** Descend into sub-"directories". Default false: only direct children (with a trailing `/` for prefixes). */
  recursive?: boolean;
}

/** Progress of a batch call: how many of `total` items are done (success or failure). */
export type ProgressCallback = (done: number, total: number | undefined) => void;

export interface BatchOptions extends IoOptions {
  /** How many requests at once. Default: the storage's `concurrency` option. */
  concurrency?: number;
  onProgress?: ProgressCallback;
}

/** One item of a batch result: a value or the error that key met. Batches never stop on one error. */
export type BatchResult<T> =
  | { key: string; ok: true; value: T }
  | { key: string; ok: false; error: Error };

/**
 * What a backend must do. It moves raw stored bytes: it never compresses,
 * decompresses or retries on its own — {@link Storage} does that — except
 * that cloud backends store `contentEncoding` as the object's Content-Encoding
 * and report it back, and file/mem backends ignore it (the `.gz`/`.br` key
 * suffix convention is applied above them).
 */
export interface Backend {
  /** The URL of the root, e.g. `gs://bucket/prefix`. Never holds credentials. */
  readonly url: string;
  /** Whether the backend keeps Content-Encoding as metadata (gs, s3) or needs key suffixes (file, mem, http). */
  readonly encodingInMetadata: boolean;
  readonly readOnly: boolean;
  /**
   * Whether `put` takes bytes on a SharedArrayBuffer and no longer reads
   * them once it resolves (file://, mem://), so a writer may reuse that
   * memory for its next object. Other backends are given new memory.
   */
  readonly acceptsSharedBytes?: boolean;
  /** Raw stored bytes or null when the key is missing. Must not decompress. */
  get(key: string, opts?: GetOptions): Promise<GetResult | null>;
  /**
   * Optional callback form of a whole-object `get` for batch reads of many
   * small objects (file://): reports to `done`, exactly once and never
   * before it returns, either `true` and the stored bytes (null when the
   * key is missing) or `false` and the error `get` would reject with. No
   * promise per read: on a local disk a small read costs about as much as
   * the promises around it.
   */
  getCall?(key: string, signal: AbortSignal | undefined, done: BackendReadDone): void;
  /**
   * Optional: whole-object reads of many keys at once, each in the first of
   * `suffixes` stored (file://: on its reader thread, one message per
   * batch). Reports to `done` exactly once, never before it returns: null
   * and a {@link BatchRead}, or the error that failed the whole batch. A key
   * the batch did not read (too large, an error other than a missing path)
   * is marked so in `forms`, to be read with `get`, which reports its typed
   * error.
   */
  getManyCall?(
    keys: readonly string[],
    suffixes: readonly string[],
    signal: AbortSignal | undefined,
    done: BackendBatchDone,
  ): void;
  put(
    key: string,
    data: Uint8Array,
    opts: PutOptions & { contentEncoding?: Compression },
  ): Promise<PutResult>;
  /** Deleting a missing key is not an error. */
  delete(key: string, opts?: IoOptions): Promise<void>;
  head(key: string, opts?: IoOptions): Promise<ObjectInfo | null>;
  /** Keys under `prefix` (relative to the root), in lexicographic order where the backend can. */
  list(prefix: string, opts?: ListOptions): AsyncIterable<string>;
  /**
   * Optional cheap existence probe (may be synchronous), used by {@link Storage}
   * to look for the `.gz`/`.br`/`.zst` forms of a key without a full request.
   * Backends without it are probed with `head`.
   */
  exists?(key: string, opts?: IoOptions): boolean | Promise<boolean>;
  /**
   * Optional: the entry names of directory `dir` (a backend key without
   * the trailing "/", "" for the root), or null when it holds more than
   * `limit` entries. A missing directory has none. Lets {@link Storage}
   * find the stored forms of many keys with one listing.
   */
  namesIn?(dir: string, limit: number, opts?: IoOptions): Promise<Set<string> | null>;
  /** Server-side copy within the same backend kind, if supported. */
  copyWithin?(srcKey: string, dst: Backend, dstKey: string, opts?: IoOptions): Promise<void>;
  /**
   * Temporary files of interrupted writes under `prefix` (file:// only:
   * other backends write objects whole), never listed by `list`.
   */
  temporaries?(prefix: string, opts?: IoOptions): AsyncIterable<TemporaryFile>;
  /** Remove the temporary files of writes of `keys` (file:// only); resolves to how many. */
  removeTemporaries?(keys: readonly string[], opts?: IoOptions): Promise<number>;
  close?(): Promise<void>;
}

/** Receives the outcome of `Backend.getCall`: `ok` and the bytes (null: missing), or not `ok` and the error. */
export type BackendReadDone = (ok: boolean, valueOrError: Uint8Array | null | unknown) => void;

/**
 * What `Backend.getManyCall` read: the stored bytes of the keys back to
 * back in `bytes`, key `i` ending at `ends[i]` (and starting at the end of
 * key `i - 1`, or 0), and in `forms[i]` the index of the suffix it was
 * stored under, -1 when stored under none, -2 when not read (read it with
 * `get`).
 */
export interface BatchRead {
  bytes: ArrayBuffer;
  ends: Int32Array;
  forms: Int8Array;
}

/** Receives the outcome of `Backend.getManyCall`: an error that failed the batch, or null and what it read. */
export type BackendBatchDone = (error: unknown, read?: BatchRead) => void;

/** Options of `openStorage`. */
export interface StorageOptions {
  /** Requests in flight for batch calls. Default 32 (cloud), 16 (file). */
  concurrency?: number;
  /** Retries for transient failures (429, 5xx, resets, timeouts). Default 6. */
  retries?: number;
  /** Base delay of the jittered exponential backoff, ms. Default 100. */
  retryBaseMs?: number;
  /** Cap of one backoff delay, ms. Default 10_000. */
  retryMaxMs?: number;
  /** Per-request timeout, ms. Default 60_000. */
  timeoutMs?: number;
  /** S3-compatible endpoint (e.g. `http://127.0.0.1:5000`), GCS API endpoint for tests. */
  endpoint?: string;
  /** Cloud region (S3). */
  region?: string;
  /** Explicit credentials object, in the form of the matching CloudVolume secret file. */
  credentials?: Record<string, unknown>;
  /** Uploads at or above this size use multipart (S3) / resumable (GCS). Default 16 MiB. */
  multipartThreshold?: number;
  /** Verify MD5 of whole-object downloads where the service provides one. Default true. */
  verifyMd5?: boolean;
}

/** Where a cloud URL points: `gs://bucket/prefix` or `s3://[endpoint/]bucket/prefix`. */
export interface CloudLocation {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing `/` ("" for the bucket root). */
  prefix: string;
  /** Explicit endpoint (S3-compatible host, or a GCS API endpoint for tests). */
  endpoint?: string;
}

/** A temporary file an interrupted write left (see `Backend.temporaries`). */
export interface TemporaryFile {
  /** Its own key (a dot file beside the object). */
  key: string;
  /** The key of the object it was written for, when its name says (older names do not). */
  of?: string;
  size: number;
  /** Last modified, ms since the epoch. */
  mtimeMs: number;
}
