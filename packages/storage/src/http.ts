/**
 * http(s)://: read-only access to objects served by any web server, over the
 * global `fetch`. Compressed objects follow the `.gz`/`.br` key-suffix
 * convention, as on file://.
 */

import { parseContentEncoding } from "./compression";
import {
  AbortError,
  NotSupportedError,
  PermissionDeniedError,
  ReadOnlyStorageError,
  RequestError,
  TransientError,
} from "./errors";
import type { Backend, GetOptions, GetResult, IoOptions, ObjectInfo } from "./types";

const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

/**
 * A read-only backend over plain HTTP(S). `get` sends `Range` requests for
 * byte ranges; 404 means missing; 401/403 are {@link PermissionDeniedError};
 * 429 and 5xx are {@link TransientError} (retried by `Storage`). Listing is not
 * possible over plain HTTP ({@link NotSupportedError}).
 */
export class HttpBackend implements Backend {
  readonly url: string;
  readonly encodingInMetadata = false;
  readonly readOnly = true;

  /** @param baseUrl `http://` or `https://` root; keys are appended after a `/`. */
  constructor(baseUrl: string) {
    this.url = baseUrl.replace(/\/+$/, "");
  }

  private fail(res: Response, op: string, key: string): never {
    const msg = `${op} ${this.url}/${key}: HTTP ${res.status} ${res.statusText}`;
    if (res.status === 401 || res.status === 403) {
      throw new PermissionDeniedError(msg, this.url, key);
    }
    if (res.status === 429 || res.status >= 500) {
      throw new TransientError(msg, this.url, key, res.status);
    }
    throw new RequestError(msg, this.url, key, res.status);
  }

  private async request(
    method: string,
    key: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    try {
      return await fetch(`${this.url}/${encodeKey(key)}`, { method, headers, signal });
    } catch (err) {
      if (signal?.aborted) {
        throw new AbortError(`${method} ${this.url}/${key} aborted`, this.url, key, {
          cause: signal.reason,
        });
      }
      // fetch rejects with a TypeError for resets, refused connections, DNS failures.
      throw new TransientError(
        `${method} ${this.url}/${key} failed: ${(err as Error).message}`,
        this.url,
        key,
        undefined,
        { cause: err },
      );
    }
  }

  private infoOf(res: Response, size: number): ObjectInfo {
    const h = res.headers;
    const info: ObjectInfo = { size };
    const etag = h.get("etag");
    if (etag) info.version = etag;
    const type = h.get("content-type");
    if (type) info.contentType = type;
    const cc = h.get("cache-control");
    if (cc) info.cacheControl = cc;
    const lm = h.get("last-modified");
    if (lm) info.lastModified = new Date(lm);
    return info;
  }

  async get(key: string, opts?: GetOptions): Promise<GetResult | null> {
    const range = opts?.range;
    // Ask for the stored bytes: no on-the-fly compression that fetch would
    // undo anyway, and ranges that apply to the stored object.
    const headers: Record<string, string> = { "accept-encoding": "identity" };
    if (range !== undefined) {
      if (range.end !== undefined && range.end <= range.start) {
        const info = await this.head(key, opts);
        return info === null ? null : { data: new Uint8Array(0), info };
      }
      headers.range = `bytes=${range.start}-${range.end === undefined ? "" : range.end - 1}`;
    }
    const res = await this.request("GET", key, headers, opts?.signal);
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    if (res.status === 416) {
      // Range starts at or past the end: an empty slice of an existing object.
      await res.body?.cancel();
      const info = await this.head(key, opts);
      return info === null ? null : { data: new Uint8Array(0), info };
    }
    if (!res.ok) {
      await res.body?.cancel();
      this.fail(res, "GET", key);
    }
    let data: Uint8Array;
    try {
      data = new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      if (opts?.signal?.aborted) throw err;
      throw new TransientError(
        `GET ${this.url}/${key}: body interrupted: ${(err as Error).message}`,
        this.url,
        key,
        undefined,
        { cause: err },
      );
    }
    if (range !== undefined && res.status === 200) {
      // The server ignored the Range header: cut the slice out ourselves.
      data = data.subarray(
        Math.min(range.start, data.length),
        Math.min(range.end ?? data.length, data.length),
      );
    }
    const info = this.infoOf(res, data.length);
    const total = /\/(\d+)$/.exec(res.headers.get("content-range") ?? "");
    if (total !== null) info.size = Number(total[1]);
    // fetch undoes gzip/br/deflate Content-Encoding itself; only zstd (which
    // Node 20's fetch leaves alone) can still arrive encoded.
    if (
      parseContentEncoding(res.headers.get("content-encoding")) === "zstd" &&
      ZSTD_MAGIC.every((b, i) => data[i] === b)
    ) {
      info.contentEncoding = "zstd";
    }
    return { data, info };
  }

  async head(key: string, opts?: IoOptions): Promise<ObjectInfo | null> {
    const res = await this.request("HEAD", key, { "accept-encoding": "identity" }, opts?.signal);
    if (res.status === 404) return null;
    if (!res.ok) this.fail(res, "HEAD", key);
    return this.infoOf(res, Number(res.headers.get("content-length") ?? 0));
  }

  async put(key: string): Promise<never> {
    throw new ReadOnlyStorageError(
      `${this.url} is read-only (http); cannot write ${key}`,
      this.url,
      key,
    );
  }

  async delete(key: string): Promise<never> {
    throw new ReadOnlyStorageError(
      `${this.url} is read-only (http); cannot delete ${key}`,
      this.url,
      key,
    );
  }

  // biome-ignore lint/correctness/useYield: listing is refused before the first key.
  async *list(prefix: string): AsyncIterable<string> {
    throw new NotSupportedError(
      `cannot list ${this.url}/${prefix}: plain HTTP has no listing; list the origin (gs://, s3://, file://) instead`,
      this.url,
      prefix === "" ? undefined : prefix,
    );
  }
}
