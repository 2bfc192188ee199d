/**
 * Copying every object under a prefix from one storage to another, across
 * any two backends, streaming the listing.
 */

import { compressBytes, decompressBytes } from "./compression";
import { AbortError, ReadOnlyStorageError } from "./errors";
import { normalizePrefix } from "./keys";
import { openStorage } from "./open";
import { runPool } from "./pool";
import type { Storage } from "./storage";
import type { Compression, IoOptions, ProgressCallback, StorageOptions } from "./types";

/** Options of {@link transfer} and {@link copy}. */
export interface TransferOptions extends IoOptions {
  /** Copy only keys starting with this prefix (relative to the source root). Default: everything. */
  prefix?: string;
  /** Descend into sub-"directories". Default true. */
  recursive?: boolean;
  /** Copies in flight. Default: the destination's concurrency. */
  concurrency?: number;
  /** Called after each object with (objects done, undefined): the total is not known while listing. */
  onProgress?: ProgressCallback;
  /**
   * Re-encode while copying: a codec to store with, or `false` to store
   * uncompressed. Default (undefined): keep the stored bytes and encoding as
   * they are, no decompression.
   */
  compress?: Compression | boolean;
}

/** What a transfer did. */
export interface TransferResult {
  /** Objects copied. */
  copied: number;
  /** Stored bytes moved (0 for server-side copies, which move none through this process). */
  bytes: number;
  /** Objects that failed, each with its error; the others were still copied. */
  failed: { key: string; error: Error }[];
}

function targetCodec(compress: Compression | boolean | undefined): Compression | undefined | null {
  if (compress === undefined) return null; // keep as stored
  if (compress === false) return undefined;
  return compress === true ? "gzip" : compress;
}

/**
 * Copies every object under `opts.prefix` of `src` to the same relative key
 * in `dst`. Objects keep their stored bytes and compression unless `compress`
 * asks otherwise; copies between two storages of the same backend kind that
 * offer `copyWithin` (gs→gs, s3→s3, file→file, mem→mem) happen server-side.
 * A failing object does not stop the others: see `failed` in the result.
 *
 * @example
 * const r = await transfer(openStorage("gs://lab/vol"), openStorage("/scratch/vol"),
 *   { prefix: "4_4_40/", concurrency: 32 });
 */
export async function transfer(
  src: Storage,
  dst: Storage,
  opts: TransferOptions = {},
): Promise<TransferResult> {
  const { signal, onProgress } = opts;
  if (dst.backend.readOnly) {
    throw new ReadOnlyStorageError(`cannot transfer into ${dst.url}: it is read-only`, dst.url);
  }
  const prefix = normalizePrefix(opts.prefix ?? "", src.url);
  const codec = targetCodec(opts.compress);
  const sb = src.backend;
  const db = dst.backend;
  const serverSide =
    codec === null &&
    sb.copyWithin !== undefined &&
    sb.constructor === db.constructor &&
    sb.encodingInMetadata === db.encodingInMetadata;
  let bytes = 0;
  const io = { signal };

  const copyOne = async (key: string): Promise<void> => {
    if (serverSide) {
      await src.copyWithinTo(key, dst, key, io);
      return;
    }
    const stored = await src.getRaw(key, io);
    if (stored === null) return; // deleted since it was listed
    const { info } = stored;
    let data = stored.data;
    let encoding = info.contentEncoding;
    if (codec !== null && codec !== encoding) {
      if (encoding !== undefined) data = await decompressBytes(data, encoding, src.url, key);
      if (codec !== undefined) data = await compressBytes(data, codec);
      encoding = codec;
    }
    bytes += data.byteLength;
    await dst.putRaw(key, data, {
      contentEncoding: encoding,
      contentType: info.contentType,
      cacheControl: info.cacheControl,
      signal,
    });
  };

  const failed: TransferResult["failed"] = [];
  let copied = 0;
  await runPool(
    src.list(prefix, { recursive: opts.recursive ?? true, signal }),
    (key: string) => key,
    copyOne,
    {
      concurrency: opts.concurrency ?? dst.concurrency,
      signal,
      onProgress,
      // Count instead of keeping a result per object: listings can be huge.
      onResult: (r) => {
        if (r.ok) copied++;
        else failed.push({ key: r.key, error: r.error });
      },
    },
    () => new AbortError(`transfer ${src.url} -> ${dst.url} aborted`, dst.url, undefined),
  );
  return { copied, bytes, failed };
}

/**
 * {@link transfer} between two URLs.
 *
 * @example
 * await copy("gs://lab/vol", "file:///scratch/vol"); // every object under gs://lab/vol
 * await copy("gs://lab/vol", "s3://other/vol", { prefix: "mesh/" });
 */
export async function copy(
  srcUrl: string,
  dstUrl: string,
  opts: TransferOptions & { storage?: StorageOptions } = {},
): Promise<TransferResult> {
  const src = openStorage(srcUrl, opts.storage);
  const dst = openStorage(dstUrl, opts.storage);
  try {
    return await transfer(src, dst, opts);
  } finally {
    await Promise.all([src.close(), dst.close()]);
  }
}
