import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Bbox, closePool, NdArray, Volume } from "@ngpipe/precomputed";
import { openNpy } from "@ngpipe/tasks";
import { main } from "./program";

let tmp: string;
const origErr = process.stderr.write.bind(process.stderr);
let err = "";
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "ngpipe-export-"));
  process.stderr.write = ((s: string) => {
    err += s;
    return true;
  }) as typeof process.stderr.write;
});
afterAll(async () => {
  process.stderr.write = origErr;
  rmSync(tmp, { recursive: true, force: true });
  await closePool();
});

test("image export writes a cutout as .npy that reads back voxel for voxel", async () => {
  const labels = new BigUint64Array(20 * 16 * 8);
  for (let i = 0; i < labels.length; i++) labels[i] = BigInt(i) * 2n ** 33n + 5n;
  const layer = join(tmp, "seg");
  await Volume.fromArray(`file://${layer}`, NdArray.from(labels, [20, 16, 8]), {
    encoding: "compressed_segmentation",
    chunkSize: [8, 8, 8],
    voxelOffset: [100, 0, 0],
  });
  const out = join(tmp, "cut.npy");
  expect(
    await main(["node", "ngpipe", "image", "export", layer, out, "--bounds", "103-115_2-9_1-8"]),
  ).toBe(0);
  expect(err).toContain("wrote");
  const src = await openNpy(out);
  expect(src.shape).toEqual([12, 7, 7, 1]);
  const got = await src.readBlock({ min: [0, 0, 0], max: [12, 7, 7] });
  await src.close();
  const want = await (await Volume.open(`file://${layer}`)).read(
    new Bbox([103, 2, 1], [115, 9, 8]),
  );
  expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength)).toEqual(
    Buffer.from(want.data.buffer, want.data.byteOffset, want.data.byteLength),
  );
  err = "";
  expect(
    await main([
      "node",
      "ngpipe",
      "image",
      "export",
      layer,
      join(tmp, "x.raw"),
      "--bounds",
      "100-101_0-1_0-1",
    ]),
  ).toBe(2);
  expect(err).toMatch(/must end in \.npy/);
});
