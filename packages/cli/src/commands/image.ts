/** `ngpipe image create` (ingest) and the other image stages. */
import { createIngestTasks, type IngestOptions } from "@ngpipe/tasks";
import type { Command } from "commander";
import { parseBbox, parseIntArg, parseVec3, toUrl } from "../args";
import { runTasks } from "../run-tasks";

/** Options every stage command shares: where tasks go, how many at once. */
export function withRunOptions(cmd: Command): Command {
  return cmd
    .option("--queue <url>", "insert the tasks into this queue instead of running them here")
    .option("-p, --parallel <n>", "tasks at once when running here", "1");
}

function sourceLocation(source: string): string {
  // Keep the `#/dataset` suffix of HDF5 paths; make bare paths absolute.
  const [path, fragment] = source.split("#");
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(path) ? path : toUrl(path).replace(/^file:\/\//, "");
  return fragment === undefined ? url : `${url}#${fragment}`;
}

export function registerImageCommands(program: Command): Command {
  const image = program.command("image").description("image and segmentation layers");
  withRunOptions(
    image
      .command("create")
      .description("ingest HDF5 (file.h5#/dataset), Zarr, .npy or an image stack into a new layer")
      .argument("<source>", "source path or URL")
      .argument("<layer>", "destination layer path or URL")
      .option("--resolution <x,y,z>", "voxel size in nm (default: the source's, else 1,1,1)")
      .option("--offset <x,y,z>", "voxel offset of the layer", "0,0,0")
      .option("--chunk-size <x,y,z>", "chunk size", "64,64,64")
      .option("--encoding <name>", "raw, compressed_segmentation, jpeg, png")
      .option("--layer-type <type>", "image or segmentation")
      .option("--task-shape <x,y,z>", "voxels per task (a multiple of the chunk size)")
      .option("--bounds <bbox>", "only this box of the source")
      .option("--dataset <path>", "HDF5 dataset or Zarr array path")
      .option("--axes <order>", "axis order of the source array, e.g. czyx, zyx, xyz")
      .option("--compress-level <n>", "gzip level of the chunks (1 fastest .. 9 smallest)", "6"),
  ).action(async (source: string, layer: string, o) => {
    const opts: IngestOptions = {
      resolution: o.resolution ? parseVec3(o.resolution, "--resolution") : undefined,
      voxelOffset: parseVec3(o.offset, "--offset"),
      chunkSize: parseVec3(o.chunkSize, "--chunk-size"),
      encoding: o.encoding,
      layerType: o.layerType,
      taskShape: o.taskShape ? parseVec3(o.taskShape, "--task-shape") : undefined,
      bounds: o.bounds ? parseBbox(o.bounds) : undefined,
      sourceOptions: { dataset: o.dataset, axes: o.axes },
      compressLevel: parseIntArg(o.compressLevel, "--compress-level", 1),
    };
    const r = await runTasks(
      "ingest",
      await createIngestTasks(sourceLocation(source), toUrl(layer), opts),
      {
        queue: o.queue,
        parallel: parseIntArg(o.parallel, "--parallel", 1),
        quiet: program.opts().quiet,
      },
    );
    report(r.inserted, r.count, o.queue, "ingest", r.seconds);
  });
  return image;
}

/** One line about what a stage command did. */
export function report(
  inserted: boolean,
  count: number,
  queue: string | undefined,
  what: string,
  seconds: number,
): void {
  process.stderr.write(
    inserted
      ? `inserted ${count} ${what} task(s) into ${queue}; run workers with: ngpipe execute ${queue}\n`
      : `ran ${count} ${what} task(s) in ${seconds.toFixed(1)} s\n`,
  );
}
