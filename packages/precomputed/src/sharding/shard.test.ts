import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import { ShardError, ShardSpecError } from "./errors";
import fixtures from "./fixtures/shards.json";
import { ShardReader } from "./reader";
import { buildShard, buildShards, decodeMinishardIndex, encodeMinishardIndex } from "./shard";
import {
  type ShardingSpec,
  shardFileName,
  shardingSpec,
  shardLocation,
  shardNumberFor,
} from "./spec";
import { writeShards } from "./writer";

/** A tiny in-memory store with `get(key, {range})` that records every request. */
class CountingStore {
  url = "mem://shards";
  objects = new Map<string, Uint8Array>();
  requests: { key: string; start: number; end?: number }[] = [];
  async get(key: string, opts?: { range?: { start: number; end?: number } }) {
    const o = this.objects.get(key);
    const r = opts?.range ?? { start: 0 };
    this.requests.push({ key, ...r });
    if (!o) return null;
    const data = o.subarray(r.start, r.end ?? o.length);
    return { data, info: { size: o.length } };
  }
}

function b64(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "base64"));
}

describe("buildShard is byte-exact against the Python reference", () => {
  test.each(fixtures.map((f, i) => [i, f] as const))("fixture %i", (_i, f) => {
    const spec = f.spec as ShardingSpec;
    const entries = f.entries.map((e) => ({ id: BigInt(e.id), data: b64(e.data) }));
    const files = buildShards(entries, spec);
    expect([...files.keys()].sort()).toEqual(Object.keys(f.files).sort());
    for (const [name, bytes] of files)
      expect(Buffer.from(bytes).toString("base64")).toBe(f.files[name as keyof typeof f.files]);
  });

  test("and ShardReader reads every reference chunk back", async () => {
    for (const f of fixtures) {
      const spec = f.spec as ShardingSpec;
      const store = new CountingStore();
      for (const [name, data] of Object.entries(f.files))
        store.objects.set(`0_0_0/${name}`, b64(data));
      const reader = new ShardReader(store, spec, { prefix: "0_0_0" });
      for (const e of f.entries)
        expect(Buffer.from((await reader.get(BigInt(e.id)))!).toString("base64")).toBe(e.data);
    }
  });
});

describe("shard locations", () => {
  const spec = shardingSpec({ preshift_bits: 2, minishard_bits: 3, shard_bits: 5 });
  test("identity hash: minishard = bits [0, m), shard = bits [m, m + s) of id >> preshift", () => {
    const id = 0b1011_0110_1101n << 2n;
    expect(shardLocation(spec, id)).toEqual({ minishard: 0b101, shard: 0b01101 });
    expect(shardNumberFor(id, spec)).toBe(0b01101);
  });

  test("file names are lowercase hex padded to ceil(shard_bits / 4) digits", () => {
    expect(shardFileName(0x1a, spec)).toBe("1a.shard");
    expect(shardFileName(3, spec)).toBe("03.shard");
    expect(shardFileName(0, shardingSpec({ minishard_bits: 1, shard_bits: 0 }))).toBe("0.shard");
    expect(shardFileName(0xabc, shardingSpec({ minishard_bits: 1, shard_bits: 9 }))).toBe(
      "abc.shard",
    );
  });

  test("invalid specs are rejected", () => {
    expect(() => shardingSpec({ minishard_bits: 40, shard_bits: 30 })).toThrow(ShardSpecError);
    expect(() => shardingSpec({ minishard_bits: 1, shard_bits: 1, hash: "sha1" as never })).toThrow(
      /hash/,
    );
  });
});

describe("minishard index encoding", () => {
  test("delta-encodes ids (mod 2^64) and offsets relative to the previous chunk's end", () => {
    const ids = [5n, 9n, 2n ** 64n - 1n];
    const bytes = encodeMinishardIndex(ids, [0, 10, 30], [10, 20, 5]);
    const v = new BigUint64Array(bytes.buffer);
    expect([...v]).toEqual([5n, 4n, 2n ** 64n - 10n, 0n, 0n, 0n, 10n, 20n, 5n]);
    const mi = decodeMinishardIndex(bytes, 100);
    expect([...mi.starts]).toEqual([100, 110, 130]);
    expect([...mi.sizes]).toEqual([10, 20, 5]);
    expect([...mi.idWords]).toEqual([5, 0, 9, 0, 0xffffffff, 0xffffffff]);
  });

  test("a length that is not a multiple of 24 is a ShardError", () => {
    expect(() => decodeMinishardIndex(new Uint8Array(30), 0, "x.shard")).toThrow(ShardError);
  });
});

