/**
 * The HyperSquare stages: `ngpipe image hypersquare` / `"stage": "hypersquare"`
 * (cubes to an image and a segmentation layer) and `ngpipe image consensus` /
 * `"stage": "consensus"` (the Eyewire consensus remap).
 */
import { z } from "zod";
import { createHyperSquareTasks, type HyperSquareTaskOptions } from "../ingest/hypersquare-stage";
import { ingestTask } from "../ingest/stage";
import {
  type ConsensusTaskOptions,
  consensusTask,
  createConsensusTasks,
} from "../labels/consensus";
import { countOption, shapeOption, vec3Option } from "./options";
import { defineStage } from "./stage";

const overlapOption = z
  .tuple([z.number().int().min(0), z.number().int().min(0), z.number().int().min(0)])
  .transform((v): [number, number, number] => [v[0], v[1], v[2]]);

/** Options of the hypersquare stage as JSON. */
export const hyperSquareStageOptions = z
  .object({
    resolution: vec3Option.optional(),
    overlap: overlapOption.optional(),
    chunkSize: shapeOption.optional(),
    imageEncoding: z.enum(["jpeg", "raw"]).optional(),
    mips: countOption.optional(),
    compressLevel: z.number().int().min(1).max(9).optional(),
  })
  .strict();

/** HyperSquare cubes to `<layer>/image` and `<layer>/segmentation` (the seed's HyperSquareTask). */
export const hyperSquareStage = defineStage<HyperSquareTaskOptions>({
  name: "hypersquare",
  tasks: [ingestTask],
  inputs: ["source", "layer"],
  options: hyperSquareStageOptions,
  createPhases: ({ source, layer }, o) => createHyperSquareTasks(source, layer, o),
  cli: {
    command: ["image", "hypersquare"],
    description:
      "import a directory of HyperSquare (Eyewire) cubes as <dest>/image and <dest>/segmentation, overlaps trimmed",
    arguments: [
      { name: "source", description: "directory (path or URL) of the cubes", input: "source" },
      { name: "dest", description: "where the two layers go", input: "layer" },
    ],
    options: [
      { flags: "--resolution <x,y,z>", description: "voxel size in nm (default: the cubes')" },
      {
        flags: "--overlap <x,y,z>",
        description: "overlap of neighbouring cubes in voxels (default: from the cube origins)",
      },
      {
        flags: "--chunk-size <x,y,z>",
        description: "chunk size (default: divisors of the kept cube size near 64)",
      },
      { flags: "--image-encoding <name>", description: "jpeg or raw", default: "jpeg" },
      { flags: "--num-mips <n>", description: "downsampled mips of both layers", default: "0" },
    ],
    parse(o, { parse }) {
      const enc = String(o.imageEncoding ?? "jpeg");
      if (enc !== "jpeg" && enc !== "raw")
        throw parse.usage(`--image-encoding must be jpeg or raw; got "${enc}"`);
      const overlap = o.overlap ? parse.vec3(String(o.overlap), "--overlap") : undefined;
      if (overlap?.some((v) => !Number.isInteger(v) || v < 0))
        throw parse.usage(`--overlap must be three whole numbers >= 0; got "${o.overlap}"`);
      return {
        resolution: o.resolution ? parse.vec3(String(o.resolution), "--resolution") : undefined,
        overlap: overlap ? [overlap[0], overlap[1], overlap[2]] : undefined,
        chunkSize: o.chunkSize ? parse.shape(String(o.chunkSize), "--chunk-size") : undefined,
        imageEncoding: enc,
        mips: parse.int(String(o.numMips ?? "0"), "--num-mips"),
      };
    },
  },
});

/** Options of the consensus stage as JSON. */
export const consensusStageOptions = z
  .object({
    map: z.string().min(1),
    hypersquare: z.string().min(1),
    overlap: overlapOption.optional(),
    volumes: z.record(z.string(), z.number().int().min(0).max(0xffff)).optional(),
    dataType: z.enum(["uint32", "uint64"]).optional(),
    mips: countOption.optional(),
  })
  .strict();

/** The Eyewire consensus applied cube by cube (the seed's HyperSquareConsensusTask). */
export const consensusStage = defineStage<ConsensusTaskOptions>({
  name: "consensus",
  tasks: [consensusTask],
  inputs: ["src", "dest"],
  options: consensusStageOptions,
  createPhases: ({ src, dest }, o) => createConsensusTasks(src, dest, o),
  cli: {
    command: ["image", "consensus"],
    description:
      "remap a HyperSquare segmentation by an Eyewire consensus {volume_id: {cell_id: [segment ids]}}: listed segments -> cell id, others -> (volume_id << 16) | segment",
    arguments: [
      { name: "src", description: "segmentation layer from `image hypersquare`", input: "src" },
      { name: "dest", description: "destination layer", input: "dest" },
    ],
    options: [
      { flags: "--map <url>", description: "the consensus JSON (path or URL)" },
      {
        flags: "--hypersquare <url>",
        description: "the cube directory the segmentation came from (its cubes are the volumes)",
      },
      {
        flags: "--volumes <json>",
        description:
          'volume id per cube directory, e.g. {"cube_1":412} (default: metadata.json volume_id, else a numeric cube name)',
      },
      { flags: "--overlap <x,y,z>", description: "overlap of the cubes, as given to the import" },
      { flags: "--data-type <t>", description: "uint32 or uint64", default: "uint32" },
      {
        flags: "--num-mips <n>",
        description: "downsampled mips of the result (mode)",
        default: "0",
      },
    ],
    parse(o, { parse }) {
      if (o.map === undefined) throw parse.usage("--map is required: the consensus JSON");
      if (o.hypersquare === undefined)
        throw parse.usage("--hypersquare is required: the cube directory");
      const dataType = String(o.dataType ?? "uint32");
      if (dataType !== "uint32" && dataType !== "uint64")
        throw parse.usage(`--data-type must be uint32 or uint64; got "${dataType}"`);
      let volumes: Record<string, number> | undefined;
      if (o.volumes !== undefined) {
        const parsed = consensusStageOptions.shape.volumes.safeParse(
          (() => {
            try {
              return JSON.parse(String(o.volumes));
            } catch {
              return null;
            }
          })(),
        );
        if (!parsed.success || parsed.data === undefined)
          throw parse.usage(
            `--volumes must be a JSON object {"cube": volume id}; got ${o.volumes}`,
          );
        volumes = parsed.data;
      }
      const overlap = o.overlap ? parse.vec3(String(o.overlap), "--overlap") : undefined;
      return {
        map: parse.location(String(o.map)),
        hypersquare: parse.location(String(o.hypersquare)),
        volumes,
        overlap: overlap ? [overlap[0], overlap[1], overlap[2]] : undefined,
        dataType,
        mips: parse.int(String(o.numMips ?? "0"), "--num-mips"),
      };
    },
  },
});
