import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { openStorage } from "@ngpipe/storage";
import { cliTestbed } from "./capture.testutil";

const cli = cliTestbed("ngpipe-files-", { quiet: false });
const { ngpipe } = cli;
beforeAll(() => {});
afterAll(() => rmSync(cli.tmp, { recursive: true, force: true }));

test("ls, cp -r, cat, du and rm work across file:// and mem://, keeping stored compression", async () => {
  const src = openStorage(join(cli.tmp, "src"));
  await src.put("info", '{"a": 1}', { contentType: "application/json" });
  await src.put("1_1_1/0-8_0-8_0-8", new Uint8Array(1000).fill(7), { compress: "gzip" });
  await src.put("1_1_1/8-16_0-8_0-8", new Uint8Array(1000).fill(8), { compress: "gzip" });

  expect(await ngpipe("ls", join(cli.tmp, "src"))).toBe(0);
  expect(cli.out.trim().split("\n")).toEqual([
    `file://${join(cli.tmp, "src")}/1_1_1/`,
    `file://${join(cli.tmp, "src")}/info`,
  ]);
  cli.clear();
  expect(await ngpipe("ls", "-r", join(cli.tmp, "src"))).toBe(0);
  expect(cli.out.trim().split("\n")).toHaveLength(3);

  expect(await ngpipe("cp", "-r", join(cli.tmp, "src"), "mem://files-test/copy")).toBe(0);
  const copy = openStorage("mem://files-test/copy");
  expect(await copy.get("1_1_1/8-16_0-8_0-8")).toEqual(new Uint8Array(1000).fill(8));
  expect((await copy.head("1_1_1/8-16_0-8_0-8"))?.contentEncoding).toBe("gzip");

  cli.clear();
  expect(await ngpipe("cat", "mem://files-test/copy/info")).toBe(0);
  expect(cli.out).toBe('{"a": 1}');

  cli.clear();
  expect(await ngpipe("du", join(cli.tmp, "src"))).toBe(0);
  expect(cli.out).toMatch(/\t3 object\(s\)\t/);

  expect(await ngpipe("cp", join(cli.tmp, "src", "info"), `${join(cli.tmp, "one")}/`)).toBe(0);
  expect(readdirSync(join(cli.tmp, "one"))).toEqual(["info"]);
  // An existing directory without the trailing slash: into it, as cp does.
  expect(
    await ngpipe("cp", join(cli.tmp, "src", "1_1_1", "0-8_0-8_0-8"), join(cli.tmp, "one")),
  ).toBe(0);
  expect(readdirSync(join(cli.tmp, "one")).sort()).toEqual(["0-8_0-8_0-8.gz", "info"]);

  expect(await ngpipe("rm", join(cli.tmp, "src", "1_1_1"))).toBe(2);
  expect(cli.err).toMatch(/use -r for a directory/);
  expect(await ngpipe("rm", "-r", join(cli.tmp, "src", "1_1_1"))).toBe(0);
  expect(await src.exists("1_1_1/0-8_0-8_0-8")).toBe(false);
  expect(await src.exists("info")).toBe(true);
  expect(await ngpipe("rm", "-r", join(cli.tmp, "src", "info"))).toBe(0);
  expect(await src.exists("info")).toBe(false);
  expect(await ngpipe("rm", "-r", join(cli.tmp, "src", "gone"))).toBe(2);
  expect(cli.err).toMatch(/nothing at/);
});
