import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStorage } from "@ngpipe/storage";
import { captureOutput } from "./capture.testutil";
import { main } from "./program";

let tmp: string;
let out = "";
let err = "";
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "ngpipe-files-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
captureOutput({
  reset: () => {
    out = "";
    err = "";
  },
  out: (s) => {
    out += s;
  },
  err: (s) => {
    err += s;
  },
});

const ngpipe = (...args: string[]) => main(["node", "ngpipe", ...args]);

test("ls, cp -r, cat, du and rm work across file:// and mem://, keeping stored compression", async () => {
  const src = openStorage(join(tmp, "src"));
  await src.put("info", '{"a": 1}', { contentType: "application/json" });
  await src.put("1_1_1/0-8_0-8_0-8", new Uint8Array(1000).fill(7), { compress: "gzip" });
  await src.put("1_1_1/8-16_0-8_0-8", new Uint8Array(1000).fill(8), { compress: "gzip" });

  expect(await ngpipe("ls", join(tmp, "src"))).toBe(0);
  expect(out.trim().split("\n")).toEqual([
    `file://${join(tmp, "src")}/1_1_1/`,
    `file://${join(tmp, "src")}/info`,
  ]);
  out = "";
  expect(await ngpipe("ls", "-r", join(tmp, "src"))).toBe(0);
  expect(out.trim().split("\n")).toHaveLength(3);

  expect(await ngpipe("cp", "-r", join(tmp, "src"), "mem://files-test/copy")).toBe(0);
  const copy = openStorage("mem://files-test/copy");
  expect(await copy.get("1_1_1/8-16_0-8_0-8")).toEqual(new Uint8Array(1000).fill(8));
  expect((await copy.head("1_1_1/8-16_0-8_0-8"))?.contentEncoding).toBe("gzip");

  out = "";
  expect(await ngpipe("cat", "mem://files-test/copy/info")).toBe(0);
  expect(out).toBe('{"a": 1}');

  out = "";
  expect(await ngpipe("du", join(tmp, "src"))).toBe(0);
  expect(out).toMatch(/\t3 object\(s\)\t/);

  expect(await ngpipe("cp", join(tmp, "src", "info"), `${join(tmp, "one")}/`)).toBe(0);
  expect(readdirSync(join(tmp, "one"))).toEqual(["info"]);
  // An existing directory without the trailing slash: into it, as cp does.
  expect(await ngpipe("cp", join(tmp, "src", "1_1_1", "0-8_0-8_0-8"), join(tmp, "one"))).toBe(0);
  expect(readdirSync(join(tmp, "one")).sort()).toEqual(["0-8_0-8_0-8.gz", "info"]);

  expect(await ngpipe("rm", join(tmp, "src", "1_1_1"))).toBe(2);
  expect(err).toMatch(/use -r for a directory/);
  expect(await ngpipe("rm", "-r", join(tmp, "src", "1_1_1"))).toBe(0);
  expect(await src.exists("1_1_1/0-8_0-8_0-8")).toBe(false);
  expect(await src.exists("info")).toBe(true);
  expect(await ngpipe("rm", "-r", join(tmp, "src", "info"))).toBe(0);
  expect(await src.exists("info")).toBe(false);
  expect(await ngpipe("rm", "-r", join(tmp, "src", "gone"))).toBe(2);
  expect(err).toMatch(/nothing at/);
});
