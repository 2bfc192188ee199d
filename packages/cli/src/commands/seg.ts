/** `ngpipe seg properties`: segment properties of a segmentation layer from a CSV or JSON table. */
import { readFile } from "node:fs/promises";
import {
  parseSegmentPropertiesFile,
  readSegmentProperties,
  type SegmentPropertiesJSON,
  withNumberProperty,
  writeSegmentProperties,
} from "@ngpipe/precomputed";
import { openStorage } from "@ngpipe/storage";
import { readVoxelCounts } from "@ngpipe/tasks";
import type { Command } from "commander";
import { toUrl } from "../args";
import { UsageError } from "../errors";
import { commandGroup } from "./stage-commands";

/** Name of the number property that holds voxel counts. */
const VOXEL_COUNT_PROPERTY = "voxel_count";

/** One line describing what was written. */
function summary(url: string, props: SegmentPropertiesJSON): string {
  const inline = props.inline;
  const list = (inline?.properties ?? [])
    .map((p) => `${p.id} (${p.type === "number" ? `number ${p.data_type}` : p.type})`)
    .join(", ");
  return `wrote ${url}: ${inline?.ids.length ?? 0} segments; properties: ${list || "none"}\n`;
}

/** `ngpipe seg properties LAYER [FILE]`. */
export function registerSegCommands(program: Command): void {
  const seg = commandGroup(program, "seg");
  seg
    .command("properties")
    .description(
      "write a segmentation layer's segment properties (labels, descriptions, tags, strings, numbers) from a CSV or JSON table, replacing its current ones, and/or add its voxel counts as a number property; sets the info's segment_properties",
    )
    .argument("<layer>", "segmentation layer path or URL")
    .argument(
      "[file]",
      "table: .csv with a header row and an id column (column:type picks a type), or .json (a list of records with id, an object of records by id, or a neuroglancer_segment_properties info)",
    )
    .option(
      "--voxel-counts [url]",
      `add the count-voxels table (default LAYER/voxel-counts) as the number property "${VOXEL_COUNT_PROPERTY}"`,
    )
    .option(
      "--dir <name>",
      "directory of the properties in the layer (default: the info's, else segment_properties)",
    )
    .action(async (layer: string, file: string | undefined, o) => {
      if (file === undefined && o.voxelCounts === undefined)
        throw new UsageError("give a table FILE, --voxel-counts, or both");
      const url = toUrl(layer);
      const storage = openStorage(url);
      // A table replaces the layer's properties; without one, voxel counts are added to them.
      let props: SegmentPropertiesJSON | null;
      if (file !== undefined) {
        let text: string;
        try {
          text = await readFile(file, "utf8");
        } catch (e) {
          throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
        }
        props = parseSegmentPropertiesFile(text, file);
      } else props = await readSegmentProperties(storage);
      if (o.voxelCounts !== undefined) {
        const countsUrl =
          o.voxelCounts === true ? `${url.replace(/\/+$/, "")}/voxel-counts` : toUrl(o.voxelCounts);
        const { ids, counts } = await readVoxelCounts(countsUrl);
        const idText: string[] = [];
        const values: number[] = [];
        // Label 0 is background in a segmentation; it gets no property.
        for (let i = 0; i < ids.length; i++)
          if (ids[i] !== 0n) {
            idText.push(ids[i].toString());
            values.push(counts[i]);
          }
        props = withNumberProperty(
          props,
          VOXEL_COUNT_PROPERTY,
          idText,
          values,
          "voxels of the segment",
        );
      }
      const written = await writeSegmentProperties(storage, props as SegmentPropertiesJSON, {
        dir: o.dir,
      });
      process.stderr.write(summary(written, props as SegmentPropertiesJSON));
    });
}
