/**
 * Transport compression of stored objects: gzip and brotli both ways
 * (node:zlib), zstd for reading only (fzstd). Also the key-suffix convention
 * of CloudFiles for backends without Content-Encoding metadata.
 *
 * {@link compressSync} and {@link decompressSync} are plain synchronous
 * functions with no event-loop dependence: worker threads (the kernel pool
 * codes chunks with them) import them from `@ngpipe/storage/compression`,
 * which loads none of the cloud SDKs. The async {@link compressBytes} and
 * {@link decompressBytes} run zlib on libuv's thread pool, for the event
 * loop (Storage.get/put).
 */

import { promisify } from "node:util";
import * as zlib from "node:zlib";
import { Decompress as ZstdStream } from "fzstd";
import { DecompressionError, DecompressionLimitError, RequestError } from "./errors";
import type { Compression } from "./types";
import { gunzipInto, gzipReused, ZlibOutputFull, zlibReuse } from "./zlib-reuse";

const gzipAsync = promisify(zlib.gzip);
const gunzipAsync = promisify(zlib.gunzip);
const brotliCompressAsync = promisify(zlib.brotliCompress);
const brotliDecompressAsync = promisify(zlib.brotliDecompress);

/** gzip level 6 (zlib's default) and brotli quality 5: what every write uses unless told. */
export const DEFAULT_COMPRESSION_LEVEL: Readonly<Record<"gzip" | "br", number>> = {
  gzip: 6,
  br: 5,
};

/** Where decompressed bytes came from (for the error message), and how many may come out. */
export interface DecompressOptions {
  /** The storage root URL (or the whole URL when `key` is absent). */
  url?: string;
  /** The key under `url`. */
  key?: string;
  /**
   * The most bytes the data may inflate to. Inflation stops as soon as it
   * is passed, with {@link DecompressionLimitError}: a bomb costs at most
   * about this much memory. Default: no limit.
   */
  maxBytes?: number;
}

/**
 * What JSON read from storage (infos, manifests, shard specs) may inflate
 * to: 64 MiB, or the `NGPIPE_MAX_JSON_BYTES` environment variable. Larger
 * JSON is refused with DecompressionLimitError instead of filling memory.
 */
export function maxJsonBytes(): number {
  const env = Number(process.env.NGPIPE_MAX_JSON_BYTES);
  return Number.isSafeInteger(env) && env > 0 ? env : 64 * 2 ** 20;
}

/** Output pieces of 256 KiB instead of zlib's 16 KiB above 32 KiB of input: a quarter less time for a megabyte. */
function inflateOptions(bytes: number, maxBytes?: number): zlib.ZlibOptions {
  const o: zlib.ZlibOptions = bytes > 32768 ? { chunkSize: 256 * 1024 } : {};
  // zlib stops at maxOutputLength (and takes no value beyond its buffer limit).
  if (maxBytes !== undefined && maxBytes < MAX_OUTPUT) o.maxOutputLength = Math.max(1, maxBytes);
  return o;
}

const MAX_OUTPUT = 2 ** 32;

/** Largest output whose size {@link exactChunk} takes from a gzip trailer. */
const EXACT_CHUNK_MAX = 64 * 1024;

/**
 * `o` with zlib's output chunk sized to the inflated size a gzip trailer
 * states (ISIZE, its last four bytes), when that is between 64 bytes and
 * {@link EXACT_CHUNK_MAX}: the output then fills one buffer of its own, not
 * a slice of a 16 KiB chunk that {@link owned} would copy. Only a size hint:
 * a wrong or multi-member trailer costs a buffer too large or more chunks,
 * never different bytes.
 */
function exactChunk(data: Uint8Array, o: zlib.ZlibOptions, maxBytes?: number): zlib.ZlibOptions {
  const n = data.byteLength;
  if (o.chunkSize !== undefined || n < 18) return o;
  const isize =
    (data[n - 4] | (data[n - 3] << 8) | (data[n - 2] << 16) | (data[n - 1] << 24)) >>> 0;
  if (isize < 64 || isize > EXACT_CHUNK_MAX || (maxBytes !== undefined && isize > maxBytes))
    return o;
  o.chunkSize = isize;
  return o;
}

/** Gzip objects up to this size are inflated synchronously by {@link decompressBytes}. */
const SYNC_GUNZIP_BYTES = 8192;

