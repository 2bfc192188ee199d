/**
 * `ngpipe skeleton stats LAYER ID...`: what labs measure on skeletons —
 * cable length (nm), branch points and end points — of the skeletons a
 * segmentation layer's `skeletons` directory holds (sharded or not).
 */
import { SkeletonLayer, Volume } from "@ngpipe/precomputed";
import { skeletonStats } from "@ngpipe/segmentation";
import type { Command } from "commander";
import { toUrl } from "../args";
import { UsageError } from "../errors";
import { commandGroup } from "./stage-commands";

/** One skeleton's measurements, as `--json` prints them. */
export interface SkeletonStatsRow {
  id: string;
  vertices: number;
  cableLength: number;
  branchPoints: number;
  endPoints: number;
}

/** Measure the skeletons of `ids` in the layer at `url`; an id without a skeleton is a UsageError. */
export async function measureSkeletons(
  url: string,
  ids: readonly string[],
): Promise<SkeletonStatsRow[]> {
  for (const id of ids)
    if (!/^\d+$/.test(id) || BigInt(id) >= 1n << 64n)
      throw new UsageError(`segment id must be a uint64 in decimal, got "${id}"`);
  const vol = await Volume.open(url);
  if (typeof vol.info.skeletons !== "string")
    throw new UsageError(
      `${vol.url} has no skeletons (no "skeletons" in its info); run ngpipe skeleton forge and merge first`,
    );
  const layer = await SkeletonLayer.open(`${vol.url}/${vol.info.skeletons}`);
  const skeletons = await layer.getMany(ids.map((id) => BigInt(id)));
  return skeletons.map((s, i) => {
    if (s === null) throw new UsageError(`${layer.url}: no skeleton for segment ${ids[i]}`);
    return { id: ids[i], vertices: s.vertices.length / 3, ...skeletonStats(s) };
  });
}

/** Add `stats` to the `skeleton` command group. */
export function registerSkeletonCommands(program: Command): void {
  commandGroup(program, "skeleton")
    .command("stats")
    .description("cable length (nm), branch points and end points of skeletons")
    .argument("<layer>", "segmentation layer path or URL")
    .argument("<ids...>", "segment ids")
    .option("--json", "print a JSON array instead of a table")
    .action(async (layer: string, ids: string[], o: { json?: boolean }) => {
      const rows = await measureSkeletons(toUrl(layer), ids);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const lines = ["id                    vertices  cable (nm)      branch points  end points"];
      for (const r of rows)
        lines.push(
          `${r.id.padEnd(21)} ${String(r.vertices).padStart(8)}  ${r.cableLength.toFixed(1).padStart(14)}  ${String(r.branchPoints).padStart(13)}  ${String(r.endPoints).padStart(10)}`,
        );
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
