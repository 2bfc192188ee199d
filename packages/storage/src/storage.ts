/**
 * {@link Storage}: compression, retries, key checks and batch calls over any
 * {@link Backend}.
 */

import {
  COMPRESSION_SUFFIXES,
  compressBytes,
  compressionOf,
  decompressBytes,
  decompressNow,
  isCompression,
  logicalKeys,
  maxJsonBytes,
  SUFFIX_OF,
} from "./compression";
import {
  AbortError,
  DecompressionError,
  JsonDecodeError,
  NotSupportedError,
  PreconditionFailedError,
  ReadOnlyStorageError,
  RequestError,
  StorageError,
} from "./errors";
import { FORM_ELSEWHERE, FORM_MISSING, MAX_BATCH_KEYS } from "./file-batch-reader";
import {
  compressedRangeError,
  FORMS,
  type Form,
  StoredNames,
  tagVersion,
  untagVersion,
} from "./forms";
import { type KeyBatch, KeyBatches } from "./key-batches";
import { joinPrefix, normalizeKey, normalizePrefix } from "./keys";
import { type BatchInput, type ItemDone, runPool, runPoolOfCalls } from "./pool";
import {
  type AttemptDone,
  attemptCall,
  attemptWith,
  backoffDelay,
  isAbortError,
  isRetryableError,
  type RetryPolicy,
  retryFailed,
  sleep,
  withRetries,
} from "./retry";
import type {
  Backend,
  BatchOptions,
  BatchRead,
  BatchResult,
  ByteRange,
  Compression,
  GetOptions,
  GetResult,
  IoOptions,
  ListOptions,
  ObjectInfo,
  PutOptions,
  PutResult,
  StorageOptions,
  TemporaryFile,
} from "./types";

/** One object of a {@link Storage.putMany} call: its key, bytes, and per-object put options. */
export interface PutItem extends Omit<PutOptions, "signal"> {
  key: string;
  data: Uint8Array | string;
}

/** Options of {@link Storage.putRaw}: put options plus the encoding the bytes already have. */
export interface PutRawOptions extends Omit<PutOptions, "compress"> {
  /** Transport compression `data` is already in; stored as is. */
  contentEncoding?: Compression;
}

/** Options of {@link Storage.putMany}: batch options plus put options applied to every item. */
export type PutManyOptions = BatchOptions & Omit<PutOptions, "signal">;

const textEncoder = new TextEncoder();

/**
 * What {@link Storage} reads of a backend that bounds each HTTP request with
 * its own timeout (gs://, s3://): the SDK client's per-request timeout and a
 * stall timeout while a body streams, both `timeoutMs`.
 */
interface RequestTimedBackend {
  /** True: every request the backend makes is bounded on its own. */
  readonly boundsEachRequest: true;
  /** Uploads at or above this many bytes take many requests (multipart, resumable). */
  readonly multipartThreshold: number;
}

function isRequestTimed(b: Backend): b is Backend & RequestTimedBackend {
  return (b as Partial<RequestTimedBackend>).boundsEachRequest === true;
}

function checkRange(range: ByteRange, url: string, key: string): void {
  const { start, end } = range;
  if (
    !Number.isSafeInteger(start) ||
    start < 0 ||
    (end !== undefined && (!Number.isSafeInteger(end) || end < start))
  ) {
    throw new RequestError(
      `invalid byte range ${JSON.stringify(range)} for ${key} under ${url}: need 0 <= start <= end`,
      url,
      key,
      undefined,
    );
  }
}

/**
 * Bytes at keys under one root URL, over any {@link Backend}: transparent
 * compression, retries with backoff, per-request timeouts, key checks and
 * bounded-concurrency batch calls. Get one with `openStorage(url)`.
 *
 * Keys are relative to the root, `/`-separated; `..` may not climb out.
 *
 * @example
 * const s = openStorage("file:///data/vol");
 * await s.put("info", JSON.stringify(info), { contentType: "application/json" });
 * const chunks = await s.getMany(["1/0-64_0-64_0-64", "1/64-128_0-64_0-64"]);
 */
export class Storage {
  /** The root URL, e.g. `gs://bucket/dataset/layer`. */
  readonly url: string;
  /** Requests in flight for batch calls unless a call says otherwise. */
  readonly concurrency: number;
  private readonly policy: RetryPolicy;
  /** {@link policy} without the whole-attempt timeout, for long transfers on request-timed backends. */
  private readonly untimedPolicy: RetryPolicy;

  /**
   * @param backend where the bytes live.
   * @param options retry, timeout and concurrency settings (see {@link StorageOptions}).
   * @param prefix key prefix inside the backend ("" or ending with `/`); use {@link child} instead.
   */
  constructor(
    readonly backend: Backend,
    readonly options: StorageOptions = {},
    readonly prefix = "",
  ) {
    this.url = prefix === "" ? backend.url : `${backend.url}/${prefix.replace(/\/$/, "")}`;
    this.concurrency = options.concurrency ?? (backend.encodingInMetadata ? 32 : 16);
    this.policy = {
      retries: options.retries,
      retryBaseMs: options.retryBaseMs,
      retryMaxMs: options.retryMaxMs,
      timeoutMs: options.timeoutMs,
    };
    this.untimedPolicy = { ...this.policy, timeoutMs: 0 };
  }