/** zstd, streamed: the output is counted and the stream abandoned once it passes `maxBytes`. */
function zstdInflate(data: Uint8Array, maxBytes: number | undefined): Uint8Array {
  const pieces: Uint8Array[] = [];
  let total = 0;
  const stream = new ZstdStream((piece) => {
    total += piece.byteLength;
    if (maxBytes !== undefined && total > maxBytes) throw new OutputLimit();
    pieces.push(piece);
  });
  stream.push(data, true);
  if (pieces.length === 1) return pieces[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Thrown inside the zstd stream's callback to stop it. */
class OutputLimit extends Error {}

function isOutputLimit(err: unknown): boolean {
  return (
    err instanceof OutputLimit ||
    err instanceof ZlibOutputFull ||
    (err as { code?: string })?.code === "ERR_BUFFER_TOO_LARGE"
  );
}

/** The error for data that does not decompress, or inflates past `opts.maxBytes`. */
function decompressionFailure(err: unknown, codec: Compression, opts: DecompressOptions): Error {
  if (isOutputLimit(err))
    return new DecompressionLimitError(
      `${where(opts)} is stored with ${codec} and inflates to more than ${opts.maxBytes} bytes, the most expected there; refused before inflating it further`,
      opts.url ?? "",
      opts.key,
      opts.maxBytes as number,
      { cause: err },
    );
  return new DecompressionError(
    `${where(opts)} is stored with ${codec} but does not decompress: ${(err as Error).message}`,
    opts.url ?? "",
    opts.key,
    { cause: err },
  );
}

function brotliParams(level: number | undefined, size: number): zlib.BrotliOptions {
  return {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: level ?? DEFAULT_COMPRESSION_LEVEL.br,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: size,
    },
  };
}

/** `bytes` as a Uint8Array owning its whole ArrayBuffer (zlib may return a slice of a shared pool), so it can be transferred. */
function owned(bytes: Buffer): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? new Uint8Array(bytes.buffer, 0, bytes.byteLength)
    : new Uint8Array(bytes);
}

function where(opts: DecompressOptions): string {
  return opts.key === undefined ? (opts.url ?? "data") : `${opts.key} under ${opts.url ?? "?"}`;
}

function cannotWrite(codec: Compression): Error {
  return new RequestError(
    `cannot compress with ${JSON.stringify(codec)}: use "gzip" or "br" (zstd is supported for reading only)`,
    "",
    undefined,
    undefined,
  );
}

/**
 * Compresses `data` with `codec` at `level` (gzip 1..9, default 6; brotli
 * 0..11, default 5), synchronously. The result owns its whole ArrayBuffer,
 * so a worker can transfer it. Safe in worker threads.
 *
 * With `into` (e.g. a view of reused SharedArrayBuffer memory), a result
 * that fits is written there and the view of it returned instead: gzip
 * then allocates nothing that V8 counts as external memory, whose growth
 * starts full garbage collections. A result longer than `into` comes back
 * in new memory as without it.
 *
 * @example
 * const gz = compressSync(bytes, "gzip", 1);
 */
export function compressSync(
  data: Uint8Array,
  codec: Compression,
  level?: number,
  into?: Uint8Array,
): Uint8Array {
  if (codec === "gzip" && zlibReuse) return gzipReused(data, level ?? 6, into);
  let out: Uint8Array;
  if (codec === "gzip") out = owned(zlib.gzipSync(data, { level: level ?? 6 }));
  else if (codec === "br")
    out = owned(zlib.brotliCompressSync(data, brotliParams(level, data.byteLength)));
  else throw cannotWrite(codec);
  if (into === undefined || out.byteLength > into.byteLength) return out;
  into.set(out);
  return into.subarray(0, out.byteLength);
}

/**
 * Decompresses `data` stored with `codec` (gzip, br or zstd),
 * synchronously. Throws {@link DecompressionError} naming `opts.url` and
 * `opts.key` when the bytes are not valid for the codec, and
 * {@link DecompressionLimitError} as soon as they inflate past
 * `opts.maxBytes`. The result owns
 * its whole ArrayBuffer. Safe in worker threads.
 */
export function decompressSync(
  data: Uint8Array,
  codec: Compression,
  opts: DecompressOptions = {},
): Uint8Array {
  try {
    const o = inflateOptions(data.byteLength, opts.maxBytes);
    if (codec === "gzip") return owned(zlib.gunzipSync(data, exactChunk(data, o, opts.maxBytes)));
    if (codec === "br") return owned(zlib.brotliDecompressSync(data, o));
    if (codec === "zstd") return zstdInflate(data, opts.maxBytes);
    throw new Error(`unknown codec ${JSON.stringify(codec)}`);
  } catch (err) {
    throw decompressionFailure(err, codec, opts);
  }
}

/**
 * {@link decompressSync} into `out`, memory the caller reuses: at most
 * `out.byteLength` bytes may come out (more throws
 * {@link DecompressionLimitError}; `opts.maxBytes` is ignored). gzip data
 * is inflated straight into `out` and the result is a view of it, valid
 * until the caller writes `out` again; other codecs return new memory.
 * For a caller that consumes the bytes at once (a worker decoding a chunk
 * into a block): the output allocates nothing, so it starts no collection.
 */
