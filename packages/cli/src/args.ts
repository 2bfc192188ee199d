/** Parsing of command-line values into what the packages take. */
import { resolve } from "node:path";
import { Bbox, DATA_TYPES, type DataType, getCodec, type Vec3 } from "@ngpipe/precomputed";
import { UsageError } from "./errors";

const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** `4,4,40` or `4x4x40` → [4, 4, 40]. */
export function parseVec3(text: string, what = "value"): Vec3 {
  const parts = text.split(/[,x]/).map((p) => Number(p.trim()));
  if (parts.length !== 3 || parts.some((n) => !Number.isFinite(n))) {
    throw new UsageError(`${what} must be three numbers like 64,64,64; got "${text}"`);
  }
  return [parts[0], parts[1], parts[2]];
}

/** Like {@link parseVec3}, but each number must be a whole number ≥ 1 (chunk and task shapes). */
export function parseShape(text: string, what = "value"): Vec3 {
  const v = parseVec3(text, what);
  if (v.some((n) => !Number.isInteger(n) || n < 1))
    throw new UsageError(`${what} must be three whole numbers ≥ 1 like 64,64,64; got "${text}"`);
  return v;
}

/** `x0-x1_y0-y1_z0-z1` or `x0,y0,z0:x1,y1,z1` → Bbox. */
export function parseBbox(text: string): Bbox {
  try {
    if (text.includes(":")) {
      const [a, b] = text.split(":");
      return new Bbox(parseVec3(a, "bbox min"), parseVec3(b, "bbox max"));
    }
    return Bbox.parseChunkName(text);
  } catch (e) {
    throw new UsageError(
      `bad bbox "${text}": use x0-x1_y0-y1_z0-z1 or x0,y0,z0:x1,y1,z1 (${(e as Error).message})`,
    );
  }
}

/** A whole number in [min, max]. */
export function parseIntArg(text: string, what: string, min = 0, max = Infinity): number {
  const n = Number(text);
  if (String(text).trim() === "" || !Number.isInteger(n) || n < min || n > max)
    throw new UsageError(
      max === Infinity
        ? `${what} must be a whole number ≥ ${min}; got "${text}"`
        : `${what} must be a whole number from ${min} to ${max}; got "${text}"`,
    );
  return n;
}

/** A finite number ≥ min. */
export function parseNumberArg(text: string, what: string, min = 0): number {
  const n = Number(text);
  if (String(text).trim() === "" || !Number.isFinite(n) || n < min)
    throw new UsageError(`${what} must be a number ≥ ${min}; got "${text}"`);
  return n;
}

/** One of the precomputed data types (uint8 .. float64). */
export function parseDataType(text: string, what = "--dtype"): DataType {
  if (!(DATA_TYPES as string[]).includes(text))
    throw new UsageError(`${what} must be one of ${DATA_TYPES.join(", ")}; got "${text}"`);
  return text as DataType;
}

/** A chunk encoding the codec registry knows (raw, compressed_segmentation, ...). */
export function parseEncoding(text: string, what = "--encoding"): string {
  try {
    getCodec(text);
  } catch (e) {
    throw new UsageError(`${what}: ${(e as Error).message}`);
  }
  return text;
}

/**
 * A storage URL from a command-line location: URLs pass through, bare paths
 * become absolute file:// URLs (task payloads must not depend on the cwd).
 * The path is not percent-encoded: `@ngpipe/storage` reads everything after
 * `file://` as the path itself, so `my data/layer` must stay `my data/layer`.
 */
export function toUrl(location: string, cwd = process.cwd()): string {
  // Neuroglancer's form (precomputed://gs://..., precomputed://./path).
  const bare = location.replace(/^precomputed:\/\//i, "");
  if (URL_SCHEME.test(bare)) return bare;
  return `file://${resolve(cwd, bare)}`;
}

/**
 * An ingest source from the command line or a pipeline spec: remote URLs
 * pass through; a local path (bare or file://, relative to `cwd`) becomes a
 * plain absolute path, unencoded, keeping a `#/dataset` suffix as it is.
 */
export function toSourcePath(source: string, cwd = process.cwd()): string {
  if (URL_SCHEME.test(source) && !/^file:\/\//i.test(source)) return source;
  const local = source.replace(/^file:\/\//i, "");
  const hash = local.indexOf("#");
  if (hash < 0) return resolve(cwd, local);
  return `${resolve(cwd, local.slice(0, hash))}${local.slice(hash)}`;
}

const COMPRESSIONS = ["gzip", "br", "none"];

/** `--compress`: transport compression of the chunks written. */
export function parseCompress(text: string | undefined): "gzip" | "br" | "none" | undefined {
  if (text === undefined) return undefined;
  if (!COMPRESSIONS.includes(text))
    throw new UsageError(`--compress must be one of ${COMPRESSIONS.join(", ")}; got "${text}"`);
  return text as "gzip" | "br" | "none";
}
