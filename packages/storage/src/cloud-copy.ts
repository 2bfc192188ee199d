/** Copy between backends of different kinds or services, through this process. */
import { StorageError } from "./errors";
import type { Backend, IoOptions } from "./types";

/**
 * Copy the stored bytes of `srcKey` to `dst` through this process, keeping
 * Content-Encoding, type and cache control. A missing source is skipped.
 */
export async function copyStored(
  src: Backend,
  srcKey: string,
  dst: Backend,
  dstKey: string,
  opts: IoOptions = {},
): Promise<void> {
  const got = await src.get(srcKey, opts);
  if (!got) {
    throw new StorageError(`copy ${src.url}/${srcKey}: no such object`, src.url, srcKey);
  }
  const { info } = got;
  await dst.put(dstKey, got.data, {
    signal: opts.signal,
    ...(info.contentEncoding ? { contentEncoding: info.contentEncoding } : {}),
    ...(info.contentType ? { contentType: info.contentType } : {}),
    ...(info.cacheControl ? { cacheControl: info.cacheControl } : {}),
  });
}
