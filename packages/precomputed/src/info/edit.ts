/**
 * Creating and editing infos the way CloudVolume does (`create_new_info`,
 * `add_scale`), so that layers made here look like layers made there.
 */
import type { DataType } from "../dtypes";
import { formatVec3, type Vec3 } from "../geometry/vec3";
import type { ShardingSpec } from "../sharding/spec";
import { type InfoProblem, InfoValidationError } from "./errors";
import { type InfoJSON, mipOfResolution, parseInfo, type ScaleJSON } from "./info";

/** Options of {@link createInfo}; names follow CloudVolume's `create_new_info`. */
export interface CreateInfoOptions {
  type: "image" | "segmentation";
  dataType: DataType;
  /** Default 1. */
  numChannels?: number;
  /** Voxel size of mip 0 in nm. */
  resolution: Vec3;
  /** Default [0, 0, 0]. */
  voxelOffset?: Vec3;
  /** Extent of mip 0 in voxels. */
  size: Vec3;
  /** Default [128, 128, 64] (CloudVolume's default). */
  chunkSize?: Vec3;
  /** Default "raw". */
  encoding?: string;
  /** compressed_segmentation block size; default [8, 8, 8] (only written for that encoding). */
  blockSize?: Vec3;
  /** Mesh directory; `true` means "mesh". */
  mesh?: string | boolean;
  /** Skeleton directory; `true` means "skeletons". */
  skeletons?: string | boolean;
  /** Segment properties directory. */
  segmentProperties?: string;
  /** Sharding of mip 0. */
  sharding?: ShardingSpec;
  /** Add this many downsampled scales too (default 0), each `factor` coarser than the last. */
  maxMip?: number;
  /** Downsampling factor between successive scales; default [2, 2, 1]. */
  factor?: Vec3;
}

/** CloudVolume's scale key: the resolution joined by `_`, e.g. `8_8_40`. */
export function scaleKey(resolution: Vec3): string {
  return resolution.map((r) => String(r)).join("_");
}

/**
 * A new info, like CloudVolume's `create_new_info`: mip 0 keyed by its
 * resolution, plus `maxMip` downsampled scales (voxel offset floored and
 * size ceiled). Validated before it is returned.
 *
 * @example
 * const info = createInfo({ type: "segmentation", dataType: "uint64", resolution: [8, 8, 40],
 *   size: [2048, 2048, 256], chunkSize: [64, 64, 64], encoding: "compressed_segmentation",
 *   mesh: true });
 */
export function createInfo(o: CreateInfoOptions): InfoJSON {
  // Options missing from plain-JavaScript callers: the same typed error as
  // any other invalid info, before anything dereferences them.
  const missing: InfoProblem[] = [];
  for (const [field, path] of [
    ["type", "type"],
    ["dataType", "data_type"],
    ["resolution", "scales[0].resolution"],
    ["size", "scales[0].size"],
  ] as const)
    if (o?.[field] === undefined)
      missing.push({ path, rule: `is required (createInfo option "${field}")` });
  if (missing.length > 0) throw new InfoValidationError(missing);
  const encoding = o.encoding ?? "raw";
  const chunkSize = o.chunkSize ?? [128, 128, 64];
  const info: InfoJSON = {
    num_channels: o.numChannels ?? 1,
    type: o.type,
    data_type: o.dataType,
    scales: [
      {
        encoding,
        chunk_sizes: [[...chunkSize]],
        key: scaleKey(o.resolution),
        resolution: [...o.resolution],
        voxel_offset: [...(o.voxelOffset ?? [0, 0, 0])],
        size: [...o.size],
      },
    ],
  };
  const s0 = info.scales[0];
  if (encoding === "compressed_segmentation")
    s0.compressed_segmentation_block_size = [...(o.blockSize ?? [8, 8, 8])];
  if (o.sharding) s0.sharding = structuredClone(o.sharding);
  if (o.mesh) info.mesh = typeof o.mesh === "string" ? o.mesh : "mesh";
  if (o.skeletons) info.skeletons = typeof o.skeletons === "string" ? o.skeletons : "skeletons";
  if (o.segmentProperties) info.segment_properties = o.segmentProperties;
  const f = o.factor ?? [2, 2, 1];
  let cum: Vec3 = [1, 1, 1];
  for (let m = 0; m < (o.maxMip ?? 0); m++) {
    cum = [cum[0] * f[0], cum[1] * f[1], cum[2] * f[2]];
    addScale(info, cum, { chunkSize });
  }
  return parseInfo(info);
}

