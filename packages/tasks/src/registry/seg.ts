/**
 * The reconstruction stages: `ngpipe seg watershed` / `"stage": "watershed"`
 * and `ngpipe seg agglomerate` / `"stage": "agglomerate"`.
 */
import { z } from "zod";
import { cclCleanupTask, cclNumberTask, cclReduceTask, cclRelabelTask } from "../labels/ccl";
import { remapTask } from "../labels/remap-stage";
import {
  type AgglomerationTaskOptions,
  agglomerateTask,
  createAgglomerationTasks,
  regionGraphBlockTask,
  regionGraphMergeTask,
} from "../seg/agglomeration-stage";
import { watershedGraphTask, watershedMergeTask, watershedWriteTask } from "../seg/watershed-merge";
import {
  createWatershedTasks,
  type WatershedTaskOptions,
  watershedBlockTask,
  watershedMatchTask,
} from "../seg/watershed-stage";
import {
  watershedHistogramTask,
  watershedRankCountsTask,
  watershedRankValuesTask,
} from "../seg/watershed-thresholds";
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
    mergeLimits: z
      .object({
        page: z.number().int().min(1).optional(),
        fanIn: z.number().int().min(2).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Watershed of an affinity layer in blocks with context, ids consistent across the dataset. */
export const watershedStage = defineStage<WatershedTaskOptions>({
  name: "watershed",
  tasks: [
    watershedRankCountsTask,
    watershedRankValuesTask,
    watershedHistogramTask,
    watershedBlockTask,
    watershedMatchTask,
    cclReduceTask,
    cclNumberTask,
    cclRelabelTask,
    watershedGraphTask,
    watershedMergeTask,
    watershedWriteTask,
    cclCleanupTask,
  ],
  inputs: ["src", "dest"],
  options: watershedStageOptions as z.ZodType<WatershedTaskOptions>,
  createPhases: ({ src, dest }, o) => createWatershedTasks(src, dest, o),
  cli: {
    command: ["seg", "watershed"],
    description:
      "Watershed.jl's watershed of an affinity layer (float32 or uint8, 3 channels) in blocks with context, giving the whole volume's regions: basins per block, merge and dust over the dataset's basin graph (phases: rank counts, rank values, blocks, match, reduce, number, relabel, graph, merge, write, downsample, cleanup)",
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

/** Options of the agglomerate stage: the creation options plus the affinity layer's URL. */
export interface AgglomerationStageOptions extends AgglomerationTaskOptions {
  /** The affinity layer the region graph is weighted by. */
  affinities: string;
}

/** Options of the agglomerate stage as JSON. */
export const agglomerationStageOptions = z
  .object({
    affinities: z.string().min(1),
    threshold: z.number().min(0).max(1),
    method: z.enum(["mean", "max"]).optional(),
    graph: z.string().optional(),
    table: z.string().optional(),
    shape: shapeOption.optional(),
    mip: countOption.optional(),
    dataType: z.enum(["uint32", "uint64"]).optional(),
    mips: countOption.optional(),
  })
  .strict();

/** Region graph of a supervoxel layer, agglomeration to a remap table, and the remapped layer. */
export const agglomerationStage = defineStage<AgglomerationStageOptions>({
  name: "agglomerate",
  tasks: [regionGraphBlockTask, regionGraphMergeTask, agglomerateTask, remapTask],
  inputs: ["src", "dest"],
  options: agglomerationStageOptions as z.ZodType<AgglomerationStageOptions>,
  createPhases: ({ src, dest }, o) => createAgglomerationTasks(src, o.affinities, dest, o),
  cli: {
    command: ["seg", "agglomerate"],
    description:
      "region graph of a supervoxel layer over its affinities (per block, merged in storage), mean-affinity agglomeration into a remap table in storage, and the agglomerated layer (phases: graph blocks, graph merge, agglomerate, remap, downsample)",
    arguments: [
      { name: "ws", description: "supervoxel layer (e.g. from seg watershed)", input: "src" },
      { name: "aff", description: "affinity layer" },
      { name: "dest", description: "destination segmentation layer", input: "dest" },
    ],
    options: [
      { flags: "--threshold <t>", description: "merge while the best edge's score is >= t" },
      { flags: "--method <m>", description: "mean or max", default: "mean" },
      {
        flags: "--graph <url>",
        description: "where the region graph goes (default: DEST/agglomeration/region-graph)",
      },
      {
        flags: "--table <url>",
        description: "the remap table written, .bin (default: DEST/agglomeration/remap.bin)",
      },
      { flags: "--shape <x,y,z>", description: "block shape (a multiple of the chunk size)" },
      { flags: "--mip <n>", description: "mip of both layers", default: "0" },
      {
        flags: "--num-mips <n>",
        description: "downsampled mips of the result (mode)",
        default: "0",
      },
    ],
    parse(o, { parse }) {
      if (o.threshold === undefined)
        throw parse.usage("--threshold is required: an affinity in [0, 1]");
      const threshold = parse.number(String(o.threshold), "--threshold");
      if (threshold > 1) throw parse.usage(`--threshold must be in [0, 1]; got "${o.threshold}"`);
      const method = String(o.method);
      if (method !== "mean" && method !== "max")
        throw parse.usage(`--method must be mean or max; got "${method}"`);
      return {
        affinities: parse.location(String(o.aff)),
        threshold,
        method,
        graph: o.graph === undefined ? undefined : parse.location(String(o.graph)),
        table: o.table === undefined ? undefined : parse.location(String(o.table)),
        shape: o.shape ? parse.shape(String(o.shape), "--shape") : undefined,
        mip: parse.int(String(o.mip), "--mip"),
        mips: parse.int(String(o.numMips), "--num-mips"),
      };
    },
  },
});
