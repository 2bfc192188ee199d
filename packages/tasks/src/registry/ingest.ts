/** The ingest stage: `ngpipe image create`, `"stage": "ingest"`. */
import { z } from "zod";
import { type OpenSourceOptions, SOURCE_FORMATS, type SourceFormat } from "../ingest/sources";
import { createIngestTasks, type IngestOptions, ingestTask } from "../ingest/stage";
import { bboxOption, shapeOption, vec3Option } from "./options";
import { parseShardedFlags, shardedFlags, shardedOptionsShape } from "./sharded";
import { defineStage } from "./stage";

/** Options of the ingest stage as JSON (a pipeline step's `options`). */
export const ingestStageOptions = z
  .object({
    layerType: z.enum(["image", "segmentation"]).optional(),
    resolution: vec3Option.optional(),
    voxelOffset: vec3Option.optional(),
    chunkSize: shapeOption.optional(),
    encoding: z.string().optional(),
    bounds: bboxOption.optional(),
    taskShape: shapeOption.optional(),
    sourceOptions: z
      .record(z.string(), z.unknown())
      .transform((o) => o as OpenSourceOptions)
      .optional(),
    mesh: z.boolean().optional(),
    compressLevel: z.number().int().min(1).max(9).optional(),
    memoryTarget: z.number().positive().optional(),
    ...shardedOptionsShape,
  })
  .strict();

/** Ingest HDF5, Zarr, .npy or an image stack into a new layer. */
export const ingestStage = defineStage<IngestOptions>({
  name: "ingest",
  tasks: [ingestTask],
  inputs: ["source", "layer"],
  options: ingestStageOptions,
  create: ({ source, layer }, o) => createIngestTasks(source, layer, o),
  cli: {
    command: ["image", "create"],
    description:
      "ingest HDF5 (file.h5#/dataset), Zarr, .npy, an image stack, a BigArray or a HyperSquare volume into a new layer",
    arguments: [
      { name: "source", description: "source path or URL", input: "source" },
      { name: "layer", description: "destination layer path or URL", input: "layer" },
    ],
    options: [
      {
        flags: "--resolution <x,y,z>",
        description: "voxel size in nm (default: the source's, else 1,1,1)",
      },
      { flags: "--offset <x,y,z>", description: "voxel offset of the layer", default: "0,0,0" },
      { flags: "--chunk-size <x,y,z>", description: "chunk size", default: "64,64,64" },
      {
        flags: "--encoding <name>",
        description: "raw, compressed_segmentation, compresso, jpeg, png",
      },
      { flags: "--layer-type <type>", description: "image or segmentation" },
      {
        flags: "--task-shape <x,y,z>",
        description: "voxels per task (a multiple of the chunk size)",
      },
      { flags: "--bounds <bbox>", description: "only this box of the source" },
      {
        flags: "--dataset <path>",
        description: "HDF5 dataset, Zarr array path, or HyperSquare image|segmentation",
      },
      {
        flags: "--format <name>",
        description:
          "hdf5, zarr, npy, images, bigarray or hypersquare (default: from the path; bigarray and hypersquare are never guessed)",
      },
      {
        flags: "--axes <order>",
        description: "axis order of the source array, e.g. czyx, zyx, xyz",
      },
      {
        flags: "--compress-level <n>",
        description: "gzip level of the chunks (1 fastest .. 9 smallest)",
        default: "6",
      },
      ...shardedFlags("mip 0"),
      {
        flags: "--memory <bytes>",
        description: "memory target per sharded task",
        default: "3.5e9",
      },
    ],
    parse(values, { parse }) {
      const o = values as Record<string, string | undefined>;
      const chunkSize = parse.shape(o.chunkSize ?? "64,64,64", "--chunk-size");
      const taskShape = o.taskShape ? parse.shape(o.taskShape, "--task-shape") : undefined;
      if (taskShape?.some((n, i) => n % chunkSize[i] !== 0))
        throw parse.usage(
          `--task-shape ${taskShape.join(",")} must be a multiple of --chunk-size ${chunkSize.join(",")}`,
        );
      const resolution = o.resolution ? parse.vec3(o.resolution, "--resolution") : undefined;
      if (resolution?.some((n) => n <= 0))
        throw parse.usage(`--resolution must be three numbers > 0; got "${o.resolution}"`);
      const voxelOffset = parse.vec3(o.offset ?? "0,0,0", "--offset");
      if (voxelOffset.some((n) => !Number.isInteger(n)))
        throw parse.usage(`--offset must be three whole numbers; got "${o.offset}"`);
      if (o.format !== undefined && !(SOURCE_FORMATS as readonly string[]).includes(o.format))
        throw parse.usage(
          `--format must be one of ${SOURCE_FORMATS.join(", ")}; got "${o.format}"`,
        );
      if (o.sharded && o.taskShape)
        throw parse.usage(
          "--task-shape is the shard's with --sharded; size shards with --shard-bytes",
        );
      if (o.layerType !== undefined && o.layerType !== "image" && o.layerType !== "segmentation")
        throw parse.usage(`--layer-type must be image or segmentation; got "${o.layerType}"`);
      return {
        resolution,
        voxelOffset,
        chunkSize,
        encoding: o.encoding === undefined ? undefined : parse.encoding(o.encoding),
        layerType: o.layerType,
        taskShape,
        bounds: o.bounds ? parse.bbox(o.bounds) : undefined,
        // HDF5 readers take the dataset as `dataset`, Zarr readers as `path`.
        sourceOptions: {
          dataset: o.dataset,
          path: o.dataset,
          axes: o.axes,
          format: o.format as SourceFormat | undefined,
        },
        compressLevel: parse.int(o.compressLevel ?? "6", "--compress-level", 1, 9),
        memoryTarget: parse.memory(o.memory ?? "3.5e9"),
        ...parseShardedFlags(values, parse),
      };
    },
  },
});
