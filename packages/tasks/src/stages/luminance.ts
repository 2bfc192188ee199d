/**
 * The luminance-levels stage (Igneous' LuminanceLevelsTask): per z slice of
 * an image layer, the histogram of a sampled fraction of the slice, stored as
 * JSON beside the layer at `levels/<mip>/<z>` (Igneous' keys and fields, so
 * either tool reads the other's), then the histogram of the whole layer at
 * `levels/<mip>/all`. The contrast stage (contrast.ts) stretches each slice
 * between percentiles of these histograms.
 *
 * Sampling: a slice is cut into patches (default 2048x2048) on a grid from
 * the box's corner, and `ceil(patches * coverage)` of them, chosen by a PRNG
 * seeded with the slab's first z, are counted. One task takes a slab one
 * chunk deep and the slices of the slab share their patches, so each chunk
 * is read once (Igneous' task per slice reads a 64-deep chunk 64 times);
 * reruns choose the same patches and write the same bytes.
 *
 * ```ts
 * for (const phase of await createLuminanceLevelsTasks("gs://lab/em", { coverage: 0.05 }))
 *   for (const payload of await phase.tasks()) await executeTask(payload);
 * const all = await readLuminanceLevels("gs://lab/em"); // { levels: [...256 counts], ... }
 * ```
 */
import {
  Bbox,
  type BboxLike,
  precomputedKernels,
  readInfo,
  scaleForMip,
  type Vec3,
} from "@ngpipe/precomputed";
import { openStorage, type Storage, type StorageOptions } from "@ngpipe/storage";
import { z } from "zod";
import type { TaskPhase } from "../registry/stage";
import { defineTask } from "../runtime";
import { mulberry32 } from "../synthetic";
import { resolveBounds, taskList, taskSet } from "../tiling";
import { StageInputError } from "./checks";
import {
  bboxOf,
  bboxSchema,
  type CreateOptionsBase,
  LayerMismatchError,
  openLayer,
  StageError,
  storageFor,
  toBbox,
} from "./common";

/**
 * A luminance-levels object that is missing where it must exist, or whose
 * content is not a histogram (not JSON, `levels` not an array of 256 or
 * 65536 counts). `key` names the object.
 */
export class LuminanceLevelsError extends StageError {
  override name = "LuminanceLevelsError";
  constructor(
    message: string,
    /** URL of the levels object at fault (or of the levels directory). */
    readonly key: string,
  ) {
    super(message);
  }
}

/** One slice's levels object, as Igneous writes it. */
export interface SliceLevels {
  /** Count of every value (index = value) among the sampled voxels. */
  levels: number[];
  /** Size of the largest patch counted, `[x, y, 1]`. */
  patch_size: [number, number, number];
  num_patches: number;
  /** Voxels counted over the slice's voxels (the box's, with `bounds`). */
  coverage_ratio: number;
}

/** The whole layer's levels object (`levels/<mip>/all`). */
export interface LayerLevels {
  /** Sum of every slice's `levels`. */
  levels: number[];
  num_slices: number;
  num_patches: number;
  /** Voxels counted over the voxels of all slices. */
  coverage_ratio: number;
}

/** Key of a slice's levels (z in voxels of `mip`) under the levels location. */
export function sliceLevelsKey(mip: number, z: number): string {
  return `levels/${mip}/${z}`;
}

/** Key of the whole layer's levels under the levels location. */
export function layerLevelsKey(mip: number): string {
  return `levels/${mip}/all`;
}

/** Histogram bins of the data types the image-analysis stages take. */
export const LUMINANCE_BINS: Readonly<Record<string, number>> = { uint8: 256, uint16: 65536 };

/** Bins of a layer's data type, or a LayerMismatchError for anything but one uint8/uint16 channel. */
export function luminanceBins(
  url: string,
  info: { data_type: string; num_channels: number },
): number {
  const bins = LUMINANCE_BINS[info.data_type];
  if (bins === undefined || info.num_channels !== 1)
    throw new LayerMismatchError(
      `luminance histograms and contrast take one uint8 or uint16 channel; ${url} holds ${info.data_type} x ${info.num_channels}`,
    );
  return bins;
}

