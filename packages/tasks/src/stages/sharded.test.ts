import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  closePool,
  type DataType,
  fromTyped,
  readInfo,
  type ShardingSpec,
  ShardMemoryError,
  ShardPlanError,
  type TypedArray,
  type Vec3,
  Volume,
} from "@ngpipe/precomputed";
import { FileBackend, openStorage, Storage } from "@ngpipe/storage";
import { encodeNpy } from "../ingest/sources/npy";
import { createIngestTasks } from "../ingest/stage";
import { createTaskContext, executeTask } from "../runtime";
import { emLikeImage, voronoiSegmentation } from "../synthetic";
import { createDownsampleTasks } from "./downsample";
import { runAll, snapshotDir, tempDir } from "./testing";
import { createTransferTasks } from "./transfer";

afterAll(() => closePool());
// Each test runs several stages end to end through the worker pool.
jest.setTimeout(180_000);

/** A size no chunk or shard divides, and an offset that is not zero. */
const SIZE: Vec3 = [52, 44, 21];
const OFFSET: Vec3 = [12, 6, 3];
const CHUNK: Vec3 = [16, 16, 8];

interface Case {
  name: string;
  dtype: DataType;
  encoding: string;
  layerType: "image" | "segmentation";
  data: () => TypedArray;
}

const labels = () => voronoiSegmentation(SIZE, { seeds: 12, seed: 5 });
const CASES: Case[] = [
  {
    name: "raw uint8",
    dtype: "uint8",
    encoding: "raw",
    layerType: "image",
    data: () => emLikeImage(labels(), SIZE),
  },
  {
    name: "jpeg uint8",
    dtype: "uint8",
    encoding: "jpeg",
    layerType: "image",
    data: () => emLikeImage(labels(), SIZE),
  },
  {
    name: "png uint8",
    dtype: "uint8",
    encoding: "png",
    layerType: "image",
    data: () => emLikeImage(labels(), SIZE),
  },
  {
    name: "compressed_segmentation uint32",
    dtype: "uint32",
    encoding: "compressed_segmentation",
    layerType: "segmentation",
    data: labels,
  },
  {
    name: "compressed_segmentation uint64",
    dtype: "uint64",
    encoding: "compressed_segmentation",
    layerType: "segmentation",
    data: () => {
      const l = labels();
      const out = new BigUint64Array(l.length);
      // High words set, so 64-bit labels are exercised.
      for (let i = 0; i < l.length; i++) out[i] = l[i] === 0 ? 0n : (BigInt(l[i]) << 33n) | 7n;
      return out;
    },
  },
];

function bytesOf(a: TypedArray): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

async function readAll(url: string, mip = 0): Promise<Buffer> {
  const vol = await Volume.open(url, { mip });
  return bytesOf((await vol.read(vol.bounds)).data);
}

/** Names of the objects of a scale directory of a file:// layer. */
function scaleFiles(dir: string, key: string): string[] {
  return [...snapshotDir(join(dir, key)).keys()];
}

/** 8 chunks of 16x16x8 per shard at most: several shards per scale. */
const shardBytesFor = (dtype: DataType) =>
  8 * 16 * 16 * 8 * (dtype === "uint64" ? 8 : dtype === "uint32" ? 4 : 1);

