/** Reading and writing the `info` object of a layer through storage. */
import { type IoOptions, maxJsonBytes } from "@ngpipe/storage";
import { InfoNotFoundError, InfoValidationError } from "./errors";
import { formatInfo, type InfoJSON, parseInfo, validateInfo } from "./info";
import { bytesOf, joinUrl, type StorageReader, type StorageWriter } from "./store";

/**
 * Reads and validates `<layer>/info`. Throws `InfoNotFoundError` naming the
 * URL when it is missing and `InfoValidationError` when it breaks the spec
 * or is larger than `maxJsonBytes()` (64 MiB; a compressed info stops
 * inflating there with DecompressionLimitError).
 *
 * @example
 * const info = await readInfo(await openStorage("gs://bucket/layer"));
 */
export async function readInfo(storage: StorageReader, opts: IoOptions = {}): Promise<InfoJSON> {
  const url = joinUrl(storage.url, "info");
  // An info is a few kilobytes: a stored one that is (or inflates to) more
  // than the JSON cap is refused before it fills memory.
  const maxBytes = maxJsonBytes();
  const bytes = bytesOf(await storage.get("info", { signal: opts.signal, maxBytes }));
  if (bytes === null) throw new InfoNotFoundError(url);
  if (bytes.byteLength > maxBytes)
    throw new InfoValidationError(
      [
        {
          path: "",
          rule: `is ${bytes.byteLength} bytes, more than the ${maxBytes} an info may have (raise NGPIPE_MAX_JSON_BYTES)`,
        },
      ],
      url,
    );
  return parseInfo(bytes, url);
}

/**
 * Validates and writes `<layer>/info` as CloudVolume does: uncompressed,
 * sorted keys, `Content-Type: application/json`, `Cache-Control: no-cache`.
 */
export async function writeInfo(
  storage: StorageWriter,
  info: InfoJSON,
  opts: IoOptions = {},
): Promise<void> {
  const problems = validateInfo(info);
  if (problems.length) throw new InfoValidationError(problems, joinUrl(storage.url, "info"));
  await storage.put("info", new TextEncoder().encode(formatInfo(info)), {
    contentType: "application/json",
    cacheControl: "no-cache",
    compress: false,
    signal: opts.signal,
  });
}