/** Options of {@link addScale}. */
export interface AddScaleOptions {
  /** Default: per axis, the divisor of mip 0's chunk size closest to 64 (CloudVolume's rule). */
  chunkSize?: Vec3;
  /** Default: mip 0's encoding. */
  encoding?: string;
  /** Default: mip 0's block size, else [8, 8, 8] (only for compressed_segmentation). */
  blockSize?: Vec3;
  /** Sharding of the new scale (none by default). */
  sharding?: ShardingSpec;
}

/** Per axis, the divisor of `n` nearest to `target` (ties go to the smaller one). */
export function closestDivisor(chunkSize: Vec3, target: Vec3 = [64, 64, 64]): Vec3 {
  const one = (n: number, t: number) => {
    let best = 1;
    for (let d = 1; d <= n; d++) if (n % d === 0 && Math.abs(d - t) < Math.abs(best - t)) best = d;
    return best;
  };
  return [one(chunkSize[0], target[0]), one(chunkSize[1], target[1]), one(chunkSize[2], target[2])];
}

/**
 * Adds a scale `factor` times coarser than mip 0 to `info` (in place) and
 * returns its JSON, like CloudVolume's `add_scale`: resolution = mip 0's times
 * `factor`, key `<rx>_<ry>_<rz>`, size = ceil(size / factor), voxel_offset =
 * floor(voxel_offset / factor). When a scale of that resolution exists it is
 * returned unchanged (no duplicate). The new scale goes after the last scale
 * not coarser than it, so resolutions keep increasing along the array.
 */
export function addScale(info: InfoJSON, factor: Vec3, opts: AddScaleOptions = {}): ScaleJSON {
  if (!factor.every((x) => Number.isFinite(x) && x > 0))
    throw new InfoValidationError([
      { path: "scales", rule: `downsample factor must be positive, got ${formatVec3(factor)}` },
    ]);
  const s0 = info.scales[0];
  const resolution: Vec3 = [
    s0.resolution[0] * factor[0],
    s0.resolution[1] * factor[1],
    s0.resolution[2] * factor[2],
  ];
  const existing = mipOfResolution(info, resolution);
  if (existing >= 0) return info.scales[existing];

  const off = s0.voxel_offset ?? [0, 0, 0];
  const encoding = opts.encoding ?? s0.encoding;
  const scale: ScaleJSON = {
    encoding,
    chunk_sizes: [[...(opts.chunkSize ?? closestDivisor(s0.chunk_sizes[0]))]],
    key: scaleKey(resolution),
    resolution: [...resolution],
    voxel_offset: [
      Math.floor(off[0] / factor[0]),
      Math.floor(off[1] / factor[1]),
      Math.floor(off[2] / factor[2]),
    ],
    size: [
      Math.ceil(s0.size[0] / factor[0]),
      Math.ceil(s0.size[1] / factor[1]),
      Math.ceil(s0.size[2] / factor[2]),
    ],
  };
  if (encoding === "compressed_segmentation")
    scale.compressed_segmentation_block_size = [
      ...(opts.blockSize ?? s0.compressed_segmentation_block_size ?? [8, 8, 8]),
    ];
  if (opts.sharding) scale.sharding = structuredClone(opts.sharding);

  const vol = (r: readonly number[]) => r[0] * r[1] * r[2];
  let at = info.scales.length;
  while (at > 0 && vol(info.scales[at - 1].resolution) > vol(resolution)) at--;
  info.scales.splice(at, 0, scale);
  return scale;
}
