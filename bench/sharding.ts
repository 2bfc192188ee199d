/**
 * Sharded-format benchmark, single thread:
 *
 *   murmurhash3_x86_128 of uint64 ids (the shard hash), ids/s
 *   compressed Morton codes of a 1000x1000x100 chunk grid, codes/s
 *   shard location (preshift + hash + bit fields) per id, ids/s
 *   buildShard of 4096 chunks of 16 KiB (raw encodings), MB/s
 *   ShardReader.getMany of those 4096 chunks from an in-memory store, chunks/s and MB/s
 *
 * The best and the median of the runs are printed.
 *
 * Run: npx tsx bench/sharding.ts [runs]
 */
import { compressedMortonCode, mortonPlan } from "../packages/precomputed/src/sharding/morton";
import { murmurHash3X86_128Low64 } from "../packages/precomputed/src/sharding/murmurhash";
import { ShardReader } from "../packages/precomputed/src/sharding/reader";
import { buildShard } from "../packages/precomputed/src/sharding/shard";
import { shardingSpec, shardLocationOf } from "../packages/precomputed/src/sharding/spec";

const runs = Number(process.argv[2] ?? 7);

async function bench(name: string, units: number, unit: string, fn: () => unknown): Promise<void> {
  await fn();
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const rate = (ms: number) => (units / (ms / 1e3)).toFixed(1);
  console.log(
    `${name.padEnd(44)} best ${times[0].toFixed(1).padStart(8)} ms ${rate(times[0]).padStart(10)} ${unit}` +
      `   median ${times[times.length >> 1].toFixed(1).padStart(8)} ms ${rate(times[times.length >> 1]).padStart(10)} ${unit}`,
  );
}

async function main(): Promise<void> {
  console.log(`# npx tsx bench/sharding.ts ${runs}  (node ${process.version}, ${runs} runs)`);
  const n = 2_000_000;
  const out = new Uint32Array(2);
  let sink = 0;

  await bench("murmurhash3_x86_128 low64 of uint64 ids", n / 1e6, "Mids/s", () => {
    for (let i = 0; i < n; i++) {
      murmurHash3X86_128Low64(i, i >>> 3, 0, out);
      sink ^= out[0];
    }
  });

  const plan = mortonPlan([1000, 1000, 100]);
  await bench("compressed Morton code, grid 1000x1000x100", 1e7 / 1e6, "Mcodes/s", () => {
    for (let z = 0; z < 10; z++)
      for (let y = 0; y < 1000; y++)
        for (let x = 0; x < 1000; x++) {
          compressedMortonCode(plan, x, y, z, out);
          sink ^= out[0];
        }
  });

  const hashed = shardingSpec({
    hash: "murmurhash3_x86_128",
    preshift_bits: 0,
    minishard_bits: 6,
    shard_bits: 10,
  });
  await bench("shard location (murmurhash spec)", n / 1e6, "Mids/s", () => {
    for (let i = 0; i < n; i++) sink ^= shardLocationOf(hashed, i, 0).shard;
  });

  const spec = shardingSpec({ preshift_bits: 6, minishard_bits: 6, shard_bits: 0 });
  const chunkBytes = 16 * 1024;
  const entries = Array.from({ length: 4096 }, (_, i) => ({
    id: BigInt(i),
    data: new Uint8Array(chunkBytes).fill(i & 255),
  }));
  const mb = (4096 * chunkBytes) / 1e6;
  let shard: Uint8Array = new Uint8Array(0);
  await bench("buildShard 4096 x 16 KiB chunks (raw)", mb, "MB/s", () => {
    shard = buildShard(entries, spec);
  });

  const store = {
    url: "mem://bench",
    async get(_key: string, opts?: { range?: { start: number; end?: number } }) {
      const r = opts?.range ?? { start: 0 };
      return shard.subarray(r.start, r.end ?? shard.length);
    },
  };
  const ids = entries.map((e) => e.id);
  await bench("ShardReader.getMany 4096 chunks (cold cache)", 4096 / 1e3, "kchunks/s", () =>
    new ShardReader(store, spec).getMany(ids),
  );
  const warm = new ShardReader(store, spec);
  await bench("ShardReader.get one by one (warm cache)", 4096 / 1e3, "kchunks/s", async () => {
    for (const id of ids) await warm.get(id);
  });
  if (sink === 0.5) console.log(sink);
}

main();