  /** A storage rooted at `subpath` below this one, sharing its backend and options. */
  child(subpath: string): Storage {
    const sub = normalizePrefix(subpath, this.url).replace(/\/$/, "");
    if (sub === "") return this;
    return new Storage(this.backend, this.options, `${joinPrefix(this.prefix, sub)}/`);
  }

  /** Same as {@link child}. */
  join(subpath: string): Storage {
    return this.child(subpath);
  }

  /** Backend key of a caller's key, after validation. */
  private full(key: string): string {
    return this.prefix + normalizeKey(key, this.url);
  }

  /**
   * One backend request under the retry policy, with errors named after the
   * caller's key. `long` calls (see {@link isLong}) get no whole-attempt
   * timeout: the backend bounds each of their requests.
   */
  private call<T>(
    op: string,
    key: string | undefined,
    fn: (signal: AbortSignal | undefined) => Promise<T>,
    signal: AbortSignal | undefined,
    long = false,
  ): Promise<T> {
    const policy = long ? this.untimedPolicy : this.policy;
    return withRetries(fn, policy, signal, {
      url: this.url,
      key,
      op,
      finalError: (err) => this.named(err, op, key, signal),
    });
  }

  /**
   * Whether an operation may rightly outlast `timeoutMs` as a whole and the
   * backend bounds each of its requests instead: an upload of `putBytes`
   * at or above the multipart threshold (many part/chunk requests), or a
   * download of unknown or large size (a whole object, an open-ended range,
   * a range at or above the threshold), or a server-side copy. On other
   * backends every operation keeps the whole-attempt timeout.
   */
  private isLong(op: { putBytes?: number; range?: ByteRange; copy?: boolean }): boolean {
    const b = this.backend;
    if (!isRequestTimed(b)) return false;
    if (op.copy) return true;
    if (op.putBytes !== undefined) return op.putBytes >= b.multipartThreshold;
    const r = op.range;
    return r?.end === undefined || r.end - r.start >= b.multipartThreshold;
  }

  private named(err: unknown, op: string, key: string | undefined, signal?: AbortSignal): Error {
    if (err instanceof StorageError) {
      // Backends name their own root and full key (with this storage's prefix,
      // or a `.gz` suffix); callers catch errors in their own terms. The
      // message keeps the backend's full location.
      if (key !== undefined) {
        (err as { url: string }).url = this.url;
        (err as { key?: string }).key = key;
      }
      return err;
    }
    const where = key === undefined ? this.url : `${this.url} key ${key}`;
    if (isAbortError(err) || signal?.aborted) {
      return new AbortError(`${op} aborted: ${where}`, this.url, key, { cause: err });
    }
    return new StorageError(
      `${op} failed: ${where}: ${(err as Error)?.message ?? err}`,
      this.url,
      key,
      {
        cause: err,
      },
    );
  }

  private checkAborted(op: string, key: string, signal: AbortSignal | undefined): void {
    if (signal?.aborted) {
      throw new AbortError(`${op} aborted: ${this.url} key ${key}`, this.url, key, {
        cause: signal.reason,
      });
    }
  }

  private checkWritable(key: string): void {
    if (this.backend.readOnly) {
      throw new ReadOnlyStorageError(
        `${this.url} is read-only; cannot write ${key}`,
        this.url,
        key,
      );
    }
  }

  private probe(full: string, signal: AbortSignal | undefined): boolean | Promise<boolean> {
    const b = this.backend;
    if (b.exists !== undefined) {
      const r = b.exists(full, { signal });
      if (typeof r === "boolean") return r;
      return this.call("exists", full.slice(this.prefix.length), () => r, signal);
    }
    return this.call(
      "head",
      full.slice(this.prefix.length),
      (s) => b.head(full, { signal: s }),
      signal,
    ).then((info) => info !== null);
  }

  /** The stored form of a key on a suffix backend, or null when none exists. */
  private async findForm(full: string, signal: AbortSignal | undefined): Promise<Form | null> {
    for (const [suffix, codec] of FORMS) {
      const p = this.probe(full + suffix, signal);
      if (p === true || (p !== false && (await p))) return { suffix, codec };
    }
    return null;
  }

  /**
   * Directory listings for the reads of one batch (pass as `names` to
   * {@link get}/{@link getRaw}), or undefined when this backend keeps
   * Content-Encoding as metadata or cannot list a directory cheaply.
   */
  batchNames(): StoredNames | undefined {
    const b = this.backend;
    if (b.encodingInMetadata || b.namesIn === undefined) return undefined;
    return new StoredNames((dir, limit, signal) =>
      this.call(
        "list",
        dir.slice(this.prefix.length),
        () => b.namesIn!(dir, limit, { signal }),
        signal,
      ),
    );
  }

  /**
   * The stored bytes of `key` as the backend holds them (still compressed),
   * with `info.contentEncoding` saying how; null when missing. On file, mem
   * and http backends this finds `key`, `key.gz`, `key.br` or `key.zst`.
   */
  async getRaw(key: string, opts: GetOptions = {}): Promise<GetResult | null> {
    return this.fetchStored(this.full(key), key, opts);
  }

