import { closePool, NdArray, readInfo, Volume } from "@ngpipe/precomputed";
import { connectedComponents } from "@ngpipe/segmentation";
import { openStorage } from "@ngpipe/storage";
import { snapshotStorage } from "../stages/testing";
import { mulberry32, voronoiSegmentation } from "../synthetic";
import { ConnectedComponentsError, createConnectedComponentsTasks } from "./ccl";
import { runPhases } from "./testing";

afterAll(() => closePool());

type V3 = [number, number, number];
let serial = 0;

/** A uint64 layer of `labels` at mem://, chunked 8^3, with a voxel offset. */
async function layer(
  labels: BigUint64Array | Uint32Array,
  size: V3,
  offset: V3 = [5, -3, 7],
): Promise<string> {
  const url = `mem://ccl-${++serial}/seg`;
  await Volume.fromArray(url, NdArray.from(labels, size), {
    chunkSize: [8, 8, 8],
    voxelOffset: offset,
  });
  return url;
}

async function readAll(url: string): Promise<Uint32Array | BigUint64Array> {
  const vol = await Volume.open(url);
  return (await vol.read(vol.bounds)).data as Uint32Array | BigUint64Array;
}

/** Random small ids (many touching objects), as uint64 with high words set. */
function noise(size: V3, seed: number, ids = 3): BigUint64Array {
  const rand = mulberry32(seed);
  const n = size[0] * size[1] * size[2];
  return BigUint64Array.from({ length: n }, () => {
    const v = Math.floor(rand() * (ids + 1));
    return v === 0 ? 0n : (BigInt(v) << 33n) | 5n;
  });
}

/** Shapes that wind through every block: a spiral in z, a comb along x with teeth in y, a tube. */
function windingShapes(size: V3): BigUint64Array {
  const [sx, sy, sz] = size;
  const out = new BigUint64Array(sx * sy * sz);
  const set = (x: number, y: number, z: number, v: bigint) => {
    out[x + sx * (y + sy * z)] = v;
  };
  // Comb: a spine along x at y=0,z=0 and a tooth up y every 3 voxels.
  for (let x = 0; x < sx; x++) {
    set(x, 0, 0, 7n);
    if (x % 3 === 0) for (let y = 0; y < sy; y++) set(x, y, 0, 7n);
  }
  // A diagonal tube (26-connected only) from corner to corner.
  for (let t = 0; t < Math.min(sx, sy, sz); t++) set(t, t, t, 2n ** 40n);
  // A spiral around the volume's middle, climbing in z.
  for (let z = 1; z < sz; z++) {
    const a = z * 0.7;
    set(
      Math.round(sx / 2 + (sx / 3) * Math.cos(a)),
      Math.round(sy / 2 + (sy / 3) * Math.sin(a)),
      z,
      9n,
    );
  }
  return out;
}

async function expectSameAsKernel(
  labels: BigUint64Array | Uint32Array,
  size: V3,
  connectivity: 6 | 18 | 26,
  shape: V3,
) {
  const src = await layer(labels, size);
  const dest = `mem://ccl-${++serial}/cc`;
  await runPhases(
    await createConnectedComponentsTasks(src, dest, { connectivity, shape, groupSize: 2 }),
  );
  const want = connectedComponents(labels, size, { connectivity }).labels;
  const got = await readAll(dest);
  expect(got).toBeInstanceOf(Uint32Array);
  expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true);
  return { src, dest };
}

describe("createConnectedComponentsTasks", () => {
  for (const connectivity of [6, 18, 26] as const) {
    test(`equals the single-call kernel bit for bit, ${connectivity}-connected, blocks that do not divide the volume`, async () => {
      const size: V3 = [37, 29, 21];
      await expectSameAsKernel(noise(size, connectivity), size, connectivity, [8, 16, 8]);
    });

    test(`objects winding through every block (comb, diagonal tube, spiral), ${connectivity}-connected`, async () => {
      const size: V3 = [40, 33, 26];
      await expectSameAsKernel(windingShapes(size), size, connectivity, [8, 8, 8]);
    });
  }

  test("dense random labels, several seeds and block shapes, 26-connected (every diagonal and anti-diagonal step)", async () => {
    for (const [seed, shape] of [
      [11, [8, 8, 8]],
      [12, [16, 8, 8]],
      [13, [8, 16, 24]],
    ] as [number, V3][]) {
      const size: V3 = [21, 19, 27];
      await expectSameAsKernel(noise(size, seed, 2), size, 26, shape);
    }
  });

  test("a Voronoi segmentation, three reduce levels (group size 2, 5 blocks a side)", async () => {
    const size: V3 = [40, 40, 40];
    await expectSameAsKernel(voronoiSegmentation(size, { seeds: 40 }), size, 26, [8, 8, 8]);
  });

  test("rerunning writes the same bytes; the scratch objects are gone at the end", async () => {
    const size: V3 = [24, 20, 12];
    const labels = noise(size, 3);
    const src = await layer(labels, size);
    const dest = `mem://ccl-${++serial}/cc`;
    await runPhases(
      await createConnectedComponentsTasks(src, dest, { shape: [8, 8, 8], keepScratch: true }),
    );
    const first = await snapshotStorage(`mem://ccl-${serial}`);
    expect([...first.keys()].some((k) => k.startsWith("cc/ccl-scratch/"))).toBe(true);
    await runPhases(await createConnectedComponentsTasks(src, dest, { shape: [8, 8, 8] }));
    const second = await snapshotStorage(`mem://ccl-${serial}`);
    for (const [key, bytes] of second)
      expect(Buffer.from(bytes).equals(Buffer.from(first.get(key) as Uint8Array))).toBe(true);
    expect([...second.keys()].some((k) => k.startsWith("cc/ccl-scratch/"))).toBe(false);
    expect((await readInfo(openStorage(dest))).data_type).toBe("uint32");
  });

  test("a float layer without a threshold is a ConnectedComponentsError naming the layer", async () => {
    const url = `mem://ccl-${++serial}/img`;
    await Volume.fromArray(url, NdArray.from(new Float32Array(512), [8, 8, 8]), {
      chunkSize: [8, 8, 8],
    });
    await expect(createConnectedComponentsTasks(url, `mem://ccl-${serial}/cc`)).rejects.toThrow(
      ConnectedComponentsError,
    );
    await expect(createConnectedComponentsTasks(url, `mem://ccl-${serial}/cc`)).rejects.toThrow(
      url,
    );
  });

  test("a threshold labels the foreground of a float layer", async () => {
    const size: V3 = [16, 16, 8];
    const rand = mulberry32(5);
    const img = Float32Array.from({ length: 16 * 16 * 8 }, () => rand());
    const url = `mem://ccl-${++serial}/img`;
    await Volume.fromArray(url, NdArray.from(img, size), { chunkSize: [8, 8, 8] });
    const dest = `mem://ccl-${serial}/cc`;
    await runPhases(
      await createConnectedComponentsTasks(url, dest, {
        threshold: [0.6, 1],
        shape: [8, 8, 8],
        connectivity: 6,
      }),
    );
    const want = connectedComponents(img, size, { threshold: [0.6, 1], connectivity: 6 }).labels;
    expect(Buffer.from((await readAll(dest)).buffer).equals(Buffer.from(want.buffer))).toBe(true);
  });

  test("a block shape off the chunk grid is refused before anything is written", async () => {
    const size: V3 = [16, 16, 8];
    const src = await layer(noise(size, 1), size);
    await expect(
      createConnectedComponentsTasks(src, `${src}-cc`, { shape: [12, 8, 8] }),
    ).rejects.toThrow(/multiple of the chunk size/);
  });
});
