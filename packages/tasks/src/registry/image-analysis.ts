/**
 * The image-analysis stages: `ngpipe image histogram` / `"stage": "histogram"`
 * (per-slice luminance levels) and `ngpipe image contrast` /
 * `"stage": "contrast"` (contrast normalization from those levels).
 */
import { z } from "zod";
import {
  type ContrastNormalizationOptions,
  contrastNormalizationTask,
  createContrastNormalizationTasks,
} from "../stages/contrast";
import {
  createLuminanceLevelsTasks,
  type LuminanceLevelsOptions,
  layerLevelsTask,
  luminanceLevelsTask,
} from "../stages/luminance";
import { bboxOption, countOption, shapeOption } from "./options";
import { defineStage } from "./stage";

const fraction = z.number().min(0).max(1);

/** Options of the histogram stage as JSON (a pipeline step's `options`). */
export const luminanceLevelsStageOptions = z
  .object({
    levels: z.string().optional(),
    mip: countOption.optional(),
    coverage: z.number().gt(0).max(1).optional(),
    patchSize: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional(),
    bounds: bboxOption.optional(),
    boundsMip: countOption.optional(),
    strictBounds: z.boolean().optional(),
    fillMissing: z.boolean().optional(),
  })
  .strict();

/** Per-slice luminance histograms of an image layer (Igneous' LuminanceLevelsTask). */
export const luminanceLevelsStage = defineStage<LuminanceLevelsOptions>({
  name: "histogram",
  tasks: [luminanceLevelsTask, layerLevelsTask],
  inputs: ["layer"],
  options: luminanceLevelsStageOptions as z.ZodType<LuminanceLevelsOptions>,
  createPhases: ({ layer }, o) => createLuminanceLevelsTasks(layer, o),
  cli: {
    command: ["image", "histogram"],
    description:
      "per-z-slice luminance histograms of a uint8/uint16 image layer from a sampled fraction of each slice, as JSON at LAYER/levels/<mip>/<z> (Igneous' layout), plus the whole layer's at levels/<mip>/all",
    arguments: [{ name: "layer", description: "image layer", input: "layer" }],
    options: [
      {
        flags: "--coverage <f>",
        description: "fraction of each slice sampled, in (0, 1]",
        default: "0.01",
      },
      {
        flags: "--patch-size <x,y>",
        description: "size of the sampled patches",
        default: "2048,2048",
      },
      { flags: "--levels <url>", description: "where levels/ goes (default: the layer)" },
      { flags: "--mip <n>", description: "mip to sample", default: "0" },
      { flags: "--fill-missing", description: "read missing chunks as zeros" },
    ],
    parse(o, { parse }) {
      const patch = String(o.patchSize)
        .split(/[,x]/)
        .map((t) => parse.int(t, "--patch-size", 1));
      if (patch.length !== 2) throw parse.usage(`--patch-size takes x,y; got "${o.patchSize}"`);
      const coverage = parse.number(String(o.coverage), "--coverage");
      if (!(coverage > 0 && coverage <= 1))
        throw parse.usage(`--coverage must lie in (0, 1]; got ${coverage}`);
      return {
        coverage,
        patchSize: [patch[0], patch[1]],
        levels: o.levels === undefined ? undefined : parse.location(String(o.levels)),
        mip: parse.int(String(o.mip), "--mip"),
        fillMissing: Boolean(o.fillMissing),
      };
    },
  },
});

/** Options of the contrast stage as JSON. */
export const contrastNormalizationStageOptions = z
  .object({
    levels: z.string().optional(),
    mip: countOption.optional(),
    clipFraction: z.union([fraction, z.tuple([fraction, fraction])]).optional(),
    mips: countOption.optional(),
    factor: shapeOption.optional(),
    fillMissing: z.boolean().optional(),
    bounds: bboxOption.optional(),
    boundsMip: countOption.optional(),
    strictBounds: z.boolean().optional(),
    memoryTarget: z.number().positive().optional(),
  })
  .strict();

/** Per-slice contrast stretch of an image layer into a new one (Igneous' ContrastNormalizationTask). */
export const contrastNormalizationStage = defineStage<ContrastNormalizationOptions>({
  name: "contrast",
  tasks: [contrastNormalizationTask],
  inputs: ["src", "dest"],
  options: contrastNormalizationStageOptions as z.ZodType<ContrastNormalizationOptions>,
  create: ({ src, dest }, o) => createContrastNormalizationTasks(src, dest, o),
  cli: {
    command: ["image", "contrast"],
    description:
      "stretch each z slice between the --clip-fraction percentiles of its histogram (run `image histogram` first) over the whole uint8/uint16 range, into a new layer with its downsamples; slices without a histogram are copied",
    arguments: [
      { name: "src", description: "image layer", input: "src" },
      { name: "dest", description: "destination image layer", input: "dest" },
    ],
    options: [
      {
        flags: "--clip-fraction <f>",
        description: "fraction clipped at each end, or lower,upper",
        default: "0.01",
      },
      { flags: "--levels <url>", description: "where levels/ was written (default: SRC)" },
      { flags: "--mip <n>", description: "mip to read", default: "0" },
      {
        flags: "--num-mips <n>",
        description: "downsampled mips (default: as many as fit the memory target)",
      },
      { flags: "--fill-missing", description: "read missing chunks as zeros" },
    ],
    parse(o, { parse }) {
      const parts = String(o.clipFraction)
        .split(",")
        .map((t) => parse.number(t, "--clip-fraction"));
      if (parts.length > 2 || parts.some((f) => f > 1) || parts[0] + (parts[1] ?? parts[0]) > 1)
        throw parse.usage(
          `--clip-fraction takes f or lower,upper, each in [0, 1] and adding up to at most 1; got "${o.clipFraction}"`,
        );
      return {
        clipFraction: parts.length === 1 ? parts[0] : [parts[0], parts[1]],
        levels: o.levels === undefined ? undefined : parse.location(String(o.levels)),
        mip: parse.int(String(o.mip), "--mip"),
        mips: o.numMips === undefined ? undefined : parse.int(String(o.numMips), "--num-mips"),
        fillMissing: Boolean(o.fillMissing),
      };
    },
  },
});
