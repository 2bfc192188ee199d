/**
 * An empty project with the packed @ngpipe tarballs installed, offline. npm
 * resolves dependencies from registry metadata, which the npm cache may not
 * hold; so the project gets a lockfile instead: our tarballs (by path and
 * integrity) plus every production dependency of the workspace exactly as
 * the workspace's package-lock.json pins it, and `npm ci --offline` takes
 * the dependency tarballs from the cache by their integrity.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

/** A finished command's output; throws with both streams when it failed. */
export function run(cmd: string, args: string[], cwd: string): { stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, npm_config_update_notifier: "false" },
  });
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(" ")} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`,
    );
  return { stdout: r.stdout, stderr: r.stderr };
}

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dev?: boolean;
  devOptional?: boolean;
  name?: string;
  dependencies?: Record<string, string>;
  [field: string]: unknown;
}

/** `npm pack` every workspace into `dir`; returns the tarballs' file names by package name. */
export function packWorkspaces(root: string, dir: string): Map<string, string> {
  mkdirSync(dir, { recursive: true });
  run("npm", ["pack", "--workspaces", "--pack-destination", dir, "--silent"], root);
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
  const out = new Map<string, string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".tgz"))) {
    const ws = Object.entries(lock.packages as Record<string, LockEntry>).find(
      ([path, e]) =>
        path.startsWith("packages/") &&
        e.name &&
        file === `${e.name.replace("@", "").replace("/", "-")}-${e.version}.tgz`,
    );
    if (ws?.[1].name) out.set(ws[1].name, file);
  }
  return out;
}

/**
 * The registry URL of a locked package's tarball. Lockfiles written without
 * `resolved` make npm ask the registry for the package's metadata, which an
 * offline install may not have cached; with the URL and the integrity it
 * takes the tarball from the cache directly.
 */
function registryTarball(path: string, e: LockEntry): string {
  const name = e.name ?? path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
  const base = name.slice(name.lastIndexOf("/") + 1);
  return `https://registry.npmjs.org/${name}/-/${base}-${e.version}.tgz`;
}

/**
 * Write `project/package.json` depending on every tarball and a lockfile
 * pinning everything, then `npm ci --offline` there.
 */
export function installOffline(
  root: string,
  project: string,
  tarDir: string,
  tarballs: Map<string, string>,
): void {
  mkdirSync(project, { recursive: true });
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
  const entries = lock.packages as Record<string, LockEntry>;
  const dependencies: Record<string, string> = {};
  const packages: Record<string, LockEntry> = {};
  const workspaceDir = new Map<string, string>();
  for (const [name, file] of tarballs) {
    const spec = `file:${relative(project, join(tarDir, file))}`;
    dependencies[name] = spec;
    const wsPath = Object.keys(entries).find(
      (p) => p.startsWith("packages/") && entries[p].name === name,
    ) as string;
    workspaceDir.set(wsPath, `node_modules/${name}`);
    const { name: _name, ...ws } = entries[wsPath];
    const bytes = readFileSync(join(tarDir, file));
    packages[`node_modules/${name}`] = {
      ...ws,
      resolved: spec,
      integrity: `sha512-${createHash("sha512").update(bytes).digest("base64")}`,
    };
  }
  for (const [path, e] of Object.entries(entries)) {
    if (path === "" || e.link || e.dev || e.devOptional || workspaceDir.has(path)) continue;
    // Dependencies nested under a workspace (packages/cli/node_modules/x)
    // sit under the installed package in the project.
    const ws = [...workspaceDir.keys()].find((w) => path.startsWith(`${w}/`));
    const at = ws ? `${workspaceDir.get(ws)}${path.slice(ws.length)}` : path;
    packages[at] = e.resolved || !e.version ? e : { ...e, resolved: registryTarball(path, e) };
  }
  const pkg = { name: "ngpipe-consumer", version: "1.0.0", private: true, dependencies };
  writeFileSync(join(project, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  writeFileSync(
    join(project, "package-lock.json"),
    `${JSON.stringify(
      {
        name: pkg.name,
        version: pkg.version,
        lockfileVersion: 3,
        requires: true,
        packages: { "": { ...pkg, private: undefined }, ...packages },
      },
      null,
      2,
    )}\n`,
  );
  run("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], project);
}
