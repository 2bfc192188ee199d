/**
 * `ngpipe design` for downsample memory planning, and the parsers of byte
 * counts and background values the stage commands use.
 */

import { type DataType, voxelValue } from "@ngpipe/precomputed";
import { downsampleMemory, downsampleShapeForMemory } from "@ngpipe/tasks";
import type { Command } from "commander";
import { parseDataType, parseIntArg, parseShape } from "../args";
import { UsageError } from "../errors";

/** Parse a byte count like 3.5e9, 512M, 2G (`what` names the option in errors). */
export function parseBytes(text: string, what?: string): number {
  const m = /^([\d.e+]+)\s*([kKmMgGtT]i?)?[bB]?$/.exec(text.trim());
  if (!m || !Number.isFinite(Number(m[1])))
    throw new UsageError(
      `bad byte count "${text}"${what ? ` for ${what}` : ""} (e.g. 3.5e9, 512M, 2G)`,
    );
  const unit = (m[2] ?? "").toLowerCase();
  const base = unit.endsWith("i") ? 1024 : 1000;
  const pow = { "": 0, k: 1, m: 2, g: 3, t: 4 }[
    unit.replace("i", "") as "" | "k" | "m" | "g" | "t"
  ];
  return Number(m[1]) * base ** pow;
}

/** A byte count (see {@link parseBytes}) above zero, for the option `what`. */
export function parsePositiveBytes(text: string, what: string): number {
  const bytes = parseBytes(text, what);
  if (!(bytes > 0)) throw new UsageError(`${what} must be more than 0 bytes; got "${text}"`);
  return bytes;
}

/** `--memory`: a byte count (see {@link parseBytes}) above zero. */
export function parseMemory(text: string): number {
  return parsePositiveBytes(text, "--memory");
}

/**
 * `--background`: a voxel value of `dtype` (the layer's), as the task
 * payloads take it: a number, or a decimal string for integers beyond 2^53
 * (uint64 labels).
 */
export function parseBackground(text: string, dtype: DataType): number | string {
  let v: number | bigint;
  try {
    v = voxelValue(text, dtype, "--background");
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return typeof v === "number" ||
    (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER))
    ? Number(v)
    : v.toString();
}

/** `ngpipe design`: task shapes and memory of downsampling. */
export function registerDesignCommands(program: Command): void {
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
