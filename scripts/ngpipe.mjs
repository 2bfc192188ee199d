#!/usr/bin/env node
/**
 * `npm run ngpipe -- <args>` and `npm run quickstart` in the repository: run
 * the built command line (packages/cli/dist/bin.js), building first the
 * packages whose dist/ is missing or older than their sources, so that a
 * fresh clone needs only `npm install` and no TypeScript is compiled at
 * every start.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Newest modification time of the files under `dir` (0 when it does not exist). */
function newest(dir, skip = () => false) {
  if (!existsSync(dir)) return 0;
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (skip(e.name)) continue;
    t = Math.max(t, e.isDirectory() ? newest(p, skip) : statSync(p).mtimeMs);
  }
  return t;
}

/** Workspaces (in build order) whose dist/ is missing or older than src/ or their config. */
function stalePackages() {
  const { workspaces } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  return workspaces.filter((ws) => {
    const dir = join(root, ws);
    const built = join(dir, "dist", "index.js");
    if (!existsSync(built)) return true;
    const sources = Math.max(
      newest(join(dir, "src"), (name) => name.endsWith(".test.ts") || name === "__tests__"),
      ...["package.json", "tsup.config.ts"].map((f) => statSync(join(dir, f)).mtimeMs),
    );
    return sources > statSync(built).mtimeMs;
  });
}

// Generated WebAssembly modules first: a package whose assembly/ changed
// gets a newer src/wasm/ and so counts as stale below.
const wasm = spawnSync(process.execPath, [join(root, "scripts", "build-wasm.mjs")], {
  cwd: root,
  stdio: ["ignore", "ignore", "inherit"],
});
if (wasm.status !== 0) process.exit(wasm.status ?? 1);

const stale = stalePackages();
if (stale.length > 0) {
  process.stderr.write(`ngpipe: building ${stale.join(", ")} (dist/ missing or older than src/)\n`);
  for (const ws of stale) {
    const r = spawnSync("npm", ["run", "build", "--silent", "-w", ws], {
      cwd: root,
      stdio: ["ignore", "ignore", "inherit"],
    });
    if (r.status !== 0) {
      process.stderr.write(`ngpipe: building ${ws} failed; run npm run build to see why\n`);
      process.exit(r.status ?? 1);
    }
  }
}
// bin.js reads process.argv, which is already [node, this script, ...args].
await import(pathToFileURL(join(root, "packages", "cli", "dist", "bin.js")).href);
