/**
 * Remap tables stored as files: a dense `.npy` array (index = old id, the
 * seed's format), a JSON object `{"old": new}`, or little-endian uint64
 * (from, to) pairs (sparse 64-bit maps). What the remap and dust stages read.
 */
import type { RemapTable } from "@ngpipe/segmentation";
import { openStorage, type Storage } from "@ngpipe/storage";
import { parseNpyHeader } from "../ingest/sources/npy";

/** A map file that is none of the formats, or is damaged. */
export class RemapMapFileError extends Error {
  override name = "RemapMapFileError";
}

/** The storage holding a file URL and the file's key in it. */
export function fileLocation(url: string): { dir: string; key: string } {
  const i = url.lastIndexOf("/");
  if (i < 0 || i === url.length - 1) throw new RemapMapFileError(`${url} does not name a file`);
  return { dir: url.slice(0, i), key: url.slice(i + 1) };
}

const DENSE = {
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
} as const;

/** Parse a map file's bytes (see the module comment); `url` names it in errors. */
export function parseRemapMap(bytes: Uint8Array, url: string): RemapTable {
  const copy = new Uint8Array(bytes);
  if (copy[0] === 0x93 && copy[1] === 0x4e) {
    let header: ReturnType<typeof parseNpyHeader>;
    try {
      header = parseNpyHeader(copy, url);
    } catch (e) {
      throw new RemapMapFileError(`${url}: ${(e as Error).message}`);
    }
    const Ctor = DENSE[header.dataType as keyof typeof DENSE];
    if (!Ctor || header.shape.length !== 1)
      throw new RemapMapFileError(
        `${url}: a dense map is a 1-D integer array (index = old id); this one is ${header.dataType} of shape (${header.shape.join(", ")})`,
      );
    const n = header.shape[0];
    if (header.dataOffset + n * Ctor.BYTES_PER_ELEMENT > copy.length)
      throw new RemapMapFileError(`${url}: truncated (${n} entries announced)`);
    return new Ctor(
      copy.buffer.slice(header.dataOffset, header.dataOffset + n * Ctor.BYTES_PER_ELEMENT),
    );
  }
  const text = new TextDecoder().decode(copy.subarray(0, 64)).trimStart();
  if (text.startsWith("{")) {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(copy));
    } catch (e) {
      throw new RemapMapFileError(`${url}: not valid JSON: ${(e as Error).message}`);
    }
    const table = new Map<bigint, bigint>();
    for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
      if (
        !/^-?\d+$/.test(k) ||
        !(typeof v === "number" ? Number.isSafeInteger(v) : /^-?\d+$/.test(String(v)))
      )
        throw new RemapMapFileError(
          `${url}: entry "${k}": ${JSON.stringify(v)} is not a whole-number id -> id`,
        );
      table.set(BigInt(k), BigInt(v as number | string));
    }
    return table;
  }
  if (copy.length % 16 === 0 && url.endsWith(".bin")) {
    const words = new Uint32Array(copy.buffer);
    const n = copy.length / 16;
    const from = new Uint32Array(2 * n);
    const to = new Uint32Array(2 * n);
    for (let i = 0; i < n; i++) {
      from[2 * i] = words[4 * i];
      from[2 * i + 1] = words[4 * i + 1];
      to[2 * i] = words[4 * i + 2];
      to[2 * i + 1] = words[4 * i + 3];
    }
    return { from: new BigUint64Array(from.buffer), to: new BigUint64Array(to.buffer) };
  }
  throw new RemapMapFileError(
    `${url} is not a remap map: expected a dense .npy array, a JSON object {"old": new}, or a .bin file of little-endian uint64 (from, to) pairs (${copy.length} bytes)`,
  );
}

/** Read and parse a map file. */
export async function readRemapMap(
  url: string,
  storage?: Storage,
  signal?: AbortSignal,
): Promise<RemapTable> {
  const { dir, key } = fileLocation(url);
  const bytes = await (storage ?? openStorage(dir)).get(key, { signal });
  if (!bytes) throw new RemapMapFileError(`${url} does not exist`);
  return parseRemapMap(bytes, url);
}
