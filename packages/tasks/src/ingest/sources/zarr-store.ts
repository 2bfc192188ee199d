/**
 * Byte stores for the Zarr reader: a local-directory store and an adapter
 * that turns any `@ngpipe/storage`-like object (`get(key, {range})`) into the
 * two-method store zarrita reads from (`get`, `getRange`).
 */
import { open as openFile, readdir } from "node:fs/promises";
import * as path from "node:path";

/** A byte range, inclusive start, exclusive end (as in `@ngpipe/storage`). */
export interface ByteRangeLike {
  start: number;
  end?: number;
}

/**
 * What the Zarr reader needs of a storage: `get` with an optional byte range
 * (returning the bytes, or `@ngpipe/storage`'s `{data}` result, or null when
 * the key is missing), and optionally `head` (object size, for suffix ranges)
 * and `list` (to name the arrays of a group in errors). An `@ngpipe/storage`
 * `Storage` fits as it is.
 */
export interface ByteStore {
  get(
    key: string,
    opts?: { range?: ByteRangeLike; signal?: AbortSignal },
  ): Promise<Uint8Array | { data: Uint8Array } | null | undefined>;
  head?(key: string): Promise<{ size: number } | null>;
  list?(prefix: string, opts?: { recursive?: boolean }): AsyncIterable<string>;
}

/** zarrita's range query. */
type RangeQuery = { offset: number; length: number } | { suffixLength: number };

/** The store interface zarrita reads (keys are absolute: "/a/zarr.json"). */
export interface ZarritaReadable {
  get(key: `/${string}`, opts?: { signal?: AbortSignal }): Promise<Uint8Array | undefined>;
  getRange(
    key: `/${string}`,
    range: RangeQuery,
    opts?: { signal?: AbortSignal },
  ): Promise<Uint8Array | undefined>;
}

function bytesOf(r: Uint8Array | { data: Uint8Array } | null | undefined): Uint8Array | undefined {
  if (r == null) return undefined;
  return r instanceof Uint8Array ? r : r.data;
}

/** Adapt a {@link ByteStore} to zarrita's store interface. */
export function zarritaStore(store: ByteStore): ZarritaReadable {
  return {
    async get(key, opts) {
      return bytesOf(await store.get(key.replace(/^\/+/, ""), { signal: opts?.signal }));
    },
    async getRange(key, range, opts) {
      const k = key.replace(/^\/+/, "");
      if ("suffixLength" in range) {
        const size = store.head ? (await store.head(k))?.size : undefined;
        if (size === undefined) {
          const all = bytesOf(await store.get(k, { signal: opts?.signal }));
          return all?.subarray(Math.max(0, all.length - range.suffixLength));
        }
        const start = Math.max(0, size - range.suffixLength);
        return bytesOf(await store.get(k, { range: { start, end: size }, signal: opts?.signal }));
      }
      return bytesOf(
        await store.get(k, {
          range: { start: range.offset, end: range.offset + range.length },
          signal: opts?.signal,
        }),
      );
    },
  };
}

/** A read-only {@link ByteStore} over a local directory, with positioned range reads. */
export function localByteStore(root: string): ByteStore {
  const file = (key: string) => path.join(root, ...key.split("/"));
  const missing = (e: unknown) =>
    ["ENOENT", "ENOTDIR", "EISDIR"].includes((e as NodeJS.ErrnoException).code ?? "");
  return {
    async get(key, opts = {}) {
      opts.signal?.throwIfAborted();
      let fh: Awaited<ReturnType<typeof openFile>>;
      try {
        fh = await openFile(file(key), "r");
      } catch (e) {
        if (missing(e)) return null;
        throw e;
      }
      try {
        const size = (await fh.stat()).size;
        if (size === 0 && !opts.range) return new Uint8Array(0);
        const start = Math.min(opts.range?.start ?? 0, size);
        const end = Math.min(opts.range?.end ?? size, size);
        const buf = new Uint8Array(Math.max(0, end - start));
        let done = 0;
        while (done < buf.length) {
          const { bytesRead } = await fh.read(buf, done, buf.length - done, start + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return buf.subarray(0, done);
      } catch (e) {
        if (missing(e)) return null;
        throw e;
      } finally {
        await fh.close();
      }
    },
    async head(key) {
      try {
        const fh = await openFile(file(key), "r");
        try {
          return { size: (await fh.stat()).size };
        } finally {
          await fh.close();
        }
      } catch (e) {
        if (missing(e)) return null;
        throw e;
      }
    },
    async *list(prefix, opts = {}) {
      const base = file(prefix);
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(base, { withFileTypes: true });
      } catch (e) {
        if (missing(e)) return;
        throw e;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const ent of entries) {
        const key =
          prefix === "" || prefix.endsWith("/") ? `${prefix}${ent.name}` : `${prefix}/${ent.name}`;
        if (ent.isDirectory()) {
          if (opts.recursive) yield* this.list!(`${key}/`, opts);
          else yield `${key}/`;
        } else yield key;
      }
    },
  };
}
