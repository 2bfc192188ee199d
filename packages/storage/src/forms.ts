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

/** Keys of one directory a batch reads before its stored names are listed. */
const LIST_AFTER_KEYS = 8;
/** A directory with more entries than this is not listed (its keys are probed). */
const LIST_LIMIT = 65_536;

/**
 * The stored forms of many keys on a suffix backend from one directory
 * listing per directory, for the reads of one batch. A directory is listed
 * once the batch has asked for {@link LIST_AFTER_KEYS} keys in it (fewer
 * are cheaper to probe), at most {@link LIST_LIMIT} entries. A key the
 * listing does not hold reads as missing: the batch sees the directory as
 * it was when listed.
 */
export class StoredNames {
  private readonly dirs = new Map<string, { asked: number; names?: Promise<Set<string> | null> }>();

  constructor(
    private readonly list: (
      dir: string,
      limit: number,
      signal: AbortSignal | undefined,
    ) => Promise<Set<string> | null>,
  ) {}

  /**
   * The stored form of backend key `full` by the listing of its directory:
   * a form, null when none is stored, or undefined when the directory is not
   * (yet) listed and the key must be probed.
   */
  async formOf(full: string, signal?: AbortSignal): Promise<Form | null | undefined> {
    const slash = full.lastIndexOf("/");
    const dir = slash < 0 ? "" : full.slice(0, slash);
    let d = this.dirs.get(dir);
    if (d === undefined) this.dirs.set(dir, (d = { asked: 0 }));
    d.asked++;
    if (d.names === undefined) {
      if (d.asked < LIST_AFTER_KEYS) return undefined;
      // A failed listing only means probing, as without one.
      d.names = this.list(dir, LIST_LIMIT, signal).catch(() => null);
    }
    const names = await d.names;
    if (names === null) return undefined;
    const base = full.slice(slash + 1);
    for (const [suffix, codec] of FORMS) if (names.has(base + suffix)) return { suffix, codec };
    return null;
  }
}
