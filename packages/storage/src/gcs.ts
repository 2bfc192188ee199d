/**
 * gs:// backend over the official `@google-cloud/storage` client (JSON API).
 *
 * Moves stored bytes only: no compression, no retries (the client's own
 * retries are switched off; {@link Storage} retries the typed transient
 * errors). Downloads ask for `Accept-Encoding: gzip` and never decompress, so
 * `get` returns exactly the stored bytes and the stored Content-Encoding.
 */
import { createHash } from "node:crypto";
import type { Bucket, File, StorageOptions as GcsClientOptions } from "@google-cloud/storage";
import { copyStored } from "./cloud-copy";
import { cloudError, isAbort } from "./cloud-errors";
import { storedCompression } from "./compression";
import { resolveGoogleCredentials } from "./credentials";
import { IntegrityError, TransientError } from "./errors";
import { abortable } from "./retry";
import type {
  Backend,
  CloudLocation,
  Compression,
  GetOptions,
  GetResult,
  IoOptions,
  ListOptions,
  ObjectInfo,
  PutOptions,
  PutResult,
  StorageOptions,
} from "./types";

const DEFAULT_MULTIPART_THRESHOLD = 16 * 1024 * 1024;
const RESUMABLE_CHUNK_UNIT = 256 * 1024;
const MAX_RESUMABLE_CHUNK = 16 * 1024 * 1024;
const LIST_PAGE_SIZE = 1000;

type Headers = Record<string, string | string[] | undefined>;
type GcsSdk = typeof import("@google-cloud/storage");

// The client takes most of a second to load: only users of gs:// pay for it.
let gcsSdk: Promise<GcsSdk> | undefined;

function header(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function isLoopback(endpoint: string): boolean {
  try {
    const host = new URL(endpoint).hostname;
    return host === "localhost" || host === "[::1]" || host.startsWith("127.");
  } catch {
    return false;
  }
}

function statusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; status?: unknown; response?: { status?: unknown } } | null;
  if (typeof e?.code === "number") return e.code;
  if (typeof e?.response?.status === "number") return e.response.status;
  if (typeof e?.status === "number") return e.status;
  // The resumable uploader reports a failed chunk as "Retry limit exceeded - status: 503 ..."
  // without a numeric code, even with its retries switched off.
  const m = /\bstatus: (\d{3})\b/.exec((err as { message?: string } | null)?.message ?? "");
  return m ? Number(m[1]) : undefined;
}

/** A short reason from a GCS JSON error body or a client error. */
function reasonOf(err: unknown): string | undefined {
  const message = (err as { message?: string } | null)?.message;
  if (!message) return undefined;
  try {
    const body = JSON.parse(message) as { error?: { message?: string } };
    if (body?.error?.message) return body.error.message;
  } catch {
    // not JSON: keep the message
  }
  return message;
}

function toInfo(meta: Record<string, unknown>, url: string, key: string): ObjectInfo {
  const info: ObjectInfo = { size: Number(meta.size ?? 0) };
  if (meta.generation !== undefined) info.version = String(meta.generation);
  if (typeof meta.contentType === "string") info.contentType = meta.contentType;
  const codec = storedCompression(meta.contentEncoding as string | undefined, url, key);
  if (codec) info.contentEncoding = codec;
  if (typeof meta.cacheControl === "string") info.cacheControl = meta.cacheControl;
  if (typeof meta.md5Hash === "string")
    info.md5 = Buffer.from(meta.md5Hash, "base64").toString("hex");
  if (typeof meta.updated === "string") info.lastModified = new Date(meta.updated);
  return info;
}

type Interceptor = File["interceptors"][number];

/** A request interceptor setting the client's (gaxios') per-request `timeout`, ms. */
function withTimeout(timeout: number): Interceptor["request"] {
  // The interceptor's declared parameter and result types differ only in
  // `uri` being optional: the object passed in is returned as it came.
  return (o) => Object.assign(o, { timeout }) as ReturnType<Interceptor["request"]>;
}

/** Calls `onIdle` once `ms` pass without a {@link IdleTimer.touch}; never for `ms` 0. */
class IdleTimer {
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly ms: number,
    private readonly onIdle: () => void,
  ) {
    this.touch();
  }
  touch(): void {
    if (this.ms <= 0) return;
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(this.onIdle, this.ms);
  }
  stop(): void {
    clearTimeout(this.timer);
  }
}

