import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStorage } from "@ngpipe/storage";
import fc from "fast-check";
import { NdArray } from "../array";
import { ChunkDecodeError } from "../errors";
import { Bbox } from "../geometry/bbox";
import { createInfo } from "../info/edit";
import { closePool } from "../pool";
import { computeImageShardingSpec } from "../sharding/params";
import { shardingSpec } from "../sharding/spec";
import { AlignmentError, MissingChunkError, OutOfBoundsError } from "./errors";
import { uniqueValues } from "./unique";
import { Volume } from "./volume";

let n = 0;
const memUrl = () => `mem://volume-test/${n++}`;
let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "ngpipe-volume-"));
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await closePool();
});

function ramp(dtype: "uint8" | "uint16" | "float32", shape: number[]): NdArray {
  const a = NdArray.zeros(dtype, shape);
  for (let i = 0; i < a.data.length; i++) (a.data as Uint16Array)[i] = (i * 7 + 3) % 251;
  return a;
}

function sameArray(a: NdArray, b: NdArray): boolean {
  if (a.shape.join() !== b.shape.join() || a.dtype !== b.dtype) return false;
  const x = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const y = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  return Buffer.from(x).equals(Buffer.from(y));
}

/** The part of `whole` (which starts at `origin`) inside `box`, background elsewhere. */
function cutFrom(whole: NdArray, origin: number[], box: Bbox, bg = 0): NdArray {
  const s = box.size();
  const out = NdArray.zeros(whole.dtype, [s[0], s[1], s[2], whole.shape[3]]);
  for (let c = 0; c < whole.shape[3]; c++)
    for (let z = 0; z < s[2]; z++)
      for (let y = 0; y < s[1]; y++)
        for (let x = 0; x < s[0]; x++) {
          const wx = box.min[0] + x - origin[0];
          const wy = box.min[1] + y - origin[1];
          const wz = box.min[2] + z - origin[2];
          const inside =
            wx >= 0 &&
            wy >= 0 &&
            wz >= 0 &&
            wx < whole.shape[0] &&
            wy < whole.shape[1] &&
            wz < whole.shape[2];
          out.set(
            x,
            y,
            z,
            c,
            inside ? whole.get(wx, wy, wz, c) : whole.dtype === "uint64" ? BigInt(bg) : bg,
          );
        }
  return out;
}

test("a volume made from an array reads back identical, whole", async () => {
  const a = ramp("uint16", [50, 37, 21, 2]);
  const vol = await Volume.fromArray(memUrl(), a, { chunkSize: [16, 16, 8], workers: false });
  expect(vol.bounds.toString()).toBe("0-50_0-37_0-21");
  expect(sameArray(await vol.read(vol.bounds), a)).toBe(true);
});

test("reads of random boxes equal the same box cut from the written array", async () => {
  const origin = [5, -3, 10];
  const a = ramp("uint8", [41, 30, 19, 1]);
  const vol = await Volume.fromArray(memUrl(), a, {
    chunkSize: [8, 16, 4],
    voxelOffset: origin as [number, number, number],
    workers: false,
  });
  const coord = (i: number) => fc.integer({ min: origin[i], max: origin[i] + a.shape[i] - 1 });
  await fc.assert(
    fc.asyncProperty(
      coord(0),
      coord(1),
      coord(2),
      coord(0),
      coord(1),
      coord(2),
      async (x0, y0, z0, x1, y1, z1) => {
        const box = new Bbox(
          [Math.min(x0, x1), Math.min(y0, y1), Math.min(z0, z1)],
          [Math.max(x0, x1) + 1, Math.max(y0, y1) + 1, Math.max(z0, z1) + 1],
        );
        return sameArray(await vol.read(box), cutFrom(a, origin, box));
      },
    ),
    { numRuns: 40 },
  );
});

