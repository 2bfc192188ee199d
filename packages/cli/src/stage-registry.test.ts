import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineStage, defineTask, registerStage } from "@ngpipe/tasks";
import { z } from "zod";
import { cliTestbed } from "./capture.testutil";
import { pipelineSteps } from "./commands/pipeline";
import { UsageError } from "./errors";
import { buildProgram } from "./program";

const cli = cliTestbed("ngpipe-stage-registry-");
const { ngpipe } = cli;
beforeAll(() => {});
afterAll(() => rmSync(cli.tmp, { recursive: true, force: true }));

const written: string[] = [];
const stampTask = defineTask({
  name: "registry-cli-stamp",
  params: z.object({ layer: z.string(), i: z.number() }),
  async run(p) {
    written.push(`${p.layer}#${p.i}`);
  },
});

// A stage defined outside the CLI: registering it is all it takes to get a
// command and a pipeline stage.
registerStage(
  defineStage<{ copies?: number }>({
    name: "stamp",
    tasks: [stampTask],
    inputs: ["layer"],
    options: z.object({ copies: z.number().int().positive().optional() }).strict(),
    create: async ({ layer }, o) =>
      Array.from({ length: o.copies ?? 1 }, (_, i) => stampTask.payload({ layer, i })),
    cli: {
      command: ["extra", "stamp"],
      description: "stamp a layer",
      arguments: [{ name: "layer", description: "layer path or URL", input: "layer" }],
      options: [{ flags: "--copies <n>", description: "how many", default: "1" }],
      parse: (o, { parse }) => ({ copies: parse.int(String(o.copies), "--copies", 1) }),
    },
  }),
);

test("a registered stage becomes a command with its options and the run options", async () => {
  written.length = 0;
  const help = buildProgram()
    .commands.find((c) => c.name() === "extra")
    ?.commands.find((c) => c.name() === "stamp")
    ?.helpInformation();
  expect(help).toMatch(/--copies <n>/);
  expect(help).toMatch(/--queue <url>/);
  expect(await ngpipe("extra", "stamp", "mem://bucket/l", "--copies", "3", "-p", "2")).toBe(0);
  expect(written.sort()).toEqual(["mem://bucket/l#0", "mem://bucket/l#1", "mem://bucket/l#2"]);
  expect(cli.err).toMatch(/ran 3 stamp task\(s\)/);
});

test("its option parser's errors are usage errors", async () => {
  expect(await ngpipe("extra", "stamp", "mem://bucket/l", "--copies", "0")).toBe(2);
  expect(cli.err).toMatch(/^ngpipe: UsageError: --copies must be a whole number ≥ 1; got "0"/);
});

test("with --queue the stage's tasks are inserted, not run", async () => {
  written.length = 0;
  const queue = `fq://${join(cli.tmp, "q")}`;
  expect(await ngpipe("extra", "stamp", "mem://bucket/l", "--copies", "2", "--queue", queue)).toBe(
    0,
  );
  expect(written).toEqual([]);
  expect(cli.err).toMatch(/inserted 2 stamp task\(s\)/);
});

test("a pipeline runs the registered stage with its options checked by its schema", async () => {
  written.length = 0;
  const spec = join(cli.tmp, "spec.json");
  writeFileSync(
    spec,
    JSON.stringify({ steps: [{ stage: "stamp", layer: "mem://b/p", options: { copies: 2 } }] }),
  );
  expect(await ngpipe("pipeline", spec, "--queue", `fq://${join(cli.tmp, "pq")}`)).toBe(0);
  expect(written.sort()).toEqual(["mem://b/p#0", "mem://b/p#1"]);
});

test("a pipeline step with an option the stage does not take is refused before anything runs", () => {
  expect(() =>
    pipelineSteps({ steps: [{ stage: "stamp", layer: "mem://b/p", options: { copise: 2 } }] }),
  ).toThrow(UsageError);
  expect(() =>
    pipelineSteps({ steps: [{ stage: "downsample", layer: "mem://b/p", options: { mips: -1 } }] }),
  ).toThrow(/pipeline step 1: invalid options for stage "downsample": mips/);
});

test("an unknown pipeline stage lists every registered one", () => {
  expect(() => pipelineSteps({ steps: [{ stage: "nope", layer: "mem://b/p" }] })).toThrow(
    /unknown stage "nope" \(ingest, downsample, transfer, quantize, histogram, contrast, delete, touch, blackout, mesh, manifest, mesh-convert, ccl, remap, count-voxels, dust, watershed, agglomerate, skeleton, skeleton-merge, hypersquare, consensus, stamp\)/,
  );
});
