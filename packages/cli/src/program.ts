/**
 * The `ngpipe` command: every stage as a subcommand that runs its tasks here
 * (`-p N`) or inserts them into a queue (`--queue URL`) for `ngpipe execute`
 * workers. Exit code 0 on success; on a user error, one line on stderr and a
 * non-zero code (stack traces only with --verbose).
 */

import { configurePool } from "@ngpipe/precomputed";
import { Command, CommanderError } from "commander";
import { parseIntArg, parseVec3 } from "./args";
import { registerFileCommands } from "./commands/files";
import { registerImageCommands } from "./commands/image";
import { registerInfo } from "./commands/info";
import { registerPipeline } from "./commands/pipeline";
import { registerQueueCommands } from "./commands/queue";
import { registerSegCommands } from "./commands/seg";
import { registerSkeletonCommands } from "./commands/skeleton";
import { registerStageCommands } from "./commands/stage-commands";
import { registerDesignCommands } from "./commands/stages";
import { registerView } from "./commands/view";
import { quickstart } from "./quickstart";

/** Build the command tree (exported for tests and embedding). */
export function buildProgram(): Command {
  const program = new Command("ngpipe")
    .description(
      "connectomics volume processing: Neuroglancer precomputed layers, tasks and queues",
    )
    .version("0.2.0")
    .option("-v, --verbose", "print stack traces of errors")
    .option("-q, --quiet", "no progress output")
    .option(
      "--threads <n>",
      "worker threads for CPU kernels (default: NGPIPE_THREADS, else the number of cores; set it to a container's CPU limit)",
    )
    // Commander's own error output is replaced by one line from `main`
    // (see commanderMessage); set before the subcommands exist so that they
    // inherit it, as they inherit exitOverride: usage errors and --help of a
    // subcommand end `main` with an exit code, not the process.
    .configureOutput({ outputError: () => {} })
    .exitOverride();
  registerInfo(program);
  registerImageCommands(program);
  registerStageCommands(program);
  registerSegCommands(program);
  registerSkeletonCommands(program);
  registerDesignCommands(program);
  registerPipeline(program);
  registerQueueCommands(program);
  registerView(program);
  registerFileCommands(program);
  program
    .command("quickstart")
    .description(
      "make a small EM-like dataset and run ingest, downsample, meshing and skeletons on it through an fq:// queue",
    )
    .argument(
      "[dir]",
      "where to write it: a new or empty directory, or one an earlier quickstart made (emptied first)",
      "quickstart-data",
    )
    .option("--workers <n>", "worker loop concurrency", "2")
    .option("--size <x,y,z>", "dataset size", "256,256,128")
    .action(async (dir: string, o) => {
      await quickstart(dir, {
        workers: parseIntArg(o.workers, "--workers", 1),
        size: [...parseVec3(o.size, "--size")],
        quiet: program.opts().quiet,
      });
    });
  return program;
}

/**
 * An error's message with the library's API hints ("open with {create:
 * true}") rewritten as what a command-line user can do.
 */
export function cliMessage(err: Error): string {
  let m = err.message;
  if (err.name === "QueueNotFoundError")
    m = m.replace(
      /; create it, or open with \{create: true\}$/,
      "; stage commands given --queue create it when they insert tasks",
    );
  if (err.name === "SourceError")
    m = m.replace(
      /; pass format: "hdf5" \| "zarr" \| "npy" \| "images"$/,
      "; pass --format hdf5|zarr|npy|images",
    );
  if (err.name === "MissingChunkError")
    m = m.replace(
      /; open the volume with \{ fillMissing: true \} to read missing chunks as background$/,
      "; pass --fill-missing (where the command has it) to read missing chunks as background",
    );
  return m;
}

/** Exit code of a usage error: a bad option or argument, refused before anything ran. */
export const USAGE_EXIT_CODE = 2;

/**
 * Errors of the packages that mean the command line asked for something
 * impossible (bounds outside the layer, a value out of the type's range, a
 * bad queue URL, a shard plan that cannot work): like {@link UsageError}, they exit with
 * {@link USAGE_EXIT_CODE}.
 */
const USAGE_ERROR_NAMES = new Set([
  "UsageError",
  "StageInputError",
  "InvalidQueueUrlError",
  "ShardPlanError",
  "ShardMemoryError",
]);

/** The subcommand `argv` names (its leading words that are commands), e.g. "ngpipe image xfer". */
function commandPath(program: Command, argv: string[]): string {
  const names = [program.name()];
  let cmd: Command | undefined = program;
  for (const word of argv.slice(2)) {
    if (word.startsWith("-")) continue;
    cmd = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!cmd) break;
    names.push(cmd.name());
  }
  return names.join(" ");
}

/**
 * Commander's message for a usage error as one line ("unknown option
 * '--bogus' (Did you mean --bounds?)") with a pointer to the command's help.
 */
function commanderMessage(e: CommanderError, program: Command, argv: string[]): string {
  const text = e.message
    .replace(/^error:\s*/, "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .join(" ");
  return `ngpipe: ${text}; see '${commandPath(program, argv)} --help'\n`;
}

/** Run the CLI with `argv` (as process.argv); resolves to the exit code. */
export async function main(argv: string[] = process.argv): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  program.hook("preAction", () => {
    const threads = program.opts().threads ?? process.env.NGPIPE_THREADS;
    if (threads !== undefined)
      configurePool({ threads: parseIntArg(String(threads), "--threads", 1) });
  });
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version (code 0), and the help shown for a bare
      // command group, have printed what they had to.
      if (e.exitCode === 0 || e.code === "commander.help") return e.exitCode;
      process.stderr.write(commanderMessage(e, program, argv));
      return USAGE_EXIT_CODE;
    }
    const err = e as Error;
    const verbose = program.opts().verbose || argv.includes("--verbose") || argv.includes("-v");
    process.stderr.write(
      verbose
        ? `${err.stack ?? err}\n`
        : `ngpipe: ${err.name && err.name !== "Error" ? `${err.name}: ` : ""}${cliMessage(err)}\n`,
    );
    return USAGE_ERROR_NAMES.has(err.name) ? USAGE_EXIT_CODE : 1;
  }
}
