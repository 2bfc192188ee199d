/**
 * The packages as a user gets them from npm: every workspace packed, the
 * tarballs installed into an empty project offline, and used there as ESM,
 * as CommonJS, from TypeScript, and through the installed `ngpipe` bin —
 * with no tsx and no TypeScript compiled at run time. Needs the build
 * (`npm test` builds before jest).
 */
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installOffline, packWorkspaces, run } from "./consumer";

const root = join(__dirname, "..", "..");
const workspaces: string[] = JSON.parse(
  readFileSync(join(root, "package.json"), "utf8"),
).workspaces;
const missing = workspaces.filter((ws) => !existsSync(join(root, ws, "dist", "index.js")));
if (missing.length > 0) {
  if (process.env.CI === "true") throw new Error(`${missing.join(", ")} not built: npm run build`);
  console.warn(
    `skipping the npm pack install test: ${missing.join(", ")} not built (npm run build)`,
  );
}
const maybe = missing.length > 0 ? test.skip : test;

/** A name each package must export, and its kind. */
const EXPECTED: Record<string, [string, string]> = {
  "@ngpipe/storage": ["openStorage", "function"],
  "@ngpipe/queue": ["openQueue", "function"],
  "@ngpipe/precomputed": ["Volume", "function"],
  "@ngpipe/mesh": ["MeshLayer", "function"],
  "@ngpipe/tasks": ["getStage", "function"],
  "@ngpipe/cli": ["main", "function"],
};

let tmp: string;
let project: string;
let names: string[];

beforeAll(() => {
  if (missing.length > 0) return;
  tmp = mkdtempSync(join(tmpdir(), "ngpipe-pack-"));
  project = join(tmp, "consumer");
  const tarDir = join(tmp, "tarballs");
  const tarballs = packWorkspaces(root, tarDir);
  names = [...tarballs.keys()].sort();
  installOffline(root, project, tarDir, tarballs);
}, 300_000);
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

maybe("every workspace packs, and the tarballs install without tsx or TypeScript", () => {
  expect(names).toEqual(
    workspaces
      .map((ws) => JSON.parse(readFileSync(join(root, ws, "package.json"), "utf8")).name)
      .sort(),
  );
  for (const dep of ["tsx", "typescript", "@swc/core", "esbuild"])
    expect(existsSync(join(project, "node_modules", dep))).toBe(false);
  for (const name of names) {
    const installed = join(project, "node_modules", name);
    expect(existsSync(join(installed, "dist", "index.mjs"))).toBe(true);
    // Sources and tests stay out of the tarballs.
    expect(existsSync(join(installed, "src"))).toBe(false);
    // The Apache-2.0 the package.json declares ships as its text, byte for byte the root's.
    expect(readFileSync(join(installed, "LICENSE"), "utf8")).toBe(
      readFileSync(join(root, "LICENSE"), "utf8"),
    );
    expect(JSON.parse(readFileSync(join(installed, "package.json"), "utf8")).version).toBe("0.2.0");
  }
});

maybe("each package loads with import from an .mjs file", () => {
  const lines = names.map(
    (n, i) => `import * as m${i} from "${n}";\nout[${JSON.stringify(n)}] = Object.keys(m${i});`,
  );
  writeFileSync(
    join(project, "load.mjs"),
    `const out = {};\n${lines.join("\n")}\nconsole.log(JSON.stringify(out));\n`,
  );
  const loaded = JSON.parse(run(process.execPath, ["load.mjs"], project).stdout);
  for (const [name, [symbol]] of Object.entries(EXPECTED)) expect(loaded[name]).toContain(symbol);
});

maybe("each package loads with require from a .cjs file", () => {
  writeFileSync(
    join(project, "load.cjs"),
    `const out = {};\nfor (const n of ${JSON.stringify(names)}) { const m = require(n); out[n] = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v])); }\nconsole.log(JSON.stringify(out));\n`,
  );
  const loaded = JSON.parse(run(process.execPath, ["load.cjs"], project).stdout);
  for (const [name, [symbol, kind]] of Object.entries(EXPECTED))
    expect(loaded[name][symbol]).toBe(kind);
  // The subpaths load too.
  run(process.execPath, ["-e", 'require("@ngpipe/storage/compression")'], project);
  run(process.execPath, ["-e", 'require("@ngpipe/storage/file-sync")'], project);
});

