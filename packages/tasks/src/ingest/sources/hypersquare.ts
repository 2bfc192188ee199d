/**
 * HyperSquare datasets (the Eyewire cube format) as ingest sources, on any
 * `@ngpipe/storage` URL. A dataset is a directory of cubes; each cube is a
 * directory with
 *
 * - `metadata.json`: `chunk_voxel_dimensions` [x, y, z] (the cube's size in
 *   voxels), `voxel_resolution` [x, y, z] (nm), `physical_offset_min` and
 *   `physical_offset_max` (the cube's corners in nm: `max - min` is
 *   `chunk_voxel_dimensions × voxel_resolution`), `image_type`,
 *   `segment_id_type` and `affinity_type` (Julia or numpy type names);
 * - `segmentation.lzma`: the cube's segment ids, x fastest, little-endian, of
 *   `segment_id_type`, as one `.lzma` stream;
 * - `jpg/{z}.jpg`: the cube's image, one greyscale JPEG per z (0-based; of a
 *   colour JPEG the first channel is read). A missing slice reads as black.
 *
 * Neighbouring cubes overlap; each cube gives up half of the overlap on each
 * of its sides (`floor(overlap / 2)` below, the rest above), so the kept parts
 * tile the volume exactly. The overlap is the `overlap` option, or else what
 * the cube origins show (cube size minus the step between origins).
 *
 * One source reads one of the two volumes: `dataset: "image"` (uint8) or
 * `dataset: "segmentation"` (default image).
 */
import {
  allocTyped,
  bytesPerVoxel,
  type DataType,
  fromTyped,
  isDataType,
  runKernel,
  type Shape4,
  type TypedArray,
  type VoxelArray,
} from "@ngpipe/precomputed";
import { forEachLimit, openStorage, type Storage } from "@ngpipe/storage";
import { tasksKernels } from "../../kernel-module";
import {
  CorruptSourceError,
  MissingConfigError,
  ShapeMismatchError,
  SourceError,
  UnsupportedDataTypeError,
} from "./errors";
import { decodeJpeg } from "./image-decode";
import { blockSize, copyStrided } from "./layout";
import { LzmaStreamError } from "./lzma";
import type { BlockBox, ReadBlockOptions, Vec3, VolumeSource } from "./types";

/** Options of {@link openHyperSquare}. */
export interface HyperSquareSourceOptions {
  /** Which volume of the cubes to read: "image" (default) or "segmentation". */
  dataset?: string;
  /** Overlap of neighbouring cubes in voxels. Default: from the cube origins. */
  overlap?: Vec3;
  /** Decoded cubes kept in memory, in bytes. Default 512 MiB. */
  cacheBytes?: number;
}

/** One cube of a HyperSquare dataset. */
export interface HyperSquareCube {
  /** Its directory name (the key prefix, without the slash). */
  name: string;
  /** Global voxel position of its first voxel (physical_offset_min / voxel_resolution). */
  origin: Vec3;
  /** The part it contributes once the overlap is trimmed: global voxels, half-open. */
  keep: { min: Vec3; max: Vec3 };
  /** Its `metadata.json` as parsed. */
  metadata: Record<string, unknown>;
}

/** A HyperSquare source, with the cubes it found (for tasks that work cube by cube). */
export interface HyperSquareSource extends VolumeSource {
  readonly cubes: readonly HyperSquareCube[];
  /** Cube size in voxels. */
  readonly cubeSize: Vec3;
  /** Overlap used for trimming. */
  readonly overlap: Vec3;
}

function vec3(m: Record<string, unknown>, field: string, where: string, positive: boolean): Vec3 {
  const v = m[field];
  if (
    !Array.isArray(v) ||
    v.length !== 3 ||
    v.some((n) => typeof n !== "number" || !Number.isFinite(n) || (positive && n <= 0))
  ) {
    throw new MissingConfigError(
      where,
      "metadata.json",
      `has ${field} ${JSON.stringify(v)}; expected three ${positive ? "positive " : ""}numbers`,
    );
  }
  return v as Vec3;
}

function typeField(m: Record<string, unknown>, field: string, where: string): DataType {
  const name = String(m[field] ?? "").toLowerCase();
  if (m[field] === undefined)
    throw new MissingConfigError(where, "metadata.json", `has no ${field}`);
  if (!isDataType(name))
    throw new UnsupportedDataTypeError(`${where}/metadata.json`, String(m[field]));
  return name;
}

