/** The label stages: `ngpipe image ccl` / `"stage": "ccl"`, `ngpipe image remap` / `"stage": "remap"`. */
import { z } from "zod";
import {
  type ConnectedComponentsTaskOptions,
  cclBlockTask,
  cclCleanupTask,
  cclNumberTask,
  cclReduceTask,
  cclRelabelTask,
  createConnectedComponentsTasks,
} from "../labels/ccl";
import { createDustTasks, type DustTaskOptions, dustTask } from "../labels/dust";
import { createRemapTasks, type RemapTaskOptions, remapTask } from "../labels/remap-stage";
import {
  createVoxelCountTasks,
  type VoxelCountOptions,
  voxelCountBlockTask,
  voxelCountMergeTask,
} from "../labels/voxel-counts";
import { backgroundSchema } from "../stages/downsample";
import { countOption, shapeOption } from "./options";
import { parseShardedFlags, shardedFlags, shardedOptionsShape } from "./sharded";
import { defineStage } from "./stage";

/** Options of the connected-components stage as JSON (a pipeline step's `options`). */
export const connectedComponentsStageOptions = z
  .object({
    connectivity: z.union([z.literal(6), z.literal(18), z.literal(26)]).optional(),
    shape: shapeOption.optional(),
    mip: countOption.optional(),
    background: backgroundSchema.optional(),
    threshold: z.tuple([z.number(), z.number()]).optional(),
    scratch: z.string().optional(),
    keepScratch: z.boolean().optional(),
    groupSize: z.number().int().min(2).optional(),
    dataType: z.enum(["uint32", "uint64", "auto"]).optional(),
    mips: countOption.optional(),
    encoding: z.enum(["raw", "compressed_segmentation"]).optional(),
    memoryTarget: z.number().positive().optional(),
    ...shardedOptionsShape,
  })
  .strict();

/** Connected components across a whole layer, in phases. */
export const connectedComponentsStage = defineStage<ConnectedComponentsTaskOptions>({
  name: "ccl",
  tasks: [cclBlockTask, cclReduceTask, cclNumberTask, cclRelabelTask, cclCleanupTask],
  inputs: ["src", "dest"],
  options: connectedComponentsStageOptions,
  createPhases: ({ src, dest }, o) => createConnectedComponentsTasks(src, dest, o),
  cli: {
    command: ["image", "ccl"],
    description:
      "connected components of a layer across tasks, numbered as one connectedComponents call on the whole volume would (phases: blocks, reduce, number, relabel, downsample, cleanup)",
    arguments: [
      { name: "src", description: "label (or, with --threshold, image) layer", input: "src" },
      { name: "dest", description: "destination segmentation layer", input: "dest" },
    ],
    options: [
      { flags: "--connectivity <n>", description: "6, 18 or 26", default: "26" },
      {
        flags: "--shape <x,y,z>",
        description:
          "block shape, a multiple of the chunk size (default: from --memory; with --sharded, the shard's)",
      },
      { flags: "--mip <n>", description: "mip to read", default: "0" },
      { flags: "--threshold <lo,hi>", description: "image layers: foreground is lo <= value < hi" },
      {
        flags: "--num-mips <n>",
        description: "downsampled mips of the result (mode)",
        default: "0",
      },
      { flags: "--data-type <t>", description: "uint32, uint64 or auto", default: "auto" },
      {
        flags: "--scratch <url>",
        description: "where the phases keep their state (default: DEST/ccl-scratch)",
      },
      { flags: "--keep-scratch", description: "keep the state objects after the last phase" },
      { flags: "--memory <bytes>", description: "memory target per task", default: "3.5e9" },
      ...shardedFlags("the components layer and its mips"),
    ],
    async parse(o, { parse }) {
      const connectivity = parse.int(String(o.connectivity), "--connectivity");
      if (connectivity !== 6 && connectivity !== 18 && connectivity !== 26)
        throw parse.usage(`--connectivity must be 6, 18 or 26; got "${o.connectivity}"`);
      let threshold: [number, number] | undefined;
      if (o.threshold !== undefined) {
        const parts = String(o.threshold).split(",");
        if (parts.length !== 2)
          throw parse.usage(`--threshold must be lo,hi; got "${o.threshold}"`);
        threshold = [
          parse.number(parts[0], "--threshold lo", -Infinity),
          parse.number(parts[1], "--threshold hi", -Infinity),
        ];
      }
      if (o.sharded && o.shape)
        throw parse.usage("--shape is the shard's with --sharded; size shards with --shard-bytes");
      const dataType = String(o.dataType);
      if (!["uint32", "uint64", "auto"].includes(dataType))
        throw parse.usage(`--data-type must be uint32, uint64 or auto; got "${dataType}"`);
      return {
        connectivity,
        shape: o.shape ? parse.shape(String(o.shape), "--shape") : undefined,
        mip: parse.int(String(o.mip), "--mip"),
        threshold,
        mips: parse.int(String(o.numMips), "--num-mips"),
        dataType: dataType as "uint32" | "uint64" | "auto",
        scratch: o.scratch === undefined ? undefined : String(o.scratch),
        keepScratch: Boolean(o.keepScratch),
        memoryTarget: parse.memory(String(o.memory)),
        ...parseShardedFlags(o, parse),
      };
    },
  },
});

