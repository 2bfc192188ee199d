import {
  closePool,
  fromTyped,
  readInfo,
  ShardPlanError,
  type TypedArray,
  type Vec3,
  Volume,
} from "@ngpipe/precomputed";
import { openStorage } from "@ngpipe/storage";
import { encodeNpy } from "../ingest/sources/npy";
import { voronoiSegmentation } from "../synthetic";
import { createConnectedComponentsTasks } from "./ccl";
import { createRemapTasks } from "./remap-stage";
import { runPhases } from "./testing";

afterAll(() => closePool());
// Each test runs a multi-phase stage twice through the worker pool.
jest.setTimeout(120_000);

/** A size no chunk or shard divides, and an offset that is not zero. */
const SIZE: Vec3 = [52, 44, 21];
const OFFSET: Vec3 = [12, 6, 3];
const CHUNK: Vec3 = [16, 16, 8];
/** Four uint64 chunks per shard: several shards per scale, and several ccl blocks. */
const SHARD_BYTES = 4 * 16 * 16 * 8 * 8;

let serial = 0;

interface Case {
  name: string;
  encoding: "raw" | "compressed_segmentation";
  wide: boolean;
}

const CASES: Case[] = [
  { name: "raw uint32", encoding: "raw", wide: false },
  { name: "compressed_segmentation uint64", encoding: "compressed_segmentation", wide: true },
];

async function source(c: Case): Promise<{ dir: string; src: string; ids: number }> {
  const dir = `mem://labels-sharded-${++serial}`;
  const labels = voronoiSegmentation(SIZE, { seeds: 12, seed: 3 });
  let data: TypedArray = labels;
  if (c.wide) {
    // High words set, so the 64-bit paths are exercised.
    data = BigUint64Array.from(labels, (v) => (v === 0 ? 0n : (BigInt(v) << 33n) | 1n));
  }
  await Volume.fromArray(`${dir}/seg`, fromTyped(data, SIZE), {
    chunkSize: CHUNK,
    voxelOffset: OFFSET,
    encoding: c.encoding,
    type: "segmentation",
  });
  return { dir, src: `${dir}/seg`, ids: Math.max(...labels) };
}

/** Every mip of a layer, decoded. */
async function readMips(url: string): Promise<Uint8Array[]> {
  const first = await Volume.open(url);
  const out: Uint8Array[] = [];
  for (let mip = 0; mip < first.mipCount; mip++) {
    const vol = await Volume.open(url, { mip });
    const d = (await vol.read(vol.bounds)).data;
    out.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return out;
}

/** Checks that every scale of `url` is sharded and holds nothing but shard files, several at mip 0. */
async function expectAllSharded(url: string): Promise<void> {
  const info = await readInfo(openStorage(url));
  for (const [mip, s] of info.scales.entries()) {
    expect(s.sharding?.hash).toBe("identity");
    const keys: string[] = [];
    for await (const k of openStorage(`${url}/${s.key}`).list("", { recursive: true }))
      keys.push(k);
    expect(keys.length).toBeGreaterThan(mip === 0 ? 1 : 0);
    for (const k of keys) expect(k).toMatch(/^[0-9a-f]+\.shard$/);
  }
}

describe.each(CASES)("sharded label outputs, $name", (c) => {
  test("a sharded remap, with two mips, decodes like the unsharded remap", async () => {
    const { dir, src, ids } = await source(c);
    const table = Uint32Array.from({ length: ids + 1 }, (_, i) => (i === 0 ? 0 : 1000 + 3 * i));
    let map = `${dir}/map.npy`;
    if (c.wide) {
      // uint64 ids: (from, to) pairs.
      const pairs = new BigUint64Array(2 * (ids + 1));
      for (let i = 0; i <= ids; i++) {
        pairs[2 * i] = i === 0 ? 0n : (BigInt(i) << 33n) | 1n;
        pairs[2 * i + 1] = BigInt(table[i]) << 20n;
      }
      map = `${dir}/map.bin`;
      await openStorage(dir).put("map.bin", new Uint8Array(pairs.buffer));
    } else {
      await openStorage(dir).put("map.npy", encodeNpy(table, [ids + 1]));
    }
    const o = { map, mips: 2 };
    await runPhases(await createRemapTasks(src, `${dir}/plain`, o));
    await runPhases(
      await createRemapTasks(src, `${dir}/sharded`, {
        ...o,
        sharded: true,
        shardBytes: SHARD_BYTES,
      }),
    );
    const want = await readMips(`${dir}/plain`);
    expect(want.length).toBe(3);
    expect(await readMips(`${dir}/sharded`)).toEqual(want);
    await expectAllSharded(`${dir}/sharded`);
  });

  test("sharded connected components, with two mips, decode like the unsharded ones", async () => {
    const { dir, src } = await source(c);
    const o = { groupSize: 2, mips: 2, dataType: c.wide ? ("uint64" as const) : undefined };
    // Unsharded blocks of another shape than the shards: the numbering does not depend on blocks.
    await runPhases(
      await createConnectedComponentsTasks(src, `${dir}/plain`, { ...o, shape: [16, 16, 8] }),
    );
    await runPhases(
      await createConnectedComponentsTasks(src, `${dir}/sharded`, {
        ...o,
        sharded: true,
        shardBytes: SHARD_BYTES,
      }),
    );
    const want = await readMips(`${dir}/plain`);
    expect(want.length).toBe(3);
    expect(await readMips(`${dir}/sharded`)).toEqual(want);
    await expectAllSharded(`${dir}/sharded`);
  });
});

describe("sharded label outputs: bad input", () => {
  const c = CASES[0];

  test("a task shape with sharded is a ShardPlanError naming the field, before anything is written", async () => {
    const { dir, src } = await source(c);
    await openStorage(dir).put("map.json", JSON.stringify({ 0: 0 }));
    const remap = createRemapTasks(src, `${dir}/out`, {
      map: `${dir}/map.json`,
      sharded: true,
      shape: [32, 32, 8],
    });
    await expect(remap).rejects.toThrow(ShardPlanError);
    await expect(remap).rejects.toMatchObject({ field: "shape" });
    const ccl = createConnectedComponentsTasks(src, `${dir}/cc`, {
      sharded: true,
      shape: [32, 32, 8],
    });
    await expect(ccl).rejects.toMatchObject({ name: "ShardPlanError", field: "shape" });
    expect(await openStorage(dir).exists("out/info")).toBe(false);
  });

  test("shard bytes below one chunk is a ShardPlanError naming shardBytes", async () => {
    const { dir, src } = await source(c);
    const ccl = createConnectedComponentsTasks(src, `${dir}/cc`, {
      sharded: true,
      shardBytes: 100,
    });
    await expect(ccl).rejects.toThrow(/shardBytes: 100 bytes is less than one chunk/);
  });
});
