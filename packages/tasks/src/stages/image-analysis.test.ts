/**
 * The histogram and contrast stages end to end on the numpy fixtures of
 * @ngpipe/precomputed's image kernels (precomputed/src/image/fixtures): the
 * levels objects written with coverage 1 equal np.bincount of every slice,
 * and the contrast-normalized layer equals the numpy reference.
 */
import { createHash } from "node:crypto";
import {
  Bbox,
  closePool,
  downsample,
  fromTyped,
  ImageKernelError,
  readInfo,
  Volume,
} from "@ngpipe/precomputed";
import { openStorage } from "@ngpipe/storage";
import {
  type ImageCase as Case,
  imageCases as cases,
  caseHistograms as histogramsOf,
  loadImage as image,
} from "../../../precomputed/src/image/fixtures.testutil";
import type { TaskPhase } from "../registry/stage";
import { createTaskContext, executeTask } from "../runtime";
import { StageInputError } from "./checks";
import { LayerMismatchError } from "./common";
import { createContrastNormalizationTasks } from "./contrast";
import {
  createLuminanceLevelsTasks,
  type LayerLevels,
  LuminanceLevelsError,
  readLuminanceLevels,
  type SliceLevels,
  samplePatches,
} from "./luminance";
import { runAll, snapshotStorage } from "./testing";

afterAll(() => closePool());

async function runPhases(phases: TaskPhase[]): Promise<void> {
  const ctx = createTaskContext();
  for (const phase of phases)
    for await (const payload of await phase.tasks()) await executeTask(payload, ctx);
}

/** Exact equality of two long count arrays (jest's toEqual takes ~0.5 s for 65536 entries). */
function sameCounts(a: readonly number[], b: readonly number[]): boolean {
  return Buffer.from(Float64Array.from(a).buffer).equals(Buffer.from(Float64Array.from(b).buffer));
}

/** Every object under `url` as key -> sha256 of its bytes. */
async function digests(url: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [k, v] of await snapshotStorage(url))
    out.set(k, createHash("sha256").update(v).digest("hex"));
  return out;
}

const VOXEL_OFFSET: [number, number, number] = [3, -2, 5];

/** The case's stack as a layer in chunks that split it in every axis, at a nonzero offset. */
async function layer(c: Case, url: string): Promise<Uint8Array | Uint16Array> {
  const data = image(c, c.input);
  await Volume.fromArray(url, fromTyped(data, c.input.shape), {
    chunkSize: [16, 16, 4],
    voxelOffset: VOXEL_OFFSET,
    resolution: [4, 4, 40],
  });
  return data;
}

describe.each(
  cases.filter((c) => c.name !== "uint8 sparse 16x16x2").map((c) => [c.name, c] as const),
)("%s", (name, c) => {
  const src = `mem://image-analysis/${name.replace(/ /g, "-")}/src`;
  const depth = c.input.shape[2];

  test("histogram with coverage 1 writes np.bincount of every slice, and their sum", async () => {
    await layer(c, src);
    const phases = await createLuminanceLevelsTasks(src, { coverage: 1, patchSize: [16, 16] });
    expect(phases.map((p) => p.name)).toEqual(["histogram slices", "histogram layer"]);
    // Slabs one chunk deep, the first cut at the chunk grid (z from 5).
    expect((await phases[0].tasks()) as unknown as { count: number }).toHaveProperty(
      "count",
      Math.ceil(depth / 4),
    );
    await runPhases(phases);
    const want = histogramsOf(c);
    const sum = want[0].map((_, v) => want.reduce((s, h) => s + h[v], 0));
    for (let z = 0; z < depth; z++) {
      const got = await readLuminanceLevels(src, { z: VOXEL_OFFSET[2] + z });
      expect(sameCounts(got.levels, want[z])).toBe(true);
      expect(got.coverage_ratio).toBe(1);
      expect(got.num_patches).toBe(
        Math.ceil(c.input.shape[0] / 16) * Math.ceil(c.input.shape[1] / 16),
      );
      expect(got.patch_size).toEqual([16, 16, 1]);
    }
    const all: LayerLevels = await readLuminanceLevels(src);
    expect(sameCounts(all.levels, sum)).toBe(true);
    expect(all.num_slices).toBe(depth);
    const before = await digests(`${src}/levels`);
    await runPhases(await createLuminanceLevelsTasks(src, { coverage: 1, patchSize: [16, 16] }));
    expect(await digests(`${src}/levels`)).toEqual(before);
  });

  test.each(c.clips.map((k) => [k.clip.join("/"), k] as const))(
    "contrast with clip %s equals the numpy reference, with its downsamples",
    async (clip, k) => {
      const dest = `mem://image-analysis/${name.replace(/ /g, "-")}/cn-${clip}`;
      const tasks = await createContrastNormalizationTasks(src, dest, {
        clipFraction: k.clip,
        mips: 1,
      });
      await runAll(tasks);
      const vol = await Volume.open(dest);
      expect(vol.bounds.min).toEqual(VOXEL_OFFSET);
      const got = (await vol.read(vol.bounds)).data;
      const want = image(c, k.output);
      expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true);
      const m1 = vol.withMip(1);
      const [ds] = downsample(
        "average",
        want,
        c.input.shape as [number, number, number],
        [2, 2, 1],
        1,
      );
      const got1 = (await m1.read(m1.bounds)).data;
      expect(Buffer.from(got1.buffer).equals(Buffer.from(ds.data.buffer))).toBe(true);
      const before = await digests(dest);
      await runAll(tasks);
      expect(await digests(dest)).toEqual(before);
    },
  );
});

