/**
 * The stored forms of a key on backends without Content-Encoding metadata
 * (file, mem, http): `key`, `key.gz`, `key.br`, `key.zstd`, `key.zst`, and the
 * version tokens that say which form a version belongs to.
 */

import { COMPRESSION_SUFFIXES } from "./compression";
import { RequestError } from "./errors";
import type { Compression } from "./types";

/** Stored forms of a key on suffix backends, in the order `get` tries them. */
export const FORMS: ReadonlyArray<readonly [suffix: string, codec: Compression | undefined]> = [
  ["", undefined],
  ...COMPRESSION_SUFFIXES,
];

/** A found stored form of a key. */
export interface Form {
  suffix: string;
  codec: Compression | undefined;
}

/** Version tokens on suffix backends name the stored form: `.gz:<backend version>`. */
export function tagVersion(version: string | undefined, suffix: string): string | undefined {
  return version === undefined || suffix === "" ? version : `${suffix}:${version}`;
}

/** Splits a version token into the stored form's suffix and the backend's version. */
export function untagVersion(token: string): [suffix: string, version: string] {
  for (const [suffix] of COMPRESSION_SUFFIXES) {
    if (token.startsWith(`${suffix}:`)) return [suffix, token.slice(suffix.length + 1)];
  }
  return ["", token];
}

/** The error of a ranged read of a compressed object. */
export function compressedRangeError(url: string, key: string, codec: Compression): RequestError {
  return new RequestError(
    `cannot read a byte range of ${key} under ${url}: it is stored ${codec}-compressed, and ranges ` +
      "of compressed objects are meaningless; store objects read by range (e.g. shards) uncompressed",
    url,
    key,
    undefined,
  );
}
