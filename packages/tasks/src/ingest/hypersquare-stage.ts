/**
 * The HyperSquare import (the seed's HyperSquareTask): a directory of
 * Eyewire cubes becomes two precomputed layers, `<dest>/image` (uint8,
 * jpeg by default) and `<dest>/segmentation` (the cubes' segment id type).
 * Each is an ordinary ingest of the HyperSquare source, with chunks that
 * divide the cubes' kept part (cube size minus overlap) and one task per
 * cube, so that a task decodes exactly one cube and no two tasks write the
 * same chunk.
 *
 * ```ts
 * const phases = await createHyperSquareTasks("gs://lab/e2198-cubes", "gs://lab/e2198");
 * ```
 */
import type { Vec3 } from "@ngpipe/precomputed";
import type { TaskPhase } from "../registry/stage";
import { createDownsampleTasks } from "../stages/downsample";
import { openHyperSquare } from "./sources/hypersquare";
import type { SourceSpec } from "./sources/open";
import type { Vec3 as MutableVec3 } from "./sources/types";
import { createIngestTasks } from "./stage";

/** Options of {@link createHyperSquareTasks}. */
export interface HyperSquareTaskOptions {
  /** Voxel size in nm. Default: the cubes' voxel_resolution. */
  resolution?: Vec3;
  /** Overlap of neighbouring cubes in voxels. Default: from the cube origins. */
  overlap?: MutableVec3;
  /** Chunk size of both layers. Default: per axis the divisor of the kept cube size nearest 64. */
  chunkSize?: Vec3;
  /** Encoding of the image layer: "jpeg" (default) or "raw". */
  imageEncoding?: string;
  /** Downsampled scales written afterwards (average for the image, mode for the segmentation). Default 0. */
  mips?: number;
  /** gzip level of raw chunks, 1..9. */
  compressLevel?: number;
}

/** The divisor of `n` nearest `target` (the smaller one on a tie). */
export function nearestDivisor(n: number, target: number): number {
  let best = n;
  for (let d = 1; d <= n; d++) {
    if (n % d === 0 && Math.abs(d - target) < Math.abs(best - target)) best = d;
  }
  return best;
}

/**
 * The HyperSquare import as phases: ingest the image, ingest the
 * segmentation, then (with `mips`) downsample both.
 */
export async function createHyperSquareTasks(
  source: string,
  dest: string,
  o: HyperSquareTaskOptions = {},
): Promise<TaskPhase[]> {
  const root = dest.replace(/\/+$/, "");
  const probe = await openHyperSquare(source, { overlap: o.overlap });
  const c = probe.cubeSize;
  const v = probe.overlap;
  const keep: Vec3 = [c[0] - v[0], c[1] - v[1], c[2] - v[2]];
  const overlap: MutableVec3 = [v[0], v[1], v[2]];
  await probe.close();
  const chunkSize: Vec3 = o.chunkSize ?? [
    nearestDivisor(keep[0], 64),
    nearestDivisor(keep[1], 64),
    nearestDivisor(keep[2], 64),
  ];
  // One task per cube when the chunks divide the kept part; else the ingest default.
  const taskShape = keep.every((k, i) => k % chunkSize[i] === 0) ? keep : undefined;
  const layers: ["image" | "segmentation", string][] = [
    ["image", `${root}/image`],
    ["segmentation", `${root}/segmentation`],
  ];
  const phases: TaskPhase[] = layers.map(([volume, url]) => ({
    name: `hypersquare ${volume}`,
    tasks: () => {
      const spec: SourceSpec = { url: source, format: "hypersquare", dataset: volume, overlap };
      return createIngestTasks(spec, url, {
        layerType: volume,
        encoding: volume === "image" ? (o.imageEncoding ?? "jpeg") : undefined,
        resolution: o.resolution,
        chunkSize,
        taskShape,
        compressLevel: o.compressLevel,
      });
    },
  }));
  if ((o.mips ?? 0) > 0) {
    for (const [volume, url] of layers) {
      phases.push({
        name: `hypersquare ${volume} downsample`,
        tasks: () =>
          createDownsampleTasks(url, {
            mips: o.mips,
            method: volume === "image" ? "average" : "mode",
          }),
      });
    }
  }
  return phases;
}
