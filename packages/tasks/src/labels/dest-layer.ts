/**
 * The destination layer of the per-block label stages (dust, remap): a
 * single-scale copy of the source's info, and the mode downsample phase
 * that adds its lower resolutions afterwards.
 */
import type { DataType, InfoJSON } from "@ngpipe/precomputed";
import type { TaskPhase } from "../registry/stage";
import type { CreateOptionsBase } from "../stages/common";
import { createDownsampleTasks } from "../stages/downsample";

/**
 * The source's info reduced to its scale at `mip`, unsharded (tasks write
 * blocks, not shards), with `dataType` replacing the source's when given.
 */
export function singleScaleInfo(src: InfoJSON, mip: number, dataType?: DataType): InfoJSON {
  const scale = structuredClone(src.scales[mip]);
  delete scale.sharding;
  const info = { ...structuredClone(src), scales: [scale] };
  if (dataType !== undefined) info.data_type = dataType;
  return info;
}

/** A phase `name` writing `mips` mode-pooled scales of the label layer `dest`. */
export function modeDownsamplePhase(
  name: string,
  dest: string,
  mips: number,
  o: CreateOptionsBase,
): TaskPhase {
  return {
    name,
    tasks: () =>
      createDownsampleTasks(dest, {
        mips,
        method: "mode",
        storage: o.storage,
        storageOptions: o.storageOptions,
      }),
  };
}
