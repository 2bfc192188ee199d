import { gunzipSync } from "node:zlib";
import { DecompressionError, openStorage, type Storage } from "@ngpipe/storage";
import { fromTyped } from "../array";
import { Bbox } from "../geometry/bbox";
import { createInfo } from "../info/edit";
import { type Scale, scaleForMip } from "../info/info";
import { closePool } from "../pool";
import { ShardError } from "../sharding/errors";
import { computeImageShardingSpec } from "../sharding/params";
import { ShardReader } from "../sharding/reader";
import { shardingSpec } from "../sharding/spec";
import { AlignmentError } from "../volume/errors";
import { ChunkCoder } from "./coder";
import { ShardedChunkStore, shardWriteBoxes } from "./sharded";
import type { ChunkCell, StoredChunk } from "./store";
import { UnshardedChunkStore } from "./unsharded";

afterAll(() => closePool());

let n = 0;
function setup(sharding?: ReturnType<typeof shardingSpec>): { storage: Storage; scale: Scale } {
  const info = createInfo({
    type: "image",
    dataType: "uint8",
    numChannels: 1,
    resolution: [1, 1, 1],
    voxelOffset: [3, 0, 0],
    size: [40, 32, 16],
    chunkSize: [16, 16, 8],
    encoding: "raw",
    sharding,
  });
  return { storage: openStorage(`mem://chunks-${n++}/layer`), scale: scaleForMip(info, 0) };
}

function cellsOf(scale: Scale): ChunkCell[] {
  return [...scale.bounds.chunkCells(scale.chunkSize, scale.voxelOffset, scale.bounds)];
}

/** Stored bytes that say which cell they belong to. */
function bytesFor(cell: ChunkCell): Uint8Array {
  return new TextEncoder().encode(cell.bbox.toChunkName());
}

async function readAll(
  store: UnshardedChunkStore | ShardedChunkStore,
  cells: ChunkCell[],
): Promise<Map<string, StoredChunk | null>> {
  const got = new Map<string, StoredChunk | null>();
  await store.getMany(cells, (cell, chunk) => void got.set(cell.bbox.toChunkName(), chunk));
  return got;
}

