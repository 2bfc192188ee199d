import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromTyped, readInfo, readSegmentProperties, Volume } from "@ngpipe/precomputed";
import { openStorage } from "@ngpipe/storage";
import { voronoiSegmentation } from "@ngpipe/tasks";
import { cliTestbed } from "./capture.testutil";

const cli = cliTestbed("ngpipe-cli-seg-");
const { ngpipe } = cli;

const SIZE = [32, 24, 12] as const;

async function layer(
  name: string,
  encoding = "compresso",
): Promise<{ path: string; labels: Uint32Array }> {
  const labels = voronoiSegmentation(SIZE, { seeds: 12, seed: 2 });
  const path = join(cli.tmp, name);
  await Volume.fromArray(`file://${path}`, fromTyped(labels, SIZE), {
    chunkSize: [16, 16, 12],
    encoding,
    type: "segmentation",
  });
  return { path, labels };
}

function file(name: string, text: string): string {
  const p = join(cli.tmp, name);
  writeFileSync(p, text);
  return p;
}

test("ngpipe seg properties writes a CSV table beside the layer and sets the info key", async () => {
  const { path } = await layer("csv");
  const csv = file("cells.csv", "id,label,tags,volume\n3,three,#a b,12\n5,five,b,7\n");
  expect(await ngpipe("seg", "properties", path, csv)).toBe(0);
  expect(cli.err).toMatch(
    /wrote .*segment_properties\/info: 2 segments; properties: label \(label\), tags \(tags\), volume \(number uint8\)/,
  );
  const storage = openStorage(`file://${path}`);
  expect((await readInfo(storage)).segment_properties).toBe("segment_properties");
  const props = await readSegmentProperties(storage);
  expect(props?.inline?.ids).toEqual(["3", "5"]);
  expect(props?.inline?.properties[1]).toEqual({
    id: "tags",
    type: "tags",
    tags: ["a", "b"],
    values: [[0, 1], [1]],
  });
});

test("voxel counts from the count-voxels stage become the voxel_count property", async () => {
  const { path, labels } = await layer("counts");
  expect(await ngpipe("image", "count-voxels", path, "-p", "1")).toBe(0);
  const json = file("names.json", JSON.stringify([{ id: 1, label: "first" }]));
  expect(await ngpipe("seg", "properties", path, json, "--voxel-counts")).toBe(0);
  const props = await readSegmentProperties(openStorage(`file://${path}`));
  const expected = new Map<string, number>();
  for (const v of labels) if (v !== 0) expected.set(String(v), (expected.get(String(v)) ?? 0) + 1);
  const inline = props?.inline;
  if (!inline) throw new Error("no inline properties written");
  const counts = inline.properties.find((p) => p.id === "voxel_count");
  expect(counts).toMatchObject({
    type: "number",
    data_type: "uint16",
    description: "voxels of the segment",
  });
  expect(new Set(inline.ids)).toEqual(new Set(expected.keys()));
  inline.ids.forEach((id, i) => {
    expect(counts?.values[i]).toBe(expected.get(id));
  });
  expect(inline.properties.find((p) => p.id === "label")?.values[inline.ids.indexOf("1")]).toBe(
    "first",
  );

  // Without a table, the counts are added to the properties already there.
  expect(await ngpipe("seg", "properties", path, "--voxel-counts")).toBe(0);
  const again = await readSegmentProperties(openStorage(`file://${path}`));
  expect(again?.inline?.properties.map((p) => p.id)).toEqual(["label", "voxel_count"]);
});

test("a bad table is one line naming the file and row, and nothing is written", async () => {
  const { path } = await layer("bad");
  const csv = file("bad.csv", "id,label\n3,three\nx,four\n");
  expect(await ngpipe("seg", "properties", path, csv)).not.toBe(0);
  expect(cli.err.trim()).toBe(
    `ngpipe: SegmentPropertiesError: ${csv}: row 3, column "id": "x" is not a segment id (a base-10 uint64)`,
  );
  expect((await readInfo(openStorage(`file://${path}`))).segment_properties).toBeUndefined();
});

test("image layers, missing files and missing arguments are refused", async () => {
  const img = join(cli.tmp, "img");
  await Volume.fromArray(`file://${img}`, fromTyped(new Uint8Array(64), [4, 4, 4]), {
    chunkSize: [4, 4, 4],
  });
  const csv = file("ok.csv", "id,label\n1,a\n");
  expect(await ngpipe("seg", "properties", img, csv)).not.toBe(0);
  expect(cli.err).toMatch(/belong to segmentation layers/);
  cli.clear();
  expect(await ngpipe("seg", "properties", img, join(cli.tmp, "nope.csv"))).not.toBe(0);
  expect(cli.err).toMatch(/cannot read .*nope\.csv/);
  cli.clear();
  expect(await ngpipe("seg", "properties", img)).not.toBe(0);
  expect(cli.err).toMatch(/give a table FILE, --voxel-counts, or both/);
});