  /**
   * The stored form of backend key `full` by the batch listing in
   * `opts.names` (see `StoredNames.formOf`); undefined without one.
   */
  private listedForm(
    full: string,
    opts: GetOptions,
  ): Form | null | undefined | Promise<Form | null | undefined> {
    const names = opts.names;
    if (names === undefined || opts.range !== undefined || this.backend.encodingInMetadata)
      return undefined;
    return names.formOf(full, opts.signal);
  }

  /** The stored object of backend key `full`: in its listed form if known, else probed. */
  private fetchStored(
    full: string,
    key: string,
    opts: GetOptions,
    form = this.listedForm(full, opts),
    bareMissed = false,
  ): Promise<GetResult | null> {
    if (form === null) return NULL_RESULT;
    if (form === undefined) return this.probeStored(full, key, opts, bareMissed);
    if (!(form instanceof Promise)) return this.fetchForm(full, key, form, opts);
    return form.then((f) =>
      f === null
        ? null
        : f === undefined
          ? this.probeStored(full, key, opts, bareMissed)
          : this.fetchForm(full, key, f, opts),
    );
  }

  /** The object stored in the listed form `form`, or a probe when it is gone since the listing. */
  private fetchForm(
    full: string,
    key: string,
    form: Form,
    opts: GetOptions,
  ): Promise<GetResult | null> {
    const b = this.backend;
    return this.call(
      "get",
      key,
      (s) => b.get(full + form.suffix, { signal: s, alloc: opts.alloc }),
      opts.signal,
    ).then((r) => {
      // Gone since the listing (or replaced by another form): look again.
      if (r === null) return this.probeStored(full, key, opts);
      if (form.codec !== undefined) {
        r.info.contentEncoding = form.codec;
        r.info.version = tagVersion(r.info.version, form.suffix);
      }
      return r;
    });
  }

  /**
   * The stored object of backend key `full`, found by reading it and probing
   * its compressed forms (only the probes when a read just found it missing
   * bare: `bareMissed`).
   */
  private async probeStored(
    full: string,
    key: string,
    opts: GetOptions,
    bareMissed = false,
  ): Promise<GetResult | null> {
    const { range, signal } = opts;
    if (range !== undefined) checkRange(range, this.url, key);
    const b = this.backend;
    const res = bareMissed
      ? null
      : await this.call(
          "get",
          key,
          (s) => b.get(full, { range, signal: s, alloc: opts.alloc }),
          signal,
          this.isLong({ range }),
        );
    if (b.encodingInMetadata) {
      if (res !== null && range !== undefined && res.info.contentEncoding !== undefined) {
        throw compressedRangeError(this.url, key, res.info.contentEncoding);
      }
      return res;
    }
    if (res !== null) {
      // http may report a Content-Encoding its server applied on the fly; the
      // suffix convention is what decides here.
      if (res.info.contentEncoding !== undefined && range !== undefined) {
        throw compressedRangeError(this.url, key, res.info.contentEncoding);
      }
      return res;
    }
    // Only a missing bare key costs the probes of the compressed forms.
    for (const [suffix, codec] of COMPRESSION_SUFFIXES) {
      const stored = full + suffix;
      // Without a cheap probe, a plain GET of the form is the probe.
      if (b.exists !== undefined || range !== undefined) {
        const p = this.probe(stored, signal);
        if (p === false || (p !== true && !(await p))) continue;
        if (range !== undefined) throw compressedRangeError(this.url, key, codec);
      }
      const r = await this.call(
        "get",
        key,
        (s) => b.get(stored, { signal: s, alloc: opts.alloc }),
        signal,
      );
      if (r !== null) {
        r.info.contentEncoding = codec;
        r.info.version = tagVersion(r.info.version, suffix);
        return r;
      }
    }
    return null;
  }

  /** Like {@link get}, with what is known of the stored object (`info.size` is the stored size). */
  async getWithInfo(key: string, opts: GetOptions = {}): Promise<GetResult | null> {
    const res = await this.fetchStored(this.full(key), key, opts);
    if (res === null) return null;
    const codec = res.info.contentEncoding;
    if (codec !== undefined)
      res.data = await decompressBytes(res.data, codec, this.url, key, opts.maxBytes);
    return res;
  }

  /**
   * The bytes at `key`, decompressed, or null when there is no object. With
   * `range`, only those bytes (of an uncompressed object).
   */
  async get(key: string, opts: GetOptions = {}): Promise<Uint8Array | null> {
    // The hot path of every chunk read: one async layer less than getWithInfo,
    // and for a key whose form a batch listing knows, no layer but the read.
    const full = this.full(key);
    const form = this.listedForm(full, opts);
    if (form !== null && form !== undefined && !(form instanceof Promise)) {
      const b = this.backend;
      const { suffix, codec } = form;
      const res = await this.call(
        "get",
        key,
        (s) => b.get(full + suffix, { signal: s, alloc: opts.alloc }),
        opts.signal,
      );
      if (res !== null)
        return codec === undefined
          ? res.data
          : decompressBytes(res.data, codec, this.url, key, opts.maxBytes);
      // Gone since the listing (or replaced by another form): look again.
      return this.probeAndInflate(full, key, opts);
    }
    return this.inflate(await this.fetchStored(full, key, opts, form), key, opts);
  }