describe("ShardReader", () => {
  const idArb = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
  const entriesArb = fc.uniqueArray(
    fc.record({ id: idArb, data: fc.uint8Array({ maxLength: 40 }) }),
    { selector: (e) => e.id, minLength: 1, maxLength: 60 },
  );

  for (const enc of ["raw", "gzip"] as const) {
    test(`reads back every chunk of random shards (${enc} encodings, murmurhash)`, async () => {
      await fc.assert(
        fc.asyncProperty(entriesArb, async (entries) => {
          const spec = shardingSpec({
            hash: "murmurhash3_x86_128",
            preshift_bits: 1,
            minishard_bits: 3,
            shard_bits: 2,
            minishard_index_encoding: enc,
            data_encoding: enc,
          });
          const store = new CountingStore();
          for (const [name, bytes] of buildShards(entries, spec)) store.objects.set(name, bytes);
          const reader = new ShardReader(store, spec);
          for (const e of entries) expect(await reader.get(e.id)).toEqual(e.data);
          const many = await reader.getMany(entries.map((e) => e.id));
          for (const e of entries) expect(many.get(e.id)).toEqual(e.data);
        }),
        { numRuns: 25 },
      );
    });
  }

  test("missing chunks, minishards and shard files read as null", async () => {
    const spec = shardingSpec({ minishard_bits: 2, shard_bits: 2 });
    const store = new CountingStore();
    // Shard 0 holds ids 0 (minishard 0) and 4 (minishard 0); minishard 1 is empty.
    store.objects.set(
      "0.shard",
      buildShard(
        [
          { id: 0n, data: Uint8Array.of(1) },
          { id: 16n, data: Uint8Array.of(2) },
        ],
        spec,
      ),
    );
    const reader = new ShardReader(store, spec);
    expect(await reader.get(32n)).toBeNull(); // same minishard, absent id
    expect(await reader.get(1n)).toBeNull(); // empty minishard
    expect(await reader.get(4n)).toBeNull(); // shard 1 does not exist
    expect(await reader.get(16n)).toEqual(Uint8Array.of(2));
  });

  test("fetches only the shard index, the minishard index and the chunk, and caches indexes", async () => {
    const spec = shardingSpec({ minishard_bits: 4, shard_bits: 1, preshift_bits: 0 });
    const entries = Array.from({ length: 32 }, (_, i) => ({
      id: BigInt(i),
      data: new Uint8Array(100).fill(i),
    }));
    const store = new CountingStore();
    for (const [name, bytes] of buildShards(entries, spec)) store.objects.set(name, bytes);
    const reader = new ShardReader(store, spec);
    expect(await reader.get(3n)).toEqual(new Uint8Array(100).fill(3));
    expect(store.requests).toEqual([
      { key: "0.shard", start: 0, end: 256 },
      expect.objectContaining({ key: "0.shard" }),
      expect.objectContaining({ key: "0.shard" }),
    ]);
    const [, mini, chunk] = store.requests;
    expect(mini.end! - mini.start).toBe(24); // one entry in minishard 3
    expect(chunk.end! - chunk.start).toBe(100);
    store.requests = [];
    await reader.get(3n);
    expect(store.requests).toHaveLength(1); // both indexes cached
    store.requests = [];
    await reader.get(19n); // other shard, minishard 3: new shard index + minishard index + chunk
    expect(store.requests.map((r) => r.key)).toEqual(["1.shard", "1.shard", "1.shard"]);
  });

  test("locateChunk gives the stored byte range; listChunkIds lists a shard", async () => {
    const spec = shardingSpec({ minishard_bits: 2, shard_bits: 1, data_encoding: "gzip" });
    const entries = Array.from({ length: 20 }, (_, i) => ({
      id: BigInt(i * 3),
      data: Uint8Array.of(i),
    }));
    const store = new CountingStore();
    for (const [name, bytes] of buildShards(entries, spec)) store.objects.set(name, bytes);
    const reader = new ShardReader(store, spec);
    const loc = await reader.locateChunk(9n);
    expect(loc?.key).toBe(shardFileName(shardNumberFor(9n, spec), spec));
    const stored = store.objects.get(loc!.key)!.subarray(loc!.start, loc!.end);
    expect(new Uint8Array(gunzipSync(stored))).toEqual(Uint8Array.of(3));
    expect(await reader.locateChunk(10n)).toBeNull();
    const ids = [...(await reader.listChunkIds(0)), ...(await reader.listChunkIds(1))];
    expect(ids.sort((a, b) => Number(a - b))).toEqual(entries.map((e) => e.id));
    expect((await reader.listChunkIds(1)).sort((a, b) => Number(a - b))).toEqual(
      entries
        .filter((e) => shardNumberFor(e.id, spec) === 1)
        .map((e) => e.id)
        .sort((a, b) => Number(a - b)),
    );
  });

  test("getMany groups by minishard and coalesces contiguous chunks into one range", async () => {
    const spec = shardingSpec({ minishard_bits: 1, shard_bits: 0, preshift_bits: 3 });
    // preshift 3: ids 0..7 share minishard 0, 8..15 minishard 1.
    const entries = Array.from({ length: 16 }, (_, i) => ({
      id: BigInt(i),
      data: new Uint8Array(10).fill(i),
    }));
    const store = new CountingStore();
    store.objects.set("0.shard", buildShard(entries, spec));
    const reader = new ShardReader(store, spec, { maxGapBytes: 0 });
    const ids = [0n, 1n, 2n, 3n, 9n, 10n, 99n];
    const got = await reader.getMany(ids);
    expect(got.get(2n)).toEqual(new Uint8Array(10).fill(2));
    expect(got.get(10n)).toEqual(new Uint8Array(10).fill(10));
    expect(got.get(99n)).toBeNull();
    // shard index, 2 minishard indexes (99 >> 3 = 12 -> minishard 0, shared), 2 coalesced runs.
    const sizes = store.requests.map((r) => r.end! - r.start);
    expect(store.requests).toHaveLength(5);
    expect(sizes.filter((s) => s === 40)).toHaveLength(1); // chunks 0..3 in one request
    expect(sizes.filter((s) => s === 20)).toHaveLength(1); // chunks 9..10 in one request
  });

  test("getMany reads chunks a small gap apart with one range request, up to maxRangeBytes", async () => {
    const spec = shardingSpec({ minishard_bits: 0, shard_bits: 0, preshift_bits: 0 });
    const entries = Array.from({ length: 16 }, (_, i) => ({
      id: BigInt(i),
      data: new Uint8Array(10).fill(i),
    }));
    const store = new CountingStore();
    store.objects.set("0.shard", buildShard(entries, spec));
    const ids = [0n, 1n, 5n, 6n, 15n];
    const gapped = await new ShardReader(store, spec, { maxGapBytes: 40 }).getMany(ids);
    for (const id of ids) expect(gapped.get(id)).toEqual(new Uint8Array(10).fill(Number(id)));
    // shard index, minishard index, then 0..6 in one range (gap 30 bytes) and 15 alone (gap 80).
    expect(store.requests.map((r) => r.end! - r.start).slice(2)).toEqual([70, 10]);
    store.requests.length = 0;
    await new ShardReader(store, spec, { maxGapBytes: 1000, maxRangeBytes: 40 }).getMany(ids);
    // Runs stop growing at 40 bytes: [0, 1], [5, 6], [15].
    expect(store.requests.map((r) => r.end! - r.start).slice(2)).toEqual([20, 20, 10]);
  });

  test("coalesced ranges stop at 256 KiB on local storage and at 8 MiB on remote storage", async () => {
    const spec = shardingSpec({ minishard_bits: 0, shard_bits: 0, preshift_bits: 0 });
    // 48 chunks of 64 KiB, back to back: 3 MiB of chunk data.
    const entries = Array.from({ length: 48 }, (_, i) => ({
      id: BigInt(i),
      data: new Uint8Array(65536).fill(i),
    }));
    const shard = buildShard(entries, spec);
    const ids = entries.map((e) => e.id);
    const dataRequests = async (url: string) => {
      const store = new CountingStore();
      store.url = url;
      store.objects.set("0.shard", shard);
      const got = await new ShardReader(store, spec).getMany(ids);
      expect(got.get(47n)).toEqual(new Uint8Array(65536).fill(47));
      return store.requests.slice(2).map((r) => r.end! - r.start);
    };
    expect(await dataRequests("file:///data/layer")).toEqual(Array(12).fill(4 * 65536));
    expect(await dataRequests("mem://layer")).toHaveLength(12);
    for (const url of ["s3://bucket/layer", "gs://bucket/layer", "https://host/layer"])
      expect(await dataRequests(url)).toEqual([48 * 65536]);
  });

  test("corrupt or truncated shards raise ShardError naming the file and chunk", async () => {
    const spec = shardingSpec({ minishard_bits: 1, shard_bits: 0 });
    const good = buildShard([{ id: 0n, data: new Uint8Array(50) }], spec);
    const store = new CountingStore();
    store.objects.set("0.shard", good.subarray(0, 20));
    await expect(new ShardReader(store, spec).get(0n)).rejects.toThrow(
      /mem:\/\/shards\/0.shard.*shard index is 20 bytes, expected 32/,
    );

    store.objects.set("0.shard", good.subarray(0, good.length - 30));
    await expect(new ShardReader(store, spec).get(0n)).rejects.toThrow(ShardError);

    const bad = good.slice();
    new DataView(bad.buffer).setBigUint64(0, 1000n, true); // start after end
    store.objects.set("0.shard", bad);
    await expect(new ShardReader(store, spec).get(0n)).rejects.toThrow(/ends .* before it starts/);

    const gz = shardingSpec({ minishard_bits: 1, shard_bits: 0, data_encoding: "gzip" });
    const g = buildShard([{ id: 0n, data: new Uint8Array(50) }], gz);
    const flipped = g.slice();
    flipped[32 + 12] ^= 0xff; // inside the gzip stream of chunk 0
    store.objects.set("0.shard", flipped);
    await expect(new ShardReader(store, gz).get(0n)).rejects.toThrow(/chunk 0/);
  });

  test("buildShard refuses chunks of different shards and repeated ids", () => {
    const spec = shardingSpec({ minishard_bits: 0, shard_bits: 1 });
    expect(() =>
      buildShard(
        [
          { id: 0n, data: new Uint8Array(1) },
          { id: 1n, data: new Uint8Array(1) },
        ],
        spec,
      ),
    ).toThrow(/belongs to shard 1.shard, not 0.shard/);
    expect(() =>
      buildShard(
        [
          { id: 2n, data: new Uint8Array(1) },
          { id: 2n, data: new Uint8Array(1) },
        ],
        spec,
      ),
    ).toThrow(/appears twice/);
  });
});