describe.each(CASES)("sharded outputs, $name", (c) => {
  const tmp = tempDir();
  let source: string;
  const plain = tmp.url("plain");
  const shardBytes = shardBytesFor(c.dtype);

  beforeAll(async () => {
    source = join(tmp.dir, "source.npy");
    writeFileSync(source, encodeNpy(c.data(), [SIZE[0], SIZE[1], SIZE[2], 1], c.dtype));
    const opts = {
      chunkSize: CHUNK,
      voxelOffset: OFFSET,
      encoding: c.encoding,
      layerType: c.layerType,
    };
    await runAll(await createIngestTasks(source, plain, opts));
    await runAll(
      await createIngestTasks(source, tmp.url("sharded"), { ...opts, sharded: true, shardBytes }),
    );
  });
  afterAll(() => tmp.cleanup());

  test("a sharded ingest decodes like the unsharded ingest, in whole shard files", async () => {
    const info = await readInfo(openStorage(tmp.url("sharded")));
    const key = info.scales[0].key;
    expect(info.scales[0].sharding?.hash).toBe("identity");
    expect(await readAll(tmp.url("sharded"))).toEqual(await readAll(plain));
    const files = scaleFiles(join(tmp.dir, "sharded"), key);
    expect(files.length).toBeGreaterThan(1);
    for (const f of files) expect(f).toMatch(/^[0-9a-f]+\.shard$/);
  });

  test("a sharded downsample decodes like the unsharded downsample", async () => {
    const common = { method: "auto" as const };
    await runAll(await createDownsampleTasks(plain, { ...common, dest: tmp.url("ds-plain") }));
    await runAll(
      await createDownsampleTasks(plain, {
        ...common,
        dest: tmp.url("ds-sharded"),
        sharded: true,
        shardBytes,
      }),
    );
    // Mip 1 of a sharded mip 0, in place: the layer mixes nothing but shards.
    await runAll(
      await createDownsampleTasks(tmp.url("sharded"), { ...common, mips: 1, shardBytes }),
    );
    const want = await readAll(tmp.url("ds-plain"), 1);
    const info = await readInfo(openStorage(tmp.url("ds-sharded")));
    expect(info.scales[0].sharding).toBeUndefined();
    expect(info.scales[1].sharding).toBeDefined();
    expect(await readAll(tmp.url("ds-sharded"), 1)).toEqual(want);
    expect(await readAll(tmp.url("sharded"), 1)).toEqual(want);
  });

  test("a decoding xfer writes sharded what it writes unsharded", async () => {
    const o = { fastPath: false, encoding: c.encoding };
    await runAll(await createTransferTasks(plain, tmp.url("dec-plain"), o));
    await runAll(
      await createTransferTasks(plain, tmp.url("dec-sharded"), { ...o, sharded: true, shardBytes }),
    );
    expect(await readAll(tmp.url("dec-sharded"))).toEqual(await readAll(tmp.url("dec-plain")));
  });

  test("xfer to sharded and back to unsharded keeps every voxel", async () => {
    await runAll(
      await createTransferTasks(plain, tmp.url("x-sharded"), { sharded: true, shardBytes }),
    );
    await runAll(
      await createTransferTasks(tmp.url("x-sharded"), tmp.url("x-back"), { sharded: false }),
    );
    const want = await readAll(plain);
    expect(await readAll(tmp.url("x-sharded"))).toEqual(want);
    expect(await readAll(tmp.url("x-back"))).toEqual(want);
    const back = await readInfo(openStorage(tmp.url("x-back")));
    expect(back.scales[0].sharding).toBeUndefined();
    // Unsharded again: the chunk objects are the unsharded ingest's, byte for byte.
    const key = back.scales[0].key;
    const a = snapshotDir(join(tmp.dir, "plain", key));
    const b = snapshotDir(join(tmp.dir, "x-back", key));
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [k, v] of a) expect(b.get(k)?.equals(v)).toBe(true);
  });
});

describe("sharded outputs with a murmurhash3 spec", () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());
  const hashed: ShardingSpec = {
    "@type": "neuroglancer_uint64_sharded_v1",
    preshift_bits: 0,
    hash: "murmurhash3_x86_128",
    minishard_bits: 2,
    shard_bits: 2,
    minishard_index_encoding: "gzip",
    data_encoding: "gzip",
  };

  test("one task writes the whole scale and it decodes like the source", async () => {
    const src = tmp.url("src");
    await Volume.fromArray(src, fromTyped(labels(), SIZE), {
      chunkSize: CHUNK,
      voxelOffset: OFFSET,
      encoding: "compressed_segmentation",
      type: "segmentation",
    });
    const tasks = await createTransferTasks(src, tmp.url("hashed"), { sharding: hashed });
    expect(tasks.count).toBe(1);
    await runAll(tasks);
    const info = await readInfo(openStorage(tmp.url("hashed")));
    expect(info.scales[0].sharding).toEqual(hashed);
    expect(await readAll(tmp.url("hashed"))).toEqual(await readAll(src));
    expect(scaleFiles(join(tmp.dir, "hashed"), info.scales[0].key).length).toBe(4);
  });

  test("a hashed spec for a scale that does not fit one task is refused, naming scale and field", async () => {
    const src = tmp.url("src");
    const err = await createTransferTasks(src, tmp.url("refused"), {
      sharding: hashed,
      memoryTarget: 100_000,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ShardMemoryError);
    expect(err.scale).toBe("1_1_1");
    expect(err.field).toBe("sharding.hash");
    expect(String(err.message)).toMatch(/identity hash/);
  });
});