/** Parse and check one cube's metadata.json. */
function parseCube(name: string, m: Record<string, unknown>, where: string) {
  const dims = vec3(m, "chunk_voxel_dimensions", where, true);
  const res = vec3(m, "voxel_resolution", where, true);
  const lo = vec3(m, "physical_offset_min", where, false);
  const hi = vec3(m, "physical_offset_max", where, false);
  const origin: Vec3 = [0, 0, 0];
  for (let i = 0; i < 3; i++) {
    if (!Number.isInteger(dims[i])) {
      throw new ShapeMismatchError(
        `${where}/metadata.json: chunk_voxel_dimensions ${dims} are not whole`,
        where,
      );
    }
    if (Math.abs(hi[i] - lo[i] - dims[i] * res[i]) > 1e-6 * res[i]) {
      throw new ShapeMismatchError(
        `${where}/metadata.json: the cube spans ${hi[i] - lo[i]} nm along ${"xyz"[i]} (physical_offset_max - physical_offset_min), but ${dims[i]} voxels of ${res[i]} nm make ${dims[i] * res[i]}`,
        where,
      );
    }
    origin[i] = Math.round(lo[i] / res[i]);
    if (Math.abs(origin[i] * res[i] - lo[i]) > 1e-6 * res[i]) {
      throw new ShapeMismatchError(
        `${where}/metadata.json: physical_offset_min ${lo[i]} is not a whole number of ${res[i]} nm voxels`,
        where,
      );
    }
  }
  return { name, dims, res, origin, metadata: m };
}

/** The overlap the cube origins show along each axis: cube size minus the smallest step. */
function inferOverlap(origins: Vec3[], dims: Vec3): Vec3 {
  const out: Vec3 = [0, 0, 0];
  for (let i = 0; i < 3; i++) {
    const seen = [...new Set(origins.map((o) => o[i]))].sort((a, b) => a - b);
    let step = Infinity;
    for (let k = 1; k < seen.length; k++) step = Math.min(step, seen[k] - seen[k - 1]);
    out[i] = Number.isFinite(step) ? Math.max(0, dims[i] - step) : 0;
  }
  return out;
}

/** An LRU of decoded cubes, bounded in bytes. */
class CubeCache {
  private readonly entries = new Map<string, Promise<TypedArray>>();
  private readonly sizes = new Map<string, number>();
  private bytes = 0;

  constructor(private readonly limit: number) {}

  get(key: string, size: number, load: () => Promise<TypedArray>): Promise<TypedArray> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const p = load();
    this.entries.set(key, p);
    this.sizes.set(key, size);
    this.bytes += size;
    p.catch(() => this.drop(key));
    for (const k of this.entries.keys()) {
      if (this.bytes <= this.limit || k === key) break;
      this.drop(k);
    }
    return p;
  }

  private drop(key: string): void {
    if (!this.entries.delete(key)) return;
    this.bytes -= this.sizes.get(key) ?? 0;
    this.sizes.delete(key);
  }
}

class HyperSquareReader implements HyperSquareSource {
  readonly format = "hypersquare";
  private readonly cache: CubeCache;

  constructor(
    readonly url: string,
    readonly shape: Shape4,
    readonly dataType: DataType,
    readonly resolution: Vec3,
    readonly voxelOffset: Vec3,
    readonly cubes: HyperSquareCube[],
    readonly cubeSize: Vec3,
    readonly overlap: Vec3,
    private readonly volume: "image" | "segmentation",
    private readonly storage: Storage,
    cacheBytes: number,
    /** The dataset's URL, for naming its objects in errors. */
    private readonly base: string,
  ) {
    this.cache = new CubeCache(cacheBytes);
  }

  /** The cube's segmentation, decoded whole (an `.lzma` stream can't be read in part). */
  private async segmentation(cube: HyperSquareCube, signal?: AbortSignal): Promise<TypedArray> {
    const [dx, dy, dz] = this.cubeSize;
    const n = dx * dy * dz;
    const width = bytesPerVoxel(this.dataType);
    return this.cache.get(cube.name, n * width, async () => {
      const key = `${cube.name}/segmentation.lzma`;
      const where = `${this.base}/${key}`;
      const bytes = await this.storage.get(key, { signal });
      if (bytes === null) throw new CorruptSourceError(`${where}: missing`, where);
      let raw: Uint8Array;
      try {
        // The decode (about 50 MB/s of output) runs in the worker pool, so
        // tasks running at once decode their cubes in parallel.
        // A copy goes to the worker: the fetched bytes may share their buffer (a store's own copy).
        const own = bytes.slice();
        raw = await runKernel<Uint8Array>(tasksKernels(), "decodeLzma", [own, n * width], {
          transfer: [own.buffer as ArrayBuffer],
          signal,
        });
      } catch (e) {
        if (!(e instanceof LzmaStreamError)) throw e;
        throw new CorruptSourceError(`${where}: ${e.message}`, where, { cause: e });
      }
      const out = allocTyped(this.dataType, n);
      new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(raw);
      return out;
    });
  }

