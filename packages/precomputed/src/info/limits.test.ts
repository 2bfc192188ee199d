/**
 * Info values that pass the spec's type rules but that no read could
 * allocate are InfoValidationErrors naming the field; a valid layer's read
 * of a box no array can hold is a CutoutTooLargeError naming the box.
 */
import { openStorage } from "@ngpipe/storage";
import { VoxelValueError, voxelValue } from "../dtypes";
import { Volume } from "../volume";
import { CutoutTooLargeError } from "../volume/errors";
import { InfoValidationError } from "./errors";
import { type InfoJSON, MAX_ARRAY_BYTES, parseInfo } from "./info";

function info(edit: (i: InfoJSON) => void): InfoJSON {
  const i: InfoJSON = {
    type: "image",
    data_type: "uint8",
    num_channels: 1,
    scales: [
      {
        key: "1_1_1",
        resolution: [1, 1, 1],
        size: [64, 64, 16],
        voxel_offset: [0, 0, 0],
        chunk_sizes: [[16, 16, 16]],
        encoding: "raw",
      },
    ],
  };
  edit(i);
  return i;
}

test.each([
  ["size 2^40", (i: InfoJSON) => (i.scales[0].size = [2 ** 40, 64, 16]), "scales[0].size"],
  ["num_channels 1e9", (i: InfoJSON) => (i.num_channels = 1e9), "num_channels"],
  ["num_channels 2^33", (i: InfoJSON) => (i.num_channels = 2 ** 33), "num_channels"],
  [
    "a chunk of 2^48 voxels",
    (i: InfoJSON) => (i.scales[0].chunk_sizes = [[2 ** 16, 2 ** 16, 2 ** 16]]),
    "scales[0].chunk_sizes[0]",
  ],
])("%s is an InfoValidationError naming the field", (_what, edit, path) => {
  const err = (() => {
    try {
      parseInfo(info(edit), "mem://limits/info");
    } catch (e) {
      return e;
    }
  })() as InfoValidationError;
  expect(err).toBeInstanceOf(InfoValidationError);
  expect(err.path).toBe(path);
  expect(err.message).toMatch(/more than a read can allocate/);
});

test("the largest chunk a read can hold is accepted", () => {
  const side = Math.floor(Math.cbrt(MAX_ARRAY_BYTES));
  expect(() =>
    parseInfo(info((i) => (i.scales[0].chunk_sizes = [[side, side, side]]))),
  ).not.toThrow();
});

test("opening a stored info with an impossible value fails at open, naming the field", async () => {
  const storage = openStorage("mem://limits-open");
  await storage.put(
    "info",
    new TextEncoder().encode(JSON.stringify(info((i) => (i.num_channels = 1e9)))),
  );
  await expect(Volume.open("mem://limits-open")).rejects.toThrow(
    /num_channels: chunks of 16x16x16 voxels x 1000000000 channel\(s\)/,
  );
});

test("a read of a box no array can hold is a CutoutTooLargeError naming the box", async () => {
  const vol = await Volume.create(
    "mem://limits-read",
    info((i) => (i.scales[0].size = [2 ** 20, 2 ** 20, 2 ** 10])),
    { fillMissing: true },
  );
  await expect(vol.read(vol.bounds)).rejects.toThrow(CutoutTooLargeError);
  await expect(vol.read(vol.bounds)).rejects.toThrow(/0-1048576_0-1048576_0-1024/);
});

test.each([
  [300, "uint8"],
  [-1, "uint16"],
  ["1.5", "int32"],
  ["18446744073709551616", "uint64"],
  [1e39, "float32"],
  ["nan", "float64"],
] as const)("voxelValue refuses %p for %s", (v, dtype) => {
  expect(() => voxelValue(v, dtype)).toThrow(VoxelValueError);
});

test("voxelValue keeps 64-bit values exact", () => {
  expect(voxelValue("18446744073709551615", "uint64")).toBe(18446744073709551615n);
  expect(voxelValue(-128, "int8")).toBe(-128);
  expect(voxelValue("0.5", "float32")).toBe(0.5);
});
