/** `ngpipe info <layer>`: a readable summary of a layer's info (or of a directory's layers). */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { Volume } from "@ngpipe/precomputed";
import type { Command } from "commander";
import { toUrl } from "../args";
import { findLayers } from "../view/server";

/** The summary text of a layer. */
export async function describeLayer(url: string): Promise<string> {
  const vol = await Volume.open(url);
  const info = vol.info;
  const lines = [
    `${vol.url}`,
    `  type: ${info.type}, data type: ${info.data_type}, channels: ${info.num_channels}`,
  ];
  if (info.mesh) lines.push(`  mesh: ${info.mesh}`);
  if (info.skeletons) lines.push(`  skeletons: ${info.skeletons}`);
  if (info.segment_properties) lines.push(`  segment properties: ${info.segment_properties}`);
  lines.push(
    "  mip  key               size                 offset          resolution (nm)   chunk          encoding                chunks",
  );
  for (let mip = 0; mip < vol.mipCount; mip++) {
    const s = vol.withMip(mip).scale;
    const chunks = s.gridSize[0] * s.gridSize[1] * s.gridSize[2];
    const enc =
      s.encoding +
      (s.blockSize ? ` ${s.blockSize.join("x")}` : "") +
      (s.sharding ? " sharded" : "");
    lines.push(
      `  ${String(mip).padEnd(4)} ${s.key.padEnd(17)} ${s.size.join("x").padEnd(20)} ${s.voxelOffset.join(",").padEnd(15)} ${s.resolution.join("x").padEnd(17)} ${s.chunkSize.join("x").padEnd(14)} ${enc.padEnd(23)} ${chunks}`,
    );
  }
  return lines.join("\n");
}

/**
 * The summary of a layer; for a local directory without an info that holds
 * layers (the quickstart's output, say), a line naming them and each one's
 * summary.
 */
export async function describeLocation(url: string): Promise<string> {
  if (/^file:\/\//i.test(url)) {
    const dir = url.slice("file://".length);
    if (!existsSync(join(dir, "info")) && statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      const layers = await findLayers(dir);
      if (layers.length > 0) {
        const parts = [
          `${dir}: ${layers.length} layer(s): ${layers.map((l) => l.path).join(", ")}`,
        ];
        for (const l of layers) parts.push(await describeLayer(`file://${join(dir, l.path)}`));
        return parts.join("\n\n");
      }
    }
  }
  return describeLayer(url);
}

export function registerInfo(program: Command): void {
  program
    .command("info")
    .description(
      "summarise a layer: scales, sizes, encodings, mesh, chunk counts (or every layer in a directory)",
    )
    .argument("<layer>", "layer path or URL, or a local directory holding layers")
    .action(async (layer: string) => {
      process.stdout.write(`${await describeLocation(toUrl(layer))}\n`);
    });
}