  /** Slices z0..z1 (cube-local) of the cube's image; missing slices are black. */
  private async image(
    cube: HyperSquareCube,
    z0: number,
    z1: number,
    signal?: AbortSignal,
  ): Promise<TypedArray> {
    const [dx, dy] = this.cubeSize;
    const out = new Uint8Array(dx * dy * (z1 - z0));
    await forEachLimit(
      Array.from({ length: z1 - z0 }, (_, i) => z0 + i),
      4,
      async (z) => {
        const key = `${cube.name}/jpg/${z}.jpg`;
        const where = `${this.base}/${key}`;
        const bytes = await this.storage.get(key, { signal });
        if (bytes === null) return;
        const slice = await decodeJpeg(bytes, where);
        if (slice.width !== dx || slice.height !== dy || slice.dataType !== "uint8") {
          throw new ShapeMismatchError(
            `${where}: a ${slice.width}x${slice.height} ${slice.dataType} image; the cube's slices are ${dx}x${dy} uint8`,
            where,
          );
        }
        // Greyscale as written; of a colour JPEG (grey saved as RGB) the first channel.
        out.set((slice.data as Uint8Array).subarray(0, dx * dy), dx * dy * (z - z0));
      },
      { signal },
    );
    return out;
  }

  async readBlock(bbox: BlockBox, opts: ReadBlockOptions = {}): Promise<VoxelArray> {
    opts.signal?.throwIfAborted();
    const size = blockSize(bbox, this.shape, this.url);
    const o = this.voxelOffset;
    const gmin: Vec3 = [bbox.min[0] + o[0], bbox.min[1] + o[1], bbox.min[2] + o[2]];
    const gmax: Vec3 = [bbox.max[0] + o[0], bbox.max[1] + o[1], bbox.max[2] + o[2]];
    const out = allocTyped(this.dataType, size[0] * size[1] * size[2]);
    const touched = this.cubes.filter((c) =>
      [0, 1, 2].every((i) => c.keep.min[i] < gmax[i] && c.keep.max[i] > gmin[i]),
    );
    const [dx, dy] = this.cubeSize;
    await forEachLimit(
      touched,
      2,
      async (cube) => {
        // The global box this cube fills: its kept part inside the block.
        const lo: Vec3 = [0, 0, 0];
        const n: Shape4 = [0, 0, 0, 1];
        for (let i = 0; i < 3; i++) {
          lo[i] = Math.max(cube.keep.min[i], gmin[i]);
          n[i] = Math.min(cube.keep.max[i], gmax[i]) - lo[i];
        }
        const local: Vec3 = [
          lo[0] - cube.origin[0],
          lo[1] - cube.origin[1],
          lo[2] - cube.origin[2],
        ];
        let data: TypedArray;
        let zBase = 0;
        if (this.volume === "segmentation") data = await this.segmentation(cube, opts.signal);
        else {
          data = await this.image(cube, local[2], local[2] + n[2], opts.signal);
          zBase = local[2];
        }
        copyStrided(
          data,
          local[0] + dx * (local[1] + dy * (local[2] - zBase)),
          [1, dx, dx * dy, 0],
          n,
          out,
          lo[0] - gmin[0] + size[0] * (lo[1] - gmin[1] + size[1] * (lo[2] - gmin[2])),
          [1, size[0], size[0] * size[1], 0],
        );
      },
      { signal: opts.signal },
    );
    return fromTyped(out, size);
  }

  async close(): Promise<void> {}
}

/** Read every cube's metadata.json under the dataset. */
async function readCubes(storage: Storage, url: string) {
  const names: string[] = [];
  try {
    for await (const key of storage.list("")) if (key.endsWith("/")) names.push(key.slice(0, -1));
  } catch (e) {
    throw new SourceError(`${url}: can't list the dataset (${(e as Error).message})`, url, {
      cause: e,
    });
  }
  const cubes: ReturnType<typeof parseCube>[] = [];
  await forEachLimit(names, 16, async (name) => {
    const where = `${url}/${name}`;
    const bytes = await storage.get(`${name}/metadata.json`);
    if (bytes === null) {
      // A directory without metadata is no cube, unless it holds cube data.
      if (await storage.exists(`${name}/segmentation.lzma`)) {
        throw new MissingConfigError(where, "metadata.json", "is missing beside segmentation.lzma");
      }
      return;
    }
    let m: unknown;
    try {
      m = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new MissingConfigError(where, "metadata.json", "is not JSON", { cause: e });
    }
    if (m === null || typeof m !== "object" || Array.isArray(m)) {
      throw new MissingConfigError(where, "metadata.json", "is not a JSON object");
    }
    cubes.push(parseCube(name, m as Record<string, unknown>, where));
  });
  if (cubes.length === 0) {
    throw new MissingConfigError(url, "*/metadata.json", "not found: no HyperSquare cube here");
  }
  cubes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return cubes;
}

