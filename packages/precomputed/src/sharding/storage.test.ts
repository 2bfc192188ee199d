import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStorage } from "@ngpipe/storage";
import { createInfo } from "../info/edit";
import { scaleForMip } from "../info/info";
import { readInfo, writeInfo } from "../info/io";
import { mortonChunkId, mortonPlan } from "./morton";
import { computeImageShardingSpec } from "./params";
import { ShardReader } from "./reader";
import { writeShards } from "./writer";

/** A sharded layer end to end through real storage backends (mem:// and file://). */
async function roundTrip(url: string): Promise<void> {
  const storage = openStorage(url);
  const sharding = computeImageShardingSpec({
    size: [256, 256, 64],
    chunkSize: [32, 32, 16],
    bytesPerVoxel: 4,
    uncompressedShardBytes: 32 * 32 * 16 * 4 * 16,
  });
  const info = createInfo({
    type: "segmentation",
    dataType: "uint32",
    resolution: [8, 8, 40],
    size: [256, 256, 64],
    chunkSize: [32, 32, 16],
    encoding: "raw",
    sharding,
  });
  await writeInfo(storage, info);
  const scale = scaleForMip(await readInfo(storage), 0);
  expect(scale.sharding).toEqual(sharding);

  const plan = mortonPlan(scale.gridSize);
  const entries = [];
  for (const { grid } of scale.bounds.chunkCells(scale.chunkSize, scale.voxelOffset))
    entries.push({ id: mortonChunkId(plan, grid), data: Uint8Array.of(...grid, 7) });
  const keys = await writeShards(storage, entries, sharding, { prefix: scale.key });
  expect(keys.length).toBe(2 ** sharding.shard_bits);

  const reader = new ShardReader(storage, sharding, { prefix: scale.key });
  expect(await reader.get(mortonChunkId(plan, [3, 5, 2]))).toEqual(Uint8Array.of(3, 5, 2, 7));
  const all = await reader.getMany(entries.map((e) => e.id));
  for (const e of entries) expect(all.get(e.id)).toEqual(e.data);
}

test("mem:// storage", async () => {
  await roundTrip(`mem://precomputed-sharding-${process.pid}/layer`);
});

test("file:// storage", async () => {
  const dir = await mkdtemp(join(tmpdir(), "ngpipe-shard-"));
  try {
    await roundTrip(`file://${dir}/layer`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