describe("UnshardedChunkStore", () => {
  test("writes one object per chunk under CloudVolume's key and reads it back", async () => {
    const { storage, scale } = setup();
    const store = new UnshardedChunkStore(storage, scale, { concurrency: 3 });
    const cells = cellsOf(scale);
    let reported = 0;
    await store.putMany(cells, async (c) => ({ bytes: bytesFor(c) }), {
      onProgress: (done) => (reported = done),
    });
    expect(reported).toBe(cells.length);
    expect(await storage.exists(`${scale.key}/3-19_0-16_0-8`)).toBe(true);
    // The dataset edge clips the last chunk's name (3 + 40 = 43).
    expect(await storage.exists(`${scale.key}/35-43_16-32_8-16`)).toBe(true);
    const got = await readAll(store, cells);
    for (const c of cells)
      expect(Buffer.from(got.get(c.bbox.toChunkName())!.bytes).toString()).toBe(
        c.bbox.toChunkName(),
      );
  });

  test("reports absent chunks as null and by existsMany, and deletes", async () => {
    const { storage, scale } = setup();
    const store = new UnshardedChunkStore(storage, scale);
    const cells = cellsOf(scale);
    await store.putMany(cells.slice(0, 2), async (c) => ({ bytes: bytesFor(c) }));
    expect(await store.existsMany(cells)).toEqual(cells.map((_, i) => i < 2));
    const got = await readAll(store, cells);
    expect(got.get(cells[3].bbox.toChunkName())).toBeNull();
    await store.deleteMany(cells.slice(0, 1));
    expect((await store.existsMany(cells)).slice(0, 2)).toEqual([false, true]);
  });

  test("keeps the transport compression a chunk was written with", async () => {
    const { storage, scale } = setup();
    const store = new UnshardedChunkStore(storage, scale, { writeCompression: "gzip" });
    const coder = new ChunkCoder({
      encoding: "raw",
      dtype: "uint8",
      numChannels: 1,
      url: storage.url,
      scaleKey: scale.key,
    });
    const [cell] = cellsOf(scale);
    const voxels = new Uint8Array(16 * 16 * 8).map((_, i) => i % 251);
    await store.putMany([cell], (c) =>
      coder.encode(voxels.slice(), c.bbox, "gzip", { pooled: false }),
    );
    const got = await readAll(store, [cell]);
    const stored = got.get(cell.bbox.toChunkName())!;
    expect(stored.compression).toBe("gzip");
    expect(Buffer.from(gunzipSync(stored.bytes)).equals(Buffer.from(voxels))).toBe(true);
  });

  test("update patches a chunk and retries when another writer changed it in between", async () => {
    const { storage, scale } = setup();
    const store = new UnshardedChunkStore(storage, scale);
    const [cell] = cellsOf(scale);
    await store.putMany([cell], async () => ({ bytes: new Uint8Array([1]) }));
    let calls = 0;
    await store.update(cell, async (current) => {
      calls++;
      // The first time round, a concurrent writer replaces the chunk.
      if (calls === 1)
        await storage.put(`${scale.key}/${cell.bbox.toChunkName()}`, new Uint8Array([2]));
      return { bytes: new Uint8Array([current!.bytes[0], 9]) };
    });
    expect(calls).toBe(2);
    expect([...(await readAll(store, [cell])).get(cell.bbox.toChunkName())!.bytes]).toEqual([2, 9]);
  });

  test("a write hands each chunk's bytes to release once stored; only file:// and mem:// take shared bytes", async () => {
    const { storage, scale } = setup();
    const store = new UnshardedChunkStore(storage, scale, { concurrency: 3 });
    expect(store.acceptsSharedBytes).toBe(true);
    expect(new UnshardedChunkStore(openStorage("file:///tmp/x"), scale).acceptsSharedBytes).toBe(
      true,
    );
    expect(
      new UnshardedChunkStore(openStorage("http://127.0.0.1:9/x"), scale).acceptsSharedBytes,
    ).toBe(false);
    const cells = cellsOf(scale);
    const given = new Map<Uint8Array, string>();
    const released: string[] = [];
    await store.putMany(
      cells,
      async (c) => {
        const bytes = bytesFor(c);
        given.set(bytes, c.bbox.toChunkName());
        return { bytes };
      },
      {
        release: (bytes) => {
          const name = given.get(bytes)!;
          // Released only once stored.
          expect(storage.backend.exists!(`${scale.key}/${name}`)).toBe(true);
          released.push(name);
        },
      },
    );
    expect(released.sort()).toEqual(cells.map((c) => c.bbox.toChunkName()).sort());
  });

  test("an aborted signal stops a batch", async () => {
    const { storage, scale } = setup();
    const store = new UnshardedChunkStore(storage, scale);
    const ac = new AbortController();
    ac.abort();
    let asked = 0;
    await expect(
      store.putMany(
        cellsOf(scale),
        async (c) => {
          asked++;
          return { bytes: bytesFor(c) };
        },
        { signal: ac.signal },
      ),
    ).rejects.toMatchObject({ name: "AbortError" });
    expect(asked).toBe(0);
  });
});