/**
 * Open a HyperSquare dataset (a directory of cubes) as a {@link VolumeSource}
 * of its image (`dataset: "image"`, uint8) or segmentation
 * (`dataset: "segmentation"`, the cubes' segment_id_type).
 *
 * ```ts
 * const seg = await openHyperSquare("gs://lab/e2198", { dataset: "segmentation" });
 * seg.voxelOffset; // the lowest kept voxel of all cubes
 * seg.cubes.length;
 * ```
 */
export async function openHyperSquare(
  url: string,
  opts: HyperSquareSourceOptions = {},
): Promise<HyperSquareSource> {
  const volume = (opts.dataset ?? "image").replace(/^\/+/, "");
  if (volume !== "image" && volume !== "segmentation") {
    throw new SourceError(
      `${url}: a HyperSquare dataset holds "image" and "segmentation", not "${volume}"`,
      url,
    );
  }
  const storage = openStorage(url.replace(/\/+$/, ""));
  const parsed = await readCubes(storage, url);
  const first = parsed[0];
  const typeName = volume === "image" ? "image_type" : "segment_id_type";
  const dataType = typeField(first.metadata, typeName, `${url}/${first.name}`);
  if (volume === "image" && dataType !== "uint8") {
    throw new UnsupportedDataTypeError(
      `${url}/${first.name}/metadata.json`,
      String(first.metadata.image_type),
    );
  }
  if (volume === "segmentation" && !dataType.startsWith("uint")) {
    throw new UnsupportedDataTypeError(
      `${url}/${first.name}/metadata.json`,
      String(first.metadata.segment_id_type),
    );
  }
  for (const c of parsed) {
    const where = `${url}/${c.name}`;
    const same = (a: Vec3, b: Vec3) => a.every((v, i) => v === b[i]);
    if (!same(c.dims, first.dims) || !same(c.res, first.res)) {
      throw new ShapeMismatchError(
        `${where}/metadata.json: cube of ${c.dims.join("x")} voxels of ${c.res.join("x")} nm, but ${first.name} has ${first.dims.join("x")} of ${first.res.join("x")} nm`,
        where,
      );
    }
    if (typeField(c.metadata, typeName, where) !== dataType) {
      throw new ShapeMismatchError(
        `${where}/metadata.json: ${typeName} ${String(c.metadata[typeName])}, but ${first.name} has ${String(first.metadata[typeName])}`,
        where,
      );
    }
  }
  const dims = first.dims;
  const overlap =
    opts.overlap ??
    inferOverlap(
      parsed.map((c) => c.origin),
      dims,
    );
  if (overlap.some((v, i) => !Number.isInteger(v) || v < 0 || v >= dims[i])) {
    throw new SourceError(
      `${url}: overlap ${overlap.join(",")} must be whole numbers from 0 to below the cube size ${dims.join(",")}`,
      url,
    );
  }
  const lo = overlap.map((v) => Math.floor(v / 2));
  const cubes: HyperSquareCube[] = parsed.map((c) => ({
    name: c.name,
    origin: c.origin,
    metadata: c.metadata,
    keep: {
      min: [c.origin[0] + lo[0], c.origin[1] + lo[1], c.origin[2] + lo[2]],
      max: [
        c.origin[0] + dims[0] - (overlap[0] - lo[0]),
        c.origin[1] + dims[1] - (overlap[1] - lo[1]),
        c.origin[2] + dims[2] - (overlap[2] - lo[2]),
      ],
    },
  }));
  const min: Vec3 = [Infinity, Infinity, Infinity];
  const max: Vec3 = [-Infinity, -Infinity, -Infinity];
  for (const c of cubes)
    for (let i = 0; i < 3; i++) {
      min[i] = Math.min(min[i], c.keep.min[i]);
      max[i] = Math.max(max[i], c.keep.max[i]);
    }
  const label = `${url.replace(/\/+$/, "")}#${volume}`;
  return new HyperSquareReader(
    label,
    [max[0] - min[0], max[1] - min[1], max[2] - min[2], 1],
    dataType,
    first.res,
    min,
    cubes,
    dims,
    overlap,
    volume,
    storage,
    opts.cacheBytes ?? 512 * 2 ** 20,
    url.replace(/\/+$/, ""),
  );
}
