/** The downsample stage: `ngpipe image downsample`, `"stage": "downsample"`. */
import { Volume } from "@ngpipe/precomputed";
import { z } from "zod";
import { compressSchema } from "../stages/common";
import {
  backgroundSchema,
  createDownsampleTasks,
  DEFAULT_MEMORY_TARGET,
  type DownsampleTaskOptions,
  downsampleTask,
  methodSchema,
  type StageDownsampleMethod,
} from "../stages/downsample";
import { bboxOption, countOption, shapeOption } from "./options";
import { parseShardedFlags, shardedFlags, shardedOptionsShape } from "./sharded";
import { defineStage, type StageArgParsers } from "./stage";

/** `--method`: one of the downsampling methods. */
export function parseMethod(
  text: string | boolean | undefined,
  parse: StageArgParsers,
): StageDownsampleMethod | undefined {
  if (text === undefined) return undefined;
  const r = methodSchema.safeParse(text);
  if (!r.success)
    throw parse.usage(`--method must be one of ${methodSchema.options.join(", ")}; got "${text}"`);
  return r.data;
}

/**
 * `--background` of `layer`, checked against the layer's data type; it
 * only means something with `--skip-background`.
 */
export async function parseBackgroundOption(
  layer: string,
  values: Record<string, string | boolean | undefined>,
  parse: StageArgParsers,
): Promise<number | string | undefined> {
  if (values.background === undefined) return undefined;
  if (!values.skipBackground)
    throw parse.usage(
      "--background is the value --skip-background skips; give --skip-background too",
    );
  const { dataType } = await Volume.open(layer);
  return parse.background(String(values.background), dataType);
}

/** Options of the downsample stage as JSON (a pipeline step's `options`). */
export const downsampleStageOptions = z
  .object({
    mip: countOption.optional(),
    mips: countOption.optional(),
    factor: shapeOption.optional(),
    method: methodSchema.optional(),
    sparse: z.boolean().optional(),
    fillMissing: z.boolean().optional(),
    encoding: z.string().optional(),
    blockSize: shapeOption.optional(),
    chunkSize: shapeOption.optional(),
    preserveChunkSize: z.boolean().optional(),
    skipBackground: z.boolean().optional(),
    background: backgroundSchema.optional(),
    bounds: bboxOption.optional(),
    strictBounds: z.boolean().optional(),
    boundsMip: countOption.optional(),
    memoryTarget: z.number().positive().optional(),
    compress: compressSchema.optional(),
    dest: z.string().optional(),
    ...shardedOptionsShape,
  })
  .strict();

/** Add downsampled mips to a layer. */
export const downsampleStage = defineStage<DownsampleTaskOptions>({
  name: "downsample",
  tasks: [downsampleTask],
  inputs: ["layer"],
  options: downsampleStageOptions,
  create: ({ layer }, o) => createDownsampleTasks(layer, o),
  cli: {
    command: ["image", "downsample"],
    description: "add downsampled mips: one task per block reads mip m and writes m+1..m+n",
    arguments: [{ name: "layer", description: "layer path or URL", input: "layer" }],
    options: [
      { flags: "--mip <n>", description: "mip to read", default: "0" },
      {
        flags: "--num-mips <n>",
        description: "mips to make (default: as many as the memory target allows)",
      },
      { flags: "--factor <x,y,z>", description: "downsampling factor", default: "2,2,1" },
      {
        flags: "--method <m>",
        description: `${methodSchema.options.join("|")} (auto: average for images, mode for segmentation)`,
        default: "auto",
      },
      {
        flags: "--sparse",
        description: "treat zero as background (average of nonzero voxels, mode ignores zero)",
      },
      { flags: "--fill-missing", description: "read missing chunks as background" },
      { flags: "--encoding <name>", description: "encoding of the new scales" },
      { flags: "--chunk-size <x,y,z>", description: "chunk size of the new scales" },
      { flags: "--skip-background", description: "do not write chunks that are all background" },
      { flags: "--background <v>", description: "the value --skip-background skips (default 0)" },
      {
        flags: "--compress <how>",
        description: "compression of the new chunks: gzip, br or none",
      },
      {
        flags: "--memory <bytes>",
        description: "memory target per task",
        default: String(DEFAULT_MEMORY_TARGET),
      },
      { flags: "--bounds <bbox>", description: "only this box (voxels of mip 0)" },
      { flags: "--dest <layer>", description: "write the new mips to this layer instead" },
      ...shardedFlags("the new mip (one mip per run: --num-mips 1)"),
    ],
    async parse(o, { inputs, parse }) {
      const options: DownsampleTaskOptions = {
        mip: parse.int(String(o.mip), "--mip"),
        mips: o.numMips === undefined ? undefined : parse.int(String(o.numMips), "--num-mips", 1),
        factor: parse.shape(String(o.factor), "--factor"),
        method: parseMethod(o.method, parse),
        sparse: Boolean(o.sparse),
        fillMissing: Boolean(o.fillMissing),
        encoding: o.encoding === undefined ? undefined : parse.encoding(String(o.encoding)),
        chunkSize: o.chunkSize ? parse.shape(String(o.chunkSize), "--chunk-size") : undefined,
        skipBackground: Boolean(o.skipBackground),
        compress: parse.compress(o.compress === undefined ? undefined : String(o.compress)),
        memoryTarget: parse.memory(String(o.memory)),
        bounds: o.bounds ? parse.bbox(String(o.bounds)) : undefined,
        ...(o.dest === undefined ? {} : { dest: String(o.dest) }),
        ...parseShardedFlags(o, parse),
      };
      return { ...options, background: await parseBackgroundOption(inputs.layer ?? "", o, parse) };
    },
  },
});
