/**
 * The part of `@ngpipe/storage`'s `Storage` that info and shard IO use,
 * stated structurally so that any object with `get`/`put` works (a Storage,
 * a Backend, or a small test double).
 */
import type { ByteRange, GetResult, PutOptions } from "@ngpipe/storage";

/** What reading needs: `get(key, {range})`, resolving to bytes or null when missing. */
export interface StorageReader {
  /** Root URL, used in error messages. */
  readonly url?: string;
  get(
    key: string,
    opts?: { range?: ByteRange; signal?: AbortSignal; maxBytes?: number },
  ): Promise<GetResult | Uint8Array | null>;
}

/** What writing needs: `put(key, bytes, options)`. */
export interface StorageWriter {
  readonly url?: string;
  put(key: string, data: Uint8Array, opts?: PutOptions): Promise<unknown>;
}

/** Bytes of a `get` result whichever shape the store returns. */
export function bytesOf(r: GetResult | Uint8Array | null): Uint8Array | null {
  if (r === null || r === undefined) return null;
  return r instanceof Uint8Array ? r : r.data;
}

/** `url/key` for messages. */
export function joinUrl(url: string | undefined, key: string): string {
  if (!url) return key;
  return url.endsWith("/") ? `${url}${key}` : `${url}/${key}`;
}