/**
 * The `levels` array of a levels object read from `url`, checked: an array
 * of `bins` (or, when `bins` is undefined, 256 or 65536) counts.
 */
export function parseLevels(value: unknown, url: string, bins?: number): number[] {
  const levels = (value as { levels?: unknown } | null)?.levels;
  const sizes = bins === undefined ? [256, 65536] : [bins];
  if (
    !Array.isArray(levels) ||
    !sizes.includes(levels.length) ||
    !levels.every((n) => typeof n === "number" && Number.isFinite(n) && n >= 0)
  )
    throw new LuminanceLevelsError(
      `${url} is not a luminance histogram: expected "levels", an array of ${sizes.join(" or ")} counts`,
      url,
    );
  return levels;
}

/** A stored levels object: its JSON and its checked `levels` (see {@link parseLevels}). */
export function decodeLevels(
  bytes: Uint8Array,
  url: string,
  bins?: number,
): { json: Partial<SliceLevels>; levels: number[] } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new LuminanceLevelsError(`${url} is not JSON`, url);
  }
  return { json: json as Partial<SliceLevels>, levels: parseLevels(json, url, bins) };
}

/**
 * The patches of `roi` (a slab, any depth) counted at coverage `coverage`:
 * the grid of `patch` (x, y) from the slab's corner, and `ceil(cells *
 * coverage)` distinct cells drawn by a PRNG seeded with `seed`, as boxes
 * clipped to the slab, in grid order.
 */
export function samplePatches(
  roi: Bbox,
  patch: readonly [number, number],
  coverage: number,
  seed: number,
): Bbox[] {
  const size = roi.size();
  const gx = Math.ceil(size[0] / patch[0]);
  const gy = Math.ceil(size[1] / patch[1]);
  const cells = gx * gy;
  // ceil of a product that floating point puts a hair above a whole number.
  const n = Math.min(cells, Math.ceil(cells * coverage - 1e-9));
  const order = new Int32Array(cells);
  for (let i = 0; i < cells; i++) order[i] = i;
  const rand = mulberry32(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b));
  // A partial Fisher-Yates shuffle: the first n entries are a uniform draw.
  for (let k = 0; k < n; k++) {
    const j = k + Math.floor(rand() * (cells - k));
    const t = order[k];
    order[k] = order[j];
    order[j] = t;
  }
  return Array.from(order.subarray(0, n))
    .sort((a, b) => a - b)
    .map((c) => {
      const min: Vec3 = [
        roi.min[0] + (c % gx) * patch[0],
        roi.min[1] + Math.floor(c / gx) * patch[1],
        roi.min[2],
      ];
      return new Bbox(min, [min[0] + patch[0], min[1] + patch[1], roi.max[2]]).intersect(roi);
    });
}

const patchSchema = z.tuple([z.number().int().positive(), z.number().int().positive()]);

/** Params of {@link luminanceLevelsTask}. */
export const luminanceLevelsParams = z.object({
  /** URL of the image layer. */
  layer: z.string().min(1),
  /** Location the `levels/` objects go under. */
  levels: z.string().min(1),
  mip: z.number().int().min(0),
  /** The slab: the region of interest in x and y, some slices in z. */
  bbox: bboxSchema,
  coverage: z.number().gt(0).max(1),
  patch: patchSchema,
  fillMissing: z.boolean().default(false),
});

