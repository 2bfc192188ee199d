/** The meshing stages: mesh (`ngpipe mesh forge`) and manifest (`ngpipe mesh merge`). */
import { Volume } from "@ngpipe/precomputed";
import { z } from "zod";
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
      };
      await checkSegmentation(inputs.layer ?? "", parse);
      return options;
    },
  },
});

/** Options of the manifest stage as JSON (a pipeline step's `options`). */
export const manifestStageOptions = z
  .object({ meshDir: z.string().optional(), magnitude: countOption.optional() })
  .strict();

/** Write each segment's manifest `<id>:0` listing its fragments. */
export const manifestStage = defineStage<MeshManifestOptions>({
  name: "manifest",
  tasks: [meshManifestTask],
  inputs: ["layer"],
  options: manifestStageOptions,
  create: ({ layer }, o) => createMeshManifestTasks(layer, o),
  cli: {
    command: ["mesh", "merge"],
    description: "write each segment's manifest <id>:0 listing its fragments",
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
    ],
    async parse(o, { inputs, parse }) {
      const options = {
        meshDir: o.dir === undefined ? undefined : String(o.dir),
        magnitude: parse.int(String(o.magnitude), "--magnitude"),
      };
      await checkSegmentation(inputs.layer ?? "", parse);
      return options;
    },
  },
});
