import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { CorruptSourceError, DatasetNotFoundError, UnsupportedDataTypeError } from "./errors";
import { mapEsmOnlyPackagesForJest } from "./esm-jest.testutil";
import { openHdf5 } from "./hdf5";
import type { BlockBox } from "./types";

mapEsmOnlyPackagesForJest();

const PIRIFORM = path.resolve(__dirname, "../../../../../../shared/data/piriform.aff.h5");

type H5 = typeof import("h5wasm");
let h5: H5;
let dir: string;

beforeAll(async () => {
  h5 = await import("h5wasm/node");
  await h5.ready;
  dir = mkdtempSync(path.join(tmpdir(), "ngpipe-h5-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Blocks that tile [0, n) per axis with odd sizes. */
function oddBlocks(shape: number[], step: number[]): BlockBox[] {
  const out: BlockBox[] = [];
  for (let z = 0; z < shape[2]; z += step[2])
    for (let y = 0; y < shape[1]; y += step[1])
      for (let x = 0; x < shape[0]; x += step[0])
        out.push({
          min: [x, y, z],
          max: [
            Math.min(x + step[0], shape[0]),
            Math.min(y + step[1], shape[1]),
            Math.min(z + step[2], shape[2]),
          ],
        });
  return out;
}

describe("piriform affinity map (real data)", () => {
  test("opens /main with shape [200, 200, 5, 3] and float32", async () => {
    const src = await openHdf5(PIRIFORM, { dataset: "/main" });
    expect(src.shape).toEqual([200, 200, 5, 3]);
    expect(src.dataType).toBe("float32");
    await src.close();
  });

  test("every voxel (x, y, z, c) equals element [c, z, y, x] of the dataset", async () => {
    const f = new h5.File(PIRIFORM, "r");
    const ref = (f.get("main") as import("h5wasm").Dataset).value as Float32Array;
    f.close();
    expect(ref.length).toBe(3 * 5 * 200 * 200);
    const src = await openHdf5(`${PIRIFORM}#/main`);
    const seen = new Uint8Array(ref.length);
    for (const b of oddBlocks([200, 200, 5], [77, 61, 3])) {
      const block = (await src.readBlock(b)).data as Float32Array;
      const [nx, ny, nz] = [b.max[0] - b.min[0], b.max[1] - b.min[1], b.max[2] - b.min[2]];
      expect(block.length).toBe(nx * ny * nz * 3);
      let bad = 0;
      for (let c = 0; c < 3; c++)
        for (let z = 0; z < nz; z++)
          for (let y = 0; y < ny; y++)
            for (let x = 0; x < nx; x++) {
              const gx = b.min[0] + x;
              const gy = b.min[1] + y;
              const gz = b.min[2] + z;
              const r = ((c * 5 + gz) * 200 + gy) * 200 + gx;
              seen[r]++;
              if (block[x + nx * (y + ny * (z + nz * c))] !== ref[r]) bad++;
            }
      expect(bad).toBe(0);
    }
    expect(seen.every((v) => v === 1)).toBe(true);
    await src.close();
  });
});

describe("HDF5 files written by h5wasm", () => {
  const shape = [6, 40, 37]; // h5py order (z, y, x)
  const cases: [string, string, (i: number) => number | bigint, string][] = [
    ["<B", "uint8", (i) => i % 251, "Uint8Array"],
    ["<H", "uint16", (i) => (i * 7) % 65521, "Uint16Array"],
    ["<i", "int32", (i) => i * 3 - 20000, "Int32Array"],
    ["<Q", "uint64", (i) => BigInt(i) * 4294967311n, "BigUint64Array"],
    ["<d", "float64", (i) => i / 7, "Float64Array"],
  ];

  test.each(cases)(
    "chunked deflate %s reads block by block, one block per slice call",
    async (h5type, dtype, gen, ctor) => {
      const n = shape[0] * shape[1] * shape[2];
      const C = globalThis[ctor as "Uint8Array"] as unknown as {
        from(a: unknown[]): ArrayLike<unknown>;
      };
      const data = C.from(Array.from({ length: n }, (_, i) => gen(i)));
      const file = path.join(dir, `v-${dtype}.h5`);
      const w = new h5.File(file, "w");
      w.create_group("vol");
      (w.get("vol") as import("h5wasm").Group).create_dataset({
        name: "raw",
        data: data as never,
        shape,
        dtype: h5type,
        chunks: [2, 16, 16],
        compression: 6,
      });
      w.close();
      const r = new h5.File(file, "r");
      const written = r.get("vol/raw") as import("h5wasm").Dataset;
      expect(written.filters.map((f) => f.name)).toContain("deflate");
      expect(written.metadata.chunks).toEqual([2, 16, 16]);
      r.close();

      const spy = jest.spyOn(h5.Dataset.prototype, "slice");
      const src = await openHdf5(file, { dataset: "vol/raw" });
      expect(src.shape).toEqual([37, 40, 6, 1]);
      expect(src.dataType).toBe(dtype);
      const step = [16, 15, 4];
      for (const b of oddBlocks([37, 40, 6], step)) {
        const block = (await src.readBlock(b)).data;
        const [nx, ny, nz] = [b.max[0] - b.min[0], b.max[1] - b.min[1], b.max[2] - b.min[2]];
        for (let z = 0; z < nz; z++)
          for (let y = 0; y < ny; y++)
            for (let x = 0; x < nx; x++) {
              const i = ((b.min[2] + z) * 40 + b.min[1] + y) * 37 + b.min[0] + x;
              if (block[x + nx * (y + ny * z)] !== data[i]) {
                throw new Error(`mismatch at ${[x, y, z]} of block ${JSON.stringify(b)}`);
              }
            }
      }
      const sizes = spy.mock.calls.map(([ranges]) =>
        ranges.reduce((a, r) => a * ((r[1] as number) - (r[0] as number)), 1),
      );
      expect(sizes.length).toBe(oddBlocks([37, 40, 6], step).length);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(step[0] * step[1] * step[2]);
      spy.mockRestore();
      await src.close();
    },
  );

  test("axes option maps an x-first (xyz) dataset without transposing", async () => {
    const file = path.join(dir, "xyz.h5");
    const w = new h5.File(file, "w");
    const data = Uint16Array.from({ length: 5 * 4 * 3 }, (_, i) => i);
    w.create_dataset({ name: "v", data, shape: [5, 4, 3], dtype: "<H" });
    w.close();
    const src = await openHdf5(file, { axes: "xyz" });
    expect(src.shape).toEqual([5, 4, 3, 1]);
    const block = (await src.readBlock({ min: [1, 2, 0], max: [4, 4, 3] })).data;
    // element [x][y][z] of a C-order (5,4,3) array is at (x*4 + y)*3 + z
    const expected: number[] = [];
    for (let z = 0; z < 3; z++)
      for (let y = 2; y < 4; y++) for (let x = 1; x < 4; x++) expected.push((x * 4 + y) * 3 + z);
    expect(Array.from(block as Uint16Array)).toEqual(expected);
    await src.close();
  });

  test("a channel-last (zyxc) dataset gives planar channels", async () => {
    const file = path.join(dir, "zyxc.h5");
    const w = new h5.File(file, "w");
    const data = Uint8Array.from({ length: 2 * 3 * 4 * 3 }, (_, i) => i);
    w.create_dataset({ name: "rgb", data, shape: [2, 3, 4, 3], dtype: "<B" });
    w.close();
    const src = await openHdf5(`${file}#rgb`, { axes: "zyxc" });
    expect(src.shape).toEqual([4, 3, 2, 3]);
    const block = (await src.readBlock({ min: [0, 0, 0], max: [4, 3, 2] })).data as Uint8Array;
    for (let c = 0; c < 3; c++)
      for (let z = 0; z < 2; z++)
        for (let y = 0; y < 3; y++)
          for (let x = 0; x < 4; x++)
            expect(block[x + 4 * (y + 3 * (z + 2 * c))]).toBe(((z * 3 + y) * 4 + x) * 3 + c);
    await src.close();
  });

  test("a missing dataset path lists the datasets present", async () => {
    const file = path.join(dir, "two.h5");
    const w = new h5.File(file, "w");
    w.create_group("g");
    (w.get("g") as import("h5wasm").Group).create_dataset({
      name: "a",
      data: new Uint8Array(8),
      shape: [2, 2, 2],
    });
    w.create_dataset({ name: "b", data: new Uint8Array(8), shape: [2, 2, 2] });
    w.close();
    const err = await openHdf5(file, { dataset: "/nope" }).catch((e) => e);
    expect(err).toBeInstanceOf(DatasetNotFoundError);
    expect(err.available).toEqual(["/b", "/g/a"].sort());
    expect(err.message).toContain("/g/a");
    // two candidates and none named: the same error
    await expect(openHdf5(file)).rejects.toBeInstanceOf(DatasetNotFoundError);
  });

  test("a string dataset is refused with UnsupportedDataTypeError", async () => {
    const file = path.join(dir, "strings.h5");
    const w = new h5.File(file, "w");
    w.create_dataset({ name: "names", data: ["a", "b", "c", "d"], shape: [2, 2] });
    w.close();
    await expect(openHdf5(file, { dataset: "names" })).rejects.toBeInstanceOf(
      UnsupportedDataTypeError,
    );
  });

  test("a file that is not HDF5 gives CorruptSourceError naming it", async () => {
    const file = path.join(dir, "junk.h5");
    writeFileSync(file, "not an hdf5 file at all");
    const err = await openHdf5(file).catch((e) => e);
    expect(err).toBeInstanceOf(CorruptSourceError);
    expect(err.message).toContain(file);
  });
});