/** Histograms of the slices of one slab, written as `levels/<mip>/<z>`. */
export const luminanceLevelsTask = defineTask({
  name: "luminance-levels",
  params: luminanceLevelsParams,
  async run(p, ctx): Promise<{ slices: number; patches: number }> {
    const vol = await openLayer(ctx, p.layer, p.mip, { fillMissing: p.fillMissing });
    const bins = luminanceBins(p.layer, { data_type: vol.dataType, num_channels: vol.numChannels });
    const slab = bboxOf(p.bbox);
    const box = slab.intersect(vol.bounds);
    if (box.empty()) return { slices: 0, patches: 0 };
    const patches = samplePatches(box, p.patch as [number, number], p.coverage, box.min[2]);
    const depth = box.size()[2];
    const total = new Float64Array(depth * bins);
    let counted = 0;
    let biggest = patches[0];
    for (const patch of patches) {
      const cut = await vol.read(patch, { signal: ctx.signal });
      const data = cut.data;
      const h = await ctx.runKernel<Float64Array>(
        precomputedKernels(),
        "sliceHistograms",
        [data, patch.size()],
        { transfer: [data.buffer as ArrayBuffer], signal: ctx.signal },
      );
      for (let i = 0; i < h.length; i++) total[i] += h[i];
      const s = patch.size();
      counted += s[0] * s[1];
      if (s[0] * s[1] > biggest.size()[0] * biggest.size()[1]) biggest = patch;
    }
    const area = box.size()[0] * box.size()[1];
    const b = biggest.size();
    const store = ctx.storage(p.levels);
    const results = await store.putMany(
      Array.from({ length: depth }, (_, k) => {
        const value: SliceLevels = {
          levels: Array.from(total.subarray(k * bins, (k + 1) * bins)),
          patch_size: [b[0], b[1], 1],
          num_patches: patches.length,
          coverage_ratio: counted / area,
        };
        return {
          key: sliceLevelsKey(p.mip, box.min[2] + k),
          data: JSON.stringify(value),
          contentType: "application/json",
          compress: false as const,
        };
      }),
      { signal: ctx.signal },
    );
    for (const r of results) if (!r.ok) throw r.error;
    ctx.progress(box.volume(), box.volume());
    return { slices: depth, patches: patches.length };
  },
});

/** Params of {@link layerLevelsTask}. */
export const layerLevelsParams = z.object({
  levels: z.string().min(1),
  mip: z.number().int().min(0),
  /** Slices summed: `[z0, z1)`. */
  z: z.tuple([z.number().int(), z.number().int()]),
});

/** The whole layer's histogram: the sum of the slices', written as `levels/<mip>/all`. */
export const layerLevelsTask = defineTask({
  name: "luminance-levels-layer",
  params: layerLevelsParams,
  async run(p, ctx): Promise<{ slices: number }> {
    const store = ctx.storage(p.levels);
    const [z0, z1] = p.z;
    const keys = Array.from({ length: z1 - z0 }, (_, k) => sliceLevelsKey(p.mip, z0 + k));
    let sum: number[] | undefined;
    let patches = 0;
    let ratio = 0;
    for (const r of await store.getMany(keys, { signal: ctx.signal })) {
      const url = `${store.url}/${r.key}`;
      if (!r.ok) throw r.error;
      if (r.value === null)
        throw new LuminanceLevelsError(
          `${url} is missing: the slice phase of the histogram stage did not finish`,
          url,
        );
      const { json, levels } = decodeLevels(r.value, url, sum?.length);
      sum ??= new Array<number>(levels.length).fill(0);
      for (let v = 0; v < levels.length; v++) sum[v] += levels[v];
      patches += Number(json.num_patches) || 0;
      ratio += Number(json.coverage_ratio) || 0;
    }
    const value: LayerLevels = {
      levels: sum ?? [],
      num_slices: keys.length,
      num_patches: patches,
      coverage_ratio: keys.length ? ratio / keys.length : 0,
    };
    await store.putJson(layerLevelsKey(p.mip), value, { signal: ctx.signal });
    return { slices: keys.length };
  },
});

/** Options of {@link createLuminanceLevelsTasks}. */
export interface LuminanceLevelsOptions extends CreateOptionsBase {
  /** Where `levels/` goes. Default: the layer. */
  levels?: string;
  mip?: number;
  /** Fraction of each slice counted, in (0, 1]. Default 0.01 (Igneous' default). */
  coverage?: number;
  /** Patch size in x and y. Default [2048, 2048] (Igneous' patch). */
  patchSize?: [number, number];
  /** Only this box (voxels of `boundsMip`, default 0): its slices, its x-y region. */
  bounds?: BboxLike;
  boundsMip?: number;
  /** Read missing chunks as zeros (black, which the contrast limits ignore). */
  fillMissing?: boolean;
}