describe("writeShards", () => {
  test("writes every shard uncompressed under the prefix, readable by ShardReader", async () => {
    const spec = shardingSpec({ minishard_bits: 1, shard_bits: 2 });
    const store = new CountingStore();
    const puts: unknown[] = [];
    const writer = {
      url: store.url,
      async put(key: string, data: Uint8Array, opts?: unknown) {
        store.objects.set(key, data);
        puts.push(opts);
      },
    };
    const entries = Array.from({ length: 8 }, (_, i) => ({
      id: BigInt(i),
      data: Uint8Array.of(i, i),
    }));
    const keys = await writeShards(writer, entries, spec, { prefix: "16_16_40" });
    expect(keys).toEqual([
      "16_16_40/0.shard",
      "16_16_40/1.shard",
      "16_16_40/2.shard",
      "16_16_40/3.shard",
    ]);
    expect(puts[0]).toMatchObject({ compress: false, contentType: "application/octet-stream" });
    const reader = new ShardReader(store, spec, { prefix: "16_16_40/" });
    expect(await reader.get(7n)).toEqual(Uint8Array.of(7, 7));
  });
});

test("an entry's prefix is stored right before its indexed data, outside the index range", async () => {
  const spec = shardingSpec({
    hash: "murmurhash3_x86_128",
    minishard_bits: 1,
    shard_bits: 0,
    minishard_index_encoding: "gzip",
  });
  const entries = [
    { id: 7n, data: new Uint8Array([1, 2, 3]), prefix: new Uint8Array([9, 9, 9, 9]) },
    { id: 8n, data: new Uint8Array([4]), prefix: new Uint8Array([5, 5]) },
  ];
  const store = new CountingStore();
  store.objects.set(shardFileName(0, spec), buildShard(entries, spec));
  const reader = new ShardReader(store, spec);
  for (const e of entries) {
    expect(await reader.get(e.id)).toEqual(e.data);
    const at = (await reader.locateChunk(e.id))!;
    const file = store.objects.get(at.key)!;
    expect(file.subarray(at.start - e.prefix.length, at.start)).toEqual(e.prefix);
  }
});
