/**
 * The maintenance stages over a layer's chunks: delete (`ngpipe image rm`),
 * touch (`ngpipe image touch`) and blackout (`ngpipe image blackout`).
 */
import { z } from "zod";
import { type BlackoutTaskOptions, blackoutTask, createBlackoutTasks } from "../stages/blackout";
import { createDeleteTasks, type DeleteTaskOptions, deleteTask } from "../stages/delete";
import { backgroundSchema } from "../stages/downsample";
import { createTouchTasks, type TouchTaskOptions, touchTask } from "../stages/touch";
import { bboxOption, countOption, shapeOption } from "./options";
import { defineStage } from "./stage";

/** Options of the delete stage as JSON (a pipeline step's `options`). */
export const deleteStageOptions = z
  .object({
    mip: countOption.optional(),
    mips: countOption.optional(),
    bounds: bboxOption.optional(),
    strictBounds: z.boolean().optional(),
    boundsMip: countOption.optional(),
    shape: shapeOption.optional(),
  })
  .strict();

/** Delete the chunks of a box at one or more mips. */
export const deleteStage = defineStage<DeleteTaskOptions>({
  name: "delete",
  tasks: [deleteTask],
  inputs: ["layer"],
  options: deleteStageOptions,
  create: ({ layer }, o) => createDeleteTasks(layer, o),
  cli: {
    command: ["image", "rm"],
    description: "delete the chunks of a box at one or more mips",
    arguments: [{ name: "layer", description: "layer path or URL", input: "layer" }],
    options: [
      { flags: "--mip <n>", description: "first mip", default: "0" },
      { flags: "--num-mips <n>", description: "mips to delete from --mip on", default: "1" },
      { flags: "--bounds <bbox>", description: "only this box (voxels of mip 0)" },
    ],
    parse: (o, { parse }) => ({
      mip: parse.int(String(o.mip), "--mip"),
      mips: parse.int(String(o.numMips), "--num-mips", 1),
      bounds: o.bounds ? parse.bbox(String(o.bounds)) : undefined,
    }),
  },
});

/** Options of the touch stage as JSON (a pipeline step's `options`). */
export const touchStageOptions = z
  .object({
    mip: countOption.optional(),
    bounds: bboxOption.optional(),
    strictBounds: z.boolean().optional(),
    boundsMip: countOption.optional(),
    shape: shapeOption.optional(),
    memoryTarget: z.number().positive().optional(),
  })
  .strict();

/** Read every chunk of a box to check that it exists and decodes. */
export const touchStage = defineStage<TouchTaskOptions>({
  name: "touch",
  tasks: [touchTask],
  inputs: ["layer"],
  options: touchStageOptions,
  create: ({ layer }, o) => createTouchTasks(layer, o),
  cli: {
    command: ["image", "touch"],
    description: "read every chunk of a box to verify that it exists and decodes",
    arguments: [{ name: "layer", description: "layer path or URL", input: "layer" }],
    options: [
      { flags: "--mip <n>", description: "mip", default: "0" },
      { flags: "--bounds <bbox>", description: "only this box" },
    ],
    parse: (o, { parse }) => ({
      mip: parse.int(String(o.mip), "--mip"),
      bounds: o.bounds ? parse.bbox(String(o.bounds)) : undefined,
    }),
  },
});

/** Options of the blackout stage as JSON: the box to fill is `bounds`. */
export const blackoutStageOptions = z
  .object({
    bounds: bboxOption,
    strictBounds: z.boolean().optional(),
    mip: countOption.optional(),
    boundsMip: countOption.optional(),
    value: backgroundSchema.optional(),
    nonAligned: z.boolean().optional(),
    shape: shapeOption.optional(),
    memoryTarget: z.number().positive().optional(),
  })
  .strict();

/** Options of the blackout stage: those of `createBlackoutTasks` plus the box. */
export type BlackoutStageOptions = BlackoutTaskOptions & z.output<typeof blackoutStageOptions>;

/** Fill a box with one value. */
export const blackoutStage = defineStage<BlackoutStageOptions>({
  name: "blackout",
  tasks: [blackoutTask],
  inputs: ["layer"],
  options: blackoutStageOptions,
  create: ({ layer }, { bounds, ...o }) => createBlackoutTasks(layer, bounds, o),
  cli: {
    command: ["image", "blackout"],
    description: "fill a box with one value",
    arguments: [
      { name: "layer", description: "layer path or URL", input: "layer" },
      { name: "bbox", description: "the box (x0-x1_y0-y1_z0-z1)" },
    ],
    options: [
      { flags: "--mip <n>", description: "mip", default: "0" },
      { flags: "--value <v>", description: "the value", default: "0" },
    ],
    parse: (o, { parse }) => ({
      bounds: parse.bbox(String(o.bbox)),
      mip: parse.int(String(o.mip), "--mip"),
      value: o.value === undefined ? undefined : String(o.value),
      nonAligned: true,
    }),
  },
});
