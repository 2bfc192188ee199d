/** `ngpipe image create` (ingest) and the other image stages. */
import { writeFile } from "node:fs/promises";
import { Volume } from "@ngpipe/precomputed";
import { createIngestTasks, encodeNpy, type IngestOptions, type SourceFormat } from "@ngpipe/tasks";
import type { Command } from "commander";
import {
  parseBbox,
  parseEncoding,
  parseIntArg,
  parseShape,
  parseVec3,
  toSourcePath,
  toUrl,
} from "../args";
import { UsageError } from "../errors";
import { type RunTasksOptions, runTasks } from "../run-tasks";

/** Options every stage command shares: where tasks go, how many at once. */
export function withRunOptions(cmd: Command): Command {
  return cmd
    .option("--queue <url>", "insert the tasks into this queue instead of running them here")
    .option("-p, --parallel <n>", "tasks at once when running here", "1");
}

const FORMATS: SourceFormat[] = ["hdf5", "zarr", "npy", "images"];

/** The options of `image create`, all checked before anything is written. */
function ingestOptions(o: Record<string, string | undefined>): IngestOptions {
  const chunkSize = parseShape(o.chunkSize ?? "64,64,64", "--chunk-size");
  const taskShape = o.taskShape ? parseShape(o.taskShape, "--task-shape") : undefined;
  if (taskShape?.some((n, i) => n % chunkSize[i] !== 0))
    throw new UsageError(
      `--task-shape ${taskShape.join(",")} must be a multiple of --chunk-size ${chunkSize.join(",")}`,
    );
  const resolution = o.resolution ? parseVec3(o.resolution, "--resolution") : undefined;
  if (resolution?.some((n) => n <= 0))
    throw new UsageError(`--resolution must be three numbers > 0; got "${o.resolution}"`);
  const voxelOffset = parseVec3(o.offset ?? "0,0,0", "--offset");
  if (voxelOffset.some((n) => !Number.isInteger(n)))
    throw new UsageError(`--offset must be three whole numbers; got "${o.offset}"`);
  if (o.format !== undefined && !(FORMATS as string[]).includes(o.format))
    throw new UsageError(`--format must be one of ${FORMATS.join(", ")}; got "${o.format}"`);
  if (o.layerType !== undefined && o.layerType !== "image" && o.layerType !== "segmentation")
    throw new UsageError(`--layer-type must be image or segmentation; got "${o.layerType}"`);
  return {
    resolution,
    voxelOffset,
    chunkSize,
    encoding: o.encoding === undefined ? undefined : parseEncoding(o.encoding),
    layerType: o.layerType,
    taskShape,
    bounds: o.bounds ? parseBbox(o.bounds) : undefined,
    // HDF5 readers take the dataset as `dataset`, Zarr readers as `path`.
    sourceOptions: {
      dataset: o.dataset,
      path: o.dataset,
      axes: o.axes,
      format: o.format as SourceFormat | undefined,
    },
    compressLevel: parseIntArg(o.compressLevel ?? "6", "--compress-level", 1, 9),
  };
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
      .option("--format <name>", "hdf5, zarr, npy or images (default: from the path)")
      .option("--axes <order>", "axis order of the source array, e.g. czyx, zyx, xyz")
      .option("--compress-level <n>", "gzip level of the chunks (1 fastest .. 9 smallest)", "6"),
  ).action(async (source: string, layer: string, o) => {
    const opts = ingestOptions(o);
    const run = runOptions(program, o);
    const tasks = await createIngestTasks(toSourcePath(source), toUrl(layer), opts);
    await runStage("ingest", "ingest", tasks, run);
  });
  image
    .command("export")
    .description(
      "write a cutout to a .npy file, Fortran order, shape (x, y, z, c): numpy.load gives a[x, y, z, c] as CloudVolume does",
    )
    .argument("<layer>", "layer path or URL")
    .argument("<out>", "output .npy file")
    .requiredOption("--bounds <bbox>", "the box, x0-x1_y0-y1_z0-z1 (voxels of --mip)")
    .option("--mip <n>", "mip to read", "0")
    .option("--fill-missing", "read missing chunks as background")
    .action(async (layer: string, out: string, o) => {
      const bounds = parseBbox(o.bounds);
      const mip = parseIntArg(o.mip, "--mip");
      if (!out.endsWith(".npy"))
        throw new UsageError(`the output file must end in .npy; got "${out}"`);
      const vol = await Volume.open(toUrl(layer), { mip, fillMissing: Boolean(o.fillMissing) });
      const cut = await vol.read(bounds);
      await writeFile(out, encodeNpy(cut.data, cut.shape, vol.dataType));
      process.stderr.write(
        `wrote ${out}: ${vol.dataType} (${cut.shape.join(", ")}) from ${vol.url} mip ${mip} ${bounds}\n`,
      );
    });
  return image;
}

/**
 * The run options every stage command shares (`--queue`, `-p`, `--quiet`),
 * parsed before anything is written.
 */
export function runOptions(
  program: Command,
  o: Record<string, string | undefined>,
): RunTasksOptions & { queue?: string } {
  return {
    queue: o.queue,
    parallel: parseIntArg(o.parallel ?? "1", "--parallel", 1),
    quiet: program.opts().quiet,
  };
}

/** Run (or enqueue) a stage's tasks, then say what was done in one line. */
export async function runStage(
  label: string,
  what: string,
  tasks: Parameters<typeof runTasks>[1],
  run: RunTasksOptions & { queue?: string },
): Promise<void> {
  const r = await runTasks(label, tasks, run);
  report(r.inserted, r.count, run.queue, what, r.seconds);
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
