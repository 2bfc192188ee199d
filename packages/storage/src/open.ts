/**
 * `openStorage(url)`: storage URLs and the registry of backends by scheme.
 */

import * as path from "node:path";
import { InvalidUrlError } from "./errors";
import { FileBackend } from "./file";
import { GcsBackend } from "./gcs";
import { HttpBackend } from "./http";
import { MemoryBackend } from "./memory";
import { S3Backend } from "./s3";
import { Storage } from "./storage";
import type { Backend, CloudLocation, StorageOptions } from "./types";

/** A storage URL taken apart. */
export interface ParsedStorageUrl {
  /** Lower-case scheme without `://`: `file`, `mem`, `http`, `https`, `gs`, `s3`, or a registered one. */
  scheme: string;
  /** The URL in normal form (file paths absolute, no trailing `/`). */
  url: string;
  /** Everything after `scheme://`, trailing `/` removed. */
  rest: string;
  /** file: the absolute root directory. */
  path?: string;
  /** mem: the store name; gs/s3: see `location`. */
  name?: string;
  /** mem: the key prefix inside the store ("" for none). */
  prefix?: string;
  /** gs/s3: bucket, prefix and S3-compatible endpoint. */
  location?: CloudLocation;
}

/** Builds a backend for a parsed URL. */
export type BackendFactory = (parsed: ParsedStorageUrl, opts: StorageOptions) => Backend;

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/s;

function trimSlashes(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s.charCodeAt(a) === 47) a++;
  while (b > a && s.charCodeAt(b - 1) === 47) b--;
  return s.slice(a, b);
}

function parseCloud(scheme: string, rest: string, url: string): CloudLocation {
  let endpoint: string | undefined;
  let body = rest;
  // Another endpoint than the cloud's own, written in the URL:
  // s3://http://host:port/bucket/prefix (S3-compatible services),
  // gs://http://host:port/bucket/prefix (GCS emulators, JSON API servers).
  const inner = /^(https?:\/\/[^/]+)\/?(.*)$/is.exec(rest);
  if (inner !== null) {
    if (scheme !== "s3" && scheme !== "gs") {
      throw new InvalidUrlError(
        `${url}: only s3:// and gs:// take an endpoint inside the URL`,
        url,
      );
    }
    // The scheme of the endpoint in lower case (HTTP://host works too).
    endpoint = inner[1].replace(/^https?/i, (m) => m.toLowerCase());
    body = inner[2];
  }
  body = trimSlashes(body);
  const slash = body.indexOf("/");
  const bucket = slash === -1 ? body : body.slice(0, slash);
  const prefix = slash === -1 ? "" : trimSlashes(body.slice(slash + 1));
  if (bucket === "") throw new InvalidUrlError(`${url}: no bucket name`, url);
  if (!/^[a-zA-Z0-9._-]+$/.test(bucket)) {
    throw new InvalidUrlError(`${url}: "${bucket}" is not a valid bucket name`, url);
  }
  if (prefix.split("/").some((p) => p === ".." || p === ".")) {
    throw new InvalidUrlError(`${url}: "." and ".." are not allowed in a bucket prefix`, url);
  }
  return endpoint === undefined ? { bucket, prefix } : { bucket, prefix, endpoint };
}

/**
 * Neuroglancer's data-source prefix, as users paste layer URLs from a
 * Neuroglancer state or CloudVolume (`precomputed://gs://bucket/layer`). It
 * names the format, not a place, so it is dropped before the URL is read.
 */
const FORMAT_PREFIX = /^precomputed:\/\//i;

/**
 * Takes a storage URL apart without opening anything. Bare paths (relative or
 * absolute) are `file://` URLs. One leading `precomputed://` (Neuroglancer's
 * format prefix) is dropped: `precomputed://gs://b/layer` is `gs://b/layer`.
 *
 * @example
 * parseStorageUrl("s3://http://127.0.0.1:5000/bucket/a/b").location;
 * // { bucket: "bucket", prefix: "a/b", endpoint: "http://127.0.0.1:5000" }
 */
export function parseStorageUrl(url: string): ParsedStorageUrl {
  if (typeof url !== "string" || url.trim() === "") {
    throw new InvalidUrlError(`empty storage URL`, String(url));
  }
  if (!FORMAT_PREFIX.test(url)) return parseLocation(url);
  const inner = url.replace(FORMAT_PREFIX, "");
  if (inner.trim() === "") {
    throw new InvalidUrlError(`${url}: no storage URL after precomputed://`, url);
  }
  if (FORMAT_PREFIX.test(inner)) {
    throw new InvalidUrlError(`${url}: precomputed:// given twice`, url);
  }
  return parseLocation(inner);
}

