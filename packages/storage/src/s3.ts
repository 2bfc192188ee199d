/**
 * s3:// backend over the AWS SDK v3 (`@aws-sdk/client-s3`, multipart uploads
 * through `@aws-sdk/lib-storage`). Works with AWS and with S3-compatible
 * services given an endpoint (path-style addressing then).
 *
 * Moves stored bytes only: no compression and no retries (the SDK's retry
 * strategy is set to a single attempt; {@link Storage} retries the typed
 * transient errors). The Node HTTP handler does not decode Content-Encoding,
 * so `get` returns exactly the stored bytes.
 */
import { createHash } from "node:crypto";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import { copyStored } from "./cloud-copy";
import { cloudError, isAbort } from "./cloud-errors";
import { storedCompression } from "./compression";
import { resolveAwsCredentials } from "./credentials";
import { IntegrityError, PreconditionFailedError, StorageError, TransientError } from "./errors";
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
/** S3's smallest part (all but the last). */
const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PART_SIZE = 64 * 1024 * 1024;
/** Parts of one multipart upload in flight at once. */
const PART_CONCURRENCY = 4;

type S3Sdk = typeof import("@aws-sdk/client-s3");
type S3Upload = typeof import("@aws-sdk/lib-storage");

// The SDK takes about half a second to load: only users of s3:// pay for it.
let s3Sdk: Promise<S3Sdk> | undefined;
let s3Upload: Promise<S3Upload> | undefined;

/** The AWS SDK modules, loaded on first use. */
function loadS3Sdk(): Promise<S3Sdk> {
  s3Sdk ??= import("@aws-sdk/client-s3");
  return s3Sdk;
}

/** An error of the AWS SDK, as far as this backend reads it. */
interface S3Failure {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * The MD5 an ETag stands for: only a plain (single-part) ETag of 32 hex
 * digits, and not for SSE-KMS or SSE-C objects, whose ETags look the same but
 * are not digests of the data.
 */
function md5FromEtag(
  etag: string | undefined,
  res: { ServerSideEncryption?: string; SSECustomerAlgorithm?: string } = {},
): string | undefined {
  if (res.SSECustomerAlgorithm || res.ServerSideEncryption?.startsWith("aws:kms")) return undefined;
  const m = /^"?([0-9a-f]{32})"?$/i.exec(etag ?? "");
  return m ? m[1].toLowerCase() : undefined;
}

/**
 * Amazon S3 (or S3-compatible) backend. Constructed by
 * `openStorage("s3://bucket/prefix")`; credentials are resolved as described
 * in {@link resolveAwsCredentials}, the region from `StorageOptions.region`,
 * the secret file's `AWS_DEFAULT_REGION`, `AWS_REGION`, or `us-east-1`.
 */
export class S3Backend implements Backend {
  readonly url: string;
  readonly encodingInMetadata = true;
  readonly readOnly = false;
  /**
   * Every HTTP request is bounded by `timeoutMs` on its own (until the
   * response, and for a stall while a body streams), so {@link Storage} puts
   * no whole-operation timeout on multipart uploads and downloads.
   */
  readonly boundsEachRequest = true;
  /** Uploads at or above this many bytes are multipart. */
  readonly multipartThreshold: number;
  private readonly config: S3ClientConfig;
  /** The SDK client, shared by all calls of this backend (keep-alive sockets); made on first use. */
  private clientReady?: Promise<{ sdk: S3Sdk; client: S3Client }>;
  private readonly bucket: string;
  private readonly endpoint: string | undefined;
  private readonly partSize: number;
  private readonly verifyMd5: boolean;

