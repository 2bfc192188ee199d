import {
  closePool,
  DownsampleError,
  downsample,
  NdArray,
  precomputedKernels,
  readInfo,
  runKernel,
  Volume,
} from "@ngpipe/precomputed";
import { openStorage } from "@ngpipe/storage";
import { emLikeImage, voronoiSegmentation } from "../synthetic";
import { DownsampleMemoryError } from "./common";
import {
  createDownsampleTasks,
  downsampleMemory,
  downsampleShapeForMemory,
  planTasks,
} from "./downsample";
import { fib25, runAll, snapshotDir, snapshotStorage, tempDir } from "./testing";

afterAll(() => closePool());

describe("downsampleShapeForMemory", () => {
  // Igneous' num_mips_from_memory_target, written out independently.
  function igneousMips(target: number, width: number, chunk: number[], factor: number[]): number {
    const chunks = Math.floor(target / width / (chunk[0] * chunk[1] * chunk[2]));
    const total = factor[0] * factor[1] * factor[2];
    const side = (chunks / (total / (total - 1))) ** (1 / Math.log2(total));
    return Math.max(1, Math.floor(Math.log2(side)));
  }

  test.each([
    ["uint8", 1, [128, 128, 64], [2, 2, 1], 3.5e9],
    ["uint64", 8, [128, 128, 64], [2, 2, 1], 3.5e9],
    ["uint32", 4, [64, 64, 64], [2, 2, 2], 3.5e9],
    ["uint8", 1, [256, 256, 16], [2, 2, 1], 1e9],
  ] as const)(
    "%s (%i bytes) chunk %j factor %j target %d: Igneous' number of mips",
    (dtype, width, chunk, factor, target) => {
      const plan = downsampleShapeForMemory({
        chunkSize: chunk,
        dtype,
        factor,
        memoryTarget: target,
      });
      const k = igneousMips(target, width, [...chunk], [...factor]);
      expect(plan.mips).toBe(k);
      expect(plan.shape).toEqual([0, 1, 2].map((i) => chunk[i] * factor[i] ** k));
      expect(plan.memory).toBeLessThanOrEqual(target);
    },
  );

  test("downsampleMemory counts the block and every level", () => {
    // 1024x1024x64 uint8 + 512x512x64 + 256x256x64
    expect(downsampleMemory([1024, 1024, 64], "uint8", 1, [2, 2, 1], 2)).toBe(
      64 * (1024 * 1024 + 512 * 512 + 256 * 256),
    );
    // odd sizes round up; channels and width multiply
    expect(downsampleMemory([3, 3, 3], "uint16", 2, [2, 2, 2], 1)).toBe(2 * 2 * (27 + 8));
  });

  test("a target too small for one mip says how much one mip needs", () => {
    const err = (() => {
      try {
        downsampleShapeForMemory({ chunkSize: [64, 64, 64], dtype: "uint8", memoryTarget: 1000 });
      } catch (e) {
        return e as DownsampleMemoryError;
      }
    })();
    expect(err).toBeInstanceOf(DownsampleMemoryError);
    const need = 128 * 128 * 64 + 64 * 64 * 64;
    expect(err?.needed).toBe(need);
    expect(err?.message).toContain(String(need));
  });

  test("new chunk sizes larger than the read chunk grow the task grid", () => {
    const plan = planTasks({
      what: "t",
      chunkSize: [64, 64, 64],
      newChunkSize: [128, 128, 16],
      size: [4096, 4096, 64],
      dtype: "uint8",
      mips: 1,
      minMips: 1,
    });
    expect(plan.grid).toEqual([256, 256, 64]);
  });
});