/**
 * The histogram stage as two phases: one task per chunk-deep slab writing
 * its slices' levels, then one task summing them into the layer's.
 */
export async function createLuminanceLevelsTasks(
  layer: string,
  o: LuminanceLevelsOptions = {},
): Promise<TaskPhase[]> {
  const mip = o.mip ?? 0;
  const coverage = o.coverage ?? 0.01;
  if (!(coverage > 0 && coverage <= 1))
    throw new StageInputError(`coverage must lie in (0, 1]; got ${coverage}`, "coverage");
  const patch = o.patchSize ?? [2048, 2048];
  if (!(patch.length === 2 && patch.every((n) => Number.isInteger(n) && n > 0)))
    throw new StageInputError(
      `patchSize must be two whole numbers above 0; got [${patch.join(", ")}]`,
      "patchSize",
    );
  const info = await readInfo(storageFor(layer, o));
  luminanceBins(layer, info);
  const scale = scaleForMip(info, mip);
  const bounds = resolveBounds(info, mip, toBbox(o.bounds), o.boundsMip ?? 0, undefined, {
    ...o,
    url: layer,
  });
  const size = bounds.size();
  if (Math.ceil(size[0] / patch[0]) * Math.ceil(size[1] / patch[1]) > 2 ** 24)
    throw new StageInputError(
      `patchSize [${patch.join(", ")}] cuts a ${size[0]}x${size[1]} slice into more than 2^24 patches; use larger patches`,
      "patchSize",
    );
  const levels = o.levels ?? layer;
  const slab: Vec3 = [size[0], size[1], scale.chunkSize[2]];
  const origin: Vec3 = [bounds.min[0], bounds.min[1], scale.voxelOffset[2]];
  return [
    {
      name: "histogram slices",
      tasks: async () =>
        taskSet(bounds, slab, { origin, clip: scale.bounds }, (tile) =>
          luminanceLevelsTask.payload({
            layer,
            levels,
            mip,
            bbox: tile.toChunkName(),
            coverage,
            patch: [patch[0], patch[1]],
            fillMissing: o.fillMissing ?? false,
          }),
        ),
    },
    {
      name: "histogram layer",
      tasks: async () =>
        taskList([[bounds.min[2], bounds.max[2]] as [number, number]], (zs) =>
          layerLevelsTask.payload({ levels, mip, z: zs }),
        ),
    },
  ];
}

/** Options of {@link readLuminanceLevels}. */
export interface ReadLuminanceLevelsOptions {
  mip?: number;
  /** A slice's levels; without it, the whole layer's. */
  z?: number;
  storageOptions?: StorageOptions;
  /** An already open storage of the levels location. */
  storage?: Storage;
}

/**
 * Read the levels the histogram stage wrote under `url` (the layer, or its
 * `levels` option): the whole layer's, or slice `z`'s. A missing or malformed
 * object is a LuminanceLevelsError naming it.
 */
export async function readLuminanceLevels(
  url: string,
  o: ReadLuminanceLevelsOptions & { z: number },
): Promise<SliceLevels>;
export async function readLuminanceLevels(
  url: string,
  o?: ReadLuminanceLevelsOptions,
): Promise<LayerLevels>;
export async function readLuminanceLevels(
  url: string,
  o: ReadLuminanceLevelsOptions = {},
): Promise<SliceLevels | LayerLevels> {
  const store = o.storage ?? openStorage(url, o.storageOptions);
  const key = o.z === undefined ? layerLevelsKey(o.mip ?? 0) : sliceLevelsKey(o.mip ?? 0, o.z);
  const where = `${store.url}/${key}`;
  let value: unknown;
  try {
    value = await store.getJson(key);
  } catch (e) {
    throw new LuminanceLevelsError(`${where} is not JSON (${(e as Error).message})`, where);
  }
  if (value === null)
    throw new LuminanceLevelsError(
      `${where} is missing: run the histogram stage (ngpipe image histogram) first`,
      where,
    );
  parseLevels(value, where);
  return value as SliceLevels | LayerLevels;
}