test("the FIB-25 labels round-trip as compressed_segmentation and raw on file://, any box", async () => {
  const bytes = readFileSync(
    join(__dirname, "../../../../../shared/data/fib25-64x64x64-uint64.raw"),
  );
  const labels = new BigUint64Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
  const a = NdArray.from(labels, [64, 64, 64]);
  for (const encoding of ["compressed_segmentation", "raw"]) {
    const url = `file://${join(tmp, `fib25-${encoding}`)}`;
    await Volume.fromArray(url, a, { encoding, chunkSize: [32, 32, 16], resolution: [8, 8, 8] });
    const vol = await Volume.open(url);
    expect(sameArray(await vol.read(vol.bounds), a)).toBe(true);
    const box = new Bbox([3, 17, 30], [61, 40, 47]);
    expect(sameArray(await vol.read(box), cutFrom(a, [0, 0, 0], box))).toBe(true);
    const ids = await vol.unique(vol.bounds);
    expect(ids.length).toBe(52);
    expect(ids[0]).toBe(534n);
    expect(ids[ids.length - 1]).toBe(150303n);
  }
});

test("a shared read paints the chunks in the workers and equals a plain read, any box", async () => {
  const bytes = readFileSync(
    join(__dirname, "../../../../../shared/data/fib25-64x64x64-uint64.raw"),
  );
  const labels = new BigUint64Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
  const a = NdArray.from(labels, [64, 64, 64]);
  const url = `file://${join(tmp, "fib25-shared")}`;
  await Volume.fromArray(url, a, {
    encoding: "compressed_segmentation",
    chunkSize: [32, 32, 16],
    resolution: [8, 8, 8],
  });
  // A missing chunk and a box reaching outside the dataset are painted on this thread.
  const vol = await Volume.open(url, { fillMissing: true, bounded: false });
  await vol.delete(new Bbox([32, 32, 48], [64, 64, 64]));
  for (const box of [
    vol.bounds,
    new Bbox([3, 17, 30], [61, 40, 64]),
    new Bbox([-5, 0, 0], [9, 9, 9]),
  ]) {
    const plain = await vol.read(box);
    const shared = await vol.read(box, { shared: true });
    expect(shared.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(sameArray(shared, plain)).toBe(true);
  }
});

test("uint64 ids above 2^53 survive writes and reads in every 64-bit path", async () => {
  const labels = new BigUint64Array(20 * 20 * 6);
  for (let i = 0; i < labels.length; i++) labels[i] = 2n ** 60n + BigInt(i % 7) * 2n ** 40n + 1n;
  const a = NdArray.from(labels, [20, 20, 6]);
  const vol = await Volume.fromArray(memUrl(), a, {
    encoding: "compressed_segmentation",
    chunkSize: [8, 8, 4],
  });
  const got = await vol.read(new Bbox([1, 2, 1], [19, 17, 6]));
  expect(got.get(0, 0, 0)).toBe(a.get(1, 2, 1));
  expect(sameArray(got, cutFrom(a, [0, 0, 0], new Bbox([1, 2, 1], [19, 17, 6])))).toBe(true);
  expect(uniqueValues(a.data).length).toBe(7);
});

test("a missing chunk is an error naming it, or background with fillMissing", async () => {
  const url = memUrl();
  const info = createInfo({
    type: "image",
    dataType: "uint8",
    resolution: [4, 4, 40],
    size: [32, 32, 8],
    chunkSize: [16, 16, 8],
  });
  const vol = await Volume.create(url, info);
  await vol.write(
    new Bbox([0, 0, 0], [16, 16, 8]),
    NdArray.from(new Uint8Array(16 * 16 * 8).fill(9), [16, 16, 8]),
  );
  const err = await vol.read(vol.bounds).catch((e) => e);
  expect(err).toBeInstanceOf(MissingChunkError);
  expect((err as Error).message).toContain("4_4_40/16-32_0-16_0-8");
  const filled = await Volume.open(url, { fillMissing: true, background: 3 });
  const cut = await filled.read(vol.bounds);
  expect(cut.get(0, 0, 0)).toBe(9);
  expect(cut.get(20, 0, 0)).toBe(3);
});

test("boxes outside the dataset fail when bounded and read as background when not", async () => {
  const url = memUrl();
  const a = ramp("uint8", [16, 16, 4]);
  await Volume.fromArray(url, a, { chunkSize: [8, 8, 4] });
  const box = new Bbox([-2, 10, 0], [4, 20, 4]);
  await expect((await Volume.open(url)).read(box)).rejects.toThrow(OutOfBoundsError);
  const loose = await Volume.open(url, { bounded: false, background: 255 });
  expect(sameArray(await loose.read(box), cutFrom(a, [0, 0, 0], box, 255))).toBe(true);
});

test("an unaligned write is refused unless read-modify-write is asked for, which keeps the neighbours", async () => {
  const a = ramp("uint8", [24, 24, 8]);
  const vol = await Volume.fromArray(memUrl(), a, { chunkSize: [8, 8, 8] });
  const box = new Bbox([3, 5, 1], [13, 9, 7]);
  const patch = NdArray.from(new Uint8Array(10 * 4 * 6).fill(200), [10, 4, 6]);
  await expect(vol.write(box, patch)).rejects.toThrow(AlignmentError);
  await expect(vol.write(box, patch)).rejects.toThrow(/0-16_0-16_0-8/);
  await vol.write(box, patch, { readModifyWrite: true });
  const got = await vol.read(vol.bounds);
  const want = cutFrom(a, [0, 0, 0], vol.bounds);
  for (let z = 1; z < 7; z++)
    for (let y = 5; y < 9; y++) for (let x = 3; x < 13; x++) want.set(x, y, z, 0, 200);
  expect(sameArray(got, want)).toBe(true);
});

test("concurrent read-modify-writes of one chunk never lose each other's voxels (file://)", async () => {
  const url = `file://${join(tmp, "rmw")}`;
  const info = createInfo({
    type: "segmentation",
    dataType: "uint32",
    resolution: [1, 1, 1],
    size: [16, 16, 16],
    chunkSize: [16, 16, 16],
  });
  await Volume.create(url, info);
  const writers = Array.from({ length: 12 }, (_, i) => i);
  await Promise.all(
    writers.map(async (i) => {
      const vol = await Volume.open(url, { fillMissing: true, storage: openStorage(url) });
      const patch = NdArray.from(new Uint32Array(16 * 16).fill(i + 1), [16, 16, 1]);
      await vol.write(new Bbox([0, 0, i], [16, 16, i + 1]), patch, { readModifyWrite: true });
    }),
  );
  const got = await (await Volume.open(url)).read(new Bbox([0, 0, 0], [16, 16, 16]));
  for (const i of writers) expect(got.get(7, 7, i)).toBe(i + 1);
  expect(got.get(7, 7, 15)).toBe(0);
});

test("sharded scales write whole shards and read any box", async () => {
  const a = ramp("uint8", [64, 48, 16]);
  const sharding = computeImageShardingSpec({
    size: [64, 48, 16],
    chunkSize: [16, 16, 8],
    bytesPerVoxel: 1,
    uncompressedShardBytes: 16 * 16 * 8 * 4,
  });
  const vol = await Volume.fromArray(memUrl(), a, {
    chunkSize: [16, 16, 8],
    sharding,
    workers: false,
  });
  const keys: string[] = [];
  for await (const k of vol.storage.list(`${vol.scale.key}/`)) keys.push(k);
  expect(keys.every((k) => k.endsWith(".shard"))).toBe(true);
  expect(keys.length).toBeGreaterThan(1);
  const box = new Bbox([5, 7, 3], [60, 41, 15]);
  expect(sameArray(await vol.read(box), cutFrom(a, [0, 0, 0], box))).toBe(true);
  await expect(
    vol.write(new Bbox([0, 0, 0], [16, 16, 8]), a.crop([0, 0, 0], [16, 16, 8])),
  ).rejects.toThrow(/whole shards/);
});

test("specs whose shard files mix chunks from across the scale take whole-scale writes only", async () => {
  const a = ramp("uint16", [64, 64, 32]);
  for (const spec of [
    // Identity hash, too few bits: several blocks share each shard file.
    shardingSpec({ preshift_bits: 3, minishard_bits: 0, shard_bits: 0 }),
    // Hashed: a file's chunks are scattered over the grid.
    shardingSpec({
      preshift_bits: 0,
      hash: "murmurhash3_x86_128",
      minishard_bits: 2,
      shard_bits: 2,
      data_encoding: "gzip",
    }),
  ]) {
    const vol = await Volume.fromArray(memUrl(), a, {
      chunkSize: [16, 16, 8],
      sharding: spec,
      workers: false,
    });
    const back = await Volume.open(vol.url, { storage: vol.storage, fillMissing: true });
    expect(sameArray(await back.read(back.bounds), a)).toBe(true);
    const err = await vol
      .write(new Bbox([0, 0, 0], [32, 32, 16]), a.crop([0, 0, 0], [32, 32, 16]))
      .catch((e) => e);
    expect(err).toBeInstanceOf(AlignmentError);
    expect((err as Error).message).toMatch(/only whole-scale writes/);
  }
});

test("chunks decode in the worker pool, and a corrupt chunk is a ChunkDecodeError naming its key", async () => {
  const a = ramp("uint8", [32, 32, 16]);
  const vol = await Volume.fromArray(memUrl(), a, { chunkSize: [16, 16, 8], encoding: "raw" });
  expect(sameArray(await vol.read(vol.bounds), a)).toBe(true);
  await vol.storage.put(`${vol.scale.key}/16-32_0-16_0-8`, new Uint8Array(5));
  const err = await vol.read(vol.bounds).catch((e) => e);
  expect(err).toBeInstanceOf(ChunkDecodeError);
  expect((err as Error).message).toContain("16-32_0-16_0-8");
});

test("exists, delete, downloadPoint and the chunk cache", async () => {
  const a = ramp("uint8", [32, 16, 8]);
  const vol = await Volume.fromArray(memUrl(), a, {
    chunkSize: [16, 16, 8],
    cache: true,
    workers: false,
  });
  expect([...(await vol.exists(vol.bounds)).values()]).toEqual([true, true]);
  const point = await vol.downloadPoint([10, 8, 4], [4, 4, 2]);
  expect(sameArray(point, cutFrom(a, [0, 0, 0], new Bbox([8, 6, 3], [12, 10, 5])))).toBe(true);
  await vol.delete(new Bbox([16, 0, 0], [32, 16, 8]));
  expect(await vol.exists(vol.bounds)).toEqual(
    new Map([
      ["0-16_0-16_0-8", true],
      ["16-32_0-16_0-8", false],
    ]),
  );
  await expect(vol.delete(new Bbox([0, 0, 0], [8, 8, 8]))).rejects.toThrow(AlignmentError);
  // The cached chunk is served even once its object is gone from storage.
  await vol.storage.delete(`${vol.scale.key}/0-16_0-16_0-8`);
  const cached = await vol.read(new Bbox([0, 0, 0], [16, 16, 8]));
  expect(sameArray(cached, a.crop([0, 0, 0], [16, 16, 8]))).toBe(true);
});

test("jpegQuality sets the quality of jpeg chunks written", async () => {
  const a = NdArray.zeros("uint8", [64, 64, 1]);
  for (let i = 0; i < a.data.length; i++) a.data[i] = (i * 37 + (i >> 6) * 11) % 256;
  const size = async (quality: number | undefined) => {
    const vol = await Volume.fromArray(memUrl(), a, {
      encoding: "jpeg",
      chunkSize: [64, 64, 1],
      workers: false,
      jpegQuality: quality,
    });
    const bytes = await vol.storage.get(`${vol.scale.key}/0-64_0-64_0-1`);
    return bytes?.length ?? 0;
  };
  const low = await size(20);
  const dflt = await size(undefined);
  const high = await size(98);
  expect(low).toBeLessThan(dflt);
  expect(dflt).toBeLessThan(high);
});

describe("Neuroglancer's precomputed:// prefix", () => {
  test("Volume.open accepts precomputed://file:// and precomputed://mem:// layer URLs", async () => {
    const a = ramp("uint8", [16, 16, 8]);
    const dir = join(tmp, "prefixed");
    await Volume.fromArray(`file://${dir}`, a, { chunkSize: [16, 16, 8] });
    const vol = await Volume.open(`precomputed://file://${dir}`);
    expect(vol.url).toBe(`file://${dir}`);
    expect(sameArray(await vol.read(vol.bounds), a)).toBe(true);
    const url = memUrl();
    await Volume.fromArray(url, a, { chunkSize: [16, 16, 8] });
    expect(sameArray(await (await Volume.open(`precomputed://${url}`)).read(vol.bounds), a)).toBe(
      true,
    );
  });
});

/** A two-mip layer: mip 0 at 4x4x40 nm, mip 1 at 8x8x40 nm holding `mip1`. */
async function twoMips(mip1: NdArray): Promise<Volume> {
  const [x, y, z] = mip1.shape;
  const vol = await Volume.fromArray(memUrl(), NdArray.zeros(mip1.dtype, [2 * x, 2 * y, z]), {
    resolution: [4, 4, 40],
    chunkSize: [8, 8, 4],
    workers: false,
  });
  vol.addScale([2, 2, 1], { chunkSize: [8, 8, 4] });
  await vol.commitInfo();
  const at1 = vol.withMip(1);
  await at1.write(at1.bounds, mip1);
  return at1;
}

describe("downloadPoint", () => {
  test("takes the point in mip-0 voxels, like CloudVolume, and centres on it at any mip", async () => {
    const a = ramp("uint8", [16, 16, 8]);
    const at1 = await twoMips(a);
    const want = cutFrom(a, [0, 0, 0], new Bbox([8, 6, 3], [12, 10, 5]));
    // mip-0 point [20, 16, 4] is mip-1 voxel [10, 8, 4]; [21, 17, 4] floors to it too.
    expect(sameArray(await at1.downloadPoint([20, 16, 4], [4, 4, 2]), want)).toBe(true);
    expect(sameArray(await at1.downloadPoint([21, 17, 4.5], [4, 4, 2]), want)).toBe(true);
  });

  test("coordResolution gives the point in voxels of another resolution", async () => {
    const a = ramp("uint8", [16, 16, 8]);
    const at1 = await twoMips(a);
    const want = cutFrom(a, [0, 0, 0], new Bbox([8, 6, 3], [12, 10, 5]));
    const opts = { coordResolution: [8, 8, 40] as [number, number, number] };
    expect(sameArray(await at1.downloadPoint([10, 8, 4], [4, 4, 2], opts), want)).toBe(true);
    const at2nm = { coordResolution: [2, 2, 20] as [number, number, number] };
    expect(sameArray(await at1.downloadPoint([40, 32, 8], [4, 4, 2], at2nm), want)).toBe(true);
  });

  test("resolutions that are not whole numbers of nm do not put the point one voxel off", async () => {
    // 6 * 3.8 / 7.6 is 2.9999999999999996 in binary floating point: mip-0
    // voxel 6 must still be mip-1 voxel 3.
    const vol = await Volume.fromArray(memUrl(), NdArray.zeros("uint16", [32, 32, 4]), {
      resolution: [3.8, 5.6, 40],
      chunkSize: [8, 8, 4],
      workers: false,
    });
    vol.addScale([2, 2, 1], { chunkSize: [8, 8, 4] });
    await vol.commitInfo();
    const at1 = vol.withMip(1);
    const a = NdArray.zeros("uint16", [16, 16, 4]);
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 16; x++)
        for (let z = 0; z < 4; z++) a.data[x + 16 * (y + 16 * z)] = x + 100 * y;
    await at1.write(at1.bounds, a);
    expect((await at1.downloadPoint([6, 6, 0], 1)).data[0]).toBe(303);
  });

  test("at mip 0 a fractional point is floored to its voxel", async () => {
    const a = ramp("uint8", [32, 16, 8]);
    const vol = await Volume.fromArray(memUrl(), a, { chunkSize: [16, 16, 8], workers: false });
    const want = cutFrom(a, [0, 0, 0], new Bbox([8, 6, 3], [12, 10, 5]));
    expect(sameArray(await vol.downloadPoint([10.9, 8.5, 4.2], [4, 4, 2]), want)).toBe(true);
  });
});