/**
 * Google Cloud Storage backend. Constructed by `openStorage("gs://bucket/prefix")`;
 * `StorageOptions.endpoint` points it at another JSON API endpoint (the
 * loopback test server); credentials are resolved as described in
 * {@link resolveGoogleCredentials}.
 */
export class GcsBackend implements Backend {
  readonly url: string;
  readonly encodingInMetadata = true;
  readonly readOnly = false;
  /**
   * Every HTTP request is bounded by `timeoutMs` on its own (until the
   * response, and for a stall while a body streams), so {@link Storage} puts
   * no whole-operation timeout on multipart uploads and downloads.
   */
  readonly boundsEachRequest = true;
  /** Uploads at or above this many bytes are resumable. */
  readonly multipartThreshold: number;
  private readonly endpoint: string | undefined;
  private readonly clientOptions: GcsClientOptions;
  /** The client's handle of the bucket, made on first use. */
  private bucketReady?: Promise<Bucket>;
  private readonly chunkSize: number;
  private readonly verifyMd5: boolean;
  /** Bound of one HTTP request (and of a stall while a download streams), ms; 0 for none. */
  private readonly requestTimeoutMs: number;

  constructor(
    readonly location: CloudLocation,
    opts: StorageOptions = {},
  ) {
    // An endpoint written in the URL (`gs://http://host:port/bucket`) stays
    // in it and wins over `opts.endpoint`, as for s3://.
    const shown = location.endpoint ? `${location.endpoint}/` : "";
    this.url = `gs://${shown}${location.bucket}${location.prefix ? `/${location.prefix}` : ""}`;
    const endpoint = location.endpoint ?? opts.endpoint;
    this.endpoint = endpoint;
    const creds = resolveGoogleCredentials(location.bucket, this.url, opts.credentials);
    this.clientOptions = {
      ...(endpoint ? { apiEndpoint: endpoint } : {}),
      // A loopback test server takes no auth; any other custom endpoint does.
      useAuthWithCustomEndpoint: endpoint ? !isLoopback(endpoint) : undefined,
      ...(creds.credentials ? { credentials: creds.credentials } : {}),
      ...(creds.projectId ? { projectId: creds.projectId } : {}),
      retryOptions: { autoRetry: false, maxRetries: 0 },
      timeout: opts.timeoutMs ?? 60_000,
    };
    this.requestTimeoutMs = opts.timeoutMs ?? 60_000;
    this.multipartThreshold = opts.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD;
    const units = Math.floor(this.multipartThreshold / RESUMABLE_CHUNK_UNIT);
    this.chunkSize = Math.min(MAX_RESUMABLE_CHUNK, Math.max(1, units) * RESUMABLE_CHUNK_UNIT);
    this.verifyMd5 = opts.verifyMd5 ?? true;
  }

  private bucket(): Promise<Bucket> {
    gcsSdk ??= import("@google-cloud/storage");
    this.bucketReady ??= gcsSdk.then((sdk) =>
      new sdk.Storage(this.clientOptions).bucket(this.location.bucket),
    );
    return this.bucketReady;
  }

  private name(key: string): string {
    return this.location.prefix ? `${this.location.prefix}/${key}` : key;
  }

  private fail(err: unknown, op: string, key: string | undefined, signal?: AbortSignal): unknown {
    if (isAbort(err, signal)) return signal?.reason ?? err;
    return cloudError(err, statusOf(err), op, this.url, key, reasonOf(err));
  }

