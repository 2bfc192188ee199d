import { shardsAreBoxes } from "./params";
import {
  DEFAULT_SHARD_MEMORY,
  planImageSharding,
  SHARD_TASK_BUFFERS,
  ShardMemoryError,
  ShardPlanError,
} from "./plan";
import type { ShardingSpec } from "./spec";

const base = {
  scale: "8_8_40",
  size: [4096, 4096, 512] as [number, number, number],
  chunkSize: [128, 128, 64] as [number, number, number],
  dataType: "uint8" as const,
  numChannels: 1,
  encoding: "raw",
};
const CHUNK_BYTES = 128 * 128 * 64;

describe("planImageSharding", () => {
  test("defaults: identity hash, gzip indexes and data, a shard within the memory rule", () => {
    const plan = planImageSharding(base);
    expect(plan.spec).toMatchObject({
      hash: "identity",
      minishard_index_encoding: "gzip",
      data_encoding: "gzip",
    });
    expect(plan.spatial).toBe(true);
    expect(plan.taskMemory).toBe(plan.shardBytes * (1 + SHARD_TASK_BUFFERS));
    expect(plan.taskMemory).toBeLessThanOrEqual(DEFAULT_SHARD_MEMORY);
    // The largest power of two of chunks within 3.5 GB / 5: 512 chunks of 1 MiB.
    expect(plan.shardBytes).toBe(512 * CHUNK_BYTES);
    expect(plan.taskShape[0] * plan.taskShape[1] * plan.taskShape[2]).toBe(512 * CHUNK_BYTES);
  });

  test("jpeg and png data is stored raw in the shard", () => {
    expect(planImageSharding({ ...base, encoding: "jpeg" }).spec.data_encoding).toBe("raw");
    expect(planImageSharding({ ...base, encoding: "png" }).spec.data_encoding).toBe("raw");
    expect(
      planImageSharding({ ...base, dataType: "uint32", encoding: "compressed_segmentation" }).spec
        .data_encoding,
    ).toBe("gzip");
  });

  test("shardBytes sets the number of chunks per shard (a power of two)", () => {
    const plan = planImageSharding({ ...base, shardBytes: 10 * CHUNK_BYTES });
    expect(plan.shardBytes).toBe(8 * CHUNK_BYTES);
    expect(plan.taskShape).toEqual([256, 256, 128]);
  });

  test("a downsample task reads factor x the shard: smaller shards for the same memory", () => {
    const one = planImageSharding(base);
    const four = planImageSharding({ ...base, readFactor: 4 });
    expect(four.shardBytes).toBeLessThan(one.shardBytes);
    expect(four.taskMemory).toBe(four.shardBytes * (4 + SHARD_TASK_BUFFERS));
  });

  test("a non-divisible scale: shards cover it, and the task box is clipped to the chunk grid", () => {
    const plan = planImageSharding({ ...base, size: [300, 200, 70], shardBytes: 1e12 });
    // The whole scale is one shard of 3x2x2 chunks rounded up.
    expect(plan.taskShape).toEqual([512, 256, 128]);
    expect(plan.shardBytes).toBe(384 * 256 * 128);
  });

  test("shardBytes below one chunk is refused naming the scale and field", () => {
    const err = (() => {
      try {
        planImageSharding({ ...base, shardBytes: 1000 });
      } catch (e) {
        return e as ShardPlanError;
      }
    })();
    expect(err).toBeInstanceOf(ShardPlanError);
    expect(err?.scale).toBe("8_8_40");
    expect(err?.field).toBe("shardBytes");
    expect(err?.message).toMatch(`at least ${CHUNK_BYTES}`);
  });

  test("a shard whose task exceeds memoryTarget is refused with the size that fits", () => {
    expect(() =>
      planImageSharding({ ...base, shardBytes: 64 * CHUNK_BYTES, memoryTarget: 100 * CHUNK_BYTES }),
    ).toThrow(new RegExp(`shardBytes of at most ${20 * CHUNK_BYTES}`));
    expect(() =>
      planImageSharding({ ...base, shardBytes: 64 * CHUNK_BYTES, memoryTarget: 100 * CHUNK_BYTES }),
    ).toThrow(ShardMemoryError);
  });

  test("a memory target below one chunk's task asks for more memory", () => {
    expect(() => planImageSharding({ ...base, memoryTarget: CHUNK_BYTES })).toThrow(
      /raise memoryTarget to at least 5242880/,
    );
  });

  test("an explicit hashed spec makes one task write the whole scale, if it fits", () => {
    const hashed: ShardingSpec = {
      "@type": "neuroglancer_uint64_sharded_v1",
      preshift_bits: 0,
      hash: "murmurhash3_x86_128",
      minishard_bits: 2,
      shard_bits: 2,
    };
    const small = { ...base, size: [256, 256, 64] as [number, number, number] };
    const plan = planImageSharding({ ...small, spec: hashed });
    expect(plan.spatial).toBe(false);
    expect(plan.taskShape).toEqual([256, 256, 64]);
    try {
      planImageSharding({ ...base, spec: hashed });
      throw new Error("not refused");
    } catch (e) {
      expect(e).toBeInstanceOf(ShardMemoryError);
      expect((e as ShardMemoryError).field).toBe("sharding.hash");
    }
  });

  test("shardsAreBoxes: identity with enough bits only", () => {
    const spec = planImageSharding(base).spec;
    expect(shardsAreBoxes(spec, base.size, base.chunkSize)).toBe(true);
    expect(shardsAreBoxes({ ...spec, shard_bits: 0 }, base.size, base.chunkSize)).toBe(false);
    expect(
      shardsAreBoxes({ ...spec, hash: "murmurhash3_x86_128" }, base.size, base.chunkSize),
    ).toBe(false);
  });
});