  /** {@link get} of a key found neither bare nor in its listed form. */
  private async probeAndInflate(
    full: string,
    key: string,
    opts: GetOptions,
  ): Promise<Uint8Array | null> {
    return this.inflate(await this.probeStored(full, key, opts), key, opts);
  }

  /** The bytes of a stored object, decompressed by its `contentEncoding`. */
  private inflate(
    res: GetResult | null,
    key: string,
    opts: GetOptions,
  ): Uint8Array | null | Promise<Uint8Array> {
    if (res === null) return null;
    const codec = res.info.contentEncoding;
    return codec === undefined
      ? res.data
      : decompressBytes(res.data, codec, this.url, key, opts.maxBytes);
  }

  /**
   * {@link get} for {@link getMany}, reporting to `done`. A key in a
   * directory where this batch has found every bare key so far is read
   * bare at once, without listing the directory: a volume stored
   * uncompressed costs one read per key and no listing. A key whose stored
   * form the batch listing already knows is read in that form. Either read
   * is one callback attempt (retried through the same policy if it fails)
   * and, if small and gzip-compressed, inflated inline: no promise of ours
   * per key. Every other case takes {@link get}'s path.
   */
  private getInto(key: string, opts: GetOptions, done: ItemDone<Uint8Array | null>): void {
    // No function of this path is assigned to a name: esbuild's keepNames
    // (tsx runs the sources with it) would rename each one, per key.
    const full = this.full(key);
    const names = opts.names;
    if (
      names !== undefined &&
      this.backend.getCall !== undefined &&
      opts.range === undefined &&
      names.bareFirst(full)
    ) {
      this.readListed(full, key, BARE_FORM, opts, done);
      return;
    }
    const form = this.listedForm(full, opts);
    if (form === null) done(true, null);
    else if (form === undefined || form instanceof Promise)
      settleInto(
        this.fetchStored(full, key, opts, form).then((res) => this.inflate(res, key, opts)),
        done,
      );
    else this.readListed(full, key, form, opts, done);
  }

  /**
   * Reads `full` in the stored form `form` (the bare key, tried first, or
   * the form the batch listing names) with one callback attempt, then the
   * retries of the policy if it fails.
   */
  private readListed(
    full: string,
    key: string,
    form: Form,
    opts: GetOptions,
    done: ItemDone<Uint8Array | null>,
  ): void {
    const b = this.backend;
    const stored = full + form.suffix;
    const timeoutMs = this.policy.timeoutMs ?? 60_000;
    if (b.getCall !== undefined)
      attemptCall(
        this.caller(stored),
        opts.signal,
        timeoutMs,
        this.afterRead(full, key, form, opts, done),
      );
    else
      attemptWith(this.reader(stored), opts.signal, timeoutMs, (ok, r) =>
        this.afterRead(full, key, form, opts, done)(ok, ok ? dataOf(r as GetResult | null) : r),
      );
  }

  /** What {@link readListed} does with the first attempt's outcome. */
  private afterRead(
    full: string,
    key: string,
    form: Form,
    opts: GetOptions,
    done: ItemDone<Uint8Array | null>,
  ): (ok: boolean, r: unknown) => void {
    return (ok, r) => {
      if (ok) this.gotListed(r as Uint8Array | null, full, key, form, opts, done);
      else
        retryFailed(r, this.reader(full + form.suffix), this.policy, opts.signal, {
          url: this.url,
          key,
          op: "get",
          finalError: (err) => this.named(err, "get", key, opts.signal),
        }).then(
          (res) => this.gotListed(dataOf(res), full, key, form, opts, done),
          (e) => done(false, e),
        );
    };
  }

  /** A read of backend key `stored`, for {@link attemptWith} and retries. */
  private reader(stored: string): (signal: AbortSignal | undefined) => Promise<GetResult | null> {
    const b = this.backend;
    return (s) => b.get(stored, { signal: s });
  }

  /** A callback read of backend key `stored`, for {@link attemptCall}. */
  private caller(
    stored: string,
  ): (signal: AbortSignal | undefined, report: (ok: boolean, v: unknown) => void) => void {
    const b = this.backend;
    return (s, report) => b.getCall!(stored, s, report);
  }

  /** {@link readListed} once the read of `full` in `form` returned `data`. */
  private gotListed(
    data: Uint8Array | null,
    full: string,
    key: string,
    form: Form,
    opts: GetOptions,
    done: ItemDone<Uint8Array | null>,
  ): void {
    if (data === null) {
      if (form === BARE_FORM && opts.names !== undefined) {
        // Not stored bare: from now on this batch finds the forms of this
        // directory's keys as get does (its listing, or probes).
        opts.names.missedBare(full);
        settleInto(
          this.fetchStored(full, key, opts, this.listedForm(full, opts), true).then((res) =>
            this.inflate(res, key, opts),
          ),
          done,
        );
      }
      // Gone since the listing (or replaced by another form): look again.
      else settleInto(this.probeAndInflate(full, key, opts), done);
      return;
    }
    const codec = form.codec;
    if (codec === undefined) {
      done(true, data);
      return;
    }
    let out: Uint8Array | Promise<Uint8Array>;
    try {
      out = decompressNow(data, codec, this.url, key, opts.maxBytes);
    } catch (e) {
      done(false, e);
      return;
    }
    if (out instanceof Promise) settleInto(out, done);
    else done(true, out);
  }