/** {@link parseStorageUrl} once the format prefix is gone. */
function parseLocation(url: string): ParsedStorageUrl {
  const m = SCHEME.exec(url);
  if (m === null) {
    if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/(?!\/)/.test(url)) {
      throw new InvalidUrlError(`${url}: malformed URL (expected scheme://...)`, url);
    }
    const abs = path.resolve(url);
    return { scheme: "file", url: `file://${abs}`, rest: abs, path: abs };
  }
  const scheme = m[1].toLowerCase();
  const raw = m[2];
  switch (scheme) {
    case "file": {
      if (raw === "") throw new InvalidUrlError(`${url}: no path`, url);
      const abs = path.resolve(raw);
      return { scheme, url: `file://${abs}`, rest: abs, path: abs };
    }
    case "mem": {
      const body = trimSlashes(raw);
      const slash = body.indexOf("/");
      const name = slash === -1 ? body : body.slice(0, slash);
      const prefix = slash === -1 ? "" : trimSlashes(body.slice(slash + 1));
      if (name === "") throw new InvalidUrlError(`${url}: no store name (mem://name/prefix)`, url);
      if (prefix.split("/").some((p) => p === ".." || p === ".")) {
        throw new InvalidUrlError(`${url}: "." and ".." are not allowed in a prefix`, url);
      }
      return { scheme, url: `mem://${body}`, rest: body, name, prefix };
    }
    case "gs":
    case "s3": {
      const location = parseCloud(scheme, raw, url);
      const body = `${location.bucket}${location.prefix ? `/${location.prefix}` : ""}`;
      const shown = location.endpoint ? `${location.endpoint}/${body}` : body;
      return { scheme, url: `${scheme}://${shown}`, rest: shown, location, name: location.bucket };
    }
    default: {
      const rest = raw.replace(/\/+$/, "");
      return { scheme, url: `${scheme}://${rest}`, rest };
    }
  }
}

const REGISTRY = new Map<string, BackendFactory>();

/**
 * Makes `openStorage` handle `scheme://` URLs with `factory` (replacing any
 * earlier registration of that scheme). The built-in schemes are `file`,
 * `mem`, `http`, `https`, `gs` and `s3`.
 *
 * @example
 * registerBackend("lab", (p) => new FileBackend(`/mnt/lab/${p.rest}`));
 * openStorage("lab://vol1");
 */
export function registerBackend(scheme: string, factory: BackendFactory): void {
  REGISTRY.set(scheme.toLowerCase(), factory);
}

/** The schemes `openStorage` understands. */
export function registeredSchemes(): string[] {
  return [...REGISTRY.keys()].sort();
}

registerBackend("file", (p) => new FileBackend(p.path!));
registerBackend("mem", (p) => new MemoryBackend(p.name!, p.prefix));
registerBackend("http", (p) => new HttpBackend(p.url));
registerBackend("https", (p) => new HttpBackend(p.url));
registerBackend("gs", (p, opts) => new GcsBackend(p.location!, opts));
registerBackend("s3", (p, opts) => new S3Backend(p.location!, opts));

/**
 * Opens the storage at `url`:
 *
 * - `/abs/path`, `rel/path`, `file:///abs/path`: a directory
 * - `mem://name/prefix`: a process-wide in-memory store
 * - `http(s)://host/path`: read-only, over `fetch`
 * - `gs://bucket/prefix`, `s3://bucket/prefix`
 * - `s3://http://host:port/bucket/prefix`: an S3-compatible service (or pass `endpoint`)
 * - any of these behind Neuroglancer's `precomputed://` prefix
 *   (`precomputed://gs://bucket/layer`), which is dropped
 *
 * Throws {@link InvalidUrlError} for unknown schemes and malformed URLs.
 *
 * @example
 * const s = openStorage("gs://my-bucket/dataset/image", { concurrency: 64 });
 */
export function openStorage(url: string, opts: StorageOptions = {}): Storage {
  const parsed = parseStorageUrl(url);
  const factory = REGISTRY.get(parsed.scheme);
  if (factory === undefined) {
    throw new InvalidUrlError(
      `${url}: no backend for ${parsed.scheme}:// (known: ${registeredSchemes().join(", ")})`,
      url,
    );
  }
  return new Storage(factory(parsed, opts), opts);
}
