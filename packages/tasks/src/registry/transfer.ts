/** The transfer stage: `ngpipe image xfer`, `"stage": "transfer"`. */
import { z } from "zod";
import { compressSchema } from "../stages/common";
import { backgroundSchema, DEFAULT_MEMORY_TARGET, methodSchema } from "../stages/downsample";
import { createTransferTasks, type TransferTaskOptions, transferTask } from "../stages/transfer";
import { parseBackgroundOption, parseMethod } from "./downsample";
import { bboxOption, countOption, shapeOption, vec3Option } from "./options";
import { parseShardedFlags, shardedFlags, shardedOptionsShape } from "./sharded";
import { defineStage } from "./stage";

/** Options of the transfer stage as JSON (a pipeline step's `options`). */
export const transferStageOptions = z
  .object({
    mip: countOption.optional(),
    chunkSize: shapeOption.optional(),
    encoding: z.string().optional(),
    blockSize: shapeOption.optional(),
    translate: vec3Option.optional(),
    bounds: bboxOption.optional(),
    strictBounds: z.boolean().optional(),
    boundsMip: countOption.optional(),
    fillMissing: z.boolean().optional(),
    mips: countOption.optional(),
    factor: shapeOption.optional(),
    method: methodSchema.optional(),
    sparse: z.boolean().optional(),
    skipBackground: z.boolean().optional(),
    background: backgroundSchema.optional(),
    memoryTarget: z.number().positive().optional(),
    fastPath: z.boolean().optional(),
    compress: compressSchema.optional(),
    ...shardedOptionsShape,
  })
  .strict();

/** Copy a layer (or a box of it) elsewhere, rechunking, re-encoding or translating. */
export const transferStage = defineStage<TransferTaskOptions>({
  name: "transfer",
  tasks: [transferTask],
  inputs: ["src", "dest"],
  options: transferStageOptions,
  create: ({ src, dest }, o) => createTransferTasks(src, dest, o),
  cli: {
    command: ["image", "xfer"],
    description:
      "copy a layer (or a box) to another place: rechunk, re-encode, translate, downsample on the way",
    arguments: [
      { name: "src", description: "source layer", input: "src" },
      { name: "dest", description: "destination layer", input: "dest" },
    ],
    options: [
      { flags: "--mip <n>", description: "mip to copy", default: "0" },
      { flags: "--chunk-size <x,y,z>", description: "chunk size at the destination" },
      { flags: "--encoding <name>", description: "encoding at the destination" },
      { flags: "--translate <x,y,z>", description: "shift the voxel offset by this much" },
      { flags: "--bounds <bbox>", description: "only this box" },
      {
        flags: "--num-mips <n>",
        description:
          "also downsample this many mips at the destination (default 0: none, unlike Igneous' 5)",
      },
      {
        flags: "--factor <x,y,z>",
        description: "downsampling factor of those mips (default 2,2,1)",
      },
      {
        flags: "--method <m>",
        description: `downsampling method of those mips: ${methodSchema.options.join("|")} (default auto: average for images, mode for segmentation)`,
      },
      { flags: "--sparse", description: "downsample treating zero as background" },
      { flags: "--fill-missing", description: "read missing chunks as background" },
      { flags: "--skip-background", description: "do not write chunks that are all background" },
      { flags: "--background <v>", description: "the value --skip-background skips (default 0)" },
      {
        flags: "--compress <how>",
        description: "compression of the chunks written: gzip, br or none",
      },
      {
        flags: "--memory <bytes>",
        description: "memory target per task",
        default: String(DEFAULT_MEMORY_TARGET),
      },
      { flags: "--no-fast-path", description: "never copy chunk files byte for byte" },
      ...shardedFlags("the destination scale", true),
    ],
    async parse(o, { inputs, parse }) {
      const mips = o.numMips === undefined ? 0 : parse.int(String(o.numMips), "--num-mips");
      const downsampling = ["factor", "method", "sparse"].filter((k) => o[k] !== undefined);
      if (mips === 0 && downsampling.length > 0)
        throw parse.usage(
          `--${downsampling[0]} shapes the downsamples, and xfer makes none without --num-mips <n>`,
        );
      const options: TransferTaskOptions = {
        mip: parse.int(String(o.mip), "--mip"),
        chunkSize: o.chunkSize ? parse.shape(String(o.chunkSize), "--chunk-size") : undefined,
        encoding: o.encoding === undefined ? undefined : parse.encoding(String(o.encoding)),
        translate: o.translate ? parse.vec3(String(o.translate), "--translate") : undefined,
        bounds: o.bounds ? parse.bbox(String(o.bounds)) : undefined,
        mips,
        factor: o.factor === undefined ? undefined : parse.shape(String(o.factor), "--factor"),
        method: parseMethod(o.method, parse),
        sparse: Boolean(o.sparse),
        fillMissing: Boolean(o.fillMissing),
        skipBackground: Boolean(o.skipBackground),
        compress: parse.compress(o.compress === undefined ? undefined : String(o.compress)),
        memoryTarget: parse.memory(String(o.memory)),
        fastPath: o.fastPath !== false,
        ...parseShardedFlags(o, parse),
      };
      return { ...options, background: await parseBackgroundOption(inputs.src ?? "", o, parse) };
    },
    label: "xfer",
  },
});
