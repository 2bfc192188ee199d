import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { closePool, downsample, NdArray, readInfo, Volume } from "@ngpipe/precomputed";
import { openStorage } from "@ngpipe/storage";
import { useMoto } from "../../../../test/support/moto";
import { createTaskContext } from "../runtime";
import { LayerMismatchError } from "./common";
import { createDownsampleTasks } from "./downsample";
import { fib25, runAll, snapshotDir, snapshotStorage, tempDir } from "./testing";
import { createTransferTasks, type TransferTaskResult } from "./transfer";

afterAll(() => closePool());

const moto = useMoto();
const withMoto = moto.available ? describe : describe.skip;

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

async function fib25Layer(url: string, encoding = "compressed_segmentation"): Promise<Volume> {
  return Volume.fromArray(url, NdArray.from(fib25(), [64, 64, 64]), {
    type: "segmentation",
    resolution: [8, 8, 8],
    chunkSize: [32, 32, 32],
    encoding,
  });
}

withMoto("transfer through s3:// (moto)", () => {
  test("file:// -> s3:// -> file:// round-trips every object byte for byte", async () => {
    const admin = new S3Client({
      endpoint: moto.endpoint,
      forcePathStyle: true,
      region: "us-east-1",
    });
    await admin.send(new CreateBucketCommand({ Bucket: "xfer" }));
    admin.destroy();
    const tmp = tempDir();
    try {
      await fib25Layer(tmp.url("a/seg"));
      const storageOptions = { endpoint: moto.endpoint };
      const ctx = createTaskContext({ storageOptions });
      const s3 = "s3://xfer/copy/seg";
      const up = await createTransferTasks(tmp.url("a/seg"), s3, { storageOptions });
      const upResults = (await runAll(up, ctx)) as TransferTaskResult[];
      expect([...up].every((t) => t.params.fastPath)).toBe(true);
      expect(upResults.reduce((n, r) => n + r.copiedObjects, 0)).toBe(8);
      // The objects keep their gzip Content-Encoding on s3.
      const head = await openStorage(s3, storageOptions).head("8_8_8/0-32_0-32_0-32");
      expect(head?.contentEncoding).toBe("gzip");
      await runAll(await createTransferTasks(s3, tmp.url("b/seg"), { storageOptions }), ctx);
      const a = snapshotDir(`${tmp.dir}/a`);
      const b = snapshotDir(`${tmp.dir}/b`);
      expect([...b.keys()]).toEqual([...a.keys()]);
      expect([...a.keys()]).toContain("seg/8_8_8/0-32_0-32_0-32.gz");
      for (const [k, v] of a) expect(b.get(k)?.equals(v)).toBe(true);
    } finally {
      tmp.cleanup();
    }
  });
});

