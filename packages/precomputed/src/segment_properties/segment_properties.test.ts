import { openStorage } from "@ngpipe/storage";
import { createInfo } from "../info/edit";
import { readInfo, writeInfo } from "../info/io";
import { SegmentPropertiesError, validateSegmentProperties } from "./format";
import { readSegmentProperties, withNumberProperty, writeSegmentProperties } from "./layer";
import { parseCsv, segmentPropertiesFromCsv, segmentPropertiesFromJson } from "./parse";

let n = 0;
async function segLayer(type: "segmentation" | "image" = "segmentation") {
  const storage = openStorage(`mem://segprops/${n++}`);
  await writeInfo(
    storage,
    createInfo({
      type,
      dataType: type === "segmentation" ? "uint64" : "uint8",
      resolution: [8, 8, 8],
      size: [64, 64, 64],
      chunkSize: [64, 64, 64],
    }),
  );
  return storage;
}

function errorOf(fn: () => unknown): SegmentPropertiesError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SegmentPropertiesError) return e;
    throw e;
  }
  throw new Error("expected a SegmentPropertiesError");
}

describe("CSV", () => {
  const csv = [
    "id,label,description,tags,volume,depth,cell_type,zip:string",
    '12,"axon, left",first cell,#axon soma,120,-3,pyramidal,02134',
    '7,dendrite,"two\nlines",soma,70000,2.5,basket,90210',
    "18446744073709551615,,,,0,0,pyramidal,00000",
  ].join("\r\n");

  it("turns columns into typed properties, inferring types by name and values", () => {
    const p = segmentPropertiesFromCsv(csv, "cells.csv");
    expect(p["@type"]).toBe("neuroglancer_segment_properties");
    expect(p.inline?.ids).toEqual(["12", "7", "18446744073709551615"]);
    const byId = Object.fromEntries((p.inline?.properties ?? []).map((q) => [q.id, q]));
    expect(byId.label).toEqual({
      id: "label",
      type: "label",
      values: ["axon, left", "dendrite", ""],
    });
    expect(byId.description).toEqual({
      id: "description",
      type: "description",
      values: ["first cell", "two\nlines", ""],
    });
    expect(byId.tags).toEqual({
      id: "tags",
      type: "tags",
      tags: ["axon", "soma"],
      values: [[0, 1], [1], []],
    });
    expect(byId.volume).toEqual({
      id: "volume",
      type: "number",
      data_type: "uint32",
      values: [120, 70000, 0],
    });
    expect(byId.depth).toMatchObject({
      type: "number",
      data_type: "float32",
      values: [-3, 2.5, 0],
    });
    expect(byId.cell_type).toMatchObject({
      type: "string",
      values: ["pyramidal", "basket", "pyramidal"],
    });
    expect(byId.zip).toMatchObject({ type: "string", values: ["02134", "90210", "00000"] });
  });

  it("narrow integers get the narrowest data type", () => {
    const p = segmentPropertiesFromCsv("id,a,b,c\n1,3,-4,300\n2,255,127,-300\n", "x.csv");
    expect(p.inline?.properties.map((q) => (q.type === "number" ? q.data_type : q.type))).toEqual([
      "uint8",
      "int8",
      "int16",
    ]);
  });

  it("errors name the file, row and column", () => {
    expect(errorOf(() => segmentPropertiesFromCsv("label\nx\n", "a.csv")).message).toMatch(
      /^a\.csv: row 1: no "id" column/,
    );
    expect(errorOf(() => segmentPropertiesFromCsv("id,label\n1,a\nabc,b\n", "a.csv")).message).toBe(
      'a.csv: row 3, column "id": "abc" is not a segment id (a base-10 uint64)',
    );
    expect(
      errorOf(() => segmentPropertiesFromCsv("id,label\n5,a\n5,b\n", "a.csv")).message,
    ).toMatch(/row 3, column "id": segment 5 is listed twice \(first at row 2/);
    expect(
      errorOf(() => segmentPropertiesFromCsv("id,label\n5,a,extra\n", "a.csv")).message,
    ).toMatch(/row 2: has 3 cells, the header 2/);
    expect(errorOf(() => segmentPropertiesFromCsv("id,v:uint8\n5,300\n", "a.csv")).message).toMatch(
      /row 2, column "v": 300 does not fit uint8/,
    );
    expect(errorOf(() => segmentPropertiesFromCsv("id,v:number\n5,\n", "a.csv")).message).toMatch(
      /row 2, column "v": "" is not a number/,
    );
    expect(errorOf(() => segmentPropertiesFromCsv('id,label\n5,"open\n', "a.csv")).message).toMatch(
      /row 2: a quoted cell is not closed/,
    );
    expect(errorOf(() => segmentPropertiesFromCsv("", "a.csv")).message).toMatch(/empty/);
    expect(
      errorOf(() => segmentPropertiesFromCsv("id,n\n18446744073709551616,1\n", "a.csv")).field,
    ).toBe('row 2, column "id"');
  });

  it("parses quotes, doubled quotes, CRLF and a byte order mark", () => {
    expect(parseCsv('\ufeffa,"b ""q"", c"\r\n1,2\n', "f.csv")).toEqual([
      { line: 1, cells: ["a", 'b "q", c'] },
      { line: 2, cells: ["1", "2"] },
    ]);
  });
});

describe("JSON", () => {
  it("takes a list of records", () => {
    const p = segmentPropertiesFromJson(
      JSON.stringify([
        { id: 3, label: "a", tags: ["x", "Y"], size: 10 },
        { id: "4", label: "b", tags: "y z", size: 20, note: "n" },
      ]),
      "p.json",
    );
    expect(p.inline?.ids).toEqual(["3", "4"]);
    expect(p.inline?.properties).toEqual([
      { id: "label", type: "label", values: ["a", "b"] },
      {
        id: "tags",
        type: "tags",
        tags: ["Y", "x", "z"],
        values: [
          [0, 1],
          [0, 2],
        ],
      },
      { id: "size", type: "number", data_type: "uint8", values: [10, 20] },
      { id: "note", type: "string", values: ["", "n"] },
    ]);
  });

  it("takes an object of records keyed by id", () => {
    const p = segmentPropertiesFromJson(
      '{"10": {"label": "ten"}, "2": {"label": "two"}}',
      "p.json",
    );
    // JavaScript orders integer-like keys numerically.
    expect(p.inline?.ids).toEqual(["2", "10"]);
    expect(p.inline?.properties[0].values).toEqual(["two", "ten"]);
  });

  it("takes a complete properties info and validates it", () => {
    const info = {
      "@type": "neuroglancer_segment_properties",
      inline: { ids: ["1"], properties: [{ id: "label", type: "label", values: ["one"] }] },
    };
    expect(segmentPropertiesFromJson(JSON.stringify(info), "p.json")).toEqual(info);
  });

  it("errors name the file and record", () => {
    expect(errorOf(() => segmentPropertiesFromJson("[1]", "p.json")).message).toBe(
      "p.json: [0]: each record must be an object of property values",
    );
    expect(errorOf(() => segmentPropertiesFromJson('[{"id": -1}]', "p.json")).message).toMatch(
      /p\.json: \[0\]\.id: "-1" is not a segment id/,
    );
    expect(
      errorOf(() => segmentPropertiesFromJson('[{"id": 1, "label": {"a": 1}}]', "p.json")).message,
    ).toMatch(/\[0\]\.label: \{"a":1\} is not text/);
    expect(errorOf(() => segmentPropertiesFromJson("{oops", "p.json")).message).toMatch(
      /p\.json: is not valid JSON/,
    );
  });
});

describe("validateSegmentProperties", () => {
  const base = () => ({
    "@type": "neuroglancer_segment_properties",
    inline: {
      ids: ["1", "2"],
      properties: [
        { id: "label", type: "label", values: ["a", "b"] } as Record<string, unknown>,
        { id: "t", type: "tags", tags: ["x", "y"], values: [[0], [0, 1]] } as Record<
          string,
          unknown
        >,
        { id: "n", type: "number", data_type: "int16", values: [-5, 6] } as Record<string, unknown>,
      ],
    },
  });
  const cases: [string, (j: ReturnType<typeof base>) => void, string, RegExp][] = [
    ["@type", (j) => (j["@type"] = "x"), '["@type"]', /neuroglancer_segment_properties/],
    ["id", (j) => (j.inline.ids[1] = "0x2"), "inline.ids[1]", /not a base-10 uint64/],
    ["repeated id", (j) => (j.inline.ids[1] = "1"), "inline.ids[1]", /listed twice/],
    [
      "second label",
      (j) => (j.inline.properties[2] = { id: "l2", type: "label", values: ["", ""] }),
      "inline.properties[2].type",
      /at most one/,
    ],
    [
      "values length",
      (j) => (j.inline.properties[0].values = ["a"]),
      "inline.properties[0].values",
      /2 values/,
    ],
    [
      "tag with #",
      (j) => (j.inline.properties[1].tags = ["#x", "y"]),
      "inline.properties[1].tags[0]",
      /not a tag/,
    ],
    [
      "tag order",
      (j) => (j.inline.properties[1].values = [[1, 0], []]),
      "inline.properties[1].values[0]",
      /increasing/,
    ],
    [
      "tag description",
      (j) => (j.inline.properties[1].description = "d"),
      "inline.properties[1].description",
      /must not be present/,
    ],
    [
      "number range",
      (j) => (j.inline.properties[2].values = [1, 40000]),
      "inline.properties[2].values[1]",
      /not a int16 value/,
    ],
    [
      "data type",
      (j) => (j.inline.properties[2].data_type = "uint64"),
      "inline.properties[2].data_type",
      /must be one of/,
    ],
    ["type", (j) => (j.inline.properties[2].type = "bool"), "inline.properties[2].type", /must be/],
  ];
  test.each(cases)("%s", (_name, mutate, field, rule) => {
    const j = base();
    mutate(j);
    const e = errorOf(() => validateSegmentProperties(j, "gs://b/seg/segment_properties/info"));
    expect(e.file).toBe("gs://b/seg/segment_properties/info");
    expect(e.field).toBe(field);
    expect(e.rule).toMatch(rule);
  });

  test("the valid base passes", () => {
    expect(validateSegmentProperties(base(), "f")).toEqual(base());
  });
});

describe("segment properties of a layer", () => {
  it("are written beside the layer, with the info's segment_properties key set", async () => {
    const storage = await segLayer();
    expect(await readSegmentProperties(storage)).toBeNull();
    const props = segmentPropertiesFromCsv("id,label\n5,five\n", "p.csv");
    const url = await writeSegmentProperties(storage, props);
    expect(url).toMatch(/segment_properties\/info$/);
    expect((await readInfo(storage)).segment_properties).toBe("segment_properties");
    expect(await readSegmentProperties(storage)).toEqual(props);
    const again = await writeSegmentProperties(storage, props, { dir: "names" });
    expect(again).toMatch(/names\/info$/);
    expect((await readInfo(storage)).segment_properties).toBe("names");
  });

  it("are refused for image layers and a missing file is named", async () => {
    const image = await segLayer("image");
    const props = segmentPropertiesFromCsv("id,label\n5,five\n", "p.csv");
    await expect(writeSegmentProperties(image, props)).rejects.toThrow(
      /belong to segmentation layers/,
    );
    const storage = await segLayer();
    const info = await readInfo(storage);
    info.segment_properties = "gone";
    await writeInfo(storage, info);
    await expect(readSegmentProperties(storage)).rejects.toThrow(/gone\/info: is missing/);
  });

  it("withNumberProperty adds voxel counts for every id, filling other properties", () => {
    const props = segmentPropertiesFromCsv("id,label,tags,size\n5,five,a,1\n9,nine,,2\n", "p.csv");
    const merged = withNumberProperty(props, "voxel_count", ["9", "12"], [100, 70000]);
    expect(merged.inline?.ids).toEqual(["5", "9", "12"]);
    const byId = Object.fromEntries((merged.inline?.properties ?? []).map((q) => [q.id, q]));
    expect(byId.label.values).toEqual(["five", "nine", ""]);
    expect(byId.tags.values).toEqual([[0], [], []]);
    expect(byId.size.values).toEqual([1, 2, 0]);
    expect(byId.voxel_count).toEqual({
      id: "voxel_count",
      type: "number",
      data_type: "uint32",
      values: [0, 100, 70000],
    });
    expect(() => withNumberProperty(props, "label", ["5"], [1])).toThrow(
      /is a label property, not a number/,
    );
    const fresh = withNumberProperty(null, "voxel_count", ["3"], [7], "voxels");
    expect(fresh.inline?.properties[0]).toEqual({
      id: "voxel_count",
      type: "number",
      data_type: "uint8",
      values: [7],
      description: "voxels",
    });
  });
});
