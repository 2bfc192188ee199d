import { closePool, downsample, NdArray, readInfo, Volume } from "@ngpipe/precomputed";
import { openStorage } from "@ngpipe/storage";
import { mulberry32 } from "../synthetic";
import { LayerMismatchError } from "./common";
import { createQuantizedInfo, createQuantizeTasks } from "./quantize";
import { quantizeChannel } from "./quantize-kernel";
import { runAll, snapshotStorage } from "./testing";

afterAll(() => closePool());

const SHAPE = [32, 32, 8] as const;
const N = SHAPE[0] * SHAPE[1] * SHAPE[2];

/** Random affinities in [0, 1) with a few exact 0, 1 and out-of-range values. */
function affinities(): Float32Array {
  const rand = mulberry32(11);
  const a = new Float32Array(N * 3);
  for (let i = 0; i < a.length; i++) a[i] = rand();
  a[0] = 0;
  a[N + 1] = 1;
  a[N + 2] = 1.5;
  a[N + 3] = -0.25;
  return a;
}

/** The straightforward reference: floor(v * 255) of channel c, clamped to 0..255. */
function reference(a: Float32Array, c: number): Uint8Array {
  const out = new Uint8Array(N);
  for (let i = 0; i < N; i++) out[i] = Math.min(255, Math.max(0, Math.floor(a[c * N + i] * 255)));
  return out;
}

test("quantizeChannel truncates v * 255 of the chosen channel", () => {
  const a = affinities();
  for (const c of [0, 1, 2]) {
    expect(
      Buffer.from(quantizeChannel(a, [...SHAPE, 3], c)).equals(Buffer.from(reference(a, c))),
    ).toBe(true);
  }
  expect(() => quantizeChannel(a, [...SHAPE, 3], 3)).toThrow(/channel 3/);
});

test("quantize tasks write the uint8 layer and its average downsamples", async () => {
  const src = "mem://quantize/aff";
  const dest = "mem://quantize/q";
  const a = affinities();
  await Volume.fromArray(src, NdArray.from(a, [...SHAPE, 3]), {
    resolution: [4, 4, 40],
    chunkSize: [8, 8, 8],
  });
  // Room for a 16x16x8 block of 3 float32 channels and one mip: 4 tasks.
  const tasks = await createQuantizeTasks(src, dest, { channel: 1, mips: 1, memoryTarget: 50_000 });
  expect(tasks.count).toBe(4);
  await runAll(tasks);
  const info = await readInfo(openStorage(dest));
  expect(info.data_type).toBe("uint8");
  expect(info.num_channels).toBe(1);
  expect(info.type).toBe("image");
  expect(info.scales.map((s) => s.resolution)).toEqual([
    [4, 4, 40],
    [8, 8, 40],
  ]);
  const vol = await Volume.open(dest);
  const q = await vol.read(vol.bounds);
  const want = reference(a, 1);
  expect(Buffer.from(q.data.buffer).equals(Buffer.from(want))).toBe(true);
  const m1 = await vol.withMip(1).read(vol.withMip(1).bounds);
  const [ds] = downsample("average", want, SHAPE, [2, 2, 1], 1);
  expect(Buffer.from(m1.data.buffer).equals(Buffer.from(ds.data.buffer))).toBe(true);
  const before = await snapshotStorage(dest);
  await runAll(tasks);
  expect(await snapshotStorage(dest)).toEqual(before);
});

test("createQuantizedInfo keeps scales up to the mip, as raw uint8 without sharding", () => {
  const info = createQuantizedInfo(
    {
      type: "image",
      data_type: "float32",
      num_channels: 3,
      scales: [0, 1, 2].map((m) => ({
        key: `k${m}`,
        size: [64 >> m, 64 >> m, 8] as [number, number, number],
        resolution: [4 << m, 4 << m, 40] as [number, number, number],
        chunk_sizes: [[32, 32, 8] as [number, number, number]],
        encoding: "raw",
      })),
    },
    { mip: 1, chunkSize: [16, 16, 8] },
  );
  expect(info.scales).toHaveLength(2);
  expect(info.scales[1].chunk_sizes).toEqual([[16, 16, 8]]);
  expect(info.num_channels).toBe(1);
});

test("quantizing a channel the layer lacks is refused", async () => {
  const src = "mem://quantize-bad/aff";
  await Volume.fromArray(src, NdArray.zeros("float32", [8, 8, 8, 2]));
  await expect(createQuantizeTasks(src, "mem://quantize-bad/q", { channel: 2 })).rejects.toThrow(
    LayerMismatchError,
  );
});
