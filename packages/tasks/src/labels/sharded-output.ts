/**
 * Sharded outputs of the label stages (remap, connected components): the
 * destination scale's sharding, planned before anything is written, and the
 * mode downsample of the destination, which makes a sharded layer one mip
 * per phase (each task writing whole shards of its mip).
 */
import {
  bytesPerVoxel,
  type DataType,
  type ImageShardingPlan,
  type InfoJSON,
  ShardPlanError,
} from "@ngpipe/precomputed";
import type { TaskPhase } from "../registry/stage";
import type { CreateOptionsBase } from "../stages/common";
import { createDownsampleTasks } from "../stages/downsample";
import { type ShardedOutputOptions, shardScale, wantsSharded } from "../stages/sharding";

/** What this module reads of a label stage's options. */
type LabelOutputOptions = CreateOptionsBase & ShardedOutputOptions & { memoryTarget?: number };

/**
 * Plans the sharding of the single scale of `info` (a destination info the
 * stage is about to write) and sets it in place; undefined when the options
 * ask for no sharding. A task writes one shard box; it holds, per voxel
 * written, `bytesRead` bytes besides the shard-sized buffers the planner
 * counts, so the plan checks that against the memory target. `shape`, a
 * task shape the caller was also given, is refused: shards set it.
 */
export function planLabelSharding(
  info: InfoJSON,
  o: LabelOutputOptions & { shape?: unknown },
  c: { url: string; bytesRead: number },
): ImageShardingPlan | undefined {
  const scale = info.scales[0];
  if (!wantsSharded(o)) {
    delete scale.sharding;
    return undefined;
  }
  if (o.shape !== undefined) {
    throw new ShardPlanError(
      `a sharded output is written one shard per task, so the shard plan sets the task shape; ` +
        "leave shape out and size shards with shardBytes",
      scale.key,
      "shape",
    );
  }
  return shardScale(info, scale, o, {
    url: c.url,
    fresh: true,
    readFactor: c.bytesRead / (bytesPerVoxel(info.data_type as DataType) * info.num_channels),
    memoryTarget: o.memoryTarget,
  });
}

/**
 * The phases writing `mips` mode-pooled scales of the label layer `dest`:
 * one phase making them all, or, for a sharded output, one phase per mip,
 * each reading the mip before and writing whole shards of the next.
 */
export function labelDownsamplePhases(
  name: string,
  dest: string,
  mips: number,
  o: LabelOutputOptions,
): TaskPhase[] {
  const common = {
    method: "mode" as const,
    storage: o.storage,
    storageOptions: o.storageOptions,
  };
  if (mips <= 0) return [];
  if (!wantsSharded(o))
    return [{ name, tasks: () => createDownsampleTasks(dest, { ...common, mips }) }];
  return Array.from({ length: mips }, (_, mip) => ({
    name: `${name} mip ${mip + 1}`,
    tasks: () =>
      createDownsampleTasks(dest, {
        ...common,
        mip,
        mips: 1,
        sharded: true,
        shardBytes: o.shardBytes,
        memoryTarget: o.memoryTarget,
      }),
  }));
}