test("a sampled histogram counts exactly the chosen patches, the same ones on a rerun", async () => {
  const c = cases[0];
  const src = "mem://image-analysis/sampled/src";
  const data = (await layer(c, src)) as Uint8Array;
  const [sx, sy] = c.input.shape;
  await runPhases(await createLuminanceLevelsTasks(src, { coverage: 0.25, patchSize: [16, 16] }));
  const bounds = (await Volume.open(src)).bounds;
  for (const z0 of [5, 9]) {
    const slab = new Bbox(
      [bounds.min[0], bounds.min[1], z0],
      [bounds.max[0], bounds.max[1], Math.min(z0 + 4, bounds.max[2])],
    );
    // 3x3 patches of 16x16 (clipped to 40x36): ceil(9 * 0.25) = 3 of them.
    const patches = samplePatches(slab, [16, 16], 0.25, z0);
    expect(patches).toHaveLength(3);
    expect(samplePatches(slab, [16, 16], 0.25, z0)).toEqual(patches);
    const area = patches.reduce((s, p) => s + p.size()[0] * p.size()[1], 0);
    for (let z = slab.min[2]; z < slab.max[2]; z++) {
      const want = new Array<number>(256).fill(0);
      for (const p of patches)
        for (let y = p.min[1]; y < p.max[1]; y++)
          for (let x = p.min[0]; x < p.max[0]; x++) {
            const i = x - bounds.min[0] + sx * (y - bounds.min[1] + sy * (z - bounds.min[2]));
            want[data[i]]++;
          }
      const got: SliceLevels = await readLuminanceLevels(src, { z });
      expect(sameCounts(got.levels, want)).toBe(true);
      expect(got.num_patches).toBe(3);
      expect(got.coverage_ratio).toBeCloseTo(area / (sx * sy), 12);
    }
  }
});

test("a slice without a histogram is copied as it is", async () => {
  const c = cases[0];
  const src = "mem://image-analysis/missing/src";
  const data = (await layer(c, src)) as Uint8Array;
  await runPhases(await createLuminanceLevelsTasks(src, { coverage: 1, patchSize: [16, 16] }));
  await openStorage(src).delete("levels/0/6");
  const dest = "mem://image-analysis/missing/dest";
  await runAll(await createContrastNormalizationTasks(src, dest, { mips: 0 }));
  const vol = await Volume.open(dest);
  const got = (await vol.read(vol.bounds)).data as Uint8Array;
  const want = image(c, c.clips[0].output) as Uint8Array;
  const slice = c.input.shape[0] * c.input.shape[1];
  // Slice z = 6 (the second) is the input's; the others are stretched.
  expect(
    Buffer.from(got.subarray(slice, 2 * slice)).equals(
      Buffer.from(data.subarray(slice, 2 * slice)),
    ),
  ).toBe(true);
  expect(Buffer.from(got.subarray(0, slice)).equals(Buffer.from(want.subarray(0, slice)))).toBe(
    true,
  );
  expect(Buffer.from(got.subarray(2 * slice)).equals(Buffer.from(want.subarray(2 * slice)))).toBe(
    true,
  );
});