const labelTypes = [
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "int8",
  "int16",
  "int32",
  "int64",
] as const;

/** Options of the remap stage as JSON. */
export const remapStageOptions = z
  .object({
    map: z.string().min(1),
    dataType: z.enum(labelTypes).optional(),
    preserveMissing: z.boolean().optional(),
    mip: countOption.optional(),
    shape: shapeOption.optional(),
    mips: countOption.optional(),
    memoryTarget: z.number().positive().optional(),
    ...shardedOptionsShape,
  })
  .strict();

/** A map file applied to every block of a layer (the seed's Remap). */
export const remapStage = defineStage<RemapTaskOptions>({
  name: "remap",
  tasks: [remapTask],
  inputs: ["src", "dest"],
  options: remapStageOptions,
  createPhases: ({ src, dest }, o) => createRemapTasks(src, dest, o),
  cli: {
    command: ["image", "remap"],
    description:
      "apply a map (dense .npy, JSON object, or .bin of little-endian uint64 (from, to) pairs) to every voxel of a layer",
    arguments: [
      { name: "src", description: "label layer", input: "src" },
      { name: "dest", description: "destination layer", input: "dest" },
    ],
    options: [
      { flags: "--map <url>", description: "the map file (path or URL)" },
      { flags: "--data-type <t>", description: "data type of dest (default: the source's)" },
      { flags: "--preserve-missing", description: "ids missing from the map keep their value" },
      { flags: "--mip <n>", description: "mip to read", default: "0" },
      { flags: "--shape <x,y,z>", description: "task shape (a multiple of the chunk size)" },
      {
        flags: "--num-mips <n>",
        description: "downsampled mips of the result (mode)",
        default: "0",
      },
      ...shardedFlags("the remapped layer and its mips"),
      {
        flags: "--memory <bytes>",
        description: "memory target per task (picks --shape and the shards)",
        default: "3.5e9",
      },
    ],
    parse(o, { parse }) {
      if (o.map === undefined) throw parse.usage("--map is required: the map file");
      const dataType = o.dataType === undefined ? undefined : String(o.dataType);
      if (dataType !== undefined && !(labelTypes as readonly string[]).includes(dataType))
        throw parse.usage(`--data-type must be one of ${labelTypes.join(", ")}; got "${dataType}"`);
      if (o.sharded && o.shape)
        throw parse.usage("--shape is the shard's with --sharded; size shards with --shard-bytes");
      return {
        map: parse.location(String(o.map)),
        dataType: dataType as RemapTaskOptions["dataType"],
        preserveMissing: Boolean(o.preserveMissing),
        mip: parse.int(String(o.mip), "--mip"),
        shape: o.shape ? parse.shape(String(o.shape), "--shape") : undefined,
        mips: parse.int(String(o.numMips), "--num-mips"),
        memoryTarget: parse.memory(String(o.memory)),
        ...parseShardedFlags(o, parse),
      };
    },
  },
});

