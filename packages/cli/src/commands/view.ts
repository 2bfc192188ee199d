/** `ngpipe view <dir>`: serve file:// layers to Neuroglancer. */
import { resolve } from "node:path";
import type { Command } from "commander";
import { parseIntArg } from "../args";
import { UsageError } from "../errors";
import { findLayers, neuroglancerUrl, startViewServer } from "../view/server";

export function registerView(program: Command): void {
  program
    .command("view")
    .description("serve a layer or a directory of layers over HTTP for Neuroglancer")
    .argument("<dir>", "a layer directory, or a directory holding layers")
    .option("--port <n>", "port (default: a free one)", "0")
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option(
      "--viewer <url>",
      "Neuroglancer deployment for the printed link",
      "https://neuroglancer-demo.appspot.com/",
    )
    .action(async (dir: string, o) => {
      const port = parseIntArg(o.port, "--port", 0, 65535);
      const root = resolve(dir.replace(/^file:\/\//, ""));
      const layers = await findLayers(root);
      if (layers.length === 0)
        throw new UsageError(`no precomputed layer (a directory with an info file) under ${root}`);
      const server = await startViewServer(root, { port, host: o.host });
      process.stdout.write(`serving ${root} at ${server.url} (Ctrl-C to stop)\n`);
      for (const l of layers)
        process.stdout.write(
          `  ${l.type.padEnd(12)} precomputed://${server.url}${l.path ? `/${l.path}` : ""}\n`,
        );
      process.stdout.write(`\nNeuroglancer:\n${neuroglancerUrl(server.url, layers, o.viewer)}\n`);
      await new Promise<void>((done) => {
        const stop = () => server.close().then(done);
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    });
}
