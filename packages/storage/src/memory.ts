/**
 * mem://name/prefix: process-wide named in-memory stores, for tests and for
 * small pipelines that never touch a disk.
 */

import { AbortError, PreconditionFailedError, StorageError } from "./errors";
import type {
  Backend,
  Compression,
  GetOptions,
  GetResult,
  IoOptions,
  ListOptions,
  ObjectInfo,
  PutOptions,
  PutResult,
} from "./types";

interface MemoryObject {
  data: Uint8Array;
  version: number;
  contentType?: string;
  cacheControl?: string;
  lastModified: Date;
}

interface MemoryStore {
  objects: Map<string, MemoryObject>;
  nextVersion: number;
}

const STORES = new Map<string, MemoryStore>();

function storeNamed(name: string): MemoryStore {
  let store = STORES.get(name);
  if (store === undefined) {
    store = { objects: new Map(), nextVersion: 1 };
    STORES.set(name, store);
  }
  return store;
}

/** Empties and forgets the named store (all of them when `name` is omitted). */
export function clearMemoryStores(name?: string): void {
  if (name === undefined) STORES.clear();
  else STORES.delete(name);
}

function checkSignal(signal: AbortSignal | undefined, url: string, key?: string): void {
  if (signal?.aborted) {
    throw new AbortError(`aborted: ${url}${key ? ` key ${key}` : ""}`, url, key, {
      cause: signal.reason,
    });
  }
}

function infoOf(obj: MemoryObject): ObjectInfo {
  return {
    size: obj.data.byteLength,
    version: String(obj.version),
    contentType: obj.contentType,
    cacheControl: obj.cacheControl,
    lastModified: obj.lastModified,
  };
}

/**
 * A copy of the bytes in a fresh Uint8Array. (`slice` on a Node `Buffer`
 * returns a view, not a copy: a caller changing what it put or got would
 * change the stored object.)
 */
function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

/**
 * A backend over a process-wide named map. Versions are a per-store counter;
 * `ifAbsent` and `ifVersion` are atomic (the check and the write happen in one
 * synchronous step). Stored bytes are copied in and out, so callers may reuse
 * their buffers.
 *
 * @example
 * const s = new Storage(new MemoryBackend("scratch", "run1"));
 */
export class MemoryBackend implements Backend {
  readonly url: string;
  readonly encodingInMetadata = false;
  readonly readOnly = false;
  readonly acceptsSharedBytes = true;
  private readonly store: MemoryStore;
  private readonly prefix: string;

  /**
   * @param name store name; every backend with the same name shares the objects.
   * @param prefix key prefix inside the store, without leading or trailing `/`.
   */
  constructor(
    readonly name: string,
    prefix = "",
  ) {
    this.prefix = prefix === "" ? "" : `${prefix}/`;
    this.url = `mem://${name}${prefix === "" ? "" : `/${prefix}`}`;
    this.store = storeNamed(name);
  }

  async get(key: string, opts?: GetOptions): Promise<GetResult | null> {
    checkSignal(opts?.signal, this.url, key);
    const obj = this.store.objects.get(this.prefix + key);
    if (obj === undefined) return null;
    const size = obj.data.byteLength;
    let data: Uint8Array;
    if (opts?.range) {
      const start = Math.min(opts.range.start, size);
      const end = Math.min(opts.range.end ?? size, size);
      data = copyBytes(obj.data.subarray(start, Math.max(start, end)));
    } else {
      data = copyBytes(obj.data);
    }
    return { data, info: infoOf(obj) };
  }

  async put(
    key: string,
    data: Uint8Array,
    opts: PutOptions & { contentEncoding?: Compression },
  ): Promise<PutResult> {
    checkSignal(opts.signal, this.url, key);
    const full = this.prefix + key;
    const current = this.store.objects.get(full);
    if (opts.ifAbsent && current !== undefined) {
      throw new PreconditionFailedError(
        `${key} already exists under ${this.url} (ifAbsent)`,
        this.url,
        key,
      );
    }
    if (opts.ifVersion !== undefined && String(current?.version) !== opts.ifVersion) {
      throw new PreconditionFailedError(
        `${key} under ${this.url} is at version ${current?.version ?? "(missing)"}, not ${opts.ifVersion} (ifVersion)`,
        this.url,
        key,
      );
    }
    const version = this.store.nextVersion++;
    this.store.objects.set(full, {
      data: copyBytes(data),
      version,
      contentType: opts.contentType,
      cacheControl: opts.cacheControl,
      lastModified: new Date(),
    });
    return { version: String(version) };
  }

  async delete(key: string, opts?: IoOptions): Promise<void> {
    checkSignal(opts?.signal, this.url, key);
    this.store.objects.delete(this.prefix + key);
  }

  exists(key: string): boolean {
    return this.store.objects.has(this.prefix + key);
  }

  async head(key: string, opts?: IoOptions): Promise<ObjectInfo | null> {
    checkSignal(opts?.signal, this.url, key);
    const obj = this.store.objects.get(this.prefix + key);
    return obj === undefined ? null : infoOf(obj);
  }

  async *list(prefix: string, opts?: ListOptions): AsyncIterable<string> {
    checkSignal(opts?.signal, this.url);
    const full = this.prefix + prefix;
    const keys: string[] = [];
    for (const k of this.store.objects.keys()) {
      if (k.startsWith(full)) keys.push(k.slice(this.prefix.length));
    }
    keys.sort();
    if (opts?.recursive) {
      yield* keys;
      return;
    }
    // Non-recursive: direct children, sub-"directories" once with a trailing "/".
    const dirStart = prefix.lastIndexOf("/") + 1;
    let lastDir: string | undefined;
    for (const k of keys) {
      checkSignal(opts?.signal, this.url);
      const slash = k.indexOf("/", Math.max(dirStart, prefix.length));
      if (slash === -1) {
        yield k;
      } else {
        const dir = k.slice(0, slash + 1);
        if (dir !== lastDir) yield (lastDir = dir);
      }
    }
  }

  async copyWithin(srcKey: string, dst: Backend, dstKey: string, opts?: IoOptions): Promise<void> {
    checkSignal(opts?.signal, this.url, srcKey);
    if (!(dst instanceof MemoryBackend)) {
      throw new TypeError(`copyWithin from ${this.url} needs a mem:// destination`);
    }
    const obj = this.store.objects.get(this.prefix + srcKey);
    if (obj === undefined) {
      throw new StorageError(`copy: ${srcKey} does not exist under ${this.url}`, this.url, srcKey);
    }
    dst.store.objects.set(dst.prefix + dstKey, {
      ...obj,
      version: dst.store.nextVersion++,
      lastModified: new Date(),
    });
  }
}