describe("shard tasks are idempotent", () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  test("rerunning, and rerunning after an interrupted run, writes the same bytes", async () => {
    const src = tmp.url("src");
    await Volume.fromArray(src, fromTyped(emLikeImage(labels(), SIZE), SIZE), {
      chunkSize: CHUNK,
      voxelOffset: OFFSET,
      type: "image",
    });
    const opts = { sharded: true, shardBytes: 8 * 16 * 16 * 8 };
    await runAll(await createTransferTasks(src, tmp.url("once"), opts));
    const once = snapshotDir(join(tmp.dir, "once"));

    // Twice over.
    const twice = [...(await createTransferTasks(src, tmp.url("twice"), opts))];
    await runAll(twice);
    await runAll(twice);
    expect(snapshotDir(join(tmp.dir, "twice"))).toEqual(once);

    // Interrupted: abort as the first shard file is written, then rerun every task.
    // The store writes the shards here (a FileBackend subclass), so its put can be watched;
    // the workers' own shard writes are interrupted in the next test.
    const tasks = [...(await createTransferTasks(src, tmp.url("cut"), opts))];
    const abort = new AbortController();
    const storage = new Storage(new (class extends FileBackend {})(join(tmp.dir, "cut")));
    const put = storage.put.bind(storage);
    storage.put = async (key, data, o) => {
      const r = await put(key, data, o);
      if (key.endsWith(".shard")) abort.abort(new Error("killed"));
      return r;
    };
    const base = createTaskContext({ signal: abort.signal });
    const ctx = {
      ...base,
      storage: (url: string) => (url === tmp.url("cut") ? storage : base.storage(url)),
    };
    let failed = false;
    for (const t of tasks) {
      try {
        await executeTask(JSON.parse(JSON.stringify(t)), ctx);
      } catch {
        failed = true;
        break;
      }
    }
    expect(failed).toBe(true);
    const partial = snapshotDir(join(tmp.dir, "cut"));
    // What is visible is whole shards only: each one is the finished run's file.
    for (const [k, v] of partial) if (k !== "info") expect(once.get(k)?.equals(v)).toBe(true);
    expect(partial.size).toBeLessThan(once.size);
    await runAll(tasks);
    expect(snapshotDir(join(tmp.dir, "cut"))).toEqual(once);
  });

  test("shard files the workers write: a run aborted after its first task, rerun, writes the same bytes", async () => {
    const src = tmp.url("src2");
    await Volume.fromArray(src, fromTyped(emLikeImage(labels(), SIZE), SIZE), {
      chunkSize: CHUNK,
      voxelOffset: OFFSET,
      type: "image",
    });
    const opts = { sharded: true, shardBytes: 8 * 16 * 16 * 8 };
    await runAll(await createTransferTasks(src, tmp.url("once2"), opts));
    const once = snapshotDir(join(tmp.dir, "once2"));
    const tasks = [...(await createTransferTasks(src, tmp.url("cut2"), opts))];
    expect(tasks.length).toBeGreaterThan(1);
    const abort = new AbortController();
    const ctx = createTaskContext({ signal: abort.signal });
    await executeTask(JSON.parse(JSON.stringify(tasks[0])), ctx);
    abort.abort(new Error("killed"));
    await expect(executeTask(JSON.parse(JSON.stringify(tasks[1])), ctx)).rejects.toBeDefined();
    const partial = snapshotDir(join(tmp.dir, "cut2"));
    for (const [k, v] of partial) if (k !== "info") expect(once.get(k)?.equals(v)).toBe(true);
    expect(partial.size).toBeLessThan(once.size);
    expect([...partial.keys()].some((k) => k.endsWith(".tmp"))).toBe(false);
    await runAll(tasks);
    expect(snapshotDir(join(tmp.dir, "cut2"))).toEqual(once);
  });
});

describe("sharded outputs refuse bad input", () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());
  let src: string;
  beforeAll(async () => {
    src = tmp.url("src");
    await Volume.fromArray(src, fromTyped(labels(), SIZE), {
      chunkSize: CHUNK,
      type: "segmentation",
      encoding: "compressed_segmentation",
    });
  });

  test("--sharded into a scale that exists unsharded, without dest", async () => {
    await runAll(await createDownsampleTasks(src, { mips: 1 }));
    const err = await createDownsampleTasks(src, { mips: 1, sharded: true }).catch((e) => e);
    expect(err).toBeInstanceOf(ShardPlanError);
    expect(err.scale).toBe("2_2_1");
    expect(err.field).toBe("sharding");
    expect(String(err.message)).toMatch(/exists unsharded.*dest/);
  });

  test("a shard size below one chunk", async () => {
    const err = await createTransferTasks(src, tmp.url("tiny"), {
      sharded: true,
      shardBytes: 1000,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ShardPlanError);
    expect(err.scale).toBe("1_1_1");
    expect(err.field).toBe("shardBytes");
    expect(String(err.message)).toMatch(/at least 8192/);
  });

  test("a shard whose task exceeds the memory target says which shard size fits", async () => {
    const err = await createTransferTasks(src, tmp.url("big"), {
      sharded: true,
      shardBytes: 64 * 8192,
      memoryTarget: 10 * 8192,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ShardMemoryError);
    expect(err.field).toBe("shardBytes");
    expect(String(err.message)).toMatch(/shardBytes of at most 16384/);
  });

  test("a sharded copy into a layer the source does not cover", async () => {
    const small = tmp.url("small");
    await Volume.fromArray(small, fromTyped(new Uint32Array(20 * 20 * 8), [20, 20, 8]), {
      chunkSize: CHUNK,
      type: "segmentation",
      encoding: "compressed_segmentation",
    });
    const err = await createTransferTasks(small, src, { sharded: true }).catch((e) => e);
    expect(err).toBeInstanceOf(ShardPlanError);
    expect(err.field).toBe("bounds");
    expect(String(err.message)).toMatch(/new layer/);
  });

  test("several mips at once of a sharded downsample", async () => {
    const err = await createDownsampleTasks(src, {
      mips: 2,
      sharded: true,
      dest: tmp.url("d2"),
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ShardPlanError);
    expect(err.field).toBe("mips");
  });
});
