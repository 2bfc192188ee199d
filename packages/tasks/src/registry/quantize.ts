/** The quantize stage: `ngpipe image quantize`, `"stage": "quantize"`. */
import { z } from "zod";
import { createQuantizeTasks, type QuantizeTaskOptions, quantizeTask } from "../stages/quantize";
import { bboxOption, countOption, shapeOption } from "./options";
import { defineStage } from "./stage";

/** Options of the quantize stage as JSON (a pipeline step's `options`). */
export const quantizeStageOptions = z
  .object({
    mip: countOption.optional(),
    chunkSize: shapeOption.optional(),
    encoding: z.string().optional(),
    channel: countOption.optional(),
    mips: countOption.optional(),
    factor: shapeOption.optional(),
    fillMissing: z.boolean().optional(),
    bounds: bboxOption.optional(),
    strictBounds: z.boolean().optional(),
    boundsMip: countOption.optional(),
    memoryTarget: z.number().positive().optional(),
  })
  .strict();

/** An affinity layer (float) to an 8-bit image of one channel. */
export const quantizeStage = defineStage<QuantizeTaskOptions>({
  name: "quantize",
  tasks: [quantizeTask],
  inputs: ["src", "dest"],
  options: quantizeStageOptions,
  create: ({ src, dest }, o) => createQuantizeTasks(src, dest, o),
  cli: {
    command: ["image", "quantize"],
    description:
      "an affinity layer (float32) to an 8-bit image of one channel (value x 255, truncated)",
    arguments: [
      { name: "src", description: "affinity layer", input: "src" },
      { name: "dest", description: "destination image layer", input: "dest" },
    ],
    options: [
      { flags: "--channel <n>", description: "channel to keep", default: "0" },
      { flags: "--mip <n>", description: "mip to read", default: "0" },
      {
        flags: "--num-mips <n>",
        description: "downsample this many mips afterwards",
        default: "0",
      },
      { flags: "--fill-missing", description: "read missing chunks as zeros" },
    ],
    parse: (o, { parse }) => ({
      channel: parse.int(String(o.channel), "--channel"),
      mip: parse.int(String(o.mip), "--mip"),
      mips: parse.int(String(o.numMips), "--num-mips"),
      fillMissing: Boolean(o.fillMissing),
    }),
  },
});
