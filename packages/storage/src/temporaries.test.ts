/**
 * Temporary files of killed writes (file://): never listed or read, found by
 * `temporaries`, removed by the first write into their directory once older
 * than STALE_TEMP_MS, and removed with the objects they were written for.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileBackend, STALE_TEMP_MS } from "./file";
import { Storage } from "./storage";

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "ngpipe-temporaries-"));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** A temporary as a killed writer leaves it, `ageMs` old. */
function leftover(dir: string, name: string, ageMs: number): void {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, name);
  writeFileSync(p, "half a chunk");
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(p, t, t);
}

test("temporaries are never listed nor read, and are found by temporaries()", async () => {
  const s = new Storage(new FileBackend(tmp));
  await s.put("scale/0-64_0-64_0-64", new Uint8Array([1]));
  leftover(join(tmp, "scale"), ".0-64_0-64_0-64.ngpipe-4242-7.tmp", 0);
  leftover(join(tmp, "scale"), ".ngpipe-4242-8.tmp", 0);
  const listed: string[] = [];
  for await (const k of s.list("", { recursive: true })) listed.push(k);
  expect(listed).toEqual(["scale/0-64_0-64_0-64"]);
  const temps = [];
  for await (const t of s.child("scale").temporaries()) temps.push(t);
  expect(temps.map((t) => [t.key, t.of, t.size])).toEqual([
    [".0-64_0-64_0-64.ngpipe-4242-7.tmp", "0-64_0-64_0-64", 12],
    [".ngpipe-4242-8.tmp", undefined, 12],
  ]);
});

test("the first write into a directory removes temporaries older than the lease, and only those", async () => {
  const dir = join(tmp, "layer", "1_1_1");
  leftover(dir, ".0-64_0-64_0-64.ngpipe-1-0.tmp", STALE_TEMP_MS + 60_000);
  leftover(dir, ".ngpipe-1-1.tmp", STALE_TEMP_MS + 60_000);
  leftover(dir, ".64-128_0-64_0-64.ngpipe-2-0.tmp", 1000); // a write in progress
  const s = new Storage(new FileBackend(join(tmp, "layer")));
  await s.put("1_1_1/0-64_0-64_0-64", new Uint8Array([1]));
  expect(readdirSync(dir).sort()).toEqual([".64-128_0-64_0-64.ngpipe-2-0.tmp", "0-64_0-64_0-64"]);
});

test("removeTemporaries removes those of the given keys, whatever their age", async () => {
  const s = new Storage(new FileBackend(tmp));
  const dir = join(tmp, "2_2_1");
  leftover(dir, ".0-32_0-32_0-64.ngpipe-9-0.tmp", 0);
  leftover(dir, ".0-32_0-32_0-64.ngpipe-9-1.tmp", 0);
  leftover(dir, ".32-64_0-32_0-64.ngpipe-9-2.tmp", 0);
  expect(await s.removeTemporaries(["2_2_1/0-32_0-32_0-64"])).toBe(2);
  expect(readdirSync(dir)).toEqual([".32-64_0-32_0-64.ngpipe-9-2.tmp"]);
});
