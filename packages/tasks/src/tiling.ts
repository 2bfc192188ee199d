/**
 * Tiling a box into task-sized blocks, and the lazy task sets that task
 * creation functions return. Tiles are laid on a grid anchored at an origin
 * (usually the dataset's voxel offset, so tiles line up with chunks), x
 * fastest, then y, then z — the order Igneous hands tasks out — and each tile
 * is clipped to the dataset.
 *
 * ```ts
 * const tiles = tileBox(new Bbox([0, 0, 0], [1000, 1000, 64]), [512, 512, 64]);
 * [...tiles].map(String); // ["0-512_0-512_0-64", "512-1000_0-512_0-64", ...]
 * ```
 */
import { type Bbox, type InfoJSON, scaleForMip, type Vec3 } from "@ngpipe/precomputed";
import type { TaskPayload } from "./runtime";
import { type BoundsCheckOptions, checkBounds } from "./stages/checks";

/** Bad arguments to a tiling function (shape, bounds). */
export class TilingError extends Error {
  override name = "TilingError";
}

/** Options of {@link tileBox}. */
export interface TileOptions {
  /** Where the tile grid is anchored. Default: `bounds.min`. */
  origin?: Vec3;
  /** Clip each tile to this box (the dataset bounds). Default: `bounds`. */
  clip?: Bbox;
}

function checkShape(shape: Vec3): void {
  if (!shape.every((n) => Number.isSafeInteger(n) && n > 0)) {
    throw new TilingError(`task shape must be three positive integers, got [${shape.join(", ")}]`);
  }
}

/**
 * Lazily yields the tiles of `shape` covering `bounds` (x fastest), each
 * clipped to `clip`; tiles outside `clip` are skipped. Nothing is held in
 * memory beyond the current tile.
 */
export function* tileBox(bounds: Bbox, shape: Vec3, options: TileOptions = {}): Generator<Bbox> {
  checkShape(shape);
  const box = options.clip ? options.clip.intersect(bounds) : bounds;
  if (box.empty()) return;
  yield* box.chunks(shape, options.origin ?? bounds.min, box);
}

/** Number of tiles {@link tileBox} yields for the same arguments, without making them. */
export function tileCount(bounds: Bbox, shape: Vec3, options: TileOptions = {}): number {
  checkShape(shape);
  const box = options.clip ? options.clip.intersect(bounds) : bounds;
  if (box.empty()) return 0;
  return box.gridRange(shape, options.origin ?? bounds.min).volume();
}

/**
 * `bounds` (voxels of mip `boundsMip`) as a box of mip `mip`, grown to the
 * chunk grid of that mip and clipped to its dataset bounds, like Igneous'
 * `get_bounds`. Without `bounds`, the whole dataset at `mip`. Bounds are
 * checked first (see `checkBounds`): entirely outside the dataset they are
 * refused with StageInputError; partly outside, clipped with a notice or
 * refused under `strictBounds`.
 */
export function resolveBounds(
  info: InfoJSON,
  mip: number,
  bounds?: Bbox,
  boundsMip = 0,
  grid?: Vec3,
  check: BoundsCheckOptions & { url?: string } = {},
): Bbox {
  const scale = scaleForMip(info, mip);
  if (!bounds) return scale.bounds;
  const inside = checkBounds(info, bounds, boundsMip, check.url ?? "the layer", check);
  const from = scaleForMip(info, boundsMip).resolution;
  const box = inside.toMip(from, scale.resolution);
  return box.expandToChunks(grid ?? scale.chunkSize, scale.voxelOffset).intersect(scale.bounds);
}

/**
 * Task payloads that are not tiles of a volume (e.g. mesh manifests, one per
 * id prefix), produced lazily each time it is iterated, with their number
 * known up front.
 */
export interface TaskList<P = unknown> extends Iterable<TaskPayload<P>> {
  /** How many payloads iterating yields. */
  readonly count: number;
}

/** A {@link TaskList} of one payload per item of `items`, made by `make`. */
export function taskList<T, P>(
  items: readonly T[],
  make: (item: T) => TaskPayload<P>,
): TaskList<P> {
  return {
    count: items.length,
    *[Symbol.iterator]() {
      for (const item of items) yield make(item);
    },
  };
}

/**
 * What a task creation function returns: the task payloads, produced lazily
 * each time it is iterated (a million tasks never sit in memory), with their
 * number known up front for progress bars.
 *
 * ```ts
 * const tasks = await createDownsampleTasks("gs://lab/em", { mips: 3 });
 * console.log(`${tasks.count} tasks of ${tasks.shape.join("x")}`);
 * for (const payload of tasks) await queue.insert(payload);
 * ```
 */
export interface TaskSet<P = unknown> extends TaskList<P> {
  /** Task shape in voxels of the mip the tasks read. */
  readonly shape: Vec3;
  /** The box the tasks cover, in voxels of that mip. */
  readonly bounds: Bbox;
}

/**
 * A {@link TaskSet} of one payload per tile of `bounds`, made by `make`.
 */
export function taskSet<P>(
  bounds: Bbox,
  shape: Vec3,
  options: TileOptions,
  make: (tile: Bbox) => TaskPayload<P>,
): TaskSet<P> {
  return {
    count: tileCount(bounds, shape, options),
    shape,
    bounds,
    *[Symbol.iterator]() {
      for (const tile of tileBox(bounds, shape, options)) yield make(tile);
    },
  };
}