export function decompressInto(
  data: Uint8Array,
  codec: Compression,
  out: Uint8Array,
  opts: DecompressOptions = {},
): Uint8Array {
  const o = { ...opts, maxBytes: out.byteLength };
  if (codec !== "gzip" || !zlibReuse) return decompressSync(data, codec, o);
  try {
    return out.subarray(0, gunzipInto(data, out));
  } catch (err) {
    throw decompressionFailure(err, codec, o);
  }
}

/**
 * Key suffixes of compressed objects on file://, mem:// and http(s)://, in the
 * order `get` tries them after the bare key (CloudFiles' order). zstd objects
 * are found as `.zstd` (what CloudFiles writes) or `.zst`.
 */
export const COMPRESSION_SUFFIXES: ReadonlyArray<readonly [suffix: string, codec: Compression]> = [
  [".gz", "gzip"],
  [".br", "br"],
  [".zstd", "zstd"],
  [".zst", "zstd"],
];

/** The suffix `put` writes for each codec. */
export const SUFFIX_OF: Readonly<Record<Compression, string>> = {
  gzip: ".gz",
  br: ".br",
  zstd: ".zst",
};

/** Returns the codec asked for by a `compress` option, or undefined for none. */
export function compressionOf(
  compress: Compression | boolean | undefined,
  url: string,
  key: string,
): Compression | undefined {
  if (compress === undefined || compress === false) return undefined;
  if (compress === true || compress === "gzip") return "gzip";
  if (compress === "br") return "br";
  if (compress === "zstd") {
    throw new RequestError(
      `cannot write ${key} under ${url} with zstd: zstd is supported for reading only; use "gzip" or "br"`,
      url,
      key,
      undefined,
    );
  }
  throw new RequestError(
    `unknown compression ${JSON.stringify(compress)} for ${key} under ${url}`,
    url,
    key,
    undefined,
  );
}

/**
 * Compresses `data` with `codec` at `level` (as {@link compressSync}) on
 * libuv's thread pool, leaving the event loop free.
 */
export async function compressBytes(
  data: Uint8Array,
  codec: Compression,
  level?: number,
): Promise<Uint8Array> {
  let out: Buffer;
  if (codec === "gzip")
    out = await gzipAsync(data, { level: level ?? DEFAULT_COMPRESSION_LEVEL.gzip });
  else if (codec === "br")
    out = await brotliCompressAsync(data, brotliParams(level, data.byteLength));
  else throw cannotWrite(codec);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Whether {@link decompressBytes} inflates `data` on the calling thread: zstd
 * has no async zlib binding; a small gzip object costs half the CPU
 * inflated here than through the thread pool, and gzip's ratio (at most
 * ~1032:1) keeps its output, and so the time the event loop waits, small.
 */
function inflatesInline(data: Uint8Array, codec: Compression): boolean {
  return codec === "zstd" || (codec === "gzip" && data.byteLength <= SYNC_GUNZIP_BYTES);
}

/**
 * {@link decompressBytes} without a promise when it inflates on the calling
 * thread (then its errors are thrown): for batch reads of many small
 * objects, where each promise and its turn of the event loop count.
 */
export function decompressNow(
  data: Uint8Array,
  codec: Compression,
  url: string,
  key: string,
  maxBytes?: number,
): Uint8Array | Promise<Uint8Array> {
  if (inflatesInline(data, codec)) return decompressSync(data, codec, { url, key, maxBytes });
  return decompressBytes(data, codec, url, key, maxBytes);
}

/**
 * Decompresses stored bytes on libuv's thread pool (small gzip objects, and
 * zstd, on the calling thread). Throws
 * {@link DecompressionError} naming the key when the bytes are not valid
 * for the codec, and {@link DecompressionLimitError} as soon as they
 * inflate past `maxBytes`.
 */
export async function decompressBytes(
  data: Uint8Array,
  codec: Compression,
  url: string,
  key: string,
  maxBytes?: number,
): Promise<Uint8Array> {
  if (inflatesInline(data, codec)) return decompressSync(data, codec, { url, key, maxBytes });
  try {
    let out: Buffer;
    const o = inflateOptions(data.byteLength, maxBytes);
    if (codec === "gzip") out = await gunzipAsync(data, o);
    else if (codec === "br") out = await brotliDecompressAsync(data, o);
    else throw new Error(`unknown codec ${String(codec)}`);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    throw decompressionFailure(err, codec, { url, key, maxBytes });
  }
}

