/** `ngpipe image export`: a cutout to a .npy file. */
import { writeFile } from "node:fs/promises";
import { Volume } from "@ngpipe/precomputed";
import { encodeNpy } from "@ngpipe/tasks";
import type { Command } from "commander";
import { parseBbox, parseIntArg, toUrl } from "../args";
import { UsageError } from "../errors";
import { commandGroup } from "./stage-commands";

/** `ngpipe image export` (the stage commands of `image` come from the stage registry). */
export function registerImageCommands(program: Command): void {
  const image = commandGroup(program, "image");
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
}
