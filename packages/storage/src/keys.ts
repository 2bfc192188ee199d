/**
 * Key validation. Every key that reaches a backend has passed through here, so
 * a backend can map keys to paths without ever leaving its root.
 */

import { InvalidKeyError } from "./errors";

/**
 * Checks `key` and returns its normal form: `.` segments dropped and `..`
 * segments resolved, as long as they stay inside the root.
 *
 * Rejected with {@link InvalidKeyError}: empty keys, keys starting or ending with `/`,
 * keys with a backslash or NUL (Windows separators and C-string tricks), drive
 * letters, and `..` segments that would climb out of the root.
 *
 * @example
 * normalizeKey("a/./b/../c", "file:///data"); // "a/c"
 * normalizeKey("../etc/passwd", "file:///data"); // throws InvalidKeyError
 */
export function normalizeKey(key: string, url: string): string {
  if (typeof key !== "string" || key.length === 0) {
    throw new InvalidKeyError(`empty key under ${url}`, url, String(key));
  }
  if (key.charCodeAt(0) === 47 /* / */) {
    throw new InvalidKeyError(
      `key must be relative, got absolute key "${key}" under ${url}`,
      url,
      key,
    );
  }
  if (key.charCodeAt(key.length - 1) === 47 /* / */) {
    throw new InvalidKeyError(
      `key "${key}" under ${url} ends with "/": that names a directory, not an object`,
      url,
      key,
    );
  }
  if (key.includes("\\") || key.includes("\0")) {
    throw new InvalidKeyError(
      `key "${key}" under ${url} contains a backslash or NUL; use "/" as the separator`,
      url,
      key,
    );
  }
  if (/^[a-zA-Z]:/.test(key)) {
    throw new InvalidKeyError(`key "${key}" under ${url} looks like a drive path`, url, key);
  }
  // Fast path: nothing to resolve.
  if (!key.includes(".")) return key;
  const parts = key.split("/");
  let needsWork = false;
  for (const p of parts) {
    if (p === "." || p === "..") {
      needsWork = true;
      break;
    }
  }
  if (!needsWork) return key;
  const out: string[] = [];
  for (const p of parts) {
    if (p === ".") continue;
    if (p === "..") {
      if (out.length === 0) {
        throw new InvalidKeyError(`key "${key}" climbs out of the root ${url}`, url, key);
      }
      out.pop();
      continue;
    }
    out.push(p);
  }
  const normal = out.join("/");
  if (normal.length === 0 || normal === "/") {
    throw new InvalidKeyError(`key "${key}" resolves to the root of ${url}`, url, key);
  }
  return normal;
}

/**
 * Checks a listing prefix: like a key but may be empty and may end with `/`.
 * Returns its normal form.
 */
export function normalizePrefix(prefix: string, url: string): string {
  if (prefix === "" || prefix === undefined) return "";
  const trailing = prefix.endsWith("/");
  const body = trailing ? prefix.slice(0, -1) : prefix;
  if (body === "") {
    throw new InvalidKeyError(`prefix "${prefix}" under ${url} must be relative`, url, prefix);
  }
  const normal = normalizeKey(body, url);
  return trailing ? `${normal}/` : normal;
}

/** Joins two `/`-separated prefixes, ignoring empty parts. */
export function joinPrefix(a: string, b: string): string {
  if (a === "") return b;
  if (b === "") return a;
  return a.endsWith("/") ? a + b : `${a}/${b}`;
}