describe("transfer", () => {
  test("the fast path copies chunk files as stored (gzip form included) when nothing changes", async () => {
    const tmp = tempDir();
    try {
      await fib25Layer(tmp.url("src/seg"));
      const tasks = await createTransferTasks(tmp.url("src/seg"), tmp.url("dst/seg"));
      const results = (await runAll(tasks)) as TransferTaskResult[];
      expect([...tasks].every((t) => t.params.fastPath)).toBe(true);
      expect(results.reduce((n, r) => n + r.copiedObjects, 0)).toBe(8);
      const a = snapshotDir(`${tmp.dir}/src`);
      const b = snapshotDir(`${tmp.dir}/dst`);
      expect([...b.keys()]).toEqual([...a.keys()]);
      for (const [k, v] of a) expect(b.get(k)?.equals(v)).toBe(true);
      expect([...a.keys()].filter((k) => k.endsWith(".gz"))).toHaveLength(8);
    } finally {
      tmp.cleanup();
    }
  });

  test("compress chooses the stored form of the written chunks (and turns the fast path off)", async () => {
    const tmp = tempDir();
    try {
      await fib25Layer(tmp.url("src/seg"));
      const tasks = await createTransferTasks(tmp.url("src/seg"), tmp.url("dst/seg"), {
        compress: "br",
      });
      expect([...tasks].some((t) => t.params.fastPath)).toBe(false);
      await runAll(tasks);
      const files = [...snapshotDir(`${tmp.dir}/dst`).keys()].filter((k) => k.startsWith("seg/8"));
      expect(files).toHaveLength(8);
      expect(files.every((k) => k.endsWith(".br"))).toBe(true);
      const vol = await Volume.open(tmp.url("dst/seg"));
      expect(sameBytes((await vol.read(vol.bounds)).data, fib25())).toBe(true);
    } finally {
      tmp.cleanup();
    }
  });

  test("rechunking raw into compressed_segmentation reads back identical", async () => {
    const src = "mem://xfer-rechunk/raw";
    const dst = "mem://xfer-rechunk/cseg";
    const labels = fib25();
    await fib25Layer(src, "raw");
    const tasks = await createTransferTasks(src, dst, {
      chunkSize: [16, 32, 8],
      encoding: "compressed_segmentation",
      memoryTarget: 2_000_000,
    });
    expect(tasks.count).toBeGreaterThan(1);
    expect([...tasks].some((t) => t.params.fastPath)).toBe(false);
    await runAll(tasks);
    const info = await readInfo(openStorage(dst));
    expect(info.scales[0].chunk_sizes).toEqual([[16, 32, 8]]);
    expect(info.scales[0].encoding).toBe("compressed_segmentation");
    expect(info.scales[0].compressed_segmentation_block_size).toEqual([8, 8, 8]);
    const vol = await Volume.open(dst);
    expect(sameBytes((await vol.read(vol.bounds)).data, labels)).toBe(true);
    // Every chunk object is compressed_segmentation of the new size.
    const keys: string[] = [];
    for await (const k of openStorage(dst).list("8_8_8/")) keys.push(k);
    expect(keys).toHaveLength((64 / 16) * (64 / 32) * (64 / 8));
    // Running the tasks again stores the same bytes.
    const before = await snapshotStorage(dst);
    await runAll(tasks);
    expect(await snapshotStorage(dst)).toEqual(before);
  });

  test("translate moves the data and the voxel offset", async () => {
    const src = "mem://xfer-translate/src";
    const dst = "mem://xfer-translate/dst";
    const labels = fib25();
    await fib25Layer(src);
    await runAll(await createTransferTasks(src, dst, { translate: [32, 0, -64] }));
    const vol = await Volume.open(dst);
    expect(vol.bounds.toString()).toBe("32-96_0-64_-64-0");
    expect(sameBytes((await vol.read(vol.bounds)).data, labels)).toBe(true);
  });

  test("a box of the layer with downsampling on the way", async () => {
    const src = "mem://xfer-ds/src";
    const dst = "mem://xfer-ds/dst";
    const labels = fib25();
    await fib25Layer(src);
    const tasks = await createTransferTasks(src, dst, { mips: 2, bounds: "0-64_0-64_0-32" });
    expect([...tasks].some((t) => t.params.fastPath)).toBe(false);
    await runAll(tasks);
    const vol = await Volume.open(dst, { fillMissing: true });
    expect(vol.info.scales.map((s) => s.resolution)).toEqual([
      [8, 8, 8],
      [16, 16, 8],
      [32, 32, 8],
    ]);
    // Only the lower half in z was copied.
    const exists = await vol.exists(vol.bounds);
    expect(exists.get("0-32_0-32_0-32")).toBe(true);
    expect(exists.get("0-32_0-32_32-64")).toBe(false);
    const expected = downsample("mode", labels, [64, 64, 64], [2, 2, 1], 2);
    const top = vol.withMip(2);
    const got = await top.read("0-16_0-16_0-32");
    const want = NdArray.from(expected[1].data, [16, 16, 64]).crop([0, 0, 0], [16, 16, 32]);
    expect(sameBytes(got.data, want.data)).toBe(true);
  });

  test("a source smaller than, and offset within, an existing destination gets a right pyramid", async () => {
    // Destination: 64x64x4 zeros, chunks of 16. Source: 20x20x4 at offset
    // 5,5,0, off the destination's 2x2 grid: coarse voxels must pool the
    // destination's fine voxels (new and old), not the source's.
    const dst = "mem://xfer-within/dst";
    await Volume.fromArray(dst, NdArray.from(new Uint8Array(64 * 64 * 4), [64, 64, 4]), {
      chunkSize: [16, 16, 4],
    });
    const values = new Uint8Array(20 * 20 * 4);
    for (let i = 0; i < values.length; i++) values[i] = 40 + ((i * 37) % 200);
    const src = "mem://xfer-within/src";
    await Volume.fromArray(src, NdArray.from(values, [20, 20, 4]), {
      chunkSize: [16, 16, 4],
      voxelOffset: [5, 5, 0],
    });
    await runAll(await createTransferTasks(src, dst, { mips: 1 }));
    const vol = await Volume.open(dst, { fillMissing: true });
    const fine = await vol.read(vol.bounds);
    // The copy landed where it should, the rest stayed 0.
    expect(fine.data[5 + 64 * 5]).toBe(values[0]);
    expect(fine.data[4 + 64 * 5]).toBe(0);
    const expected = downsample("average", fine.data, fine.shape, [2, 2, 1], 1)[0];
    const coarse = await vol.withMip(1).read(vol.withMip(1).bounds);
    expect(sameBytes(coarse.data, expected.data)).toBe(true);
  });

  test("a scale added to an existing destination moves with translate and is written unsharded", async () => {
    const src = "mem://xfer-addscale/src";
    const values = new Uint8Array(32 * 32 * 4);
    for (let i = 0; i < values.length; i++) values[i] = 1 + (i % 250);
    await Volume.fromArray(src, NdArray.from(values, [32, 32, 4]), { chunkSize: [8, 8, 4] });
    await runAll(await createDownsampleTasks(src, { mips: 1 }));
    const dst = "mem://xfer-addscale/dst";
    await runAll(await createTransferTasks(src, dst, { translate: [16, 0, 0] }));
    // The destination has only mip 0 now; mip 1 is added by this transfer.
    const results = (await runAll(
      await createTransferTasks(src, dst, { mip: 1, translate: [8, 0, 0] }),
    )) as TransferTaskResult[];
    expect(results.reduce((n, r) => n + r.voxels, 0)).toBe(16 * 16 * 4);
    const info = await readInfo(openStorage(dst));
    expect(info.scales[1].voxel_offset).toEqual([8, 0, 0]);
    expect(info.scales[1].sharding).toBeUndefined();
    const got = await (await Volume.open(dst, { mip: 1 })).read("8-24_0-16_0-4");
    const want = await (await Volume.open(src, { mip: 1 })).read("0-16_0-16_0-4");
    expect(sameBytes(got.data, want.data)).toBe(true);
  });

  test("averaging a data type the kernel cannot take is refused before the info changes", async () => {
    const src = "mem://xfer-int16/src";
    await Volume.fromArray(src, NdArray.zeros("int16", [16, 16, 4]), { type: "image" });
    await expect(createTransferTasks(src, "mem://xfer-int16/dst", { mips: 1 })).rejects.toThrow(
      /mem:\/\/xfer-int16\/src is a int16 image layer: average downsampling/,
    );
    expect(await openStorage("mem://xfer-int16/dst").get("info")).toBeNull();
    await expect(createDownsampleTasks(src, { mips: 1 })).rejects.toBeInstanceOf(
      LayerMismatchError,
    );
    expect((await readInfo(openStorage(src))).scales).toHaveLength(1);
    // Another method works.
    await runAll(await createDownsampleTasks(src, { mips: 1, method: "striding" }));
  });

  test("re-chunking an existing destination scale for only a part of it is refused", async () => {
    const src = "mem://xfer-rechunk/src";
    await Volume.fromArray(src, NdArray.from(new Uint8Array(32 * 32 * 4).fill(3), [32, 32, 4]), {
      chunkSize: [8, 8, 4],
    });
    const dst = "mem://xfer-rechunk/dst";
    await runAll(await createTransferTasks(src, dst));
    await expect(
      createTransferTasks(src, dst, { bounds: "0-16_0-16_0-4", chunkSize: [16, 16, 4] }),
    ).rejects.toThrow(
      /scale 1_1_1 exists and this would change its chunk_size \[8,8,4\] -> \[16,16,4\]/,
    );
    await runAll(await createTransferTasks(src, dst, { chunkSize: [16, 16, 4] }));
    expect((await Volume.open(dst)).chunkSize).toEqual([16, 16, 4]);
  });

  test("a destination of another data type is refused", async () => {
    const src = "mem://xfer-mismatch/src";
    await fib25Layer(src);
    await Volume.fromArray("mem://xfer-mismatch/dst", NdArray.zeros("uint8", [8, 8, 8]));
    await expect(createTransferTasks(src, "mem://xfer-mismatch/dst")).rejects.toThrow(
      /uint8 x 1.*uint64 x 1/,
    );
  });
});
