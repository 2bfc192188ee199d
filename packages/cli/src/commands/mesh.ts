/** `ngpipe mesh forge` (meshing tasks) and `ngpipe mesh merge` (manifests). */
import { Volume } from "@ngpipe/precomputed";
import { createMeshingTasks, createMeshManifestTasks, type MeshingOptions } from "@ngpipe/tasks";
import type { Command } from "commander";
import { parseBbox, parseCompress, parseIntArg, parseNumberArg, parseShape, toUrl } from "../args";
import { UsageError } from "../errors";
import { boundsChecks, runOptions, runStage, withRunOptions } from "./image";

/** The layer's URL, refusing (before anything is written) a layer that is not a segmentation. */
async function segmentationUrl(layer: string): Promise<string> {
  const url = toUrl(layer);
  const vol = await Volume.open(url);
  if (vol.layerType !== "segmentation")
    throw new UsageError(
      `${vol.url} is an ${vol.layerType} layer; meshes are made from segmentation layers`,
    );
  return url;
}

export function registerMeshCommands(program: Command): void {
  const mesh = program
    .command("mesh")
    .description("meshes of segmentation layers (legacy precomputed format)");
  withRunOptions(
    mesh
      .command("forge")
      .description("mesh every label, one task per block (+1 voxel overlap), writing fragments")
      .argument("<layer>", "segmentation layer path or URL")
      .option("--mip <n>", "mip to mesh", "0")
      .option("--shape <x,y,z>", "block shape in voxels", "448,448,448")
      .option("--simplification <factor>", "reduction factor (0: none)", "100")
      .option("--max-error <nm>", "max simplification error in nm", "40")
      .option("--dust <voxels>", "skip labels with fewer voxels in a block", "0")
      .option("--dir <name>", "mesh directory (default: the info's mesh, else mesh)")
      .option("--labels <ids>", "only these labels (comma separated)")
      .option("--exclude <ids>", "not these labels (comma separated)")
      .option("--fill-missing", "read missing chunks as background")
      .option("--compress <how>", "fragment compression: gzip, br or none", "gzip"),
    "only this box (voxels of --mip)",
  ).action(async (layer: string, o) => {
    const compress = parseCompress(o.compress);
    const options: MeshingOptions = {
      mip: parseIntArg(o.mip, "--mip"),
      shape: parseShape(o.shape, "--shape"),
      simplification: parseNumberArg(o.simplification, "--simplification"),
      maxError: parseNumberArg(o.maxError, "--max-error"),
      dust: parseIntArg(o.dust, "--dust"),
      meshDir: o.dir,
      labels: o.labels ? String(o.labels).split(",") : undefined,
      excludeLabels: o.exclude ? String(o.exclude).split(",") : undefined,
      bounds: o.bounds ? parseBbox(o.bounds) : undefined,
      ...boundsChecks(o),
      fillMissing: Boolean(o.fillMissing),
      compress: compress === "none" ? false : compress,
    };
    const run = runOptions(program, o);
    const tasks = await createMeshingTasks(await segmentationUrl(layer), options);
    await runStage("mesh", "mesh", tasks, run);
  });
  withRunOptions(
    mesh
      .command("merge")
      .description("write each segment's manifest <id>:0 listing its fragments")
      .argument("<layer>", "segmentation layer path or URL")
      .option("--dir <name>", "mesh directory (default: the info's mesh, else mesh)")
      .option(
        "--magnitude <n>",
        "split by id prefix with n leading digits (a task per prefix; for cloud storage). 0 = one listing",
        "0",
      ),
  ).action(async (layer: string, o) => {
    const options = { meshDir: o.dir, magnitude: parseIntArg(o.magnitude, "--magnitude") };
    const run = runOptions(program, o);
    const tasks = await createMeshManifestTasks(await segmentationUrl(layer), options);
    await runStage("manifest", "manifest", tasks, run);
  });
}
