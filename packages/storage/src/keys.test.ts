import { InvalidKeyError } from "./errors";
import { joinPrefix, normalizeKey, normalizePrefix } from "./keys";

const url = "file:///data";

test("plain keys pass through unchanged", () => {
  for (const k of [
    "info",
    "1_1_1/0-64_0-64_0-64",
    "mesh/12:0",
    "a.b/c..d",
    "..hidden",
    "x..",
    "a/.b",
  ]) {
    expect(normalizeKey(k, url)).toBe(k);
  }
});

test("dot segments resolve inside the root", () => {
  expect(normalizeKey("a/./b", url)).toBe("a/b");
  expect(normalizeKey("a/b/../c", url)).toBe("a/c");
  expect(normalizeKey("./a", url)).toBe("a");
});

test.each([
  ["", "empty"],
  ["/etc/passwd", "absolute"],
  ["..", "parent"],
  ["../x", "parent"],
  ["a/../../x", "climbs out after descending"],
  ["a/..", "resolves to the root itself"],
  ["a\\..\\..\\x", "backslash separators"],
  ["a\0b", "NUL byte"],
  ["C:/windows", "drive letter"],
  ["dir/", "trailing slash (a directory)"],
])("%j is refused (%s)", (key) => {
  const err = (() => {
    try {
      normalizeKey(key, url);
    } catch (e) {
      return e as InvalidKeyError;
    }
  })();
  expect(err).toBeInstanceOf(InvalidKeyError);
  expect(err!.url).toBe(url);
  expect(err!.message).toContain(url);
});

test("prefixes may be empty or end with a slash", () => {
  expect(normalizePrefix("", url)).toBe("");
  expect(normalizePrefix("a/b/", url)).toBe("a/b/");
  expect(normalizePrefix("a/./b", url)).toBe("a/b");
  expect(() => normalizePrefix("/", url)).toThrow(InvalidKeyError);
  expect(() => normalizePrefix("../", url)).toThrow(InvalidKeyError);
});

test("joinPrefix joins with exactly one slash", () => {
  expect(joinPrefix("", "b")).toBe("b");
  expect(joinPrefix("a", "")).toBe("a");
  expect(joinPrefix("a", "b")).toBe("a/b");
  expect(joinPrefix("a/", "b")).toBe("a/b");
});
