import { Bbox } from "@ngpipe/precomputed";
import { z } from "zod";
import { defineTask } from "../runtime";
import {
  DuplicateStageError,
  defineStage,
  getStage,
  InvalidStageOptionsError,
  parseStageOptions,
  registeredStages,
  registerStage,
  UnknownStageError,
} from ".";

const countTask = defineTask({
  name: "registry-test-count",
  params: z.object({ i: z.number() }),
  async run() {},
});

const countStage = defineStage<{ n?: number }>({
  name: "registry-test-count",
  tasks: [countTask],
  inputs: ["layer"],
  options: z.object({ n: z.number().int().optional() }).strict(),
  create: async (_inputs, o) =>
    Array.from({ length: o.n ?? 1 }, (_, i) => countTask.payload({ i })),
});

test("the built-in stages are registered in CLI order, each with its tasks and inputs", () => {
  const names = registeredStages().map((s) => s.name);
  expect(names.slice(0, 11)).toEqual([
    "ingest",
    "downsample",
    "transfer",
    "quantize",
    "histogram",
    "contrast",
    "delete",
    "touch",
    "blackout",
    "mesh",
    "manifest",
  ]);
  expect(getStage("transfer").inputs).toEqual(["src", "dest"]);
  expect(getStage("ingest").inputs).toEqual(["source", "layer"]);
  expect(getStage("manifest").tasks.map((t) => t.name)).toEqual([
    "mesh-manifest",
    "mesh-multires-merge",
  ]);
  expect(getStage("mesh-convert").tasks.map((t) => t.name)).toEqual(["mesh-multires-merge"]);
});

test("a registered stage is found by name; registering it again is harmless", async () => {
  registerStage(countStage);
  registerStage(countStage);
  const stage = getStage("registry-test-count");
  const create = stage.create as NonNullable<typeof stage.create>;
  const tasks = [...((await create({ layer: "mem://x" } as never, { n: 3 })) as [])];
  expect(tasks).toHaveLength(3);
});

test("a different stage under a taken name is refused", () => {
  expect(() => registerStage({ ...countStage })).toThrow(DuplicateStageError);
});

test("an unknown stage name lists the registered ones", () => {
  expect(() => getStage("no-such-stage")).toThrow(UnknownStageError);
  expect(() => getStage("no-such-stage")).toThrow(
    /unknown stage "no-such-stage" \(ingest, downsample/,
  );
});

test("stage options are checked against the schema, naming the field", () => {
  const err = (() => {
    try {
      parseStageOptions(getStage("downsample"), { mips: "three", colour: 1 });
    } catch (e) {
      return e as InvalidStageOptionsError;
    }
  })();
  expect(err).toBeInstanceOf(InvalidStageOptionsError);
  expect(err?.message).toMatch(/stage "downsample"/);
  expect(err?.problems.join("\n")).toMatch(/mips/);
  expect(err?.problems.join("\n")).toMatch(/colour/);
});

test("bounds in stage options become a Bbox from any JSON form", () => {
  for (const bounds of [
    "0-8_0-8_0-4",
    { minpt: [0, 0, 0], maxpt: [8, 8, 4] },
    [
      [0, 0, 0],
      [8, 8, 4],
    ],
  ]) {
    const o = parseStageOptions(getStage("touch"), { bounds }) as { bounds: Bbox };
    expect(o.bounds).toBeInstanceOf(Bbox);
    expect(o.bounds.toChunkName()).toBe("0-8_0-8_0-4");
  }
  expect(() => parseStageOptions(getStage("touch"), { bounds: "nonsense" })).toThrow(
    InvalidStageOptionsError,
  );
});
