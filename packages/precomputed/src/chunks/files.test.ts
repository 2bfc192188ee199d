import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { DecompressionError, FileBackend, Storage, StorageError } from "@ngpipe/storage";
import { fromTyped } from "../array";
import type { DataType } from "../dtypes";
import { Bbox } from "../geometry/bbox";
import { closePool } from "../pool";
import { computeImageShardingSpec } from "../sharding/params";
import { MissingChunkError } from "../volume/errors";
import { clearSharedCutouts, takeSharedArray } from "../volume/shared-cutouts";
import { Volume } from "../volume/volume";

/** A FileBackend the chunk store does not read or write files of itself (a subclass): today's path. */
class StoreIoFileBackend extends FileBackend {}

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "ngpipe-chunkfiles-"));
});
afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
  await closePool();
});
afterEach(() => {
  clearSharedCutouts();
  jest.restoreAllMocks();
});

/** Every file under `dir` (relative name to bytes), temporaries included. */
function tree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

const SHAPE: [number, number, number] = [64, 48, 16];

/** A layer of `dtype` in `dir`, through a plain FileBackend (workers' IO) or the subclass (the store's). */
async function layer(
  dir: string,
  dtype: DataType,
  encoding: "raw" | "compressed_segmentation",
  compress: "gzip" | "br" | false,
  workerIo: boolean,
): Promise<Volume> {
  const backend = workerIo ? new FileBackend(dir) : new StoreIoFileBackend(dir);
  const storage = new Storage(backend);
  const n = SHAPE[0] * SHAPE[1] * SHAPE[2];
  const zeros = dtype === "uint8" ? new Uint8Array(n) : new BigUint64Array(n);
  const made = await Volume.fromArray(`file://${dir}`, fromTyped(zeros, SHAPE), {
    chunkSize: [16, 16, 8],
    encoding,
    type: encoding === "raw" ? "image" : "segmentation",
    storage,
    compress,
  });
  return Volume.open(made.url, { storage, compress });
}

/** A shared array of the whole layer with varied voxels (labels with high words for uint64). */
function voxels(dtype: DataType) {
  const a = takeSharedArray(dtype, [...SHAPE, 1]);
  const d = a.data as Uint8Array | BigUint64Array;
  for (let i = 0; i < d.length; i++) {
    const v = (i * 7 + (i >> 9)) % 13;
    if (d instanceof Uint8Array) d[i] = v * 17;
    else d[i] = BigInt(v) + (BigInt(v % 3) << 40n);
  }
  return a;
}

const cases: [DataType, "raw" | "compressed_segmentation", "gzip" | "br" | false][] = [
  ["uint8", "raw", "gzip"],
  ["uint8", "raw", false],
  ["uint64", "compressed_segmentation", "gzip"],
  ["uint64", "compressed_segmentation", "br"],
];

test.each(cases)(
  "%s %s (%s): workers write the same files as the store, and read them back the same",
  async (dtype, encoding, compress) => {
    const a = join(root, `same-${dtype}-${compress}-workers`);
    const b = join(root, `same-${dtype}-${compress}-store`);
    const viaWorkers = await layer(a, dtype, encoding, compress, true);
    const viaStore = await layer(b, dtype, encoding, compress, false);
    expect(viaWorkers.chunks.files).toBeDefined();
    expect(viaStore.chunks.files).toBeUndefined();
    const box = new Bbox([0, 0, 0], SHAPE);
    const putRaw = jest.spyOn(Storage.prototype, "putRaw");
    await viaWorkers.write(box, voxels(dtype));
    // No chunk went through the storage on the main thread.
    expect(putRaw).not.toHaveBeenCalled();
    await viaStore.write(box, voxels(dtype));
    expect(putRaw).toHaveBeenCalledTimes(4 * 3 * 2);
    const got = tree(a);
    const want = tree(b);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [name, bytes] of want) expect(got.get(name)?.equals(bytes)).toBe(true);

    const getRaw = jest.spyOn(Storage.prototype, "getRaw");
    const back = await viaWorkers.read(box, { shared: true });
    expect(getRaw).not.toHaveBeenCalled();
    const plain = await viaStore.read(box, { shared: true });
    expect(getRaw).toHaveBeenCalled();
    expect(Buffer.from(back.data.buffer).equals(Buffer.from(plain.data.buffer))).toBe(true);
    expect(Buffer.from(back.data.buffer).equals(Buffer.from(voxels(dtype).data.buffer))).toBe(true);
  },
);

