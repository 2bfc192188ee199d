/**
 * Bad input on the command line, one table: each case runs one command
 * against a small layer and asserts its exit code, that it printed exactly
 * one line on stderr (matching the case), and that no file under the test
 * directory was written, changed or removed.
 */
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Volume, zeros } from "@ngpipe/precomputed";
import { cliTestbed } from "./capture.testutil";
import { snapshot } from "./snapshot.testutil";

const cli = cliTestbed("ngpipe-bad-input-");
const { ngpipe } = cli;
let layer: string;

beforeAll(async () => {
  layer = join(cli.tmp, "layer");
  const vol = await Volume.create(`file://${layer}`, {
    type: "image",
    data_type: "uint8",
    num_channels: 1,
    scales: [
      {
        key: "1_1_1",
        resolution: [1, 1, 1],
        size: [64, 64, 16],
        voxel_offset: [0, 0, 0],
        chunk_sizes: [[16, 16, 16]],
        encoding: "raw",
      },
    ],
  });
  const a = zeros("uint8", [64, 64, 16, 1]);
  for (let i = 0; i < a.data.length; i++) a.data[i] = i % 251;
  await vol.write(vol.bounds, a);
  writeFileSync(join(cli.tmp, "spec.json"), JSON.stringify({ steps: [] }));
});

/** [what, args (L is the layer, T the test directory), exit code, stderr pattern] */
const CASES: Array<[string, string[], number, RegExp]> = [
  // 0. A layer transferred onto itself with another layout.
  ["xfer onto itself, png", ["image", "xfer", "L", "L", "--encoding", "png"], 2, /onto itself/],
  [
    "xfer onto itself, rechunked",
    ["image", "xfer", "L", "L", "--chunk-size", "16,16,8"],
    2,
    /onto itself/,
  ],
  [
    "xfer onto itself by another path",
    ["image", "xfer", "L", "T/./layer/", "--translate", "1,0,0"],
    2,
    /onto itself/,
  ],
  // 1. Bounds outside the dataset.
  [
    "downsample, bounds outside",
    ["image", "downsample", "L", "--bounds", "100-200_0-10_0-10"],
    2,
    /bounds 100-200_0-10_0-10 lie outside the dataset's bounds 0-64_0-64_0-16/,
  ],
  [
    "downsample, negative bounds",
    ["image", "downsample", "L", "--bounds", "-64-0_0-64_0-16"],
    2,
    /outside the dataset's bounds 0-64_0-64_0-16/,
  ],
  [
    "downsample, partly outside, strict",
    ["image", "downsample", "L", "--bounds", "0-1000_0-1000_0-100", "--strict-bounds"],
    2,
    /reach outside the dataset's bounds 0-64_0-64_0-16/,
  ],
  [
    "xfer, bounds outside",
    ["image", "xfer", "L", "T/copy", "--bounds", "100-200_0-10_0-10"],
    2,
    /lie outside the dataset's bounds/,
  ],
  [
    "blackout outside",
    ["image", "blackout", "L", "100-200_0-10_0-10"],
    2,
    /lie outside the dataset's bounds/,
  ],
  [
    "blackout, partly outside, strict",
    ["image", "blackout", "L", "0-1000_0-10_0-10", "--strict-bounds"],
    2,
    /reach outside/,
  ],
  ["rm, bounds outside", ["image", "rm", "L", "--bounds", "100-200_0-10_0-10"], 2, /lie outside/],
  // 2. Values the data type cannot hold.
  [
    "blackout --value 300",
    ["image", "blackout", "L", "0-64_0-64_0-16", "--value", "300"],
    2,
    /from 0 to 255 for a uint8 layer/,
  ],
  [
    "blackout --value -1",
    ["image", "blackout", "L", "0-64_0-64_0-16", "--value", "-1"],
    2,
    /from 0 to 255 for a uint8 layer/,
  ],
  [
    "blackout --value 1.5",
    ["image", "blackout", "L", "0-64_0-64_0-16", "--value", "1.5"],
    2,
    /whole number/,
  ],
  [
    "downsample --background 256",
    ["image", "downsample", "L", "--skip-background", "--background", "256"],
    2,
    /from 0 to 255/,
  ],
  [
    "xfer --background -3",
    ["image", "xfer", "L", "T/copy", "--skip-background", "--background", "-3"],
    2,
    /from 0 to 255/,
  ],
  // 3. Queue URLs that cannot name a queue, refused before the info is written.
  [
    "downsample --queue fq://",
    ["image", "downsample", "L", "--queue", "fq://"],
    2,
    /InvalidQueueUrlError/,
  ],
  [
    "downsample --queue sqs://bad name!",
    ["image", "downsample", "L", "--queue", "sqs://bad name!"],
    2,
    /bad SQS queue name/,
  ],
  [
    "downsample --queue sqs://jobs.fifo",
    ["image", "downsample", "L", "--queue", "sqs://jobs.fifo"],
    2,
    /FIFO/,
  ],
  [
    "xfer --queue ftp://host/q",
    ["image", "xfer", "L", "T/copy", "--queue", "ftp://host/q"],
    2,
    /no queue backend/,
  ],
  [
    "blackout --queue http://127.0.0.1:1/notsqs",
    ["image", "blackout", "L", "0-16_0-16_0-16", "--queue", "http://127.0.0.1:1/notsqs"],
    2,
    /not an SQS queue URL/,
  ],
  [
    "mesh forge --queue fq://",
    ["mesh", "forge", "L", "--queue", "fq://"],
    2,
    /InvalidQueueUrlError/,
  ],
  [
    "pipeline with a bad queue",
    ["pipeline", "T/spec.json", "--queue", "sqs://jobs.fifo"],
    2,
    /FIFO/,
  ],
  // 4. Reading queue commands never create a queue.
  [
    "queue status of a missing queue",
    ["queue", "status", "fq://T/nonexistent/queue"],
    1,
    /T\/nonexistent\/queue does not exist/,
  ],
  ["queue wait of a missing queue", ["queue", "wait", "T/typo-q"], 1, /T\/typo-q does not exist/],
  ["queue dead of a missing queue", ["queue", "dead", "T/typo-q"], 1, /does not exist/],
  ["queue redrive of a missing queue", ["queue", "redrive", "T/typo-q"], 1, /does not exist/],
  ["execute of a missing queue", ["execute", "T/typo-q", "--exit-when-empty"], 1, /does not exist/],
  ["ls of a missing directory", ["ls", "T/nothing-here"], 2, /no directory at .*nothing-here/],
  // 8. Unknown options: one line and a pointer to --help.
  [
    "unknown option",
    ["image", "downsample", "L", "--bogus"],
    2,
    /unknown option '--bogus'.*see 'ngpipe image downsample --help'/,
  ],
];

