#!/usr/bin/env node
/**
 * Build the API reference of every @ngpipe package (each folder of packages/)
 * with TypeDoc into docs/api/ (HTML; generated, not committed).
 *
 *   node scripts/api-docs.mjs            # or: npm run docs:api
 *   node scripts/api-docs.mjs --json     # also write docs/api/api.json
 *   node scripts/api-docs.mjs --strict   # fail on TypeDoc warnings
 *   node scripts/api-docs.mjs --out DIR  # somewhere else
 *
 * Each package's public API is what its src/index.ts exports. TypeDoc names
 * a module after its entry file's path, so the script writes one tiny entry
 * per package, `.tmp/api-docs/@ngpipe/<name>.ts`, that re-exports the
 * package's index under the package's own name and description, and runs
 * TypeDoc over those with the repository's tsconfig (so `@ngpipe/*` imports
 * resolve to the sources; no build needed).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
// Every workspace package, so a new one is documented without editing this list.
const packages = readdirSync(join(root, "packages"))
  .filter((name) => existsSync(join(root, "packages", name, "package.json")))
  .sort();
const work = join(root, ".tmp", "api-docs");
const outArg = process.argv.indexOf("--out");
const out = outArg > 0 ? resolve(process.argv[outArg + 1]) : join(root, "docs", "api");

rmSync(work, { recursive: true, force: true });
mkdirSync(join(work, "@ngpipe"), { recursive: true });
const entryPoints = packages.map((name) => {
  const pkg = JSON.parse(readFileSync(join(root, "packages", name, "package.json"), "utf8"));
  const file = join(work, "@ngpipe", `${name}.ts`);
  const index = relative(dirname(file), join(root, "packages", name, "src", "index")).replace(
    /\\/g,
    "/",
  );
  writeFileSync(
    file,
    `/**\n * ${pkg.description}.\n *\n * \`npm install ${pkg.name}\`\n *\n * @module ${pkg.name}\n */\nexport * from "${index}";\n`,
  );
  return file;
});
// Subpath entry points: @ngpipe/storage/testing (the loopback test servers).
{
  mkdirSync(join(work, "@ngpipe", "storage"), { recursive: true });
  const file = join(work, "@ngpipe", "storage", "testing.ts");
  const index = relative(
    dirname(file),
    join(root, "packages", "storage", "src", "testing", "index"),
  ).replace(/\\/g, "/");
  writeFileSync(
    file,
    `/**\n * Loopback servers for testing code that talks to the clouds (GCS JSON API, a fault-injecting proxy, a static file server).\n *\n * @module @ngpipe/storage/testing\n */\nexport * from "${index}";\n`,
  );
  entryPoints.push(file);
}

writeFileSync(
  join(work, "tsconfig.json"),
  JSON.stringify(
    {
      extends: relative(work, join(root, "tsconfig.json")),
      compilerOptions: { noEmit: true },
      // Ambient declarations (e.g. for untyped dependencies) live beside the sources.
      include: ["@ngpipe/**/*.ts", relative(work, join(root, "packages/*/src/**/*.d.ts"))],
    },
    null,
    2,
  ),
);

// Source links point at the git remote; a clone without one gets no links.
const hasRemote =
  spawnSync("git", ["remote", "get-url", "origin"], { cwd: root, stdio: "ignore" }).status === 0;

const options = {
  $schema: "https://typedoc.org/schema.json",
  name: "ngpipe API reference",
  entryPoints,
  entryPointStrategy: "resolve",
  tsconfig: join(work, "tsconfig.json"),
  out,
  readme: "none",
  // Type errors are `npm run typecheck`'s job; the reference still builds.
  skipErrorChecking: true,
  excludePrivate: true,
  excludeInternal: true,
  excludeExternals: true,
  sort: ["kind", "alphabetical"],
  disableSources: !hasRemote,
  treatWarningsAsErrors: process.argv.includes("--strict"),
  validation: { notExported: true, invalidLink: true, notDocumented: false },
  ...(process.argv.includes("--json") ? { json: join(out, "api.json") } : {}),
};
writeFileSync(join(work, "typedoc.json"), JSON.stringify(options, null, 2));

const bin = join(root, "node_modules", "typedoc", "bin", "typedoc");
const r = spawnSync(process.execPath, [bin, "--options", join(work, "typedoc.json")], {
  cwd: root,
  stdio: "inherit",
});
if (r.status === 0) {
  // Generated pages stay out of git and out of biome's lint, with no change
  // to the repository's own ignore lists.
  writeFileSync(join(out, ".gitignore"), "*\n");
  writeFileSync(
    join(out, "biome.json"),
    `${JSON.stringify({ root: false, files: { includes: ["!**"] } }, null, 2)}\n`,
  );
  console.log(`API reference: ${relative(root, join(out, "index.html"))}`);
}
process.exit(r.status ?? 1);
