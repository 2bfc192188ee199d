/**
 * The meshing stages: mesh (`ngpipe mesh forge`), manifest (`ngpipe mesh
 * merge`, legacy manifests or, with `--multires`, multi-resolution meshes)
 * and convert (`ngpipe mesh convert`, legacy to multi-resolution).
 */
import { Volume } from "@ngpipe/precomputed";
import { z } from "zod";
import {
  createMultiresMeshMergeTasks,
  type MultiresMeshMergeOptions,
  multiresMeshMergeTask,
} from "../mesh/multires";
import {
  createMeshingTasks,
  createMeshManifestTasks,
  type MeshingOptions,
  type MeshManifestOptions,
  meshManifestTask,
  meshTask,
} from "../mesh/stages";
import { bboxOption, countOption, shapeOption } from "./options";
import { defineStage, type StageArgParsers } from "./stage";

/** Refuse (before anything is written) a layer that is not a segmentation. */
async function checkSegmentation(url: string, parse: StageArgParsers): Promise<void> {
  const vol = await Volume.open(url);
  if (vol.layerType !== "segmentation")
    throw parse.usage(
      `${vol.url} is an ${vol.layerType} layer; meshes are made from segmentation layers`,
    );
}

const labelList = z.array(z.union([z.number(), z.string()]));

/** Options of the mesh stage as JSON (a pipeline step's `options`). */
export const meshStageOptions = z
  .object({
    mip: countOption.optional(),
    shape: shapeOption.optional(),
    simplification: z.number().nonnegative().optional(),
    maxError: z.number().nonnegative().optional(),
    dust: countOption.optional(),
    labels: labelList.optional(),
    excludeLabels: labelList.optional(),
    meshDir: z.string().optional(),
    fillMissing: z.boolean().optional(),
    bounds: bboxOption.optional(),
    strictBounds: z.boolean().optional(),
    compress: z.union([z.enum(["gzip", "br"]), z.literal(false)]).optional(),
    format: z.enum(["legacy", "multires"]).optional(),
    buckets: z.number().int().positive().optional(),
  })
  .strict();

/** Mesh every label of a segmentation, one task per block, writing fragments. */
export const meshStage = defineStage<MeshingOptions>({
  name: "mesh",
  tasks: [meshTask],
  inputs: ["layer"],
  options: meshStageOptions,
  create: ({ layer }, o) => createMeshingTasks(layer, o),
  cli: {
    command: ["mesh", "forge"],
    description: "mesh every label, one task per block (+1 voxel overlap), writing fragments",
    arguments: [{ name: "layer", description: "segmentation layer path or URL", input: "layer" }],
    options: [
      { flags: "--mip <n>", description: "mip to mesh", default: "0" },
      { flags: "--shape <x,y,z>", description: "block shape in voxels", default: "448,448,448" },
      {
        flags: "--simplification <factor>",
        description: "reduction factor (0: none)",
        default: "100",
      },
      { flags: "--max-error <nm>", description: "max simplification error in nm", default: "40" },
      {
        flags: "--dust <voxels>",
        description: "skip labels with fewer voxels in a block",
        default: "0",
      },
      {
        flags: "--dir <name>",
        description: "mesh directory (default: the info's mesh, else mesh)",
      },
      { flags: "--labels <ids>", description: "only these labels (comma separated)" },
      { flags: "--exclude <ids>", description: "not these labels (comma separated)" },
      { flags: "--bounds <bbox>", description: "only this box" },
      { flags: "--fill-missing", description: "read missing chunks as background" },
      {
        flags: "--compress <how>",
        description: "fragment compression: gzip, br or none",
        default: "gzip",
      },
      {
        flags: "--multires",
        description:
          "write a multiresolution (neuroglancer_multilod_draco) info; merge with `mesh merge --multires`",
      },
      {
        flags: "--buckets <n>",
        description:
          "with --multires: fragment hash buckets, a power of two (default: blocks rounded up, at most 1024); a merge task lists only its own",
      },
    ],
    async parse(o, { inputs, parse }) {
      const compress = parse.compress(o.compress === undefined ? undefined : String(o.compress));
      const options: MeshingOptions = {
        mip: parse.int(String(o.mip), "--mip"),
        shape: parse.shape(String(o.shape), "--shape"),
        simplification: parse.number(String(o.simplification), "--simplification"),
        maxError: parse.number(String(o.maxError), "--max-error"),
        dust: parse.int(String(o.dust), "--dust"),
        meshDir: o.dir === undefined ? undefined : String(o.dir),
        labels: o.labels ? String(o.labels).split(",") : undefined,
        excludeLabels: o.exclude ? String(o.exclude).split(",") : undefined,
        bounds: o.bounds ? parse.bbox(String(o.bounds)) : undefined,
        fillMissing: Boolean(o.fillMissing),
        compress: compress === "none" ? false : compress,
        format: o.multires ? "multires" : undefined,
        buckets:
          o.buckets === undefined ? undefined : parse.int(String(o.buckets), "--buckets", 1, 65536),
      };
      if (options.buckets !== undefined && !o.multires)
        throw parse.usage("--buckets needs --multires (legacy fragments are not bucketed)");
      await checkSegmentation(inputs.layer ?? "", parse);
      return options;
    },
  },
});

const vec3Option = z.tuple([z.number(), z.number(), z.number()]);

/** Options of the multiresolution merge shared by `merge --multires` and `convert`. */
const multiresOptions = {
  sharded: z.boolean().optional(),
  shardBytes: z.number().positive().optional(),
  shardsPerTask: countOption.optional(),
  cellShape: vec3Option.optional(),
  bits: z.union([z.literal(10), z.literal(16)]).optional(),
  maxLods: countOption.optional(),
  lodError: z.number().positive().optional(),
};

