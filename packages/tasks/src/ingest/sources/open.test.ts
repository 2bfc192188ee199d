import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { SourceError } from "./errors";
import { mapEsmOnlyPackagesForJest } from "./esm-jest.testutil";
import { detectFormat, openSource } from "./open";

mapEsmOnlyPackagesForJest();

const PIRIFORM = path.resolve(__dirname, "../../../../../../shared/data/piriform.aff.h5");
const NPY = path.join(__dirname, "fixtures", "numpy_c_zyx_be_u16.npy");
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "ngpipe-open-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("formats are detected from extensions and URL schemes", async () => {
  expect(await detectFormat("a/b.h5#/main")).toBe("hdf5");
  expect(await detectFormat("a/b.HDF5")).toBe("hdf5");
  expect(await detectFormat("a/b.npy")).toBe("npy");
  expect(await detectFormat("s3://bucket/cells.ome.zarr/")).toBe("zarr");
  expect(await detectFormat("gs://bucket/volume#/0")).toBe("zarr");
  expect(await detectFormat("scans/z_*.png")).toBe("images");
  expect(await detectFormat("stack.tif")).toBe("images");
  expect(await detectFormat(["a.png", "b.png"])).toBe("images");
});

test("a local directory is Zarr when it holds Zarr metadata, else an image stack", async () => {
  const z = path.join(dir, "plain");
  mkdirSync(z);
  writeFileSync(path.join(z, ".zgroup"), "{}");
  expect(await detectFormat(z)).toBe("zarr");
  const i = path.join(dir, "imgs");
  mkdirSync(i);
  expect(await detectFormat(i)).toBe("images");
});

test("an unknown extension or missing path is a SourceError saying to pass format", async () => {
  const f = path.join(dir, "vol.raw");
  writeFileSync(f, "x");
  await expect(openSource(f)).rejects.toThrow(/pass format/);
  await expect(openSource(path.join(dir, "nothing"))).rejects.toBeInstanceOf(SourceError);
});

test("openSource dispatches to the HDF5 reader with the #dataset syntax", async () => {
  const src = await openSource(`${PIRIFORM}#/main`);
  expect([src.format, src.shape, src.dataType]).toEqual(["hdf5", [200, 200, 5, 3], "float32"]);
  await src.close();
});

test("openSource takes a JSON spec with reader options", async () => {
  const src = await openSource({ url: NPY, axes: "xyz" });
  expect([src.format, src.shape]).toEqual(["npy", [3, 4, 5, 1]]);
  await src.close();
  const forced = await openSource({ url: PIRIFORM, format: "hdf5", dataset: "main" });
  expect(forced.shape).toEqual([200, 200, 5, 3]);
  await forced.close();
});