describe("downsample tasks", () => {
  test("FIB-25 segmentation: 3 mode mips over several tasks equal the kernel's output", async () => {
    const url = "mem://ds-fib25/seg";
    const labels = fib25();
    await Volume.fromArray(url, NdArray.from(labels, [64, 64, 64]), {
      type: "segmentation",
      resolution: [8, 8, 8],
      chunkSize: [8, 8, 8],
      encoding: "compressed_segmentation",
    });
    // Room for 3 mips of a 64x64x8 block of uint64, not for 4.
    const tasks = await createDownsampleTasks(url, { mips: 3, memoryTarget: 400_000 });
    expect(tasks.shape).toEqual([64, 64, 8]);
    expect(tasks.count).toBe(8);
    await runAll(tasks);

    const info = await readInfo(openStorage(url));
    expect(info.scales.map((s) => s.resolution)).toEqual([
      [8, 8, 8],
      [16, 16, 8],
      [32, 32, 8],
      [64, 64, 8],
    ]);
    expect(info.scales.map((s) => s.size)).toEqual([
      [64, 64, 64],
      [32, 32, 64],
      [16, 16, 64],
      [8, 8, 64],
    ]);
    for (const s of info.scales.slice(1)) {
      expect(s.chunk_sizes).toEqual([[8, 8, 8]]);
      expect(s.encoding).toBe("compressed_segmentation");
    }

    const expected = downsample("mode", labels, [64, 64, 64], [2, 2, 1], 3);
    const vol = await Volume.open(url);
    for (let k = 1; k <= 3; k++) {
      const level = vol.withMip(k);
      const got = await level.read(level.bounds);
      expect(got.shape.slice(0, 3)).toEqual(expected[k - 1].shape.slice(0, 3));
      expect(Buffer.from(got.data.buffer).equals(Buffer.from(expected[k - 1].data.buffer))).toBe(
        true,
      );
    }
  });

  test("asking for more mips than the memory target allows names the memory it would take", async () => {
    const url = "mem://ds-fib25-mem/seg";
    await Volume.fromArray(url, NdArray.from(fib25(), [64, 64, 64]), {
      resolution: [8, 8, 8],
      chunkSize: [8, 8, 8],
    });
    const err = (await createDownsampleTasks(url, { mips: 5, memoryTarget: 400_000 }).catch(
      (e) => e,
    )) as DownsampleMemoryError;
    // A 256x256x8 uint64 block and its 5 levels.
    const need = 8 * 8 * (256 * 256 + 128 * 128 + 64 * 64 + 32 * 32 + 16 * 16 + 8 * 8);
    expect(err).toBeInstanceOf(DownsampleMemoryError);
    expect(err.needed).toBe(need);
    expect(err.message).toContain(`${need}`);
    expect(err.message).toMatch(/3 mip\(s\) fit/);
    // Nothing was written: the info still has one scale.
    expect((await readInfo(openStorage(url))).scales).toHaveLength(1);
  });

  test("synthetic EM image on file://: average mips equal the kernel's, a second run changes no byte", async () => {
    const tmp = tempDir();
    try {
      const shape = [64, 64, 32] as const;
      const image = emLikeImage(voronoiSegmentation(shape, { seeds: 40, seed: 3 }), shape);
      const url = tmp.url("em");
      await Volume.fromArray(url, NdArray.from(image, [...shape]), {
        resolution: [4, 4, 4],
        chunkSize: [16, 16, 16],
      });
      const tasks = await createDownsampleTasks(url, { mips: 2, factor: [2, 2, 2] });
      await runAll(tasks);
      const expected = downsample("average", image, shape, [2, 2, 2], 2);
      const vol = await Volume.open(url);
      expect(vol.info.scales.map((s) => s.resolution)).toEqual([
        [4, 4, 4],
        [8, 8, 8],
        [16, 16, 16],
      ]);
      for (let k = 1; k <= 2; k++) {
        const level = vol.withMip(k);
        const got = await level.read(level.bounds);
        expect(Buffer.from(got.data.buffer).equals(Buffer.from(expected[k - 1].data.buffer))).toBe(
          true,
        );
      }
      const before = snapshotDir(tmp.dir);
      expect([...before.keys()].some((k) => k.startsWith("em/16_16_16/"))).toBe(true);
      await runAll(await createDownsampleTasks(url, { mips: 2, factor: [2, 2, 2] }));
      expect(snapshotDir(tmp.dir)).toEqual(before);
    } finally {
      tmp.cleanup();
    }
  });

  test("running the FIB-25 tasks twice on mem:// stores the same bytes", async () => {
    const url = "mem://ds-twice/seg";
    await Volume.fromArray(url, NdArray.from(fib25(), [64, 64, 64]), {
      resolution: [8, 8, 8],
      chunkSize: [16, 16, 16],
      encoding: "compressed_segmentation",
    });
    await runAll(await createDownsampleTasks(url, { mips: 2, factor: [2, 2, 2] }));
    const first = await snapshotStorage(url);
    await runAll(await createDownsampleTasks(url, { mips: 2, factor: [2, 2, 2] }));
    expect(await snapshotStorage(url)).toEqual(first);
  });

  test("skipBackground leaves out all-zero chunks and deletes stale ones", async () => {
    const url = "mem://ds-bg/img";
    const data = new Uint8Array(32 * 32 * 8);
    for (let z = 0; z < 8; z++)
      for (let y = 0; y < 32; y++) for (let x = 0; x < 16; x++) data[x + 32 * (y + 32 * z)] = 200;
    await Volume.fromArray(url, NdArray.from(data, [32, 32, 8]), { chunkSize: [8, 8, 8] });
    const s = openStorage(url);
    // A stale object where mip 1 will be all background.
    await createDownsampleTasks(url, { mips: 1, skipBackground: true });
    await s.put("2_2_1/8-16_0-8_0-8", new Uint8Array(8 * 8 * 8).fill(9), { compress: "gzip" });
    await runAll(await createDownsampleTasks(url, { mips: 1, skipBackground: true }));
    const level = (await Volume.open(url, { fillMissing: true })).withMip(1);
    const exists = await level.exists(level.bounds);
    expect(exists.get("0-8_0-8_0-8")).toBe(true);
    expect(exists.get("8-16_0-8_0-8")).toBe(false);
    const got = await level.read(level.bounds);
    expect(got.get(3, 3, 3)).toBe(200);
    expect(got.get(12, 3, 3)).toBe(0);
  });

  test("bounds restrict the tasks to a box grown to the task grid", async () => {
    const url = "mem://ds-bounds/img";
    await Volume.fromArray(url, NdArray.from(new Uint8Array(64 * 64 * 8).fill(5), [64, 64, 8]), {
      chunkSize: [8, 8, 8],
    });
    const tasks = await createDownsampleTasks(url, {
      mips: 1,
      bounds: "1-9_0-8_0-8",
      memoryTarget: 4000,
    });
    const boxes = [...tasks].map((t) => t.params.bbox);
    expect(boxes).toEqual(["0-16_0-16_0-8"]);
  });

  test("re-chunking an existing scale is refused when only bounds are downsampled", async () => {
    const url = "mem://ds-rechunk/img";
    await Volume.fromArray(url, NdArray.from(new Uint8Array(64 * 64 * 8).fill(5), [64, 64, 8]), {
      chunkSize: [8, 8, 8],
    });
    await runAll(await createDownsampleTasks(url, { mips: 1 }));
    const before = JSON.stringify(await readInfo(openStorage(url)));
    await expect(
      createDownsampleTasks(url, { mips: 1, bounds: "0-16_0-16_0-8", chunkSize: [16, 16, 8] }),
    ).rejects.toThrow(
      /mem:\/\/ds-rechunk\/img: scale 2_2_1 exists and this would change its chunk_size \[8,8,8\] -> \[16,16,8\]/,
    );
    expect(JSON.stringify(await readInfo(openStorage(url)))).toBe(before);
    // The whole layer may be re-chunked (every chunk is rewritten).
    await runAll(await createDownsampleTasks(url, { mips: 1, chunkSize: [16, 16, 8] }));
    const mip1 = await Volume.open(url, { mip: 1 });
    expect(mip1.chunkSize).toEqual([16, 16, 8]);
    expect((await mip1.read(mip1.bounds)).data.every((v) => v === 5)).toBe(true);
  });

  test("downsampling again from the top mip continues the pyramid", async () => {
    const url = "mem://ds-continue/seg";
    const labels = fib25();
    await Volume.fromArray(url, NdArray.from(labels, [64, 64, 64]), {
      resolution: [8, 8, 8],
      chunkSize: [16, 16, 16],
    });
    await runAll(await createDownsampleTasks(url, { mips: 1 }));
    await runAll(await createDownsampleTasks(url, { mip: 1, mips: 2 }));
    const vol = await Volume.open(url);
    expect(vol.info.scales.map((s) => s.key)).toEqual(["8_8_8", "16_16_8", "32_32_8", "64_64_8"]);
    const expected = downsample("mode", labels, [64, 64, 64], [2, 2, 1], 3);
    const top = vol.withMip(3);
    const got = await top.read(top.bounds);
    expect(Buffer.from(got.data.buffer).equals(Buffer.from(expected[2].data.buffer))).toBe(true);
  });

  test("dest writes the new scales to another layer; method and sparse are passed to the kernel", async () => {
    const url = "mem://ds-dest/src";
    const dest = "mem://ds-dest/out";
    const shape = [32, 32, 8] as const;
    const image = emLikeImage(voronoiSegmentation(shape, { seeds: 10 }), shape);
    await Volume.fromArray(url, NdArray.from(image, [...shape]), { chunkSize: [8, 8, 8] });
    await runAll(await createDownsampleTasks(url, { mips: 2, method: "max", dest }));
    expect((await readInfo(openStorage(url))).scales).toHaveLength(1);
    const out = await Volume.open(dest);
    expect(out.info.scales).toHaveLength(3);
    const expected = downsample("max", image, shape, [2, 2, 1], 2);
    const got = await out.withMip(2).read(out.withMip(2).bounds);
    expect(Buffer.from(got.data.buffer).equals(Buffer.from(expected[1].data.buffer))).toBe(true);
  });
});

test("a kernel error in the pool reaches the caller as a DownsampleError with its field", async () => {
  const err = (await runKernel(precomputedKernels(), "downsample", [
    "average",
    new Uint8Array(8),
    [2, 2, 2],
    [0, 2, 2],
    1,
  ]).catch((e: Error) => e)) as DownsampleError;
  expect(err).toBeInstanceOf(DownsampleError);
  expect(err.field).toBe("factor");
  expect(err.message).toMatch(/^downsample: factor:/);
});
