/** The reconstruction stages: `ngpipe seg watershed` / `"stage": "watershed"`. */
import { z } from "zod";
import { cclCleanupTask, cclNumberTask, cclReduceTask, cclRelabelTask } from "../labels/ccl";
import {
  createWatershedTasks,
  type WatershedTaskOptions,
  watershedBlockTask,
  watershedHistogramTask,
  watershedMatchTask,
  watershedRangeTask,
} from "../seg/watershed-stage";
import { countOption, shapeOption } from "./options";
import type { StageArgParsers } from "./stage";
import { defineStage } from "./stage";

/** `size:threshold[,size:threshold...]` as merge pairs. */
function parseMerge(text: string, parse: StageArgParsers): Array<[number, number]> {
  return text.split(",").map((pair) => {
    const parts = pair.split(":");
    if (parts.length !== 2)
      throw parse.usage(`--merge takes size:threshold pairs, e.g. 800:0.2,2000:0.5; got "${text}"`);
    return [parse.number(parts[0], "--merge size"), parse.number(parts[1], "--merge threshold")];
  });
}

const mergeOption = z.array(z.tuple([z.number().min(0), z.number()]));

/** Options of the watershed stage as JSON (a pipeline step's `options`). */
export const watershedStageOptions = z
  .object({
    low: z.number().optional(),
    high: z.number().optional(),
    merge: mergeOption.optional(),
    dust: z.number().min(0).optional(),
    absolute: z.boolean().optional(),
    shape: shapeOption.optional(),
    context: z.number().int().min(1).optional(),
    mip: countOption.optional(),
    scratch: z.string().optional(),
    keepScratch: z.boolean().optional(),
    groupSize: z.number().int().min(2).optional(),
    dataType: z.enum(["uint32", "uint64", "auto"]).optional(),
    encoding: z.enum(["raw", "compressed_segmentation"]).optional(),
    mips: countOption.optional(),
    memoryTarget: z.number().positive().optional(),
  })
  .strict();

/** Watershed of an affinity layer in blocks with context, ids consistent across the dataset. */
export const watershedStage = defineStage<WatershedTaskOptions>({
  name: "watershed",
  tasks: [
    watershedRangeTask,
    watershedHistogramTask,
    watershedBlockTask,
    watershedMatchTask,
    cclReduceTask,
    cclNumberTask,
    cclRelabelTask,
    cclCleanupTask,
  ],
  inputs: ["src", "dest"],
  options: watershedStageOptions as z.ZodType<WatershedTaskOptions>,
  createPhases: ({ src, dest }, o) => createWatershedTasks(src, dest, o),
  cli: {
    command: ["seg", "watershed"],
    description:
      "Watershed.jl's watershed of an affinity layer (float32 or uint8, 3 channels) in blocks with context, ids made consistent across blocks (phases: range, histogram, blocks, match, reduce, number, relabel, downsample, cleanup)",
    arguments: [
      { name: "aff", description: "affinity layer", input: "src" },
      { name: "dest", description: "destination segmentation layer", input: "dest" },
    ],
    options: [
      {
        flags: "--shape <x,y,z>",
        description: "block core shape, a multiple of the chunk size (default: from --memory)",
      },
      {
        flags: "--context <n>",
        description: "voxels of context on each side of a block",
        default: "16",
      },
      { flags: "--low <t>", description: "edges at or below it are cut", default: "0.1" },
      { flags: "--high <t>", description: "edges at or above it always join", default: "0.8" },
      {
        flags: "--merge <size:t,...>",
        description: "merge regions under size voxels along edges above t, pair by pair",
        default: "800:0.2",
      },
      {
        flags: "--dust <n>",
        description: "regions under n voxels become background",
        default: "600",
      },
      {
        flags: "--absolute",
        description:
          "thresholds are affinities (default: fractions, turned into the layer's affinity quantiles as Watershed.jl does)",
      },
      { flags: "--mip <n>", description: "mip of the affinities", default: "0" },
      {
        flags: "--num-mips <n>",
        description: "downsampled mips of the result (mode)",
        default: "0",
      },
      {
        flags: "--scratch <url>",
        description: "where the phases keep their state (default: DEST/ws-scratch)",
      },
      { flags: "--keep-scratch", description: "keep the state objects after the last phase" },
      { flags: "--memory <bytes>", description: "memory target per task", default: "3.5e9" },
    ],
    parse(o, { parse }) {
      const fraction = (text: string, what: string) => {
        const v = parse.number(text, what);
        if (v > 1) throw parse.usage(`${what} must be in [0, 1]; got "${text}"`);
        return v;
      };
      const merge = parseMerge(String(o.merge), parse);
      for (const [, t] of merge)
        if (t > 1) throw parse.usage(`--merge thresholds must be in [0, 1]; got "${o.merge}"`);
      return {
        shape: o.shape ? parse.shape(String(o.shape), "--shape") : undefined,
        context: parse.int(String(o.context), "--context", 1),
        low: fraction(String(o.low), "--low"),
        high: fraction(String(o.high), "--high"),
        merge,
        dust: parse.number(String(o.dust), "--dust"),
        absolute: Boolean(o.absolute),
        mip: parse.int(String(o.mip), "--mip"),
        mips: parse.int(String(o.numMips), "--num-mips"),
        scratch: o.scratch === undefined ? undefined : parse.location(String(o.scratch)),
        keepScratch: Boolean(o.keepScratch),
        memoryTarget: parse.memory(String(o.memory)),
      };
    },
  },
});
