import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { NdArray, Volume } from "@ngpipe/precomputed";

/** `ngpipe view` as a user runs it: the real bin in a child process (tsx resolves @ngpipe/* from tsconfig). */
const REPO = resolve(__dirname, "../../../..");
const TSX = join(REPO, "node_modules", "tsx", "dist", "cli.mjs");
const BIN = join(REPO, "packages", "cli", "src", "bin.ts");

function ngpipe(args: string[]): ChildProcess {
  return spawn(process.execPath, [TSX, BIN, ...args], {
    cwd: REPO,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Resolves with stdout once it contains `pattern` (or rejects when the process exits first). */
function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((ok, fail) => {
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => {
      out += d;
      if (pattern.test(out)) ok(out);
    });
    child.stderr!.on("data", (d) => {
      err += d;
    });
    child.on("exit", (code) => fail(new Error(`exited with ${code} before output: ${out}${err}`)));
  });
}

function exitCode(child: ChildProcess): Promise<number | null> {
  return new Promise((ok) => {
    if (child.exitCode !== null) ok(child.exitCode);
    else child.on("exit", (code) => ok(code));
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ngpipe-view-cmd-"));
  const labels = new Uint32Array(32 * 32 * 8).map((_, i) => 1 + (i % 3));
  await Volume.fromArray(`file://${dir}/seg`, NdArray.from(labels, [32, 32, 8]), {
    chunkSize: [32, 32, 8],
    encoding: "compressed_segmentation",
    workers: false,
  });
  await Volume.fromArray(
    `file://${dir}/em/raw`,
    NdArray.from(new Uint8Array(32 * 32 * 8).fill(9), [32, 32, 8]),
    { chunkSize: [32, 32, 8], workers: false },
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("ngpipe view prints working sources and a Neuroglancer link, and stops on SIGINT", async () => {
  const child = ngpipe(["view", `file://${dir}`, "--viewer", "http://localhost:9/"]);
  try {
    const out = await waitForOutput(child, /#!\S+\n/);
    const sources = [...out.matchAll(/precomputed:\/\/(http:\/\/127\.0\.0\.1:\d+\/\S+)/g)].map(
      (m) => m[1],
    );
    expect(sources.map((s) => s.replace(/:\d+\//, ":PORT/"))).toEqual([
      "http://127.0.0.1:PORT/em/raw",
      "http://127.0.0.1:PORT/seg",
    ]);
    for (const source of sources) {
      const res = await fetch(`${source}/info`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { scales: unknown[] }).scales).toHaveLength(1);
    }
    const chunk = await fetch(`${sources[1]}/1_1_1/0-32_0-32_0-8`);
    expect(chunk.status).toBe(200);
    expect(chunk.headers.get("content-encoding")).toBe("gzip");

    const link = /(http:\/\/localhost:9\/#!\S+)/.exec(out)![1];
    const state = JSON.parse(decodeURIComponent(link.slice(link.indexOf("#!") + 2)));
    expect(state.layers).toEqual([
      { type: "image", source: `precomputed://${sources[0]}`, name: "raw" },
      { type: "segmentation", source: `precomputed://${sources[1]}`, name: "seg" },
    ]);
  } finally {
    child.kill("SIGINT");
  }
  expect(await exitCode(child)).toBe(0);
}, 60_000);

test("ngpipe view of a directory without layers fails with one line", async () => {
  const child = ngpipe(["view", join(dir, "em", "raw", "1_1_1")]);
  let err = "";
  child.stderr!.on("data", (d) => {
    err += d;
  });
  expect(await exitCode(child)).toBe(2);
  expect(err).toMatch(/^ngpipe: UsageError: no precomputed layer .* under .*1_1_1\n$/);
}, 60_000);