maybe(
  "a TypeScript consumer type-checks against the installed declarations",
  () => {
    writeFileSync(
      join(project, "consumer.ts"),
      [
        'import { openStorage, type Storage } from "@ngpipe/storage";',
        'import { compressSync } from "@ngpipe/storage/compression";',
        'import { openQueue, type Queue } from "@ngpipe/queue";',
        'import { Bbox, Volume } from "@ngpipe/precomputed";',
        'import { MeshLayer } from "@ngpipe/mesh";',
        'import { getStage, registeredStages, type StageDefinition, type TaskPayload } from "@ngpipe/tasks";',
        'import { main } from "@ngpipe/cli";',
        "",
        'const storage: Storage = openStorage("mem://consumer/x");',
        "const box = new Bbox([0, 0, 0], [64, 64, 64]);",
        "const volume: Promise<Volume> = Volume.open(storage.url);",
        'const queue: Promise<Queue> = openQueue("mem://q");',
        'const stage: StageDefinition = getStage("downsample");',
        "const names: string[] = registeredStages().map((s) => s.name);",
        'const payload: TaskPayload = { name: "touch", params: {} };',
        'const bytes: Uint8Array = compressSync(new Uint8Array(4), "gzip");',
        'const code: Promise<number> = main(["node", "ngpipe", "--help"]);',
        "// The declarations are real types, not any: this line must be an error.",
        "// @ts-expect-error",
        "const wrong: string = box.volume();",
        "export { bytes, code, MeshLayer, names, payload, queue, stage, volume, wrong };",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: "nodenext",
          moduleResolution: "nodenext",
          target: "es2022",
          noEmit: true,
          skipLibCheck: false,
          typeRoots: [join(root, "node_modules", "@types")],
          types: ["node"],
        },
        files: ["consumer.ts"],
      }),
    );
    run(
      process.execPath,
      [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "."],
      project,
    );
  },
  120_000,
);

maybe("the installed ngpipe bin runs --help and info on a layer it ingested", () => {
  const bin = realpathSync(join(project, "node_modules", ".bin", "ngpipe"));
  expect(bin).toBe(realpathSync(join(project, "node_modules", "@ngpipe", "cli", "dist", "bin.js")));
  const help = run("npx", ["--offline", "ngpipe", "--help"], project).stdout;
  expect(help).toMatch(/Usage: ngpipe/);
  expect(help).toMatch(/image\s+image and segmentation layers/);
  expect(run("npx", ["--offline", "ngpipe", "--version"], project).stdout.trim()).toBe("0.2.0");
  // A 16x16x8 uint8 .npy (version 1 header, Fortran order), ingested by the bin.
  const header = "{'descr': '|u1', 'fortran_order': True, 'shape': (16, 16, 8), }";
  const padded = `${header.padEnd(117, " ")}\n`;
  const data = new Uint8Array(16 * 16 * 8).map((_, i) => i % 251);
  const npy = Buffer.concat([
    Buffer.from([0x93]),
    Buffer.from("NUMPY"),
    Buffer.from([1, 0, padded.length, 0]),
    Buffer.from(padded, "latin1"),
    Buffer.from(data),
  ]);
  writeFileSync(join(project, "small.npy"), npy);
  run(
    "npx",
    [
      "--offline",
      "ngpipe",
      "--quiet",
      "image",
      "create",
      "small.npy",
      "layers/img",
      "--chunk-size",
      "8,8,8",
    ],
    project,
  );
  const info = run("npx", ["--offline", "ngpipe", "info", "layers/img"], project).stdout;
  expect(info).toMatch(/type: image, data type: uint8, channels: 1/);
  expect(info).toMatch(/16x16x8/);
});
