/**
 * The image stage commands beyond ingest: downsample, xfer, quantize, rm,
 * touch, blackout; and `ngpipe design` for downsample memory planning.
 */

import { type DataType, Volume } from "@ngpipe/precomputed";
import {
  createBlackoutTasks,
  createDeleteTasks,
  createDownsampleTasks,
  createQuantizeTasks,
  createTouchTasks,
  createTransferTasks,
  DEFAULT_MEMORY_TARGET,
  downsampleMemory,
  downsampleShapeForMemory,
  type StageDownsampleMethod,
} from "@ngpipe/tasks";
import type { Command } from "commander";
import {
  parseBbox,
  parseBytes,
  parseCompress,
  parseDataType,
  parseEncoding,
  parseIntArg,
  parseMemory,
  parseShape,
  parseShardOptions,
  parseVec3,
  toUrl,
} from "../args";
import { UsageError } from "../errors";
import { runOptions, runStage, withRunOptions } from "./image";

const METHODS = ["auto", "average", "mode", "min", "max", "striding"];

function method(text: string | undefined): StageDownsampleMethod | undefined {
  if (text === undefined) return undefined;
  if (!METHODS.includes(text))
    throw new UsageError(`--method must be one of ${METHODS.join(", ")}; got "${text}"`);
  return text as StageDownsampleMethod;
}

