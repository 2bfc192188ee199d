/**
 * compresso and crackle layers through Volume: written and read back in the
 * worker pool and inline, unsharded and sharded, as CloudVolume lays them out.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { openStorage } from "@ngpipe/storage";
import { describeIf } from "../../../../test/support/skip";
import { fromTyped, type VoxelArray } from "../array";
import { ChunkDecodeError } from "../errors";
import { Bbox } from "../geometry/bbox";
import { createInfo } from "../info/edit";
import { writeInfo } from "../info/io";
import { closePool } from "../pool";
import { mortonChunkId, mortonPlan } from "../sharding/morton";
import { computeImageShardingSpec } from "../sharding/params";
import { writeShards } from "../sharding/writer";
import { Volume } from "./volume";

const DATA = resolve(__dirname, "../../../../../shared/data");
const FIB25 = resolve(DATA, "fib25-64x64x64-uint64.raw");
const CRACKLE = resolve(DATA, "crackle");

let n = 0;
const memUrl = () => `mem://label-encodings/${n++}`;

afterAll(async () => {
  await closePool();
});

function fib25(): VoxelArray {
  const b = readFileSync(FIB25);
  return fromTyped(
    new BigUint64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)),
    [64, 64, 64],
  );
}

function same(a: VoxelArray, b: VoxelArray): boolean {
  const x = Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const y = Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  return a.shape.join() === b.shape.join() && x.equals(y);
}

describeIf(existsSync(FIB25), `${FIB25} not found`)("compresso layers", () => {
  for (const workers of [true, false])
    test(`FIB-25 round-trips unsharded, chunks 24x32x20 with edge chunks (${workers ? "pool" : "inline"})`, async () => {
      const a = fib25();
      const url = memUrl();
      await Volume.fromArray(url, a, { encoding: "compresso", chunkSize: [24, 32, 20], workers });
      const vol = await Volume.open(url, { workers });
      expect(vol.info.scales[0].encoding).toBe("compresso");
      expect(same(await vol.read(vol.bounds), a)).toBe(true);
      const box = new Bbox([5, 9, 13], [51, 64, 47]);
      const part = await vol.read(box);
      expect(part.get(0, 0, 0, 0)).toBe(a.get(5, 9, 13, 0));
      expect(part.get(45, 54, 33, 0)).toBe(a.get(50, 63, 46, 0));
    });

  for (const workers of [true, false])
    test(`FIB-25 round-trips sharded (${workers ? "pool" : "inline"})`, async () => {
      const a = fib25();
      const sharding = computeImageShardingSpec({
        size: [64, 64, 64],
        chunkSize: [32, 32, 32],
        bytesPerVoxel: 8,
        uncompressedShardBytes: 32 ** 3 * 8 * 2,
      });
      const url = memUrl();
      const vol = await Volume.fromArray(url, a, {
        encoding: "compresso",
        chunkSize: [32, 32, 32],
        sharding,
        workers,
      });
      const keys: string[] = [];
      for await (const k of vol.storage.list(`${vol.scale.key}/`)) keys.push(k);
      expect(keys.every((k) => k.endsWith(".shard"))).toBe(true);
      const again = await Volume.open(url, { workers });
      expect(same(await again.read(again.bounds), a)).toBe(true);
    });

  test("uint8 and uint16 labels keep their type", async () => {
    for (const [dtype, data] of [
      ["uint8", Uint8Array.from({ length: 16 * 16 * 8 }, (_, i) => (i >> 5) % 7)],
      ["uint16", Uint16Array.from({ length: 16 * 16 * 8 }, (_, i) => 60000 + ((i >> 4) % 5))],
    ] as const) {
      const a = fromTyped(data, [16, 16, 8]);
      const vol = await Volume.fromArray(memUrl(), a, {
        encoding: "compresso",
        chunkSize: [8, 8, 8],
        type: "segmentation",
      });
      const back = await vol.read(vol.bounds);
      expect(back.dtype).toBe(dtype);
      expect(same(back, a)).toBe(true);
    }
  });

  test("a corrupt compresso chunk is a ChunkDecodeError naming its key", async () => {
    const a = fib25();
    const url = memUrl();
    const vol = await Volume.fromArray(url, a, {
      encoding: "compresso",
      chunkSize: [32, 32, 32],
      compress: false,
    });
    const key = `${vol.scale.key}/0-32_0-32_0-32`;
    const bytes = await vol.storage.get(key);
    if (!bytes) throw new Error(`${key} was not written`);
    await vol.storage.put(key, bytes.slice(0, bytes.length - 9), { compress: false });
    const err = await vol.read(new Bbox([0, 0, 0], [8, 8, 8])).catch((e) => e);
    expect(err).toBeInstanceOf(ChunkDecodeError);
    expect((err as Error).message).toContain("0-32_0-32_0-32");
  });
});

describeIf(existsSync(resolve(CRACKLE, "random.ckl")), `${CRACKLE} not found`)(
  "crackle layers",
  () => {
    const random = () => new Uint8Array(readFileSync(resolve(CRACKLE, "random.ckl")));
    const ones = () => new Uint8Array(readFileSync(resolve(CRACKLE, "ones1.ckl")));
    const expected = () => {
      const npy = readFileSync(resolve(CRACKLE, "random.npy"));
      const voxels = npy.subarray(npy.length - 32 ** 3);
      const out = new Uint8Array(32 * 32 * 64);
      out.set(voxels);
      out.fill(1, 32 ** 3);
      return fromTyped(out, [32, 32, 64]);
    };
    const info = (sharding?: ReturnType<typeof computeImageShardingSpec>) =>
      createInfo({
        type: "segmentation",
        dataType: "uint8",
        resolution: [8, 8, 8],
        size: [32, 32, 64],
        chunkSize: [32, 32, 32],
        encoding: "crackle",
        sharding,
      });

    for (const workers of [true, false])
      test(`an unsharded layer of the reference's files reads exactly (${workers ? "pool" : "inline"})`, async () => {
        const url = memUrl();
        const storage = await openStorage(url);
        const i = info();
        await writeInfo(storage, i);
        const k = i.scales[0].key;
        await storage.put(`${k}/0-32_0-32_0-32`, random(), { compress: false });
        await storage.put(`${k}/0-32_0-32_32-64`, ones(), { compress: "gzip" });
        const vol = await Volume.open(url, { workers });
        expect(same(await vol.read(vol.bounds), expected())).toBe(true);
      });

    for (const workers of [true, false])
      test(`a sharded layer of the reference's files reads exactly (${workers ? "pool" : "inline"})`, async () => {
        const sharding = computeImageShardingSpec({
          size: [32, 32, 64],
          chunkSize: [32, 32, 32],
          bytesPerVoxel: 1,
          uncompressedShardBytes: 32 ** 3 * 4,
        });
        sharding.data_encoding = "gzip";
        const url = memUrl();
        const storage = await openStorage(url);
        const i = info(sharding);
        await writeInfo(storage, i);
        const plan = mortonPlan([1, 1, 2]);
        await writeShards(
          storage,
          [
            { id: mortonChunkId(plan, [0, 0, 0]), data: random() },
            { id: mortonChunkId(plan, [0, 0, 1]), data: ones() },
          ],
          sharding,
          { prefix: i.scales[0].key },
        );
        const vol = await Volume.open(url, { workers });
        expect(same(await vol.read(vol.bounds), expected())).toBe(true);
        const box = new Bbox([3, 4, 30], [20, 31, 34]);
        const part = await vol.read(box);
        expect(part.get(0, 0, 0, 0)).toBe(expected().get(3, 4, 30, 0));
        expect(part.get(16, 26, 3, 0)).toBe(1);
      });

    test("writing a crackle layer is refused before anything is stored", async () => {
      const vol = await Volume.create(memUrl(), info());
      await expect(vol.write(vol.bounds, expected())).rejects.toThrow(
        /reads crackle but does not write it/,
      );
    });
  },
);
