/**
 * What the watershed stage's phases share: the block grid of the affinity
 * layer, the payload fields every task carries, the scratch layers and
 * objects, and the stage's error class.
 */
import { Bbox, Volume } from "@ngpipe/precomputed";
import type { Storage } from "@ngpipe/storage";
import { z } from "zod";
import type { TaskContext } from "../runtime";
import { StageError } from "../stages/common";

/** Bad options of the watershed stage (block shape, context), or a phase run out of order. */
export class WatershedStageError extends StageError {
  override name = "WatershedStageError";
}

export type V3 = [number, number, number];
export const v3 = z.tuple([z.number().int(), z.number().int(), z.number().int()]);

/** Fields of every watershed task: the affinities, the scratch URL and the block. */
export const commonParams = z.object({
  aff: z.string().min(1),
  scratch: z.string().min(1),
  mip: z.number().int().min(0),
  /** Block (core) shape, voxels. */
  shape: v3,
  block: v3,
});
export type Common = z.output<typeof commonParams>;

/** The block grid of the affinity layer. */
export interface Grid {
  bounds: Bbox;
  size: V3;
  blocks: V3;
}

export function gridOf(bounds: Bbox, shape: V3): Grid {
  const size = bounds.size() as V3;
  return { bounds, size, blocks: [0, 1, 2].map((a) => Math.ceil(size[a] / shape[a])) as V3 };
}

/** A block's core (the voxels it writes), clipped to the dataset. */
export function coreBox(g: Grid, shape: V3, block: V3): Bbox {
  const min = block.map((n, a) => g.bounds.min[a] + n * shape[a]) as V3;
  const max = min.map((n, a) => Math.min(n + shape[a], g.bounds.max[a])) as V3;
  return new Bbox(min, max);
}

/** A block's number: x fastest over the grid. */
export const linear = ([i, j, k]: readonly number[], [nx, ny]: readonly number[]) =>
  i + nx * (j + ny * k);

/** Every block position of a grid, x fastest. */
export function positions(dims: V3): V3[] {
  const out: V3[] = [];
  for (let k = 0; k < dims[2]; k++)
    for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) out.push([i, j, k]);
  return out;
}

/** The affinity layer, its grid and the task's block core. */
export async function openAffinities(ctx: TaskContext, p: Common) {
  const vol = await Volume.open(p.aff, { mip: p.mip, storage: ctx.storage(p.aff) });
  const grid = gridOf(vol.bounds, p.shape as V3);
  return { vol, grid, core: coreBox(grid, p.shape as V3, p.block as V3) };
}

/** A scratch object an earlier phase wrote; its absence means the phases ran out of order. */
export async function getObject(
  store: Storage,
  key: string,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const bytes = await store.get(key, { signal });
  if (!bytes)
    throw new WatershedStageError(
      `${store.url}/${key} is missing: run the watershed stage's phases in order (an earlier phase did not finish)`,
    );
  return bytes;
}

/** A JSON scratch object. */
export async function getJson<T>(store: Storage, key: string, signal?: AbortSignal): Promise<T> {
  return JSON.parse(new TextDecoder().decode(await getObject(store, key, signal))) as T;
}

/** The scratch layer of the blocks' local piece ids. */
export function localLayer(scratch: string): string {
  return `${scratch.replace(/\/+$/, "")}/local`;
}

/** The scratch layer of the basins, numbered across the dataset. */
export function basinLayer(scratch: string): string {
  return `${scratch.replace(/\/+$/, "")}/basins`;
}