test("a missing chunk file reads as background with fillMissing, else as MissingChunkError", async () => {
  const dir = join(root, "missing");
  const vol = await layer(dir, "uint8", "raw", "gzip", true);
  const box = new Bbox([0, 0, 0], SHAPE);
  await vol.write(box, voxels("uint8"));
  rmSync(join(dir, vol.scale.key, "16-32_0-16_0-8.gz"));
  await expect(vol.read(box, { shared: true })).rejects.toBeInstanceOf(MissingChunkError);
  const filling = await Volume.open(vol.url, { storage: vol.storage, fillMissing: true });
  const got = await filling.read(box, { shared: true });
  expect(got.get(20, 3, 3, 0)).toBe(0);
  expect(got.get(40, 3, 3, 0)).toBe(voxels("uint8").get(40, 3, 3, 0));
});

test("a corrupt chunk file fails with DecompressionError naming the storage and the chunk's key", async () => {
  const dir = join(root, "corrupt");
  const vol = await layer(dir, "uint8", "raw", "gzip", true);
  const box = new Bbox([0, 0, 0], SHAPE);
  await vol.write(box, voxels("uint8"));
  writeFileSync(join(dir, vol.scale.key, "16-32_0-16_0-8.gz"), "not gzip at all");
  const err = await vol.read(box, { shared: true }).catch((e) => e);
  expect(err).toBeInstanceOf(DecompressionError);
  expect(err.key).toBe(`${vol.scale.key}/16-32_0-16_0-8`);
  expect(err.url).toBe(vol.storage.url);
});

test("a chunk write that fails is the storage's typed error naming the key, and leaves no temporary", async () => {
  const dir = join(root, "failing");
  const vol = await layer(dir, "uint8", "raw", "gzip", true);
  // The scale's directory is a file: every chunk write fails (ENOTDIR), permanently.
  rmSync(join(dir, vol.scale.key), { recursive: true, force: true });
  writeFileSync(join(dir, vol.scale.key), "in the way");
  const err = await vol.write(new Bbox([0, 0, 0], SHAPE), voxels("uint8")).catch((e) => e);
  expect(err).toBeInstanceOf(StorageError);
  expect(err.url).toBe(vol.storage.url);
  expect(err.key).toMatch(new RegExp(`^${vol.scale.key}/\\d+-\\d+_\\d+-\\d+_\\d+-\\d+$`));
  expect(err.message).toContain("put");
  expect([...tree(dir).keys()].filter((n) => n.endsWith(".tmp"))).toEqual([]);
});

test("an aborted write rejects as the store path does and puts no chunk in place", async () => {
  const dir = join(root, "abort");
  const vol = await layer(dir, "uint8", "raw", "gzip", true);
  const before = tree(dir);
  const ac = new AbortController();
  ac.abort(new Error("stop"));
  const err = await vol
    .write(new Bbox([0, 0, 0], SHAPE), voxels("uint8"), { signal: ac.signal })
    .catch((e) => e);
  // The store's own path rejects the same way: with the signal's reason.
  expect(err).toBe(ac.signal.reason);
  expect([...tree(dir).keys()].sort()).toEqual([...before.keys()].sort());
});

test("shard files built and written by a worker are the bytes the store writes", async () => {
  const sharding = computeImageShardingSpec({
    size: SHAPE,
    chunkSize: [16, 16, 8],
    bytesPerVoxel: 1,
    uncompressedShardBytes: 16 * 16 * 8 * 4,
  });
  const dirs = [join(root, "shards-workers"), join(root, "shards-store")];
  const put = jest.spyOn(Storage.prototype, "put");
  for (const [i, dir] of dirs.entries()) {
    const backend = i === 0 ? new FileBackend(dir) : new StoreIoFileBackend(dir);
    const storage = new Storage(backend);
    const n = SHAPE[0] * SHAPE[1] * SHAPE[2];
    const made = await Volume.fromArray(`file://${dir}`, fromTyped(new Uint8Array(n), SHAPE), {
      chunkSize: [16, 16, 8],
      sharding,
      storage,
    });
    const vol = await Volume.open(made.url, { storage });
    put.mockClear();
    await vol.write(new Bbox([0, 0, 0], SHAPE), voxels("uint8"));
    const shardPuts = put.mock.calls.filter(([key]) => String(key).endsWith(".shard")).length;
    // The worker wrote the shard files: none went through the storage.
    expect(shardPuts === 0).toBe(i === 0);
    const back = await vol.read(new Bbox([0, 0, 0], SHAPE), { shared: true });
    expect(Buffer.from(back.data.buffer).equals(Buffer.from(voxels("uint8").data.buffer))).toBe(
      true,
    );
  }
  const got = tree(dirs[0]);
  const want = tree(dirs[1]);
  expect([...got.keys()].filter((k) => k.endsWith(".shard")).length).toBeGreaterThan(1);
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [name, bytes] of want) expect(got.get(name)?.equals(bytes)).toBe(true);
});
