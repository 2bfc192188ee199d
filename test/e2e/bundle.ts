/**
 * Finding what the Neuroglancer end-to-end test needs: Debian's chromium and
 * the Neuroglancer viewer bundle (`package/dist/min` of the npm package
 * `@janelia-flyem/neuroglancer`), fetched once with `npm pack` into the
 * git-ignored `.tmp/neuroglancer` of the repository.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

/** The repository root. */
export const REPO = resolve(__dirname, "../..");
/** Where the viewer bundle is kept between runs. */
export const BUNDLE_DIR = join(REPO, ".tmp", "neuroglancer");
/** The viewer's static files (index.html, main.bundle.js, ...). */
export const VIEWER_DIR = join(BUNDLE_DIR, "package", "dist", "min");
/** Debian's chromium, unless the environment variable CHROMIUM_PATH names another. */
export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/** The path of chromium, or why it is missing. */
export function findChromium(): { path: string } | { missing: string } {
  return existsSync(CHROMIUM)
    ? { path: CHROMIUM }
    : { missing: `${CHROMIUM} not found (apt-get install -y chromium)` };
}

/**
 * The viewer directory, fetching the bundle with `npm pack` if it is not there
 * yet (extracted to a temporary directory, then renamed into place, so an
 * interrupted run never leaves half a bundle), or why it could not be had.
 */
export function ensureViewerBundle(): { dir: string } | { missing: string } {
  if (existsSync(join(VIEWER_DIR, "index.html"))) return { dir: VIEWER_DIR };
  mkdirSync(join(REPO, ".tmp"), { recursive: true });
  const work = mkdtempSync(join(REPO, ".tmp", "neuroglancer-"));
  try {
    execFileSync("npm", ["pack", "@janelia-flyem/neuroglancer", "--pack-destination", work], {
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 120_000,
    });
    const tgz = readdirSync(work).find((f) => f.endsWith(".tgz"));
    if (!tgz) return { missing: `npm pack @janelia-flyem/neuroglancer left no tarball in ${work}` };
    execFileSync("tar", ["xzf", join(work, tgz), "-C", work, "package/dist/min"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    rmSync(join(work, tgz));
    if (!existsSync(join(VIEWER_DIR, "index.html"))) {
      rmSync(BUNDLE_DIR, { recursive: true, force: true });
      renameSync(work, BUNDLE_DIR);
    }
    return { dir: VIEWER_DIR };
  } catch (e) {
    // Another test run may have put a complete bundle in place meanwhile.
    if (existsSync(join(VIEWER_DIR, "index.html"))) return { dir: VIEWER_DIR };
    const err = e as Error & { stderr?: Buffer };
    const detail = err.stderr?.toString().trim().split("\n").pop() ?? err.message;
    return { missing: `could not fetch @janelia-flyem/neuroglancer with npm pack: ${detail}` };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** What an end-to-end test in the browser needs, or why it cannot run. */
export interface ViewerEnvironment {
  /** chromium's path, when found. */
  chromium?: string;
  /** The viewer bundle's directory, when had. */
  viewerDir?: string;
  /** Why the test cannot run ("" when it can). */
  missing: string;
  /** `test`, or `test.skip` (the reason printed) when something is missing outside CI, where it is a failure. */
  e2e: jest.It;
}

/** Finds chromium and the viewer bundle for the end-to-end test named `what`. */
export function viewerEnvironment(what: string): ViewerEnvironment {
  const browser = findChromium();
  const bundle = "path" in browser ? ensureViewerBundle() : undefined;
  const missing =
    "missing" in browser ? browser.missing : bundle && "missing" in bundle ? bundle.missing : "";
  const inCi = process.env.CI === "true";
  if (missing && !inCi) process.stderr.write(`skipping the ${what} end-to-end test: ${missing}\n`);
  return {
    chromium: "path" in browser ? browser.path : undefined,
    viewerDir: bundle && "dir" in bundle ? bundle.dir : undefined,
    missing,
    e2e: missing && !inCi ? test.skip : test,
  };
}
