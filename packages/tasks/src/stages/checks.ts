/**
 * The checks every task creation function makes before it writes anything:
 * bounds against the dataset, voxel values against the data type, and info
 * rewrites that would leave stored chunks unreadable. A stage that fails one
 * throws {@link StageInputError} and has written nothing.
 */
import { realpathSync } from "node:fs";
import {
  type Bbox,
  type DataType,
  type InfoJSON,
  InfoNotFoundError,
  readInfo,
  scaleForMip,
  VoxelValueError,
  voxelValue,
} from "@ngpipe/precomputed";
import { FileBackend, type Storage } from "@ngpipe/storage";
import { StageError } from "./common";

/**
 * Options of a stage that ask for something the layer cannot give: bounds
 * outside the dataset, a value its data type cannot hold, a change of layout
 * that would make stored chunks unreadable, a layer transferred onto itself.
 * Thrown by the task creation functions before anything is written;
 * `field` names the option.
 */
export class StageInputError extends StageError {
  override name = "StageInputError";
  constructor(
    message: string,
    /** The option at fault (`bounds`, `background`, `value`, `chunkSize`, `dest`, ...). */
    readonly field: string,
  ) {
    super(message);
  }
}

/** How a creation function treats bounds that reach outside the dataset. */
export interface BoundsCheckOptions {
  /** Refuse bounds that reach outside the dataset instead of clipping them. */
  strictBounds?: boolean;
  /** Told one line when bounds were clipped to the dataset (the CLI prints it). */
  onNotice?: (message: string) => void;
}

/**
 * `bounds` (voxels of `boundsMip`) checked against the dataset at that mip:
 * bounds entirely outside it are refused (they would do nothing, after
 * writing infos); bounds partly outside are clipped, with a notice, or
 * refused under `strictBounds`. Returns the box inside the dataset, at
 * `boundsMip`.
 */
export function checkBounds(
  info: InfoJSON,
  bounds: Bbox,
  boundsMip: number,
  url: string,
  o: BoundsCheckOptions = {},
): Bbox {
  const dataset = scaleForMip(info, boundsMip).bounds;
  const inside = bounds.intersect(dataset);
  const at = boundsMip === 0 ? "" : ` at mip ${boundsMip}`;
  if (inside.empty())
    throw new StageInputError(
      `bounds ${bounds} lie outside the dataset's bounds ${dataset}${at} of ${url}; nothing was written`,
      "bounds",
    );
  if (!inside.equals(bounds)) {
    if (o.strictBounds)
      throw new StageInputError(
        `bounds ${bounds} reach outside the dataset's bounds ${dataset}${at} of ${url} (refused under strict bounds; clipped they would be ${inside})`,
        "bounds",
      );
    o.onNotice?.(`bounds ${bounds} clipped to the dataset's bounds ${dataset}${at}: ${inside}`);
  }
  return inside;
}

/**
 * `value` as a voxel of `dtype`, or a {@link StageInputError} naming the
 * option and the type's range (a typed array would wrap 300 to 44 in uint8).
 */
export function checkVoxelValue(
  value: number | string,
  dtype: DataType,
  field: string,
  url: string,
): number | bigint {
  try {
    return voxelValue(value, dtype, `${field} for ${url}`);
  } catch (e) {
    if (e instanceof VoxelValueError) throw new StageInputError(e.message, field);
    throw e;
  }
}

/** Whether two storages are the same place (same URL, or the same directory through links). */
export function sameLocation(a: Storage, b: Storage): boolean {
  if (a.url.replace(/\/+$/, "") === b.url.replace(/\/+$/, "")) return true;
  if (!(a.backend instanceof FileBackend && b.backend instanceof FileBackend)) return false;
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  return real(a.backend.root) === real(b.backend.root);
}

/** What of a scale decides how its chunks are named and decoded. */
function layout(info: InfoJSON, s: InfoJSON["scales"][number]): string {
  return JSON.stringify({
    data_type: info.data_type,
    num_channels: info.num_channels,
    chunk_size: s.chunk_sizes[0],
    encoding: s.encoding,
    block: s.encoding === "compressed_segmentation" ? s.compressed_segmentation_block_size : null,
    voxel_offset: s.voxel_offset ?? [0, 0, 0],
    size: s.size,
    sharding: s.sharding ?? null,
  });
}

/**
 * Refuse to replace an existing info `before` by `after` when a scale's
 * layout (chunk size, encoding, block size, offset, size, sharding, data
 * type, channels) changes and the stage will not rewrite the whole scale
 * (`rewritten(key)`): its stored chunks would no longer decode. Scales are
 * matched by key.
 */
export function checkInfoRewrite(
  before: InfoJSON | null,
  after: InfoJSON,
  url: string,
  rewritten: (key: string) => boolean,
): void {
  if (before === null) return;
  for (const old of before.scales) {
    const next = after.scales.find((s) => s.key === old.key);
    if (next === undefined || rewritten(old.key)) continue;
    const a = layout(before, old);
    const b = layout(after, next);
    if (a === b) continue;
    const was = JSON.parse(a) as Record<string, unknown>;
    const now = JSON.parse(b) as Record<string, unknown>;
    const changed = Object.keys(was)
      .filter((k) => JSON.stringify(was[k]) !== JSON.stringify(now[k]))
      .map((k) => `${k} ${JSON.stringify(was[k])} -> ${JSON.stringify(now[k])}`);
    throw new StageInputError(
      `${url}: scale ${old.key} exists and this would change its ${changed.join(", ")} without rewriting all of its chunks, ` +
        "leaving the stored ones unreadable; nothing was written. Write to a new layer, or rewrite the whole scale",
      "info",
    );
  }
}

/** The info stored at a destination, or null where no layer is yet (for {@link checkInfoRewrite}). */
export async function readExistingInfo(storage: Storage): Promise<InfoJSON | null> {
  return readInfo(storage).catch((e) => {
    if (e instanceof InfoNotFoundError) return null;
    throw e;
  });
}
