/** The skeleton stages: forge (`ngpipe skeleton forge`) and merge (`ngpipe skeleton merge`). */
import { type ShardingSpec, shardingSpecProblems } from "@ngpipe/precomputed";
import { z } from "zod";
import { createSkeletonTasks, type SkeletonTaskOptions, skeletonTask } from "../skeletons/forge";
import {
  createSkeletonMergeTasks,
  type SkeletonMergeOptions,
  skeletonMergeTask,
} from "../skeletons/merge";
import { bboxOption, countOption, shapeOption, vec3Option } from "./options";
import { defineStage } from "./stage";

/** Options of the skeleton forge as JSON (a pipeline step's `options`). */
export const skeletonStageOptions = z
  .object({
    mip: countOption.optional(),
    shape: shapeOption.optional(),
    teasar: z
      .object({
        scale: z.number().positive().optional(),
        const: z.number().nonnegative().optional(),
        pdrfScale: z.number().positive().optional(),
        pdrfExponent: z.number().positive().optional(),
      })
      .strict()
      .optional(),
    dust: countOption.optional(),
    fixBranching: z.boolean().optional(),
    objectIds: z.array(z.union([z.number(), z.string()])).optional(),
    anisotropy: vec3Option.optional(),
    skeletonDir: z.string().optional(),
    buckets: z.number().int().positive().optional(),
    fillMissing: z.boolean().optional(),
    bounds: bboxOption.optional(),
    strictBounds: z.boolean().optional(),
  })
  .strict();

/** Skeletonize every object, one task per block (+1 voxel overlap), writing fragments. */
export const skeletonStage = defineStage<SkeletonTaskOptions>({
  name: "skeleton",
  tasks: [skeletonTask],
  inputs: ["layer"],
  options: skeletonStageOptions,
  create: ({ layer }, o) => createSkeletonTasks(layer, o),
  cli: {
    command: ["skeleton", "forge"],
    description:
      "skeletonize every object (TEASAR), one task per block (+1 voxel overlap), writing fragments",
    arguments: [{ name: "layer", description: "segmentation layer path or URL", input: "layer" }],
    options: [
      { flags: "--mip <n>", description: "mip to skeletonize", default: "0" },
      { flags: "--shape <x,y,z>", description: "block shape in voxels", default: "512,512,512" },
      {
        flags: "--scale <s>",
        description: "TEASAR: invalidation ball radius is scale * DBF + const",
        default: "4",
      },
      {
        flags: "--const <nm>",
        description: "TEASAR: the ball radius' constant in nm",
        default: "500",
      },
      {
        flags: "--dust <voxels>",
        description: "skip objects with fewer voxels in a block",
        default: "1000",
      },
      {
        flags: "--pdrf-scale <n>",
        description: "TEASAR: boundary penalty scale",
        default: "100000",
      },
      {
        flags: "--pdrf-exponent <n>",
        description: "TEASAR: boundary penalty exponent",
        default: "8",
      },
      { flags: "--no-fix-branching", description: "trace each path from the root only (faster)" },
      {
        flags: "--anisotropy <x,y,z>",
        description: "the voxel size (nm) expected; refused unless it is the layer's",
      },
      { flags: "--ids <ids>", description: "only these objects (comma separated)" },
      {
        flags: "--dir <name>",
        description: "skeleton directory (default: the info's skeletons, else skeletons)",
      },
      {
        flags: "--buckets <n>",
        description:
          "fragment buckets, a power of two (default: blocks rounded up, at most 1024); sharded merges need one per shard",
      },
      { flags: "--bounds <bbox>", description: "only this box" },
      { flags: "--fill-missing", description: "read missing chunks as background" },
    ],
    parse(o, { parse }) {
      return {
        mip: parse.int(String(o.mip), "--mip"),
        shape: parse.shape(String(o.shape), "--shape"),
        teasar: {
          scale: parse.number(String(o.scale), "--scale"),
          const: parse.number(String(o.const), "--const"),
          pdrfScale: parse.number(String(o.pdrfScale), "--pdrf-scale"),
          pdrfExponent: parse.number(String(o.pdrfExponent), "--pdrf-exponent"),
        },
        dust: parse.int(String(o.dust), "--dust"),
        fixBranching: o.fixBranching !== false,
        anisotropy: o.anisotropy ? parse.vec3(String(o.anisotropy), "--anisotropy") : undefined,
        objectIds: o.ids ? String(o.ids).split(",") : undefined,
        skeletonDir: o.dir === undefined ? undefined : String(o.dir),
        buckets:
          o.buckets === undefined ? undefined : parse.int(String(o.buckets), "--buckets", 1, 65536),
        bounds: o.bounds ? parse.bbox(String(o.bounds)) : undefined,
        fillMissing: Boolean(o.fillMissing),
      };
    },
  },
});

const shardingOption = z.custom<ShardingSpec>(
  (v) => shardingSpecProblems(v, "sharding").length === 0,
  "not a valid neuroglancer_uint64_sharded_v1 spec",
);

/** Options of the skeleton merge as JSON. */
export const skeletonMergeStageOptions = z
  .object({
    skeletonDir: z.string().optional(),
    sharded: z.boolean().optional(),
    sharding: shardingOption.optional(),
    dustThreshold: z.number().nonnegative().optional(),
    tickThreshold: z.number().nonnegative().optional(),
    memory: z.number().positive().optional(),
  })
  .strict();

/** Join each object's fragments into one skeleton per object (unsharded or sharded). */
export const skeletonMergeStage = defineStage<SkeletonMergeOptions>({
  name: "skeleton-merge",
  tasks: [skeletonMergeTask],
  inputs: ["layer"],
  options: skeletonMergeStageOptions,
  create: ({ layer }, o) => createSkeletonMergeTasks(layer, o),
  cli: {
    command: ["skeleton", "merge"],
    description:
      "join each object's fragments (welded on shared faces), drop dust and short ticks, write one skeleton per object",
    arguments: [{ name: "layer", description: "segmentation layer path or URL", input: "layer" }],
    options: [
      {
        flags: "--sharded",
        description: "write sharded skeletons (spec from the fragments' census)",
      },
      {
        flags: "--dust-threshold <nm>",
        description: "drop pieces with less cable than this",
        default: "1000",
      },
      {
        flags: "--tick-threshold <nm>",
        description: "prune terminal branches shorter than this",
        default: "3500",
      },
      { flags: "--memory <bytes>", description: "memory target per merge task", default: "1e9" },
      {
        flags: "--dir <name>",
        description: "skeleton directory (default: the info's skeletons, else skeletons)",
      },
    ],
    parse(o, { parse }) {
      return {
        sharded: Boolean(o.sharded),
        dustThreshold: parse.number(String(o.dustThreshold), "--dust-threshold"),
        tickThreshold: parse.number(String(o.tickThreshold), "--tick-threshold"),
        memory: parse.memory(String(o.memory)),
        skeletonDir: o.dir === undefined ? undefined : String(o.dir),
      };
    },
  },
});
