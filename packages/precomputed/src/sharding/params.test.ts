import fc from "fast-check";
import { mortonPlan } from "./morton";
import { computeHashedShardingSpec, computeImageShardingSpec, imageShardShape } from "./params";

describe("computeHashedShardingSpec (CloudVolume's compute_shard_params_for_hashed)", () => {
  // Worked by hand from the defaults: 512 minishards per shard (8 KiB index),
  // 1365.3 labels per minishard (32 KiB index), 699050 labels per shard.
  test.each([
    [0, 0, 0],
    [1000, 0, 0],
    [100_000, 0, 7],
    [10_000_000, 4, 9],
  ])("%i labels -> shard_bits %i, minishard_bits %i", (n, shard, minishard) => {
    const s = computeHashedShardingSpec(n);
    expect([s.shard_bits, s.minishard_bits, s.preshift_bits]).toEqual([shard, minishard, 0]);
    expect(s.hash).toBe("murmurhash3_x86_128");
  });

  test("minShards moves bits from minishards to shards", () => {
    const s = computeHashedShardingSpec(10_000_000, { minShards: 64 });
    expect([s.shard_bits, s.minishard_bits]).toEqual([6, 7]);
  });
});

describe("computeImageShardingSpec (CloudVolume's compute_shard_params_for_image)", () => {
  test("a 1024^3 uint8 volume of 64^3 chunks fits one shard of 2 minishards", () => {
    // 4096 chunks (12 Morton bits) < 8192 chunks per 3.5 GB shard: one shard;
    // 4096 > 4000 labels per minishard: one minishard bit, taken from preshift.
    const s = computeImageShardingSpec({
      size: [1024, 1024, 1024],
      chunkSize: [64, 64, 64],
      bytesPerVoxel: 1,
    });
    expect(s).toMatchObject({
      preshift_bits: 11,
      minishard_bits: 1,
      shard_bits: 0,
      hash: "identity",
    });
    expect(imageShardShape(s, [1024, 1024, 1024], [64, 64, 64])).toEqual([1024, 1024, 1024]);
  });

  test("jpeg data is not gzipped again", () => {
    const s = computeImageShardingSpec({
      size: [512, 512, 64],
      chunkSize: [64, 64, 64],
      bytesPerVoxel: 1,
      encoding: "jpeg",
    });
    expect(s.data_encoding).toBe("raw");
    expect(s.minishard_index_encoding).toBe("gzip");
  });

  test("specs use all Morton bits, keep shard indexes small and shards under the byte target", () => {
    const dim = fc.integer({ min: 1, max: 200_000 });
    const cs = fc.constantFrom(32, 64, 128, 256);
    fc.assert(
      fc.property(
        fc.tuple(dim, dim, dim),
        fc.tuple(cs, cs, cs),
        fc.constantFrom(1, 2, 4, 8),
        (size, chunk, bpv) => {
          const grid = [0, 1, 2].map((i) => Math.ceil(size[i] / chunk[i])) as [
            number,
            number,
            number,
          ];
          fc.pre(mortonPlan(grid).bits <= 60);
          const target = 2 ** 28;
          const s = computeImageShardingSpec({
            size,
            chunkSize: chunk,
            bytesPerVoxel: bpv,
            uncompressedShardBytes: target,
          });
          expect(16 * 2 ** s.minishard_bits).toBeLessThanOrEqual(8192);
          const shape = imageShardShape(s, size, chunk);
          const chunkBytes = chunk[0] * chunk[1] * chunk[2] * bpv;
          const chunksPerShard =
            (shape[0] / chunk[0]) * (shape[1] / chunk[1]) * (shape[2] / chunk[2]);
          if (size[2] !== chunk[2]) {
            expect(s.preshift_bits + s.minishard_bits + s.shard_bits).toBe(mortonPlan(grid).bits);
            expect(chunksPerShard * chunkBytes).toBeLessThanOrEqual(Math.max(target, chunkBytes));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("imageShardShape", () => {
  test("bits go to x, y, z in turn while each axis has bits left", () => {
    const spec = {
      "@type": "neuroglancer_uint64_sharded_v1",
      hash: "identity",
      preshift_bits: 4,
      minishard_bits: 1,
      shard_bits: 3,
    } as const;
    // grid [8, 2, 4]: bit order x0 y0 z0 x1 z1 x2 -> the low 5 bits cover x0 y0 z0 x1 z1.
    expect(imageShardShape(spec, [512, 128, 256], [64, 64, 64])).toEqual([256, 128, 256]);
  });
});