const INT_RANGES: Partial<Record<DataType, [bigint, bigint]>> = {
  uint8: [0n, 255n],
  uint16: [0n, 65535n],
  uint32: [0n, 2n ** 32n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  int8: [-128n, 127n],
  int16: [-32768n, 32767n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
};

/**
 * `--background`: a voxel value of `dtype` (the layer's), as the task
 * payloads take it: a number, or a decimal string for integers beyond 2^53
 * (uint64 labels).
 */
export function parseBackground(text: string, dtype: DataType): number | string {
  const range = INT_RANGES[dtype];
  if (range === undefined) {
    const n = Number(text);
    if (text.trim() === "" || !Number.isFinite(n))
      throw new UsageError(`--background must be a number for a ${dtype} layer; got "${text}"`);
    return n;
  }
  const v = /^-?\d+$/.test(text.trim()) ? BigInt(text.trim()) : undefined;
  if (v === undefined || v < range[0] || v > range[1])
    throw new UsageError(
      `--background must be a whole number from ${range[0]} to ${range[1]} for a ${dtype} layer; got "${text}"`,
    );
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v.toString();
}

/** The `--background` of `layer` (undefined when not given), checked against its data type. */
async function background(
  layer: string,
  o: Record<string, string | boolean | undefined>,
): Promise<number | string | undefined> {
  if (o.background === undefined) return undefined;
  if (!o.skipBackground)
    throw new UsageError(
      "--background is the value --skip-background skips; give --skip-background too",
    );
  const { dataType } = await Volume.open(layer);
  return parseBackground(String(o.background), dataType);
}

export function registerStageCommands(program: Command, image: Command): void {
  withRunOptions(
    image
      .command("downsample")
      .description("add downsampled mips: one task per block reads mip m and writes m+1..m+n")
      .argument("<layer>", "layer path or URL")
      .option("--mip <n>", "mip to read", "0")
      .option("--num-mips <n>", "mips to make (default: as many as the memory target allows)")
      .option("--factor <x,y,z>", "downsampling factor", "2,2,1")
      .option(
        "--method <m>",
        `${METHODS.join("|")} (auto: average for images, mode for segmentation)`,
        "auto",
      )
      .option("--sparse", "treat zero as background (average of nonzero voxels, mode ignores zero)")
      .option("--fill-missing", "read missing chunks as background")
      .option("--encoding <name>", "encoding of the new scales")
      .option("--chunk-size <x,y,z>", "chunk size of the new scales")
      .option("--skip-background", "do not write chunks that are all background")
      .option("--background <v>", "the value --skip-background skips (default 0)")
      .option("--compress <how>", "compression of the new chunks: gzip, br or none")
      .option("--memory <bytes>", "memory target per task", String(DEFAULT_MEMORY_TARGET))
      .option("--bounds <bbox>", "only this box (voxels of mip 0)")
      .option("--dest <layer>", "write the new mips to this layer instead")
      .option(
        "--sharded",
        "write the new mips sharded: one pass per mip, each task writes whole shards",
      )
      .option(
        "--shard-bytes <bytes>",
        "uncompressed bytes per shard (default: the most that fits --memory, at most 3.5e9)",
      ),
  ).action(async (layer: string, o) => {
    const run = runOptions(program, o);
    const url = toUrl(layer);
    const shard = parseShardOptions(o);
    const mips = o.numMips === undefined ? undefined : parseIntArg(o.numMips, "--num-mips", 1);
    const passes = shard.sharded ? (mips ?? 1) : 1;
    if (passes > 1 && run.queue)
      throw new UsageError(
        "--sharded makes one mip per pass, each reading the mip before: with --queue, insert one " +
          "mip at a time (--num-mips 1), then --mip <next> once the queue is empty",
      );
    const options = {
      mip: parseIntArg(o.mip, "--mip"),
      mips: shard.sharded ? 1 : mips,
      factor: parseShape(o.factor, "--factor"),
      method: method(o.method),
      sparse: Boolean(o.sparse),
      fillMissing: Boolean(o.fillMissing),
      encoding: o.encoding === undefined ? undefined : parseEncoding(o.encoding),
      chunkSize: o.chunkSize ? parseShape(o.chunkSize, "--chunk-size") : undefined,
      skipBackground: Boolean(o.skipBackground),
      compress: parseCompress(o.compress),
      memoryTarget: parseMemory(o.memory),
      bounds: o.bounds ? parseBbox(o.bounds) : undefined,
    };
    const bg = await background(url, o);
    const dest = o.dest === undefined ? undefined : toUrl(o.dest);
    for (let k = 0; k < passes; k++) {
      // Later passes read the mip the pass before wrote.
      const from = k > 0 && dest ? dest : url;
      const tasks = await createDownsampleTasks(from, {
        ...options,
        ...shard,
        mip: options.mip + k,
        ...(dest && from !== dest ? { dest } : {}),
        background: bg,
      });
      await runStage("downsample", "downsample", tasks, run);
    }
  });

  withRunOptions(
    image
      .command("xfer")
      .description(
        "copy a layer (or a box) to another place: rechunk, re-encode, translate, downsample on the way",
      )
      .argument("<src>", "source layer")
      .argument("<dest>", "destination layer")
      .option("--mip <n>", "mip to copy", "0")
      .option("--chunk-size <x,y,z>", "chunk size at the destination")
      .option("--encoding <name>", "encoding at the destination")
      .option("--translate <x,y,z>", "shift the voxel offset by this much")
      .option("--bounds <bbox>", "only this box")
      .option(
        "--num-mips <n>",
        "also downsample this many mips at the destination (default 0: none, unlike Igneous' 5)",
      )
      .option("--factor <x,y,z>", "downsampling factor of those mips (default 2,2,1)")
      .option(
        "--method <m>",
        `downsampling method of those mips: ${METHODS.join("|")} (default auto: average for images, mode for segmentation)`,
      )
      .option("--sparse", "downsample treating zero as background")
      .option("--fill-missing", "read missing chunks as background")
      .option("--skip-background", "do not write chunks that are all background")
      .option("--background <v>", "the value --skip-background skips (default 0)")
      .option("--compress <how>", "compression of the chunks written: gzip, br or none")
      .option("--memory <bytes>", "memory target per task", String(DEFAULT_MEMORY_TARGET))
      .option("--no-fast-path", "never copy chunk files byte for byte")
      .option("--sharded", "write the destination scale sharded, one whole shard per task")
      .option("--unsharded", "write the destination scale unsharded (one object per chunk)")
      .option(
        "--shard-bytes <bytes>",
        "uncompressed bytes per shard (default: the most that fits --memory, at most 3.5e9)",
      ),
  ).action(async (src: string, dest: string, o) => {
    const run = runOptions(program, o);
    const shard = parseShardOptions(o);
    const mips = o.numMips === undefined ? 0 : parseIntArg(o.numMips, "--num-mips");
    const downsampling = ["factor", "method", "sparse"].filter((k) => o[k] !== undefined);
    if (mips === 0 && downsampling.length > 0)
      throw new UsageError(
        `--${downsampling[0]} shapes the downsamples, and xfer makes none without --num-mips <n>`,
      );
    const options = {
      mip: parseIntArg(o.mip, "--mip"),
      chunkSize: o.chunkSize ? parseShape(o.chunkSize, "--chunk-size") : undefined,
      encoding: o.encoding === undefined ? undefined : parseEncoding(o.encoding),
      translate: o.translate ? parseVec3(o.translate, "--translate") : undefined,
      bounds: o.bounds ? parseBbox(o.bounds) : undefined,
      mips,
      factor: o.factor === undefined ? undefined : parseShape(o.factor, "--factor"),
      method: method(o.method),
      sparse: Boolean(o.sparse),
      fillMissing: Boolean(o.fillMissing),
      skipBackground: Boolean(o.skipBackground),
      compress: parseCompress(o.compress),
      memoryTarget: parseMemory(o.memory),
      fastPath: o.fastPath !== false,
    };
    const tasks = await createTransferTasks(toUrl(src), toUrl(dest), {
      ...options,
      ...shard,
      background: await background(toUrl(src), o),
    });
    await runStage("xfer", "transfer", tasks, run);
  });

  withRunOptions(
    image
      .command("quantize")
      .description(
        "an affinity layer (float32) to an 8-bit image of one channel (value x 255, truncated)",
      )
      .argument("<src>", "affinity layer")
      .argument("<dest>", "destination image layer")
      .option("--channel <n>", "channel to keep", "0")
      .option("--mip <n>", "mip to read", "0")
      .option("--num-mips <n>", "downsample this many mips afterwards", "0")
      .option("--fill-missing", "read missing chunks as zeros"),
  ).action(async (src: string, dest: string, o) => {
    const run = runOptions(program, o);
    const tasks = await createQuantizeTasks(toUrl(src), toUrl(dest), {
      channel: parseIntArg(o.channel, "--channel"),
      mip: parseIntArg(o.mip, "--mip"),
      mips: parseIntArg(o.numMips, "--num-mips"),
      fillMissing: Boolean(o.fillMissing),
    });
    await runStage("quantize", "quantize", tasks, run);
  });

  withRunOptions(
    image
      .command("rm")
      .description("delete the chunks of a box at one or more mips")
      .argument("<layer>", "layer path or URL")
      .option("--mip <n>", "first mip", "0")
      .option("--num-mips <n>", "mips to delete from --mip on", "1")
      .option("--bounds <bbox>", "only this box (voxels of mip 0)"),
  ).action(async (layer: string, o) => {
    const run = runOptions(program, o);
    const tasks = await createDeleteTasks(toUrl(layer), {
      mip: parseIntArg(o.mip, "--mip"),
      mips: parseIntArg(o.numMips, "--num-mips", 1),
      bounds: o.bounds ? parseBbox(o.bounds) : undefined,
    });
    await runStage("delete", "delete", tasks, run);
  });

  withRunOptions(
    image
      .command("touch")
      .description("read every chunk of a box to verify that it exists and decodes")
      .argument("<layer>", "layer path or URL")
      .option("--mip <n>", "mip", "0")
      .option("--bounds <bbox>", "only this box"),
  ).action(async (layer: string, o) => {
    const run = runOptions(program, o);
    const tasks = await createTouchTasks(toUrl(layer), {
      mip: parseIntArg(o.mip, "--mip"),
      bounds: o.bounds ? parseBbox(o.bounds) : undefined,
    });
    await runStage("touch", "touch", tasks, run);
  });

  withRunOptions(
    image
      .command("blackout")
      .description("fill a box with one value")
      .argument("<layer>", "layer path or URL")
      .argument("<bbox>", "the box (x0-x1_y0-y1_z0-z1)")
      .option("--mip <n>", "mip", "0")
      .option("--value <v>", "the value", "0"),
  ).action(async (layer: string, bbox: string, o) => {
    const run = runOptions(program, o);
    const tasks = await createBlackoutTasks(toUrl(layer), parseBbox(bbox), {
      mip: parseIntArg(o.mip, "--mip"),
      value: o.value,
      nonAligned: true,
    });
    await runStage("blackout", "blackout", tasks, run);
  });

  const design = program.command("design").description("plan task shapes and memory");
  design
    .command("ds-memory")
    .description("bytes a downsample task of a shape holds")
    .argument("<shape>", "task shape x,y,z")
    .option("--dtype <t>", "data type", "uint8")
    .option("--channels <n>", "channels", "1")
    .option("--factor <x,y,z>", "factor", "2,2,1")
    .option("--num-mips <n>", "mips made", "1")
    .action((shape: string, o) => {
      const bytes = downsampleMemory(
        parseShape(shape, "shape"),
        parseDataType(o.dtype),
        parseIntArg(o.channels, "--channels", 1),
        parseShape(o.factor, "--factor"),
        parseIntArg(o.numMips, "--num-mips", 1),
      );
      process.stdout.write(`${bytes} bytes (${(bytes / 2 ** 20).toFixed(1)} MiB)\n`);
    });
  design
    .command("ds-shape")
    .description("the downsample task shape that fits a memory target, and how many mips it makes")
    .argument("<memory>", "memory target, e.g. 3.5e9 or 2G")
    .option("--chunk-size <x,y,z>", "chunk size of the mip read", "128,128,64")
    .option("--dtype <t>", "data type", "uint8")
    .option("--channels <n>", "channels", "1")
    .option("--factor <x,y,z>", "factor", "2,2,1")
    .action((memory: string, o) => {
      const plan = downsampleShapeForMemory({
        chunkSize: parseShape(o.chunkSize, "--chunk-size"),
        dtype: parseDataType(o.dtype),
        channels: parseIntArg(o.channels, "--channels", 1),
        factor: parseShape(o.factor, "--factor"),
        memoryTarget: parseBytes(memory),
      });
      process.stdout.write(
        `shape ${plan.shape.join("x")}, ${plan.mips} mip(s), ${plan.memory} bytes (${(plan.memory / 2 ** 20).toFixed(1)} MiB) per task\n`,
      );
    });
}