  /** Stored bytes of `key` (or of a byte range of it), never decompressed. */
  async get(key: string, opts: GetOptions = {}): Promise<GetResult | null> {
    const { range, signal } = opts;
    signal?.throwIfAborted();
    if (range && range.end !== undefined && range.end <= range.start) {
      const info = await this.head(key, opts);
      return info ? { data: new Uint8Array(0), info } : null;
    }
    const file = (await this.bucket()).file(this.name(key));
    let headers: Headers = {};
    let data: Buffer;
    try {
      data = await new Promise<Buffer>((resolve, reject) => {
        const stream = file.createReadStream({
          decompress: false,
          validation: false,
          ...(range ? { start: range.start } : {}),
          ...(range?.end !== undefined ? { end: range.end - 1 } : {}),
        });
        const parts: Buffer[] = [];
        const onAbort = () => stream.destroy(signal?.reason);
        signal?.addEventListener("abort", onAbort, { once: true });
        // The client's timeout ends at the response headers; a body that stops
        // flowing is bounded here, however long the whole download takes.
        const stalled = new IdleTimer(this.requestTimeoutMs, () =>
          stream.destroy(
            new TransientError(
              `get ${this.url}/${key}: no data for ${this.requestTimeoutMs} ms`,
              this.url,
              key,
              undefined,
            ),
          ),
        );
        const settle = () => {
          stalled.stop();
          signal?.removeEventListener("abort", onAbort);
        };
        stream.on("response", (res: { headers?: Headers }) => {
          headers = res.headers ?? {};
          stalled.touch();
        });
        stream.on("data", (b: Buffer) => {
          parts.push(b);
          stalled.touch();
        });
        stream.on("end", () => {
          settle();
          resolve(parts.length === 1 ? parts[0] : Buffer.concat(parts));
        });
        stream.on("error", (err) => {
          settle();
          reject(err);
        });
      });
    } catch (err) {
      if (err instanceof TransientError) throw err;
      const status = statusOf(err);
      if (status === 404) return null;
      if (status === 416) {
        const info = await this.head(key, opts);
        return info ? { data: new Uint8Array(0), info } : null;
      }
      throw this.fail(err, "get", key, signal);
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const info = this.infoFromHeaders(headers, bytes.length, key);
    if (!range && this.verifyMd5 && info.md5 && !header(headers, "warning")) {
      const actual = createHash("md5").update(bytes).digest("hex");
      if (actual !== info.md5) {
        throw new IntegrityError(
          `get ${this.url}/${key}: MD5 of the ${bytes.length} downloaded bytes is ${actual}, the object's md5Hash is ${info.md5}`,
          this.url,
          key,
        );
      }
    }
    return { data: bytes, info };
  }

  private infoFromHeaders(h: Headers, received: number, key: string): ObjectInfo {
    const stored = header(h, "x-goog-stored-content-length");
    const total = /\/(\d+)$/.exec(header(h, "content-range") ?? "");
    const info: ObjectInfo = {
      size: total ? Number(total[1]) : stored !== undefined ? Number(stored) : received,
    };
    const generation = header(h, "x-goog-generation");
    if (generation) info.version = generation;
    const type = header(h, "content-type");
    if (type) info.contentType = type;
    const encoding = header(h, "x-goog-stored-content-encoding") ?? header(h, "content-encoding");
    const codec = storedCompression(encoding, this.url, key);
    if (codec) info.contentEncoding = codec;
    const cache = header(h, "cache-control");
    if (cache && cache !== "no-store") info.cacheControl = cache;
    const md5 = /(?:^|,)\s*md5=([^,]+)/.exec(header(h, "x-goog-hash") ?? "");
    if (md5) info.md5 = Buffer.from(md5[1], "base64").toString("hex");
    const modified = header(h, "last-modified");
    if (modified) info.lastModified = new Date(modified);
    return info;
  }

  /**
   * Store `data` at `key`: one multipart request below `multipartThreshold`
   * (with its MD5 for the server to check), a resumable session in
   * 256 KiB-multiple chunks at or above it.
   */
  async put(
    key: string,
    data: Uint8Array,
    opts: PutOptions & { contentEncoding?: Compression } = {},
  ): Promise<PutResult> {
    const { signal } = opts;
    signal?.throwIfAborted();
    const md5 = createHash("md5").update(data).digest("base64");
    const resumable = data.length >= this.multipartThreshold;
    const metadata: Record<string, string> = {
      contentType: opts.contentType ?? "application/octet-stream",
    };
    if (opts.contentEncoding) metadata.contentEncoding = opts.contentEncoding;
    if (opts.cacheControl) metadata.cacheControl = opts.cacheControl;
    if (!resumable) metadata.md5Hash = md5;
    const preconditionOpts = opts.ifAbsent
      ? { ifGenerationMatch: 0 }
      : opts.ifVersion !== undefined
        ? { ifGenerationMatch: opts.ifVersion }
        : undefined;
    const file = (await this.bucket()).file(this.name(key));
    // The client sends uploads without a timeout of its own. Bound each
    // request (the single upload, or the session start and every chunk of a
    // resumable one): Storage puts no whole-operation timer on resumable uploads.
    const timeout = this.requestTimeoutMs;
    if (resumable && timeout > 0) file.interceptors.push({ request: withTimeout(timeout) });
    try {
      await abortable(
        file.save(Buffer.from(data.buffer, data.byteOffset, data.byteLength), {
          resumable,
          ...(resumable ? { chunkSize: this.chunkSize } : { timeout }),
          metadata,
          contentType: metadata.contentType,
          validation: false,
          ...(preconditionOpts ? { preconditionOpts } : {}),
        }),
        signal,
      );
    } catch (err) {
      if (statusOf(err) === 400 && /md5/i.test(String(reasonOf(err)))) {
        throw new IntegrityError(
          `put ${this.url}/${key}: the service computed another MD5 than the ${data.length} bytes sent (${reasonOf(err)})`,
          this.url,
          key,
        );
      }
      throw this.fail(err, "put", key, signal);
    }
    const stored = file.metadata as Record<string, unknown>;
    if (typeof stored.md5Hash === "string" && stored.md5Hash !== md5) {
      throw new IntegrityError(
        `put ${this.url}/${key}: stored md5Hash ${stored.md5Hash} differs from the MD5 of the bytes sent (${md5})`,
        this.url,
        key,
      );
    }
    return stored.generation !== undefined ? { version: String(stored.generation) } : {};
  }

  /** Delete `key`; a missing key is not an error. */
  async delete(key: string, opts: IoOptions = {}): Promise<void> {
    opts.signal?.throwIfAborted();
    const bucket = await this.bucket();
    try {
      await abortable(bucket.file(this.name(key)).delete({ ignoreNotFound: true }), opts.signal);
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw this.fail(err, "delete", key, opts.signal);
    }
  }

  /** Metadata of `key`, or null when missing. */
  async head(key: string, opts: IoOptions = {}): Promise<ObjectInfo | null> {
    opts.signal?.throwIfAborted();
    const bucket = await this.bucket();
    let meta: Record<string, unknown>;
    try {
      [meta] = await abortable(bucket.file(this.name(key)).getMetadata(), opts.signal);
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw this.fail(err, "head", key, opts.signal);
    }
    return toInfo(meta, this.url, key);
  }

  /**
   * Keys under `prefix`, relative to the root, one page of up to 1000 at a
   * time. Without `recursive`, "directories" come back once as `dir/`.
   */
  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<string> {
    const root = this.location.prefix ? `${this.location.prefix}/` : "";
    const bucket = await this.bucket();
    let pageToken: string | undefined;
    do {
      opts.signal?.throwIfAborted();
      let files: File[];
      let response: { prefixes?: string[]; nextPageToken?: string };
      try {
        const [f, , r] = await abortable(
          bucket.getFiles({
            prefix: root + prefix,
            ...(opts.recursive ? {} : { delimiter: "/" }),
            autoPaginate: false,
            maxResults: LIST_PAGE_SIZE,
            ...(pageToken ? { pageToken } : {}),
          }),
          opts.signal,
        );
        files = f;
        response = (r ?? {}) as { prefixes?: string[]; nextPageToken?: string };
      } catch (err) {
        throw this.fail(err, "list", prefix, opts.signal);
      }
      const names = files.map((f) => f.name);
      if (response.prefixes?.length) names.push(...response.prefixes);
      names.sort();
      for (const name of names) yield name.slice(root.length);
      pageToken = response.nextPageToken;
    } while (pageToken);
  }

  /**
   * Server-side copy (rewrite) to another gs:// backend; to any other
   * backend, a download and upload of the stored bytes.
   */
  async copyWithin(
    srcKey: string,
    dst: Backend,
    dstKey: string,
    opts: IoOptions = {},
  ): Promise<void> {
    if (!(dst instanceof GcsBackend) || dst.endpoint !== this.endpoint) {
      await copyStored(this, srcKey, dst, dstKey, opts);
      return;
    }
    opts.signal?.throwIfAborted();
    const [src, target] = await Promise.all([this.bucket(), dst.bucket()]);
    try {
      await abortable(src.file(this.name(srcKey)).copy(target.file(dst.name(dstKey))), opts.signal);
    } catch (err) {
      throw this.fail(err, "copy", srcKey, opts.signal);
    }
  }
}
