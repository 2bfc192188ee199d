/** Reading and writing the `info` object of a layer through storage. */
import type { IoOptions } from "@ngpipe/storage";
import { InfoNotFoundError, InfoValidationError } from "./errors";
import { formatInfo, type InfoJSON, parseInfo, validateInfo } from "./info";
import { bytesOf, joinUrl, type StorageReader, type StorageWriter } from "./store";

/**
 * Reads and validates `<layer>/info`. Throws `InfoNotFoundError` naming the
 * URL when it is missing and `InfoValidationError` when it breaks the spec.
 *
 * @example
 * const info = await readInfo(await openStorage("gs://bucket/layer"));
 */
export async function readInfo(storage: StorageReader, opts: IoOptions = {}): Promise<InfoJSON> {
  const url = joinUrl(storage.url, "info");
  const bytes = bytesOf(await storage.get("info", { signal: opts.signal }));
  if (bytes === null) throw new InfoNotFoundError(url);
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
