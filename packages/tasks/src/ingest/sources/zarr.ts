/**
 * Zarr v2 and v3 arrays (sharded v3 included) and OME-Zarr multiscale
 * groups as ingest sources, read with zarrita from a local directory or any
 * `@ngpipe/storage` URL. Each block is one `zarr.get` of the block's
 * selection, so only the chunks (or the inner chunks of shards) that the
 * block touches are fetched.
 *
 * OME-NGFF: https://ngff.openmicroscopy.org/latest/ (multiscales, axes,
 * coordinateTransformations; 0.4 in `.zattrs`, 0.5 under `attributes.ome`).
 */
import * as path from "node:path";
import {
  allocTyped,
  type DataType,
  fromTyped,
  isDataType,
  type Shape4,
  type VoxelArray,
} from "@ngpipe/precomputed";
import { openStorage } from "@ngpipe/storage";
import {
  CorruptSourceError,
  DatasetNotFoundError,
  SourceError,
  UnsupportedDataTypeError,
} from "./errors";
import {
  type AxisRole,
  blockSize,
  copyToXyzc,
  defaultAxes,
  parseAxes,
  roleStrides,
  shape4,
  splitInnerPath,
} from "./layout";
import type { BlockBox, ReadBlockOptions, Vec3, VolumeSource } from "./types";
import { type ByteStore, localByteStore, zarritaStore } from "./zarr-store";

type Zarrita = typeof import("zarrita");
type ZArray = import("zarrita").Array<import("zarrita").DataType, import("zarrita").Readable>;

/** Options of {@link openZarr}. */
export interface ZarrSourceOptions {
  /** Path of the array (or OME-Zarr group) inside the store; also accepted as `url#path`. */
  path?: string;
  /** Level of an OME-Zarr multiscale group, 0 = full resolution. Default 0. */
  level?: number;
  /**
   * Axis order of the array, slowest first. Default: the OME-Zarr axes names,
   * else the v3 `dimension_names` when they are single letters, else
   * "yx" / "zyx" / "czyx" by dimension count.
   */
  axes?: string | string[];
  /** Read through this store instead of opening one from the URL. */
  store?: ByteStore;
}

let zarritaModule: Promise<Zarrita> | undefined;
/** zarrita is ESM-only: load it by dynamic import, once. */
function loadZarrita(): Promise<Zarrita> {
  zarritaModule ??= import("zarrita");
  return zarritaModule;
}

/** Nanometres per unit of the OME-NGFF (UDUNITS-2) length units. */
const NM_PER_UNIT: Record<string, number> = {
  angstrom: 0.1,
  picometer: 1e-3,
  nanometer: 1,
  micrometer: 1e3,
  micron: 1e3,
  millimeter: 1e6,
  centimeter: 1e7,
  meter: 1e9,
};

interface OmeAxis {
  name: string;
  type?: string;
  unit?: string;
}
interface OmeTransform {
  type: string;
  scale?: number[];
}
interface OmeMultiscale {
  axes?: (OmeAxis | string)[];
  datasets: { path: string; coordinateTransformations?: OmeTransform[] }[];
  coordinateTransformations?: OmeTransform[];
}

/** The OME-Zarr multiscale description of a group's attributes, if any. */
function omeMultiscale(attrs: Record<string, unknown>): OmeMultiscale | undefined {
  const ome = (attrs.ome as Record<string, unknown> | undefined) ?? attrs;
  const ms = ome.multiscales as OmeMultiscale[] | undefined;
  return Array.isArray(ms) && ms.length > 0 && Array.isArray(ms[0].datasets) ? ms[0] : undefined;
}

function scaleOf(ts: OmeTransform[] | undefined, ndim: number): number[] {
  const s = ts?.find((t) => t.type === "scale")?.scale;
  return s && s.length === ndim ? s : new Array(ndim).fill(1);
}

/**
 * Voxel size in nm [x, y, z] from OME axes and scales, when x, y and z all
 * carry a known length unit (undefined otherwise; a missing z is 1 voxel = 1).
 */
function omeResolution(ms: OmeMultiscale, level: number, names: string[]): Vec3 | undefined {
  const nd = names.length;
  const a = scaleOf(ms.datasets[level].coordinateTransformations, nd);
  const b = scaleOf(ms.coordinateTransformations, nd);
  const res: Vec3 = [1, 1, 1];
  for (const [i, axis] of ["x", "y", "z"].entries()) {
    const j = names.indexOf(axis);
    if (j < 0) continue;
    const entry = ms.axes?.[j];
    const unit = typeof entry === "object" ? entry.unit : undefined;
    const f = unit === undefined ? undefined : NM_PER_UNIT[unit];
    if (f === undefined) return undefined;
    res[i] = a[j] * b[j] * f;
  }
  return res;
}