/** The codec of each content coding ngpipe decodes (`x-gzip` is gzip, RFC 9110 §8.4.1.3). */
const CODEC_OF_CODING: ReadonlyMap<string, Compression> = new Map([
  ["gzip", "gzip"],
  ["x-gzip", "gzip"],
  ["br", "br"],
  ["zstd", "zstd"],
]);

/**
 * The codings of a Content-Encoding value in the order they were applied,
 * lower-cased, without `identity` and empty entries: `"GZIP, identity"` is
 * `["gzip"]`, `""` and `"identity"` are `[]`.
 */
function contentCodings(value: string | null | undefined): string[] {
  if (!value) return [];
  return value
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
}

/**
 * Maps a Content-Encoding header value to a codec, or undefined for identity
 * and for anything it cannot decode (unknown or stacked codings). For stored
 * objects, whose coding must not be ignored, use {@link storedCompression}.
 */
export function parseContentEncoding(value: string | null | undefined): Compression | undefined {
  const codings = contentCodings(value);
  return codings.length === 1 ? CODEC_OF_CODING.get(codings[0]) : undefined;
}

/**
 * The codec of an object stored with Content-Encoding `value` (as gs:// and
 * s3:// report it): undefined for none (absent, empty, `identity`), `gzip`
 * also for `x-gzip`, case-insensitive, `identity` entries of a list ignored
 * (`"gzip, identity"` is gzip). Throws {@link DecompressionError} naming the
 * key and the coding for a coding ngpipe cannot decode (e.g. `compress`, or
 * two stacked codings such as `"gzip, br"`): passing such bytes on as if
 * they were plain, or under a made-up codec, would corrupt them.
 */
export function storedCompression(
  value: string | null | undefined,
  url: string,
  key: string,
): Compression | undefined {
  const codings = contentCodings(value);
  if (codings.length === 0) return undefined;
  const codec = codings.length === 1 ? CODEC_OF_CODING.get(codings[0]) : undefined;
  if (codec !== undefined) return codec;
  throw new DecompressionError(
    `${url}/${key} is stored with Content-Encoding ${JSON.stringify(value)}, which cannot be decoded (supported: gzip, x-gzip, br, zstd, identity); re-upload it with one of these`,
    url,
    key,
  );
}

/** Whether `codec` is one of the codecs objects can be stored with (and has a key suffix). */
export function isCompression(codec: unknown): codec is Compression {
  return typeof codec === "string" && Object.hasOwn(SUFFIX_OF, codec);
}

/** Strips a compression suffix from a listed key (file/mem/http convention). */
export function stripCompressionSuffix(key: string): string {
  for (const [suffix] of COMPRESSION_SUFFIXES) {
    if (key.endsWith(suffix) && key.length > suffix.length && !key.endsWith(`/${suffix}`)) {
      return key.slice(0, -suffix.length);
    }
  }
  return key;
}

/** The greatest suffix in byte order: a raw key `q + rest` may strip to `q` only if `rest <= MAX_SUFFIX`. */
const MAX_SUFFIX = COMPRESSION_SUFFIXES.map(([s]) => s).sort()[COMPRESSION_SUFFIXES.length - 1];

function lowerBoundOfStripped(raw: string): string {
  // Any key listed after `raw` strips to something >= the shortest prefix q of
  // raw whose remainder could be outranked by a suffix (every suffix starts
  // with ".", so only remainders starting with a char <= "." qualify).
  for (let i = 1; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c < 46 || (c === 46 && raw.slice(i) <= MAX_SUFFIX)) return raw.slice(0, i);
  }
  return raw;
}

function insertSorted(buf: string[], s: string): void {
  let lo = 0;
  let hi = buf.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (buf[mid] < s) lo = mid + 1;
    else hi = mid;
  }
  if (buf[lo] !== s) buf.splice(lo, 0, s);
}

/**
 * Turns a sorted listing of stored keys into a sorted, duplicate-free listing
 * of logical keys (compression suffixes stripped), streaming: a key is held
 * back only while a later stored key could still strip to something smaller.
 */
export async function* logicalKeys(sortedStored: AsyncIterable<string>): AsyncGenerator<string> {
  const pending: string[] = [];
  let last: string | undefined;
  for await (const raw of sortedStored) {
    const bound = lowerBoundOfStripped(raw);
    let n = 0;
    while (n < pending.length && pending[n] < bound) n++;
    for (let i = 0; i < n; i++) {
      if (pending[i] !== last) yield (last = pending[i]);
    }
    if (n > 0) pending.splice(0, n);
    insertSorted(pending, stripCompressionSuffix(raw));
  }
  for (const s of pending) if (s !== last) yield (last = s);
}
