/**
 * HDF5 datasets as ingest sources, read with h5wasm (the HDF5 C library
 * compiled to WebAssembly). The Node build of h5wasm sees the host file
 * system directly, so a file is opened in place and each block is one
 * hyperslab read (`Dataset.slice`): HDF5 reads and inflates only the chunks
 * that the block touches, never the whole dataset.
 */
import { open as openFile } from "node:fs/promises";
import * as path from "node:path";
import {
  allocTyped,
  type DataType,
  fromTyped,
  type Shape4,
  type VoxelArray,
} from "@ngpipe/precomputed";
import type { Dataset, Group, File as H5File } from "h5wasm";
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
  cStrides,
  defaultAxes,
  isXyzcLayout,
  parseAxes,
  roleStrides,
  shape4,
  splitInnerPath,
  swapBytes,
} from "./layout";
import type { BlockBox, ReadBlockOptions, VolumeSource } from "./types";

type H5Module = typeof import("h5wasm");

/** Options of {@link openHdf5}. */
export interface Hdf5SourceOptions {
  /**
   * Path of the dataset inside the file, e.g. "/main" or "volumes/raw".
   * Also accepted in the path as `file.h5#/volumes/raw`. When omitted and the
   * file holds exactly one dataset of 2 or more dimensions, that one is used.
   */
  dataset?: string;
  /**
   * Axis order of the dataset as h5py indexes it, slowest first. Default by
   * dimension count: "yx", "zyx", "czyx" (what h5py writes for an array
   * indexed `a[c, z, y, x]`).
   */
  axes?: string | string[];
}

let h5Module: Promise<H5Module> | undefined;

/** Load h5wasm's Node build once (it is ESM-only, so it comes in by dynamic import). */
function loadH5wasm(): Promise<H5Module> {
  h5Module ??= import("h5wasm/node").then(async (mod) => {
    await mod.ready;
    return mod;
  });
  return h5Module;
}

/** Every dataset path in the file, depth first. */
function listDatasets(h5: H5Module, group: Group, prefix: string, out: string[]): string[] {
  for (const name of group.keys()) {
    const full = `${prefix}/${name}`;
    let entity: unknown;
    try {
      entity = group.get(name);
    } catch {
      continue;
    }
    if (entity instanceof h5.Dataset) out.push(full);
    else if (entity instanceof h5.Group) listDatasets(h5, entity, full, out);
  }
  return out;
}

/** The ngpipe data type of an HDF5 integer or float type, or undefined. */
function dataTypeOf(meta: { type: number; size: number; signed: boolean }): DataType | undefined {
  if (meta.type === 0) {
    const bits = meta.size * 8;
    if (![8, 16, 32, 64].includes(bits)) return undefined;
    return `${meta.signed ? "int" : "uint"}${bits}` as DataType;
  }
  if (meta.type === 1) {
    if (meta.size === 4) return "float32";
    if (meta.size === 8) return "float64";
  }
  return undefined;
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Whether the file starts with the HDF5 superblock signature, at offset 0 or
 * after a user block (512, 1024, 2048, ... bytes). h5wasm itself only logs
 * when it can't open a file, so this check gives the clear error.
 */
async function hasHdf5Signature(file: string): Promise<boolean> {
  let fh: Awaited<ReturnType<typeof openFile>>;
  try {
    fh = await openFile(file, "r");
  } catch (e) {
    throw new SourceError(`${file}: can't open HDF5 file (${(e as Error).message})`, file, {
      cause: e,
    });
  }
  try {
    const size = (await fh.stat()).size;
    const buf = new Uint8Array(8);
    for (let off = 0; off + 8 <= size; off = off === 0 ? 512 : off * 2) {
      const { bytesRead } = await fh.read(buf, 0, 8, off);
      if (bytesRead === 8 && SIGNATURE.every((b, i) => buf[i] === b)) return true;
    }
    return false;
  } finally {
    await fh.close();
  }
}

/** Split `file.h5#/dataset` into its file path and dataset. */
export function splitHdf5Path(spec: string): { file: string; dataset?: string } {
  const { container, inner } = splitInnerPath(spec);
  return { file: container, dataset: inner || undefined };
}

class Hdf5Source implements VolumeSource {
  readonly format = "hdf5";
  private closed = false;

  constructor(
    readonly url: string,
    readonly shape: Shape4,
    readonly dataType: DataType,
    private readonly file: H5File,
    private readonly dataset: Dataset,
    private readonly datasetShape: number[],
    private readonly roles: AxisRole[],
    private readonly littleEndian: boolean,
  ) {}

  async readBlock(bbox: BlockBox, opts: ReadBlockOptions = {}): Promise<VoxelArray> {
    opts.signal?.throwIfAborted();
    if (this.closed) throw new SourceError(`${this.url}: source is closed`, this.url);
    const size = blockSize(bbox, this.shape, this.url);
    // One hyperslab in the dataset's own axis order: the block's range on
    // x/y/z, every channel, index 0 of dropped axes.
    const ranges = this.roles.map((r): [number, number] =>
      r === 3 ? [0, this.shape[3]] : r === -1 ? [0, 1] : [bbox.min[r], bbox.max[r]],
    );
    const slabShape = ranges.map(([a, b]) => b - a);
    const slab = this.dataset.slice(ranges);
    if (!ArrayBuffer.isView(slab)) {
      throw new CorruptSourceError(
        `${this.url}: HDF5 returned no data for ${JSON.stringify(ranges)}`,
        this.url,
      );
    }
    const src = slab as unknown as import("@ngpipe/precomputed").TypedArray;
    if (!this.littleEndian) {
      swapBytes(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), src.BYTES_PER_ELEMENT);
    }
    const stride = roleStrides(cStrides(slabShape), this.roles);
    const out = allocTyped(this.dataType, 0);
    // A "zyx" or "czyx" slab is already an x-fastest block with planar
    // channels: hand it out as it is (HDF5 gave us our own copy).
    if (src.constructor === out.constructor && isXyzcLayout(stride, size))
      return fromTyped(src, size);
    const block = allocTyped(this.dataType, size[0] * size[1] * size[2] * size[3]);
    copyToXyzc(src, 0, stride, size, block);
    return fromTyped(block, size);
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    this.file.close();
  }

  /** The dataset's shape as h5py reports it (slowest axis first). */
  get storedShape(): readonly number[] {
    return this.datasetShape;
  }
}