  /**
   * Stores `data` (strings as UTF-8) at `key`, compressed if asked. Replaces
   * any earlier object, in any compression form, unless `ifAbsent`/`ifVersion`
   * say otherwise ({@link PreconditionFailedError}).
   */
  async put(key: string, data: Uint8Array | string, opts: PutOptions = {}): Promise<PutResult> {
    const full = this.full(key);
    this.checkWritable(key);
    this.checkAborted("put", key, opts.signal);
    const bytes = typeof data === "string" ? textEncoder.encode(data) : data;
    const codec = compressionOf(opts.compress, this.url, key);
    const stored = codec === undefined ? bytes : await compressBytes(bytes, codec);
    return this.putStored(full, key, stored, codec, opts);
  }

  /** Stores bytes already in `opts.contentEncoding` as they are (used by transfers). */
  async putRaw(key: string, data: Uint8Array, opts: PutRawOptions = {}): Promise<PutResult> {
    const full = this.full(key);
    this.checkWritable(key);
    return this.putStored(full, key, data, opts.contentEncoding, opts);
  }

  private async putStored(
    full: string,
    key: string,
    data: Uint8Array,
    codec: Compression | undefined,
    opts: PutOptions,
  ): Promise<PutResult> {
    const b = this.backend;
    const { signal, ifAbsent, ifVersion } = opts;
    if (codec !== undefined && !isCompression(codec)) {
      // A codec from elsewhere (an untyped caller, another tool's metadata)
      // would be stored as bad metadata, or as a key ending in "undefined".
      throw new RequestError(
        `put ${key} under ${this.url}: cannot store bytes encoded with ${JSON.stringify(codec)} (known: gzip, br, zstd)`,
        this.url,
        key,
        undefined,
      );
    }
    if (ifAbsent && ifVersion !== undefined) {
      throw new RequestError(
        `put ${key} under ${this.url}: use ifAbsent or ifVersion, not both`,
        this.url,
        key,
        undefined,
      );
    }
    const base = {
      contentType: opts.contentType,
      cacheControl: opts.cacheControl,
      ifAbsent,
      ifVersion,
      contentEncoding: codec,
    };
    const long = this.isLong({ putBytes: data.byteLength });
    if (b.encodingInMetadata) {
      return this.call("put", key, (s) => b.put(full, data, { ...base, signal: s }), signal, long);
    }
    const suffix = codec === undefined ? "" : SUFFIX_OF[codec];
    const target = full + suffix;
    if (ifAbsent) {
      const existing = await this.findForm(full, signal);
      if (existing !== null) {
        throw new PreconditionFailedError(
          `${key} already exists under ${this.url} (ifAbsent)`,
          this.url,
          key,
        );
      }
    }
    let backendIfVersion = ifVersion;
    if (ifVersion !== undefined) {
      const [formSuffix, version] = untagVersion(ifVersion);
      backendIfVersion = version;
      if (formSuffix !== suffix) {
        // The compression changes: check the old form's version, then replace
        // it. Not atomic, unlike a same-form conditional write.
        const info = await this.call(
          "head",
          key,
          (s) => b.head(full + formSuffix, { signal: s }),
          signal,
        );
        if (info === null || info.version !== version) {
          throw new PreconditionFailedError(
            `${key} under ${this.url} is not at version ${ifVersion} (ifVersion)`,
            this.url,
            key,
          );
        }
        backendIfVersion = undefined;
      }
    }
    const res = await this.call(
      "put",
      key,
      (s) => b.put(target, data, { ...base, ifVersion: backendIfVersion, signal: s }),
      signal,
      long,
    );
    if (!ifAbsent) await this.removeOtherForms(full, key, suffix, signal);
    return { version: tagVersion(res.version, suffix) };
  }

  /** Deletes the stored forms of `full` other than `keep`, so exactly one form remains. */
  private async removeOtherForms(
    full: string,
    key: string,
    keep: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const b = this.backend;
    for (const [suffix] of FORMS) {
      if (suffix === keep) continue;
      const stored = full + suffix;
      if (b.exists !== undefined) {
        const p = this.probe(stored, signal);
        if (p === false || (p !== true && !(await p))) continue;
      }
      await this.call("delete", key, (s) => b.delete(stored, { signal: s }), signal);
    }
  }