/**
 * Shards whose index sits at the start of the file are valid Zarr v3 but
 * zarrita reads the index from the end: refuse them rather than read wrong
 * voxels.
 */
async function refuseUnsupportedSharding(
  bytes: ByteStore,
  array: ZArray,
  label: string,
): Promise<void> {
  const at = String((array as unknown as { path?: string }).path ?? "/").replace(/^\/+/, "");
  const raw = await bytes.get(at === "" ? "zarr.json" : `${at}/zarr.json`);
  const data = raw instanceof Uint8Array ? raw : raw?.data;
  if (!data) return; // Zarr v2: no sharding
  let meta: { codecs?: Array<{ name?: string; configuration?: Record<string, unknown> }> };
  try {
    meta = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return; // zarrita already parsed it; nothing more to check here
  }
  for (const c of meta.codecs ?? []) {
    const where = c?.configuration?.index_location ?? "end";
    if (c?.name === "sharding_indexed" && where !== "end") {
      throw new SourceError(
        `${label}: shards with index_location "${String(where)}" are not supported (only "end")`,
        label,
      );
    }
  }
}

/**
 * A stored chunk shorter than its shape (a truncated file) must be an
 * error, not voxels silently left at zero: check every decoded chunk.
 */
function checkChunkLengths(array: ZArray, label: string): void {
  const a = array as unknown as {
    getChunk: (
      coords: number[],
      ...rest: unknown[]
    ) => Promise<{ data: { length: number }; shape: number[] }>;
  };
  const original = a.getChunk.bind(a);
  a.getChunk = async (coords: number[], ...rest: unknown[]) => {
    const chunk = await original(coords, ...rest);
    const want = chunk.shape.reduce((x, y) => x * y, 1);
    if (chunk.data.length !== want) {
      throw new CorruptSourceError(
        `${label}: chunk [${coords.join(",")}] decodes to ${chunk.data.length} values, its shape [${chunk.shape.join(",")}] needs ${want} (truncated or corrupt)`,
        label,
      );
    }
    return chunk;
  };
}