/**
 * Open a dataset of a local HDF5 file as a {@link VolumeSource}.
 *
 * ```ts
 * const src = await openHdf5("aff.h5#/main"); // h5py shape (3, 5, 200, 200)
 * src.shape; // [200, 200, 5, 3]
 * const block = await src.readBlock({ min: [0, 0, 0], max: [64, 64, 5] });
 * ```
 */
export async function openHdf5(spec: string, opts: Hdf5SourceOptions = {}): Promise<VolumeSource> {
  const split = splitHdf5Path(spec.startsWith("file://") ? spec.slice(7) : spec);
  if (/^[a-z][a-z0-9+]*:\/\//i.test(split.file)) {
    throw new SourceError(
      `${spec}: HDF5 sources must be local files (copy the file to local disk first)`,
      spec,
    );
  }
  const file = path.resolve(split.file);
  const want = opts.dataset ?? split.dataset;
  if (!(await hasHdf5Signature(file))) {
    throw new CorruptSourceError(`${file}: not an HDF5 file (no HDF5 signature)`, file);
  }
  const h5 = await loadH5wasm();
  let f: H5File;
  try {
    f = new h5.File(file, "r");
  } catch (e) {
    throw new CorruptSourceError(
      `${file}: not a readable HDF5 file (${(e as Error).message})`,
      file,
      {
        cause: e,
      },
    );
  }
  try {
    const available = listDatasets(h5, f, "", []);
    let name = want === undefined ? undefined : `/${want.replace(/^\/+/, "")}`;
    if (name === undefined) {
      const volumes = available.filter((p) => ((f.get(p) as Dataset).shape?.length ?? 0) >= 2);
      if (volumes.length === 1) name = volumes[0];
    }
    const entity = name === undefined ? null : f.get(name);
    if (name === undefined || !(entity instanceof h5.Dataset)) {
      throw new DatasetNotFoundError(file, want, available);
    }
    const url = `${file}#${name}`;
    const meta = entity.metadata;
    const dtype = dataTypeOf(meta);
    if (dtype === undefined) throw new UnsupportedDataTypeError(url, String(entity.dtype));
    const dsShape = (meta.shape ?? []).map(Number);
    const roles = parseAxes(opts.axes ?? defaultAxes(dsShape.length), dsShape.length, url);
    return new Hdf5Source(
      url,
      shape4(dsShape, roles, url),
      dtype,
      f,
      entity,
      dsShape,
      roles,
      meta.littleEndian,
    );
  } catch (e) {
    f.close();
    throw e;
  }
}