  constructor(
    readonly location: CloudLocation,
    opts: StorageOptions = {},
  ) {
    this.bucket = location.bucket;
    // An endpoint written in the URL (`s3://http://host:port/bucket`) stays in it,
    // so the URL reopens the same storage.
    const shown = location.endpoint ? `${location.endpoint}/` : "";
    this.url = `s3://${shown}${location.bucket}${location.prefix ? `/${location.prefix}` : ""}`;
    // The URL's own endpoint wins over `opts.endpoint`, which serves the
    // URLs that name none (one option set may open many URLs).
    this.endpoint = location.endpoint ?? opts.endpoint;
    const creds = resolveAwsCredentials(location.bucket, this.url, opts.credentials);
    const sockets = Math.max(64, 2 * (opts.concurrency ?? 32));
    const timeout = opts.timeoutMs ?? 60_000;
    this.config = {
      region:
        opts.region ??
        creds.region ??
        process.env.AWS_REGION ??
        process.env.AWS_DEFAULT_REGION ??
        "us-east-1",
      ...(creds.credentials ? { credentials: creds.credentials } : {}),
      ...(this.endpoint ? { endpoint: this.endpoint, forcePathStyle: true } : {}),
      maxAttempts: 1,
      // CRC checksums on every request are the SDK's default since 2025;
      // S3-compatible services (moto, MinIO versions, Ceph) may not take them.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      requestHandler: {
        httpAgent: new HttpAgent({ keepAlive: true, maxSockets: sockets }),
        httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: sockets }),
        // Every HTTP request (one part of a multipart upload, one GET) is
        // bounded here: requestTimeout until the response headers, socketTimeout
        // for a stall while a body streams. Storage puts no whole-operation
        // timer on multipart uploads and downloads, which may take far longer.
        connectionTimeout: Math.min(timeout, 10_000),
        requestTimeout: timeout,
        socketTimeout: timeout,
        throwOnRequestTimeout: true,
      },
    };
    this.multipartThreshold = opts.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD;
    this.partSize = Math.min(
      MAX_PART_SIZE,
      Math.max(MIN_PART_SIZE, Math.floor(this.multipartThreshold / 2)),
    );
    this.verifyMd5 = opts.verifyMd5 ?? true;
  }

  private s3(): Promise<{ sdk: S3Sdk; client: S3Client }> {
    this.clientReady ??= loadS3Sdk().then((sdk) => ({
      sdk,
      client: new sdk.S3Client(this.config),
    }));
    return this.clientReady;
  }

  private key(key: string): string {
    return this.location.prefix ? `${this.location.prefix}/${key}` : key;
  }

  private fail(err: unknown, op: string, key: string | undefined, signal?: AbortSignal): unknown {
    if (isAbort(err, signal)) return signal?.reason ?? err;
    const e = err as S3Failure;
    const status = e?.$metadata?.httpStatusCode;
    const code = e?.Code ?? e?.name;
    if (code === "BadDigest" || code === "InvalidDigest") {
      return new IntegrityError(
        `${op} ${this.url}/${key}: the service computed another MD5 than the bytes sent (${code})`,
        this.url,
        key,
      );
    }
    // Concurrent conditional writes: S3 asks the loser to retry (409).
    if (code === "ConditionalRequestConflict") {
      return new TransientError(
        `${op} ${this.url}/${key}: conflicting conditional write (409)`,
        this.url,
        key,
        409,
      );
    }
    const reason = code && e?.message && code !== e.message ? `${code}: ${e.message}` : code;
    return cloudError(err, status, op, this.url, key, reason);
  }

  /** Stored bytes of `key` (or of a byte range), with the ETag checked as MD5 where it is one. */
  async get(key: string, opts: GetOptions = {}): Promise<GetResult | null> {
    const { range, signal } = opts;
    signal?.throwIfAborted();
    if (range && range.end !== undefined && range.end <= range.start) {
      const info = await this.head(key, opts);
      return info ? { data: new Uint8Array(0), info } : null;
    }
    let data: Uint8Array;
    let info: ObjectInfo;
    const { sdk, client } = await this.s3();
    try {
      const res = await client.send(
        new sdk.GetObjectCommand({
          Bucket: this.bucket,
          Key: this.key(key),
          ...(range
            ? { Range: `bytes=${range.start}-${range.end !== undefined ? range.end - 1 : ""}` }
            : {}),
        }),
        { abortSignal: signal },
      );
      // Before the body is read: bytes in a coding that cannot be decoded are useless.
      const codec = storedCompression(res.ContentEncoding, this.url, key);
      data = res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0);
      const total = /\/(\d+)$/.exec(res.ContentRange ?? "");
      info = {
        size: total ? Number(total[1]) : (res.ContentLength ?? data.length),
        ...(res.ETag ? { version: res.ETag } : {}),
        ...(res.ContentType ? { contentType: res.ContentType } : {}),
        ...(codec ? { contentEncoding: codec } : {}),
        ...(res.CacheControl ? { cacheControl: res.CacheControl } : {}),
        ...(md5FromEtag(res.ETag, res) ? { md5: md5FromEtag(res.ETag, res) } : {}),
        ...(res.LastModified ? { lastModified: res.LastModified } : {}),
      };
    } catch (err) {
      if (err instanceof StorageError) throw err;
      const e = err as S3Failure;
      const code = e?.Code ?? e?.name;
      if (
        code === "NoSuchKey" ||
        (e?.$metadata?.httpStatusCode === 404 && code !== "NoSuchBucket")
      ) {
        return null;
      }
      if (code === "InvalidRange" || e?.$metadata?.httpStatusCode === 416) {
        const head = await this.head(key, opts);
        return head ? { data: new Uint8Array(0), info: head } : null;
      }
      throw this.fail(err, "get", key, signal);
    }
    if (!range && this.verifyMd5 && info.md5) {
      const actual = createHash("md5").update(data).digest("hex");
      if (actual !== info.md5) {
        throw new IntegrityError(
          `get ${this.url}/${key}: MD5 of the ${data.length} downloaded bytes is ${actual}, the ETag says ${info.md5}`,
          this.url,
          key,
        );
      }
    }
    return { data, info };
  }

  /**
   * Store `data` at `key`: one PutObject with Content-MD5 below
   * `multipartThreshold`, a multipart upload at or above it.
   */
  async put(
    key: string,
    data: Uint8Array,
    opts: PutOptions & { contentEncoding?: Compression } = {},
  ): Promise<PutResult> {
    const { signal } = opts;
    signal?.throwIfAborted();
    const params = {
      Bucket: this.bucket,
      Key: this.key(key),
      Body: data,
      ContentType: opts.contentType ?? "application/octet-stream",
      ...(opts.contentEncoding ? { ContentEncoding: opts.contentEncoding } : {}),
      ...(opts.cacheControl ? { CacheControl: opts.cacheControl } : {}),
      ...(opts.ifAbsent ? { IfNoneMatch: "*" } : {}),
      ...(opts.ifVersion !== undefined ? { IfMatch: opts.ifVersion } : {}),
    };
    const { sdk, client } = await this.s3();
    try {
      if (data.length >= this.multipartThreshold) {
        s3Upload ??= import("@aws-sdk/lib-storage");
        const { Upload } = await s3Upload;
        const upload = new Upload({
          client,
          params,
          partSize: this.partSize,
          queueSize: PART_CONCURRENCY,
          leavePartsOnError: false,
        });
        const onAbort = () => void upload.abort();
        signal?.addEventListener("abort", onAbort, { once: true });
        try {
          const res = await upload.done();
          return res.ETag ? { version: res.ETag } : {};
        } finally {
          signal?.removeEventListener("abort", onAbort);
        }
      }
      const md5 = createHash("md5").update(data).digest();
      const res = await client.send(
        new sdk.PutObjectCommand({ ...params, ContentMD5: md5.toString("base64") }),
        { abortSignal: signal },
      );
      const etagMd5 = md5FromEtag(res.ETag, res);
      if (etagMd5 && etagMd5 !== md5.toString("hex")) {
        throw new IntegrityError(
          `put ${this.url}/${key}: the stored ETag ${etagMd5} differs from the MD5 of the bytes sent`,
          this.url,
          key,
        );
      }
      return res.ETag ? { version: res.ETag } : {};
    } catch (err) {
      if (err instanceof StorageError) throw err;
      const e = err as S3Failure;
      // IfMatch on a missing object: S3 answers 404, which is a failed precondition here.
      if (opts.ifVersion !== undefined && (e?.Code ?? e?.name) === "NoSuchKey") {
        throw new PreconditionFailedError(
          `put ${this.url}/${key}: precondition failed (no object with version ${opts.ifVersion})`,
          this.url,
          key,
        );
      }
      throw this.fail(err, "put", key, signal);
    }
  }

  /** Delete `key`; a missing key is not an error. */
  async delete(key: string, opts: IoOptions = {}): Promise<void> {
    opts.signal?.throwIfAborted();
    const { sdk, client } = await this.s3();
    try {
      await client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }), {
        abortSignal: opts.signal,
      });
    } catch (err) {
      if ((err as S3Failure)?.$metadata?.httpStatusCode === 404) return;
      throw this.fail(err, "delete", key, opts.signal);
    }
  }

  /** Metadata of `key` (ETag as version), or null when missing. */
  async head(key: string, opts: IoOptions = {}): Promise<ObjectInfo | null> {
    opts.signal?.throwIfAborted();
    const { sdk, client } = await this.s3();
    try {
      const res = await client.send(
        new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }),
        { abortSignal: opts.signal },
      );
      const md5 = md5FromEtag(res.ETag, res);
      const codec = storedCompression(res.ContentEncoding, this.url, key);
      return {
        size: res.ContentLength ?? 0,
        ...(res.ETag ? { version: res.ETag } : {}),
        ...(res.ContentType ? { contentType: res.ContentType } : {}),
        ...(codec ? { contentEncoding: codec } : {}),
        ...(res.CacheControl ? { cacheControl: res.CacheControl } : {}),
        ...(md5 ? { md5 } : {}),
        ...(res.LastModified ? { lastModified: res.LastModified } : {}),
      };
    } catch (err) {
      if (err instanceof StorageError) throw err;
      const e = err as S3Failure;
      if (e?.$metadata?.httpStatusCode === 404 && (e?.Code ?? e?.name) !== "NoSuchBucket")
        return null;
      throw this.fail(err, "head", key, opts.signal);
    }
  }

  /**
   * Keys under `prefix`, relative to the root, a page of up to 1000 at a
   * time. Without `recursive`, "directories" come back once as `dir/`.
   */
  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<string> {
    const root = this.location.prefix ? `${this.location.prefix}/` : "";
    const { sdk, client } = await this.s3();
    let token: string | undefined;
    do {
      opts.signal?.throwIfAborted();
      let keys: string[];
      try {
        const res = await client.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: root + prefix,
            ...(opts.recursive ? {} : { Delimiter: "/" }),
            ...(token ? { ContinuationToken: token } : {}),
          }),
          { abortSignal: opts.signal },
        );
        keys = (res.Contents ?? []).map((c) => c.Key ?? "");
        for (const p of res.CommonPrefixes ?? []) if (p.Prefix) keys.push(p.Prefix);
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } catch (err) {
        throw this.fail(err, "list", prefix, opts.signal);
      }
      keys.sort();
      for (const k of keys) yield k.slice(root.length);
    } while (token);
  }

  /**
   * Server-side CopyObject to another s3:// backend on the same endpoint
   * (objects up to 5 GiB); to any other backend, a download and upload of
   * the stored bytes with their Content-Encoding.
   */
  async copyWithin(
    srcKey: string,
    dst: Backend,
    dstKey: string,
    opts: IoOptions = {},
  ): Promise<void> {
    if (!(dst instanceof S3Backend) || dst.endpoint !== this.endpoint) {
      await copyStored(this, srcKey, dst, dstKey, opts);
      return;
    }
    opts.signal?.throwIfAborted();
    const source = `${encodeURIComponent(this.bucket)}/${this.key(srcKey).split("/").map(encodeURIComponent).join("/")}`;
    const { sdk, client } = await this.s3();
    try {
      await client.send(
        new sdk.CopyObjectCommand({ Bucket: dst.bucket, Key: dst.key(dstKey), CopySource: source }),
        { abortSignal: opts.signal },
      );
    } catch (err) {
      throw this.fail(err, "copy", srcKey, opts.signal);
    }
  }

  /** Close the keep-alive sockets. */
  async close(): Promise<void> {
    if (this.clientReady) (await this.clientReady).client.destroy();
  }
}