/** Options of the manifest stage as JSON (a pipeline step's `options`). */
export const manifestStageOptions = z
  .object({
    meshDir: z.string().optional(),
    magnitude: countOption.optional(),
    multires: z.boolean().optional(),
    ...multiresOptions,
  })
  .strict();

/** Options of the manifest stage: legacy manifests, or multiresolution meshes with `multires`. */
export type ManifestStageOptions = MeshManifestOptions &
  MultiresMeshMergeOptions & { multires?: boolean };

const multiresCliOptions = [
  { flags: "--sharded", description: "write shard files (murmurhash3 of the id)" },
  {
    flags: "--shard-bytes <bytes>",
    description: "target bytes of one shard (bounds a merge task's memory), e.g. 256M",
  },
  {
    flags: "--cell-shape <x,y,z>",
    description:
      "lod 0 octree cell in voxels (default: ~64 voxels of the finest axis, in nm, on every axis)",
  },
  { flags: "--bits <n>", description: "vertex_quantization_bits: 10 or 16", default: "10" },
  { flags: "--max-lods <n>", description: "most levels of detail", default: "8" },
  {
    flags: "--lod-error <nm>",
    description: "lod 0 error scale; lod L simplifies to it * 2^L",
    default: "40",
  },
];

function parseMultires(
  o: Record<string, unknown>,
  parse: StageArgParsers,
): MultiresMeshMergeOptions {
  const bits = parse.int(String(o.bits ?? "10"), "--bits");
  if (bits !== 10 && bits !== 16) throw parse.usage(`--bits must be 10 or 16, got ${bits}`);
  return {
    sharded: Boolean(o.sharded),
    shardBytes:
      o.shardBytes === undefined ? undefined : parse.bytes(String(o.shardBytes), "--shard-bytes"),
    cellShape:
      o.cellShape === undefined ? undefined : parse.shape(String(o.cellShape), "--cell-shape"),
    bits,
    maxLods: parse.int(String(o.maxLods ?? "8"), "--max-lods", 1),
    lodError: parse.number(String(o.lodError ?? "40"), "--lod-error"),
  };
}

/** Write each segment's manifest `<id>:0`, or with `multires` its multiresolution mesh. */
export const manifestStage = defineStage<ManifestStageOptions>({
  name: "manifest",
  tasks: [meshManifestTask, multiresMeshMergeTask],
  inputs: ["layer"],
  options: manifestStageOptions,
  create: ({ layer }, { multires, ...o }) =>
    multires ? createMultiresMeshMergeTasks(layer, o) : createMeshManifestTasks(layer, o),
  cli: {
    command: ["mesh", "merge"],
    description:
      "write each segment's manifest <id>:0 listing its fragments, or (--multires) its multiresolution mesh",
    arguments: [{ name: "layer", description: "segmentation layer path or URL", input: "layer" }],
    options: [
      {
        flags: "--dir <name>",
        description: "mesh directory (default: the info's mesh, else mesh)",
      },
      {
        flags: "--magnitude <n>",
        description:
          "split by id prefix with n leading digits (a task per prefix; for cloud storage). 0 = one listing",
        default: "0",
      },
      {
        flags: "--multires",
        description:
          "build multiresolution Draco meshes (neuroglancer_multilod_draco) from the fragments",
      },
      ...multiresCliOptions,
    ],
    async parse(o, { inputs, parse }) {
      const options: ManifestStageOptions = {
        meshDir: o.dir === undefined ? undefined : String(o.dir),
        magnitude: parse.int(String(o.magnitude), "--magnitude"),
      };
      if (o.multires) Object.assign(options, { multires: true }, parseMultires(o, parse));
      else if (o.sharded)
        throw parse.usage("--sharded needs --multires (legacy meshes are never sharded)");
      await checkSegmentation(inputs.layer ?? "", parse);
      return options;
    },
  },
});

/** Options of the convert stage as JSON (a pipeline step's `options`). */
export const convertStageOptions = z
  .object({
    meshDir: z.string().optional(),
    convertFrom: z.string().optional(),
    magnitude: countOption.optional(),
    ...multiresOptions,
  })
  .strict();

/** Convert a legacy mesh directory into a multiresolution one. */
export const convertStage = defineStage<MultiresMeshMergeOptions>({
  name: "mesh-convert",
  tasks: [multiresMeshMergeTask],
  inputs: ["layer"],
  options: convertStageOptions,
  create: ({ layer }, o) => createMultiresMeshMergeTasks(layer, { convertFrom: "mesh", ...o }),
  cli: {
    command: ["mesh", "convert"],
    description:
      "convert legacy meshes (<id>:0 manifests) into multiresolution Draco meshes in another directory",
    arguments: [{ name: "layer", description: "segmentation layer path or URL", input: "layer" }],
    options: [
      { flags: "--from <name>", description: "legacy mesh directory", default: "mesh" },
      {
        flags: "--dir <name>",
        description: "multiresolution mesh directory written",
        default: "multires",
      },
      {
        flags: "--magnitude <n>",
        description: "unsharded: split by id prefix with n leading digits (0 = one task)",
        default: "0",
      },
      ...multiresCliOptions,
    ],
    async parse(o, { inputs, parse }) {
      const options: MultiresMeshMergeOptions = {
        convertFrom: String(o.from),
        meshDir: String(o.dir),
        magnitude: parse.int(String(o.magnitude), "--magnitude"),
        ...parseMultires(o, parse),
      };
      if (options.convertFrom === options.meshDir)
        throw parse.usage("--from and --dir must differ: the legacy meshes are read while writing");
      await checkSegmentation(inputs.layer ?? "", parse);
      return options;
    },
  },
});