  /**
   * Server-side copy of one object to `dstKey` in `dst`, which must be on the
   * same kind of backend (see `Backend.copyWithin`). The stored form
   * (compression) is kept. Returns false when the source object is missing.
   */
  async copyWithinTo(
    key: string,
    dst: Storage,
    dstKey: string,
    opts: IoOptions = {},
  ): Promise<boolean> {
    const full = this.full(key);
    const dstFull = dst.full(dstKey);
    dst.checkWritable(dstKey);
    const b = this.backend;
    const { signal } = opts;
    if (b.copyWithin === undefined) {
      throw new NotSupportedError(`${this.url} has no server-side copy`, this.url, key);
    }
    let suffix = "";
    if (!b.encodingInMetadata) {
      const form = await this.findForm(full, signal);
      if (form === null) return false;
      suffix = form.suffix;
    } else if ((await this.head(key, opts)) === null) {
      return false;
    }
    await this.call(
      "copy",
      key,
      (s) => b.copyWithin!(full + suffix, dst.backend, dstFull + suffix, { signal: s }),
      signal,
      this.isLong({ copy: true }),
    );
    if (!dst.backend.encodingInMetadata)
      await dst.removeOtherForms(dstFull, dstKey, suffix, signal);
    return true;
  }

  /** Removes the object at `key` in every compression form. Missing keys are not an error. */
  async delete(key: string, opts: IoOptions = {}): Promise<void> {
    const full = this.full(key);
    this.checkWritable(key);
    this.checkAborted("delete", key, opts.signal);
    const b = this.backend;
    if (b.encodingInMetadata) {
      await this.call("delete", key, (s) => b.delete(full, { signal: s }), opts.signal);
      return;
    }
    await this.removeOtherForms(full, key, undefined, opts.signal);
  }

  /**
   * Temporary files that interrupted writes left under `prefix` (file://
   * only; other backends never leave any): see `FileBackend.temporaries`.
   */
  async *temporaries(prefix = "", opts: IoOptions = {}): AsyncGenerator<TemporaryFile> {
    const b = this.backend;
    if (!b.temporaries) return;
    const root = this.prefix;
    for await (const t of b.temporaries(prefix === "" ? root : this.full(prefix), opts))
      yield {
        ...t,
        key: t.key.slice(root.length),
        ...(t.of !== undefined ? { of: t.of.slice(root.length) } : {}),
      };
  }

  /** Removes the temporary files of writes of `keys` (file:// only); resolves to how many. */
  async removeTemporaries(keys: readonly string[], opts: IoOptions = {}): Promise<number> {
    const b = this.backend;
    if (!b.removeTemporaries || keys.length === 0) return 0;
    return b.removeTemporaries(
      keys.map((k) => this.full(k)),
      opts,
    );
  }