describe("ShardedChunkStore", () => {
  const spec = () =>
    computeImageShardingSpec({
      size: [40, 32, 16],
      chunkSize: [16, 16, 8],
      bytesPerVoxel: 1,
      uncompressedShardBytes: 16 * 16 * 8 * 4,
    });

  test("writes whole shard files with one put each and reads every chunk back", async () => {
    const { storage, scale } = setup(spec());
    const store = new ShardedChunkStore(storage, scale);
    const puts: string[] = [];
    const put = storage.put.bind(storage);
    storage.put = (key, data, opts) => {
      puts.push(key);
      return put(key, data, opts);
    };
    const boxes = shardWriteBoxes(scale, scale.bounds, storage.url);
    expect(boxes.length).toBeGreaterThan(1);
    for (const box of boxes) {
      const cells = [...box.chunkCells(scale.chunkSize, scale.voxelOffset, scale.bounds)];
      await store.putMany(cells, async (c) => ({ bytes: bytesFor(c), compression: "gzip" }));
    }
    expect(puts.length).toBe(boxes.length);
    expect(puts.every((k) => k.startsWith(`${scale.key}/`) && k.endsWith(".shard"))).toBe(true);
    const cells = cellsOf(scale);
    const got = await readAll(store, cells);
    for (const c of cells) {
      const chunk = got.get(c.bbox.toChunkName())!;
      expect(chunk.compression).toBe("gzip");
      expect(Buffer.from(chunk.bytes).toString()).toBe(c.bbox.toChunkName());
    }
    expect(await store.existsMany(cells)).toEqual(cells.map(() => true));
  });

  test("a shard write releases every chunk's bytes after its shard files are written", async () => {
    const { storage, scale } = setup(spec());
    const store = new ShardedChunkStore(storage, scale);
    expect(store.acceptsSharedBytes).toBe(true);
    let written = 0;
    const put = storage.put.bind(storage);
    storage.put = async (key, data, opts) => {
      const r = await put(key, data, opts);
      written++;
      return r;
    };
    const [box] = shardWriteBoxes(scale, scale.bounds, storage.url);
    const cells = [...box.chunkCells(scale.chunkSize, scale.voxelOffset, scale.bounds)];
    const given = new Set<Uint8Array>();
    const released = new Set<Uint8Array>();
    await store.putMany(
      cells,
      async (c) => {
        const bytes = bytesFor(c);
        given.add(bytes);
        return { bytes, compression: "gzip" };
      },
      {
        release: (bytes) => {
          expect(written).toBe(1);
          released.add(bytes);
        },
      },
    );
    expect(released).toEqual(given);
    expect(released.size).toBe(cells.length);
  });

  test("chunks are stored exactly as ShardReader reads them (data_encoding applied once)", async () => {
    const { storage, scale } = setup(
      shardingSpec({ preshift_bits: 9, minishard_bits: 0, shard_bits: 0, data_encoding: "gzip" }),
    );
    const store = new ShardedChunkStore(storage, scale);
    const coder = new ChunkCoder({
      encoding: "raw",
      dtype: "uint8",
      numChannels: 1,
      url: storage.url,
      scaleKey: scale.key,
    });
    const cells = cellsOf(scale);
    await store.putMany(cells, (c) => {
      const s = c.bbox.size();
      return coder.encode(
        new Uint8Array(s[0] * s[1] * s[2]).fill(c.grid[0] + 1),
        c.bbox,
        store.writeCompression,
        { pooled: false },
      );
    });
    const reader = new ShardReader(storage, scale.sharding!, { prefix: scale.key });
    const plain = await reader.get(store.id(cells[2]));
    expect(plain?.every((v) => v === cells[2].grid[0] + 1)).toBe(true);
  });

  test("a write larger than maxShardBytes is refused before anything is written", async () => {
    const { storage, scale } = setup(spec());
    const store = new ShardedChunkStore(storage, scale, { maxShardBytes: 30 });
    const [box] = shardWriteBoxes(scale, scale.bounds, storage.url);
    const cells = [...box.chunkCells(scale.chunkSize, scale.voxelOffset, scale.bounds)];
    await expect(
      store.putMany(cells, async (c) => ({ bytes: bytesFor(c), compression: "gzip" })),
    ).rejects.toThrow(ShardError);
    const keys: string[] = [];
    for await (const k of storage.list(`${scale.key}/`)) keys.push(k);
    expect(keys).toEqual([]);
  });

  test("chunks of the wrong transport compression are refused", async () => {
    const { storage, scale } = setup(spec());
    const store = new ShardedChunkStore(storage, scale);
    const [box] = shardWriteBoxes(scale, scale.bounds, storage.url);
    const cells = [...box.chunkCells(scale.chunkSize, scale.voxelOffset, scale.bounds)];
    await expect(store.putMany(cells, async (c) => ({ bytes: bytesFor(c) }))).rejects.toThrow(
      /data_encoding gzip/,
    );
  });

  test("missing chunks read as null; chunks cannot be deleted one by one", async () => {
    const { storage, scale } = setup(spec());
    const store = new ShardedChunkStore(storage, scale);
    const cells = cellsOf(scale);
    const got = await readAll(store, cells);
    expect([...got.values()].every((c) => c === null)).toBe(true);
    expect(await store.existsMany(cells)).toEqual(cells.map(() => false));
    await expect(store.deleteMany(cells)).rejects.toThrow(AlignmentError);
  });

  test("shardWriteBoxes refuses a box that is not whole shards, naming the aligned box", () => {
    const { storage, scale } = setup(spec());
    const [first] = shardWriteBoxes(scale, scale.bounds, storage.url);
    const half = new Bbox(first.min, [first.min[0] + 16, first.max[1], first.max[2]]);
    expect(() => shardWriteBoxes(scale, half, storage.url)).toThrow(/must cover whole shards/);
  });
});

