/** Parsing of command-line values into what the packages take. */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Bbox, type Vec3 } from "@ngpipe/precomputed";
import { UsageError } from "./errors";

/** `4,4,40` or `4x4x40` → [4, 4, 40]. */
export function parseVec3(text: string, what = "value"): Vec3 {
  const parts = text.split(/[,x]/).map((p) => Number(p.trim()));
  if (parts.length !== 3 || parts.some((n) => !Number.isFinite(n))) {
    throw new UsageError(`${what} must be three numbers like 64,64,64; got "${text}"`);
  }
  return [parts[0], parts[1], parts[2]];
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

/** A whole number ≥ min. */
export function parseIntArg(text: string, what: string, min = 0): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${what} must be a whole number ≥ ${min}; got "${text}"`);
  return n;
}

/**
 * A storage URL from a command-line location: URLs pass through, bare paths
 * become absolute file:// URLs (task payloads must not depend on the cwd).
 */
export function toUrl(location: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return location;
  return pathToFileURL(isAbsolute(location) ? location : resolve(location)).href;
}