  /** What is known of the stored object, or null when missing. */
  /**
   * Reads `key` as JSON (CloudFiles' `get_json`): the parsed value, or null
   * when the object does not exist. Bytes that are not JSON throw
   * `JsonDecodeError` naming the key; a compressed object stops inflating
   * at `opts.maxBytes` (default `maxJsonBytes()`, 64 MiB).
   */
  async getJson<T = unknown>(key: string, opts: GetOptions = {}): Promise<T | null> {
    const bytes = await this.get(key, { ...opts, maxBytes: opts.maxBytes ?? maxJsonBytes() });
    if (bytes === null) return null;
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as T;
    } catch (err) {
      throw new JsonDecodeError(
        `${this.url}/${key} is not valid JSON (${(err as Error).message})`,
        this.url,
        key,
        { cause: err },
      );
    }
  }

  /**
   * Writes `value` as JSON (CloudFiles' `put_json`): `application/json`,
   * uncompressed unless `compress` says otherwise.
   */
  async putJson(key: string, value: unknown, opts: PutOptions = {}): Promise<PutResult> {
    return this.put(key, JSON.stringify(value), {
      contentType: "application/json",
      compress: false,
      ...opts,
    });
  }

  async head(key: string, opts: IoOptions = {}): Promise<ObjectInfo | null> {
    const full = this.full(key);
    const b = this.backend;
    const { signal } = opts;
    if (b.encodingInMetadata) {
      return this.call("head", key, (s) => b.head(full, { signal: s }), signal);
    }
    for (const [suffix, codec] of FORMS) {
      const stored = full + suffix;
      if (suffix !== "" && b.exists !== undefined) {
        const p = this.probe(stored, signal);
        if (p === false || (p !== true && !(await p))) continue;
      }
      const info = await this.call("head", key, (s) => b.head(stored, { signal: s }), signal);
      if (info !== null) {
        if (codec !== undefined) info.contentEncoding = codec;
        info.version = tagVersion(info.version, suffix);
        return info;
      }
    }
    return null;
  }

  /** Whether an object exists at `key` (in any compression form). */
  async exists(key: string, opts: IoOptions = {}): Promise<boolean> {
    const full = this.full(key);
    this.checkAborted("exists", key, opts.signal);
    if (this.backend.encodingInMetadata) {
      try {
        return (await this.head(key, opts)) !== null;
      } catch (err) {
        // An object stored in a Content-Encoding that cannot be decoded exists.
        if (err instanceof DecompressionError) return true;
        throw err;
      }
    }
    return (await this.findForm(full, opts.signal)) !== null;
  }

  /** Stored size in bytes (compressed size for compressed objects), or null when missing. */
  async size(key: string, opts: IoOptions = {}): Promise<number | null> {
    return (await this.head(key, opts))?.size ?? null;
  }

  /**
   * Keys under `prefix`, relative to this storage's root, in lexicographic
   * order. Non-recursive listings give direct children, sub-"directories" once
   * each with a trailing `/`. On file/mem/http compressed objects are listed
   * under their logical key (no `.gz`). A transient failure mid-listing
   * restarts the listing after the last key already yielded.
   */
  async *list(prefix = "", opts: ListOptions = {}): AsyncGenerator<string> {
    const p = this.prefix + normalizePrefix(prefix, this.url);
    const strip = this.prefix.length;
    const { signal } = opts;
    const suffixed = !this.backend.encodingInMetadata;
    let last: string | undefined;
    // Set after a failure: the restarted listing skips what was already
    // yielded (listings are sorted). A listing that never fails is passed on as is.
    let resumeAfter: string | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        let source: AsyncIterable<string> = this.backend.list(p, opts);
        if (suffixed) source = logicalKeys(source);
        for await (const full of source) {
          if (resumeAfter !== undefined && full <= resumeAfter) continue;
          // "a/x.gz" lists as "a/x", which may fall outside a prefix "a/x.g".
          if (suffixed && !full.startsWith(p)) continue;
          last = full;
          yield full.slice(strip);
        }
        return;
      } catch (err) {
        resumeAfter = last;
        const retries = this.options.retries ?? 6;
        if (signal?.aborted || attempt >= retries || !isRetryableError(err)) {
          throw this.named(err, "list", prefix === "" ? undefined : prefix, signal);
        }
        const ms = backoffDelay(
          attempt,
          this.options.retryBaseMs ?? 100,
          this.options.retryMaxMs ?? 10_000,
        );
        try {
          await sleep(ms, signal);
        } catch (abort) {
          throw this.named(abort, "list", prefix === "" ? undefined : prefix, signal);
        }
      }
    }
  }

  /**
   * {@link get} of many keys; `value` is null for missing keys. `maxBytes`
   * bounds what each object may inflate to.
   */
  getMany(
    keys: BatchInput<string>,
    opts: BatchOptions & Pick<GetOptions, "range" | "maxBytes"> = {},
  ): Promise<BatchResult<Uint8Array | null>[]> {
    const getOpts: GetOptions = {
      signal: opts.signal,
      range: opts.range,
      maxBytes: opts.maxBytes,
      names: opts.range === undefined ? this.batchNames() : undefined,
    };
    const onAbort = () => this.abortError("getMany", opts.signal);
    const b = this.backend;
    if (
      Array.isArray(keys) &&
      b.getManyCall !== undefined &&
      !b.encodingInMetadata &&
      opts.range === undefined
    ) {
      const pool = this.poolOptions(opts);
      const batches = new KeyBatches<Uint8Array | null>(
        Math.min(MAX_BATCH_KEYS, Math.max(1, Math.ceil(pool.concurrency / 2))),
        (batch) => this.readBatch(batch, getOpts),
      );
      return runPoolOfCalls(
        keys as readonly string[],
        keyOfString,
        (key, done: ItemDone<Uint8Array | null>) => batches.add(this.full(key), key, done),
        pool,
        onAbort,
      );
    }
    if (Array.isArray(keys))
      return runPoolOfCalls(
        keys as readonly string[],
        keyOfString,
        (key, done: ItemDone<Uint8Array | null>) => this.getInto(key, getOpts, done),
        this.poolOptions(opts),
        onAbort,
      );
    return runPool(
      keys,
      keyOfString,
      (key) => this.get(key, getOpts),
      this.poolOptions(opts),
      onAbort,
    );
  }

  /**
   * Reads one batch of {@link getMany}'s keys with `Backend.getManyCall`
   * (file://: the reader thread), the whole batch as one attempt under the
   * per-attempt timeout and the caller's signal. If the attempt fails (a
   * timeout, an abort, the thread stopping), each key goes on through the
   * retries of the policy, read in every stored form with `get`.
   */
  private readBatch(batch: KeyBatch<Uint8Array | null>, opts: GetOptions): void {
    const b = this.backend;
    attemptCall(
      (s, report: AttemptDone<BatchRead>) =>
        b.getManyCall!(batch.fulls, FORM_SUFFIXES, s, (err, read) =>
          err ? report(false, err) : report(true, read),
        ),
      opts.signal,
      this.policy.timeoutMs ?? 60_000,
      this.batchDone(batch, opts),
    );
  }

  /** What {@link readBatch} does with its attempt's outcome (returned, not assigned: see keepNames in pool.ts). */
  private batchDone(batch: KeyBatch<Uint8Array | null>, opts: GetOptions): AttemptDone<BatchRead> {
    return (ok, r) => {
      const { fulls, keys, dones } = batch;
      if (!ok) {
        for (let i = 0; i < keys.length; i++)
          this.retryAnyForm(r, fulls[i], keys[i], opts, dones[i]);
        return;
      }
      const { bytes, ends, forms } = r as BatchRead;
      let start = 0;
      for (let i = 0; i < keys.length; i++) {
        const end = ends[i];
        const form = forms[i];
        if (form === FORM_MISSING) dones[i](true, null);
        else if (form === FORM_ELSEWHERE) this.getInto(keys[i], opts, dones[i]);
        else this.gotBatched(bytes, start, end, FORMS[form][1], keys[i], opts, dones[i]);
        start = end;
      }
    };
  }

  /**
   * A key's bytes `[start, end)` of a batch read, stored in `codec`: plain
   * bytes are copied into an ArrayBuffer of their own (as every other read
   * returns them: a caller may keep or transfer one object without the
   * batch), compressed ones inflated from a view.
   */
  private gotBatched(
    bytes: ArrayBuffer,
    start: number,
    end: number,
    codec: Compression | undefined,
    key: string,
    opts: GetOptions,
    done: ItemDone<Uint8Array | null>,
  ): void {
    if (codec === undefined) {
      done(true, new Uint8Array(bytes.slice(start, end)));
      return;
    }
    let out: Uint8Array | Promise<Uint8Array>;
    try {
      out = decompressNow(
        new Uint8Array(bytes, start, end - start),
        codec,
        this.url,
        key,
        opts.maxBytes,
      );
    } catch (e) {
      done(false, e);
      return;
    }
    if (out instanceof Promise) settleInto(out, done);
    else done(true, out);
  }

  /** The retries of a key whose batch attempt failed with `first`, each attempt reading every stored form. */
  private retryAnyForm(
    first: unknown,
    full: string,
    key: string,
    opts: GetOptions,
    done: ItemDone<Uint8Array | null>,
  ): void {
    settleInto(
      retryFailed(first, this.anyForm(full), this.policy, opts.signal, {
        url: this.url,
        key,
        op: "get",
        finalError: (err) => this.named(err, "get", key, opts.signal),
      }).then((res) => this.inflate(res, key, opts)),
      done,
    );
  }

  /** One attempt at `full` in each stored form in turn, as `get` finds it; null when none is stored. */
  private anyForm(full: string): (signal: AbortSignal | undefined) => Promise<GetResult | null> {
    const b = this.backend;
    return async (s) => {
      for (const [suffix, codec] of FORMS) {
        const r = await b.get(full + suffix, { signal: s });
        if (r !== null) {
          if (codec !== undefined) r.info.contentEncoding = codec;
          return r;
        }
      }
      return null;
    };
  }

  /** {@link put} of many objects; per-item options override the batch's. */
  putMany(
    items: BatchInput<PutItem>,
    opts: PutManyOptions = {},
  ): Promise<BatchResult<PutResult>[]> {
    const { signal } = opts;
    return runPool(
      items,
      keyOfItem,
      // A plain object literal per item: object rest/spread costs several times more.
      (item) =>
        this.put(item.key, item.data, {
          contentType: item.contentType ?? opts.contentType,
          compress: item.compress ?? opts.compress,
          cacheControl: item.cacheControl ?? opts.cacheControl,
          ifAbsent: item.ifAbsent ?? opts.ifAbsent,
          ifVersion: item.ifVersion ?? opts.ifVersion,
          signal,
        }),
      this.poolOptions(opts),
      () => this.abortError("putMany", signal),
    );
  }

  /** {@link delete} of many keys. */
  deleteMany(keys: BatchInput<string>, opts: BatchOptions = {}): Promise<BatchResult<void>[]> {
    const io: IoOptions = { signal: opts.signal };
    return runPool(
      keys,
      keyOfString,
      (key) => this.delete(key, io),
      this.poolOptions(opts),
      () => this.abortError("deleteMany", opts.signal),
    );
  }

  /** {@link exists} of many keys. */
  existsMany(keys: BatchInput<string>, opts: BatchOptions = {}): Promise<BatchResult<boolean>[]> {
    const io: IoOptions = { signal: opts.signal };
    return runPool(
      keys,
      keyOfString,
      (key) => this.exists(key, io),
      this.poolOptions(opts),
      () => this.abortError("existsMany", opts.signal),
    );
  }

  private poolOptions(opts: BatchOptions) {
    return {
      concurrency: opts.concurrency ?? this.concurrency,
      signal: opts.signal,
      onProgress: opts.onProgress,
    };
  }

  private abortError(op: string, signal: AbortSignal | undefined): AbortError {
    return new AbortError(`${op} aborted: ${this.url}`, this.url, undefined, {
      cause: signal?.reason,
    });
  }

  /** Releases the backend's connections, if it holds any. */
  async close(): Promise<void> {
    await this.backend.close?.();
  }
}

/** Reports the outcome of `p` to `done`. */
function settleInto<T>(p: Promise<T>, done: ItemDone<T>): void {
  p.then(
    (v) => done(true, v),
    (e) => done(false, e),
  );
}

/**
 * The bare form of a key as {@link Storage.getMany} tries it before it knows
 * the key's stored form: its own object, so that a miss is told apart from
 * a listed bare key gone since the listing.
 */
const BARE_FORM: Form = Object.freeze({ suffix: "", codec: undefined });

/** The suffixes of {@link FORMS}, in order: what a batch read tries for each key. */
const FORM_SUFFIXES: readonly string[] = FORMS.map(([suffix]) => suffix);

/** The bytes of a read result, or null. */
function dataOf(res: GetResult | null): Uint8Array | null {
  return res === null ? null : res.data;
}

/** The result of a read that found nothing, shared. */
const NULL_RESULT: Promise<null> = Promise.resolve(null);

function keyOfString(key: string): string {
  return key;
}

function keyOfItem(item: PutItem): string {
  return item.key;
}