describe("ChunkCoder", () => {
  const coder = new ChunkCoder({
    encoding: "compressed_segmentation",
    dtype: "uint32",
    numChannels: 1,
    blockSize: [8, 8, 8],
    url: "mem://coder/layer",
    scaleKey: "1_1_1",
  });
  const { scale } = setup();
  const [cell] = cellsOf(scale);
  const labels = () => new Uint32Array(16 * 16 * 8).map((_, i) => (i >> 5) % 7);

  test("pooled and inline coding give the same bytes and the same voxels", async () => {
    const inline = await coder.encode(labels(), cell.bbox, "gzip", { pooled: false });
    const pooled = await coder.encode(labels(), cell.bbox, "gzip", { pooled: true });
    expect(Buffer.from(pooled.bytes).equals(Buffer.from(inline.bytes))).toBe(true);
    for (const p of [true, false]) {
      // Pooled decoding moves the bytes to the worker: give it a copy.
      const copy = { bytes: inline.bytes.slice(), compression: inline.compression };
      const back = await coder.decode(copy, cell.bbox, { pooled: p });
      expect(Array.from(back as Uint32Array)).toEqual(Array.from(labels()));
    }
  });

  test("encodeFrom into shared memory gives the bytes of a plain encode, as a view of that memory", async () => {
    const source = new Uint32Array(new SharedArrayBuffer(16 * 16 * 8 * 4));
    source.set(labels());
    const array = fromTyped(source, [16, 16, 8, 1]);
    const plain = await coder.encode(labels(), cell.bbox, "gzip", { pooled: false });
    const into = new Uint8Array(new SharedArrayBuffer(64 * 1024));
    const got = await coder.encodeFrom(array, cell.bbox, cell.bbox, "gzip", { into });
    expect(got.bytes.buffer).toBe(into.buffer);
    expect(Buffer.from(got.bytes).equals(Buffer.from(plain.bytes))).toBe(true);
    const small = new Uint8Array(new SharedArrayBuffer(8));
    const fresh = await coder.encodeFrom(array, cell.bbox, cell.bbox, "gzip", { into: small });
    expect(fresh.bytes.buffer).toBeInstanceOf(ArrayBuffer);
    expect(Buffer.from(fresh.bytes).equals(Buffer.from(plain.bytes))).toBe(true);
    for (const compression of [undefined, "gzip"] as const) {
      const none = await coder.encode(labels(), cell.bbox, compression, { pooled: false });
      const raw = await coder.encodeFrom(array, cell.bbox, cell.bbox, compression, { into });
      expect(Buffer.from(raw.bytes).equals(Buffer.from(none.bytes))).toBe(true);
    }
  });

  test("only batches, or lone chunks of 1 MiB or more, of built-in encodings go to the pool", () => {
    expect(coder.pooled(1)).toBe(false);
    expect(coder.pooled(2)).toBe(true);
    expect(coder.pooled(1, 1024 * 1024 - 1)).toBe(false);
    expect(coder.pooled(1, 1024 * 1024)).toBe(true);
    expect(coder.pooled(0, 1024 * 1024)).toBe(false);
    const custom = new ChunkCoder({ ...coder.options, encoding: "my_codec" });
    expect(custom.pooled(100)).toBe(false);
    expect(new ChunkCoder({ ...coder.options, workers: false }).pooled(100)).toBe(false);
  });

  test("bytes that do not decompress are a DecompressionError naming the layer and chunk key, pooled or not", async () => {
    for (const pooled of [true, false]) {
      const err = await coder
        .decode({ bytes: new Uint8Array([1, 2, 3]), compression: "gzip" }, cell.bbox, { pooled })
        .catch((e) => e);
      expect(err).toBeInstanceOf(DecompressionError);
      expect(err.url).toBe("mem://coder/layer");
      expect(err.key).toBe(`1_1_1/${cell.bbox.toChunkName()}`);
    }
  });
});
