import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// `npm test` builds every package before jest; this checks that what would be
// published works: the ESM/CJS bundles, and the worker pool loading the
// built kernel modules (dist/kernels.js, dist/mesh-kernels.js, dist/worker.cjs).
const bin = join(__dirname, "../dist/bin.js");
const built = existsSync(bin);
if (!built) {
  if (process.env.CI === "true") throw new Error(`${bin} is missing: run npm run build first`);
  console.warn(`skipping the built-CLI test: ${bin} is missing (run npm run build)`);
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "ngpipe-dist-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

(built ? test : test.skip)(
  "the built ngpipe command runs the quickstart and describes its layers",
  () => {
    const dir = join(tmp, "qs");
    const run = spawnSync(process.execPath, [bin, "quickstart", dir, "--size", "64,64,32"], {
      encoding: "utf8",
    });
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("quickstart: done");
    const info = spawnSync(process.execPath, [bin, "info", join(dir, "segmentation")], {
      encoding: "utf8",
    });
    expect(info.status).toBe(0);
    expect(info.stdout).toMatch(/mesh: mesh/);
    const bad = spawnSync(process.execPath, [bin, "info", join(dir, "nope")], { encoding: "utf8" });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
  },
);

(built ? test : test.skip)(
  "ngpipe --help from the build leaves the heavy dependencies unloaded (they load on first use)",
  () => {
    // A preload that records every module the start required, so the check is
    // about what loads, not about how long it takes.
    const hook = join(tmp, "record-modules.cjs");
    const loaded = join(tmp, "loaded.json");
    writeFileSync(
      hook,
      `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(loaded)}, JSON.stringify(Object.keys(require.cache))));\n`,
    );
    const run = spawnSync(process.execPath, ["--require", hook, bin, "--help"], {
      encoding: "utf8",
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/Usage: ngpipe/);
    const files: string[] = JSON.parse(readFileSync(loaded, "utf8"));
    expect(files.some((f) => f.includes("commander"))).toBe(true);
    for (const dep of ["@aws-sdk", "piscina", "jpeg-js", "utif", "cli-progress", "tsx"])
      expect(files.filter((f) => f.includes(`node_modules/${dep}/`))).toEqual([]);
  },
);