/** Options of the count-voxels stage as JSON. */
export const voxelCountStageOptions = z
  .object({
    dest: z.string().optional(),
    mip: countOption.optional(),
    shape: shapeOption.optional(),
    groupSize: z.number().int().min(2).optional(),
    scratch: z.string().optional(),
  })
  .strict();

/** Dataset-wide voxel counts per label, as a chunked table in storage. */
export const voxelCountStage = defineStage<VoxelCountOptions>({
  name: "count-voxels",
  tasks: [voxelCountBlockTask, voxelCountMergeTask, cclCleanupTask],
  inputs: ["layer"],
  options: voxelCountStageOptions as z.ZodType<VoxelCountOptions>,
  createPhases: ({ layer }, o) => createVoxelCountTasks(layer, o),
  cli: {
    command: ["image", "count-voxels"],
    description:
      "voxel counts of every label of a layer, merged in storage into a chunked table (index.json + chunk-<k>; read with readVoxelCounts)",
    arguments: [{ name: "layer", description: "label layer", input: "layer" }],
    options: [
      { flags: "--dest <url>", description: "where the table goes (default: LAYER/voxel-counts)" },
      { flags: "--mip <n>", description: "mip to count", default: "0" },
      { flags: "--shape <x,y,z>", description: "block shape (a multiple of the chunk size)" },
    ],
    parse: (o, { parse }) => ({
      dest: o.dest === undefined ? undefined : parse.location(String(o.dest)),
      mip: parse.int(String(o.mip), "--mip"),
      shape: o.shape
        ? (parse.shape(String(o.shape), "--shape") as [number, number, number])
        : undefined,
    }),
  },
});

/** Options of the dust stage as JSON. */
export const dustStageOptions = z
  .object({
    minSize: z.number().min(0),
    mip: countOption.optional(),
    shape: shapeOption.optional(),
    mips: countOption.optional(),
    counts: z.string().optional(),
    keepCounts: z.boolean().optional(),
  })
  .strict();

/** Labels below a dataset-wide voxel count set to 0. */
export const dustStage = defineStage<DustTaskOptions>({
  name: "dust",
  tasks: [voxelCountBlockTask, voxelCountMergeTask, dustTask, cclCleanupTask],
  inputs: ["src", "dest"],
  options: dustStageOptions as z.ZodType<DustTaskOptions>,
  createPhases: ({ src, dest }, o) => createDustTasks(src, dest, o),
  cli: {
    command: ["image", "dust"],
    description: "set to 0 every label with fewer than --min-size voxels in the whole dataset",
    arguments: [
      { name: "src", description: "label layer", input: "src" },
      { name: "dest", description: "destination layer", input: "dest" },
    ],
    options: [
      { flags: "--min-size <n>", description: "smallest voxel count kept" },
      { flags: "--mip <n>", description: "mip to read", default: "0" },
      { flags: "--shape <x,y,z>", description: "task shape (a multiple of the chunk size)" },
      {
        flags: "--num-mips <n>",
        description: "downsampled mips of the result (mode)",
        default: "0",
      },
    ],
    parse(o, { parse }) {
      if (o.minSize === undefined) throw parse.usage("--min-size is required");
      return {
        minSize: parse.number(String(o.minSize), "--min-size"),
        mip: parse.int(String(o.mip), "--mip"),
        shape: o.shape
          ? (parse.shape(String(o.shape), "--shape") as [number, number, number])
          : undefined,
        mips: parse.int(String(o.numMips), "--num-mips"),
      };
    },
  },
});