describe("bad input is refused before anything is written", () => {
  test.each(CASES)("%s", async (_what, args, code, pattern) => {
    const argv = args.map((a) =>
      a === "L"
        ? layer
        : a.replaceAll(/^T\//g, `${cli.tmp}/`).replace("fq://T/", `fq://${cli.tmp}/`),
    );
    const before = snapshot(cli.tmp);
    expect(await ngpipe(...argv)).toBe(code);
    const lines = cli.err.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      pattern.source.includes("T\\/")
        ? new RegExp(pattern.source.replaceAll("T\\/", `${cli.tmp}/`))
        : pattern,
    );
    expect(snapshot(cli.tmp)).toEqual(before);
  });
});

describe("bounds partly outside the dataset", () => {
  test("are clipped with a one-line notice", async () => {
    const dest = join(cli.tmp, "clipped");
    expect(await ngpipe("image", "xfer", layer, dest, "--bounds", "0-1000_0-16_0-16")).toBe(0);
    expect(cli.err).toMatch(
      /^ngpipe: bounds 0-1000_0-16_0-16 clipped to the dataset's bounds 0-64_0-64_0-16: 0-64_0-16_0-16\n/,
    );
    expect(readdirSync(join(dest, "1_1_1")).sort()).toEqual(
      ["0-16", "16-32", "32-48", "48-64"].map((x) => `${x}_0-16_0-16.gz`),
    );
  });
});

describe("bounds partly outside the dataset in a pipeline step", () => {
  const spec = (dest: string, options: Record<string, unknown>) => {
    const file = join(cli.tmp, `spec-${Object.keys(options).length}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        queue: `fq://${cli.tmp}/pipeline-queue`,
        steps: [{ stage: "transfer", src: layer, dest, options }],
      }),
    );
    return file;
  };
  test("are clipped with the stage commands' one-line notice", async () => {
    const dest = join(cli.tmp, "pipeline-clipped");
    expect(await ngpipe("pipeline", spec(dest, { bounds: "0-1000_0-16_0-16" }))).toBe(0);
    expect(cli.err).toMatch(
      /^ngpipe: bounds 0-1000_0-16_0-16 clipped to the dataset's bounds 0-64_0-64_0-16: 0-64_0-16_0-16\n/,
    );
    expect(readdirSync(join(dest, "1_1_1")).sort()).toEqual(
      ["0-16", "16-32", "32-48", "48-64"].map((x) => `${x}_0-16_0-16.gz`),
    );
  });
  test('are refused under "strictBounds", nothing written', async () => {
    const dest = join(cli.tmp, "pipeline-strict");
    const file = spec(dest, { bounds: "0-1000_0-16_0-16", strictBounds: true });
    expect(await ngpipe("pipeline", file)).not.toBe(0);
    expect(cli.err).toMatch(/StageInputError.*reach outside the dataset's bounds.*strict bounds/);
    expect(readdirSync(cli.tmp)).not.toContain("pipeline-strict");
  });
});

describe("temporary files left by killed writes", () => {
  test("du counts them and image rm removes those of the chunks it deletes", async () => {
    const dir = join(cli.tmp, "killed");
    expect(await ngpipe("image", "xfer", layer, dir)).toBe(0);
    const scale = join(dir, "1_1_1");
    writeFileSync(join(scale, ".0-16_0-16_0-16.ngpipe-4242-0.tmp"), "half");
    writeFileSync(join(scale, ".48-64_48-64_0-16.ngpipe-4242-1.tmp"), "half");
    cli.clear();
    expect(await ngpipe("du", dir)).toBe(0);
    expect(cli.out).toMatch(
      /\t17 object\(s\)\t.*\(and 2 temporary file\(s\), 8 B, left by interrupted writes\)/,
    );
    expect(await ngpipe("image", "rm", dir, "--bounds", "0-16_0-16_0-16")).toBe(0);
    expect(readdirSync(scale).filter((n) => n.endsWith(".tmp"))).toEqual([
      ".48-64_48-64_0-16.ngpipe-4242-1.tmp",
    ]);
  });
});
