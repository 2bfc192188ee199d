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
 * it was when listed. `getMany` on a backend with `getCall` reads bare
 * keys first and asks here only once one is missing ({@link bareFirst}).
 */
export class StoredNames {
  private readonly dirs = new Map<
    string,
    {
      asked: number;
      listing?: Promise<Set<string> | null>;
      /** The listing once it has settled (null: not listable, probe). */
      names?: Set<string> | null;
      /** A bare read in this directory found nothing (see {@link bareFirst}). */
      missedBare?: boolean;
    }
  >();

  constructor(
    private readonly list: (
      dir: string,
      limit: number,
      signal: AbortSignal | undefined,
    ) => Promise<Set<string> | null>,
  ) {}

  /**
   * Whether a batch read of backend key `full` should read the bare key at
   * once instead of asking {@link formOf}: until a bare read in its
   * directory finds nothing ({@link missedBare}), and while the directory is
   * not listed. Bare keys are the first form `get` looks for, so a hit is
   * the object `get` returns; a volume stored uncompressed is then read
   * with no listing at all.
   */
  bareFirst(full: string): boolean {
    const slash = full.lastIndexOf("/");
    const d = this.dirs.get(slash < 0 ? "" : full.slice(0, slash));
    return d === undefined || (d.missedBare !== true && d.listing === undefined);
  }

  /** Records that the bare read of backend key `full` found nothing: its directory's keys are now looked up by {@link formOf}. */
  missedBare(full: string): void {
    const slash = full.lastIndexOf("/");
    const dir = slash < 0 ? "" : full.slice(0, slash);
    const d = this.dirs.get(dir);
    if (d === undefined) this.dirs.set(dir, { asked: 0, missedBare: true });
    else d.missedBare = true;
  }

  /**
   * The stored form of backend key `full` by the listing of its directory:
   * a form, null when none is stored, or undefined when the directory is not
   * (yet) listed and the key must be probed. Synchronous once the listing
   * has settled (every key of a batch but the first few), so the hot path
   * of a batch read waits on no promise here.
   */
  formOf(
    full: string,
    signal?: AbortSignal,
  ): Form | null | undefined | Promise<Form | null | undefined> {
    const slash = full.lastIndexOf("/");
    const dir = slash < 0 ? "" : full.slice(0, slash);
    let d = this.dirs.get(dir);
    if (d === undefined) this.dirs.set(dir, (d = { asked: 0 }));
    if (d.names !== undefined) return d.names === null ? undefined : formIn(d.names, full, slash);
    d.asked++;
    let listing = d.listing;
    if (listing === undefined) {
      if (d.asked < LIST_AFTER_KEYS) return undefined;
      const entry = d;
      // A failed listing only means probing, as without one.
      listing = entry.listing = this.list(dir, LIST_LIMIT, signal).then(
        (names) => (entry.names = names),
        () => (entry.names = null),
      );
    }
    return listing.then((names) => (names === null ? undefined : formIn(names, full, slash)));
  }
}

/** {@link FORMS} as shared, read-only {@link Form}s. */
const FORM_OBJECTS: readonly Form[] = FORMS.map(([suffix, codec]) =>
  Object.freeze({ suffix, codec }),
);

/** The first stored form of `full` (whose last `/` is at `slash`) among a directory's names. */
function formIn(names: Set<string>, full: string, slash: number): Form | null {
  const base = full.slice(slash + 1);
  for (const form of FORM_OBJECTS) if (names.has(base + form.suffix)) return form;
  return null;
}