/** Array paths under `prefix`, found by listing the store (for error messages). */
async function listArrays(store: ByteStore, prefix: string): Promise<string[]> {
  if (!store.list) return [];
  const out: string[] = [];
  const p = prefix === "" ? "" : `${prefix.replace(/\/+$/, "")}/`;
  let seen = 0;
  for await (const key of store.list(p, { recursive: true })) {
    // Chunk keys outnumber metadata by far: stop listing a big store early.
    if (++seen > 20_000) break;
    if (key.endsWith(".zarray")) out.push(`/${key.slice(0, -"/.zarray".length)}`);
    else if (key.endsWith("zarr.json")) {
      const meta = await store.get(key);
      const bytes = meta instanceof Uint8Array ? meta : meta?.data;
      try {
        if (bytes && JSON.parse(new TextDecoder().decode(bytes)).node_type === "array") {
          out.push(`/${key.slice(0, -"/zarr.json".length)}`);
        }
      } catch {
        // not JSON: not an array
      }
    }
    if (out.length >= 200) break;
  }
  return out.map((k) => (k === "/" ? "/" : k.replace(/^\/\//, "/")));
}

/** Open the store behind a Zarr URL: local paths directly, anything else through `@ngpipe/storage`. */
function storeFor(url: string): ByteStore {
  if (!/^[a-z][a-z0-9+]*:\/\//i.test(url) || url.startsWith("file://")) {
    return localByteStore(path.resolve(url.replace(/^file:\/\//, "")));
  }
  return openStorage(url);
}

class ZarrSource implements VolumeSource {
  readonly format = "zarr";

  constructor(
    private readonly zarr: Zarrita,
    readonly url: string,
    readonly shape: Shape4,
    readonly dataType: DataType,
    private readonly array: ZArray,
    private readonly roles: AxisRole[],
    readonly resolution: Vec3 | undefined,
  ) {}

  async readBlock(bbox: BlockBox, opts: ReadBlockOptions = {}): Promise<VoxelArray> {
    opts.signal?.throwIfAborted();
    const size = blockSize(bbox, this.shape, this.url);
    const z = this.zarr;
    const selection = this.roles.map((r) =>
      r === 3 ? null : r === -1 ? z.slice(0, 1) : z.slice(bbox.min[r], bbox.max[r]),
    );
    let chunk: { data: unknown; stride: number[] };
    try {
      chunk = (await z.get(this.array, selection, {
        opts: { signal: opts.signal },
      })) as typeof chunk;
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      throw new CorruptSourceError(
        `${this.url}: reading block [${bbox.min.join(",")}]-[${bbox.max.join(",")}) failed: ${(e as Error).message}`,
        this.url,
        { cause: e },
      );
    }
    const out = allocTyped(this.dataType, size[0] * size[1] * size[2] * size[3]);
    copyToXyzc(
      chunk.data as import("@ngpipe/precomputed").TypedArray,
      0,
      roleStrides(chunk.stride, this.roles),
      size,
      out,
    );
    return fromTyped(out, size);
  }

  async close() {}
}

/**
 * Open a Zarr array or an OME-Zarr multiscale group as a {@link VolumeSource}.
 *
 * ```ts
 * const src = await openZarr("s3://bucket/cells.ome.zarr", { level: 1 });
 * src.resolution; // e.g. [16, 16, 40] (nm, from the OME scales)
 * ```
 */
export async function openZarr(url: string, opts: ZarrSourceOptions = {}): Promise<VolumeSource> {
  const split = splitInnerPath(url);
  const root = split.container;
  const inner = (opts.path ?? split.inner ?? "").replace(/^\/+|\/+$/g, "");
  const zarr = await loadZarrita();
  const bytes = opts.store ?? storeFor(root);
  const store = zarritaStore(bytes);
  const name = inner === "" ? root : `${root}#/${inner}`;
  let node: Awaited<ReturnType<Zarrita["open"]>>;
  try {
    node = await zarr.open(zarr.root(store).resolve(inner === "" ? "/" : `/${inner}`));
  } catch (e) {
    if ((e as Error).name === "NotFoundError") {
      const available = await listArrays(bytes, "");
      if (inner === "" && available.length === 0) {
        throw new SourceError(`${root}: no Zarr array or group here`, root, { cause: e });
      }
      throw new DatasetNotFoundError(root, inner === "" ? undefined : `/${inner}`, available);
    }
    const dt = /unsupported dataType: (\S+)/i.exec((e as Error).message);
    if (dt) throw new UnsupportedDataTypeError(name, dt[1]);
    throw new CorruptSourceError(`${name}: can't open Zarr node (${(e as Error).message})`, name, {
      cause: e,
    });
  }
  let array: ZArray;
  let axes: string[] | undefined;
  let resolution: Vec3 | undefined;
  let label = name;
  if (node.kind === "group") {
    const ms = omeMultiscale(node.attrs as Record<string, unknown>);
    if (!ms) {
      throw new DatasetNotFoundError(name, undefined, await listArrays(bytes, inner));
    }
    const level = opts.level ?? 0;
    if (!Number.isInteger(level) || level < 0 || level >= ms.datasets.length) {
      throw new SourceError(
        `${name}: level ${level} does not exist; the multiscale has levels 0..${ms.datasets.length - 1}`,
        name,
      );
    }
    const sub = [inner, ms.datasets[level].path].filter((s) => s !== "").join("/");
    label = `${root}#/${sub}`;
    try {
      array = await zarr.open(zarr.root(store).resolve(`/${sub}`), { kind: "array" });
    } catch (e) {
      throw new CorruptSourceError(
        `${label}: OME-Zarr level ${level} is missing (${(e as Error).message})`,
        label,
        {
          cause: e,
        },
      );
    }
    // By name (x, y, z, c, t), else by OME type: a "channel" axis named
    // "channel" (or "ch") is c, a "time" axis is t.
    axes = ms.axes?.map((a) => {
      if (typeof a === "string") return a;
      const n = String(a.name ?? "");
      if (/^[xyzct]$/i.test(n)) return n;
      const type = (a as { type?: string }).type;
      return type === "channel" ? "c" : type === "time" ? "t" : n;
    });
    if (axes === undefined && array.shape.length === 5) axes = [..."tczyx"];
    if (axes) resolution = omeResolution(ms, level, axes);
  } else {
    array = node;
    const dn = array.dimensionNames;
    if (dn?.every((d) => typeof d === "string" && /^[a-z]$/i.test(d))) axes = dn;
  }
  const dtype = array.dtype as string;
  if (!isDataType(dtype)) throw new UnsupportedDataTypeError(label, dtype);
  await refuseUnsupportedSharding(bytes, array, label);
  checkChunkLengths(array, label);
  const nd = array.shape.length;
  let defaults: string | undefined;
  if (!opts.axes && !axes) {
    try {
      defaults = defaultAxes(nd);
    } catch {
      throw new SourceError(
        `${label}: a ${nd}-D array without axis names (OME-Zarr axes or v3 dimension_names); pass an "axes" option, e.g. "tczyx"`,
        label,
      );
    }
  }
  const roles = parseAxes(opts.axes ?? axes ?? (defaults as string), nd, label);
  return new ZarrSource(
    zarr,
    label,
    shape4(array.shape, roles, label),
    dtype,
    array,
    roles,
    resolution,
  );
}