test("read converts a box given at coordResolution to this mip (min floored, max ceiled)", async () => {
  const a = ramp("uint8", [16, 16, 8]);
  const at1 = await twoMips(a);
  // mip-0 box [3, 5, 1]-[13, 10, 6] covers mip-1 voxels [1, 2, 1]-[7, 5, 6].
  const got = await at1.read(new Bbox([3, 5, 1], [13, 10, 6]), { coordResolution: [4, 4, 40] });
  expect(sameArray(got, cutFrom(a, [0, 0, 0], new Bbox([1, 2, 1], [7, 5, 6])))).toBe(true);
  const ids = await at1.unique(new Bbox([3, 5, 1], [13, 10, 6]), { coordResolution: [4, 4, 40] });
  expect(ids).toEqual(uniqueValues(got.data));
});

describe("unique with counts", () => {
  /** Values and counts by brute force, for comparison. */
  function tally(values: ArrayLike<number | bigint>): Map<number | bigint, number> {
    const m = new Map<number | bigint, number>();
    for (let i = 0; i < values.length; i++) m.set(values[i], (m.get(values[i]) ?? 0) + 1);
    return m;
  }

  test("uniqueValues counts each distinct value, and keeps its plain return without counts", () => {
    const data = new Uint16Array([7, 3, 7, 7, 500, 3]);
    expect(uniqueValues(data)).toEqual([3, 7, 500]);
    expect(uniqueValues(data, { counts: true })).toEqual({
      values: [3, 7, 500],
      counts: [2, 3, 1],
    });
    expect(uniqueValues(new Uint32Array(0), { counts: true })).toEqual({ values: [], counts: [] });
    expect(uniqueValues(new Float32Array([Number.NaN, 1, Number.NaN]), { counts: true })).toEqual({
      values: [1, Number.NaN],
      counts: [1, 2],
    });
  });

  test("uniqueValues counts uint64 values by their two words, high words included", () => {
    const big = 2n ** 60n + 5n;
    const data = new BigUint64Array([big, 5n, big, 2n ** 32n + 5n, 5n, big]);
    expect(uniqueValues(data, { counts: true })).toEqual({
      values: [5n, 2n ** 32n + 5n, big],
      counts: [2, 1, 3],
    });
  });

  for (const dtype of ["uint8", "uint16", "uint32", "uint64"] as const) {
    test(`vol.unique counts ${dtype} voxels of an unaligned box chunk by chunk`, async () => {
      const a = NdArray.zeros(dtype, [20, 18, 10]);
      for (let i = 0; i < a.data.length; i++) {
        const v = (i * 13 + (i >> 5)) % 11;
        if (dtype === "uint64") (a.data as BigUint64Array)[i] = BigInt(v) * 2n ** 40n + 1n;
        else (a.data as Uint32Array)[i] = v * (dtype === "uint8" ? 20 : 3000);
      }
      const vol = await Volume.fromArray(memUrl(), a, { chunkSize: [8, 8, 4] });
      const box = new Bbox([3, 1, 2], [19, 17, 9]);
      const read = jest.spyOn(vol, "read");
      const got = await vol.unique(box, { counts: true });
      expect(read).not.toHaveBeenCalled();
      const want = tally(cutFrom(a, [0, 0, 0], box).data);
      expect(got.values).toEqual([...want.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
      expect(got.counts).toEqual((got.values as (number | bigint)[]).map((v) => want.get(v)));
      expect(got.counts.reduce((s, c) => s + c, 0)).toBe(box.volume());
      expect(await vol.unique(box)).toEqual(got.values);
    });
  }

  test("missing chunks and the outside count as background", async () => {
    const a = NdArray.zeros("uint8", [16, 8, 4]);
    (a.data as Uint8Array).fill(9);
    const url = memUrl();
    const made = await Volume.fromArray(url, a, { chunkSize: [8, 8, 4] });
    await made.delete(new Bbox([8, 0, 0], [16, 8, 4]));
    const vol = await Volume.open(url, { fillMissing: true, bounded: false, background: 4 });
    const got = await vol.unique(new Bbox([-2, 0, 0], [16, 8, 4]), { counts: true });
    expect(got).toEqual({ values: [4, 9], counts: [(2 + 8) * 8 * 4, 8 * 8 * 4] });
  });
});