test("--fill-missing reads a missing source chunk as black; without it the task fails", async () => {
  const c = cases[0];
  const src = "mem://image-analysis/holes/src";
  await layer(c, src);
  await runPhases(await createLuminanceLevelsTasks(src, { coverage: 1, patchSize: [16, 16] }));
  const store = openStorage(src);
  const info = await readInfo(store);
  const key = info.scales[0].key;
  await store.delete(`${key}/3-19_-2-14_5-9`);
  const dest = "mem://image-analysis/holes/dest";
  await expect(
    runAll(await createContrastNormalizationTasks(src, dest, { mips: 0 })),
  ).rejects.toThrow(/3-19_-2-14_5-9/);
  await runAll(await createContrastNormalizationTasks(src, dest, { mips: 0, fillMissing: true }));
  const hole = (await (await Volume.open(dest)).read(new Bbox([3, -2, 5], [19, 14, 9]))).data;
  expect(hole.every((v) => v === 0)).toBe(true);
});

describe("bad input is a typed error naming what is wrong", () => {
  test("a float layer is a LayerMismatchError for both stages", async () => {
    const url = "mem://image-analysis/bad/float";
    await Volume.fromArray(url, fromTyped(new Float32Array(8 * 8 * 2), [8, 8, 2]));
    await expect(createLuminanceLevelsTasks(url)).rejects.toThrow(LayerMismatchError);
    await expect(createLuminanceLevelsTasks(url)).rejects.toThrow(/float32 x 1/);
    await expect(
      createContrastNormalizationTasks(url, "mem://image-analysis/bad/f-out"),
    ).rejects.toThrow(LayerMismatchError);
  });

  test("contrast before any histogram is a LuminanceLevelsError naming the levels location", async () => {
    const url = "mem://image-analysis/bad/nolevels";
    await Volume.fromArray(url, fromTyped(new Uint8Array(8 * 8 * 2), [8, 8, 2]));
    const call = createContrastNormalizationTasks(url, "mem://image-analysis/bad/nl-out");
    await expect(call).rejects.toThrow(LuminanceLevelsError);
    await expect(call).rejects.toThrow(/nolevels\/levels\/0\/.*ngpipe image histogram/);
    await expect(readLuminanceLevels(url)).rejects.toThrow(/levels\/0\/all is missing/);
  });

  test("options out of range are StageInputErrors naming the option", async () => {
    const url = "mem://image-analysis/bad/opts";
    await Volume.fromArray(url, fromTyped(new Uint8Array(8 * 8 * 2), [8, 8, 2]));
    const field = (p: Promise<unknown>) =>
      p.then(
        () => "resolved",
        (e) => (e instanceof StageInputError ? e.field : String(e)),
      );
    expect(await field(createLuminanceLevelsTasks(url, { coverage: 0 }))).toBe("coverage");
    expect(await field(createLuminanceLevelsTasks(url, { patchSize: [0, 4] }))).toBe("patchSize");
    for (const clipFraction of [-0.1, 1.5, [0.6, 0.5] as [number, number]])
      expect(
        await field(createContrastNormalizationTasks(url, "mem://x/y", { clipFraction })),
      ).toBe("clipFraction");
  });

  test("a corrupt levels object fails the contrast task with its key", async () => {
    const c = cases[0];
    const src = "mem://image-analysis/bad/corrupt";
    await layer(c, src);
    await runPhases(await createLuminanceLevelsTasks(src, { coverage: 1, patchSize: [16, 16] }));
    const store = openStorage(src);
    await store.putJson("levels/0/7", { levels: [1, 2, 3] });
    const tasks = await createContrastNormalizationTasks(src, "mem://image-analysis/bad/c-out", {
      mips: 0,
    });
    await expect(runAll(tasks)).rejects.toThrow(LuminanceLevelsError);
    await expect(runAll(tasks)).rejects.toThrow(
      /corrupt\/levels\/0\/7 is not a luminance histogram/,
    );
    await store.put("levels/0/7", "{not json");
    await expect(runAll(tasks)).rejects.toThrow(/levels\/0\/7 is not JSON/);
  });

  test("the kernels' own checks keep their class through the pool", async () => {
    const { runKernel, precomputedKernels } = await import("@ngpipe/precomputed");
    await expect(
      runKernel(precomputedKernels(), "stretchContrast", [new Uint8Array(4), [2, 2, 1], [0]]),
    ).rejects.toThrow(ImageKernelError);
  });
});
