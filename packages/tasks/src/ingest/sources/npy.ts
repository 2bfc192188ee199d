/**
 * NumPy `.npy` files as ingest sources. The header (format versions 1.0, 2.0
 * and 3.0) gives dtype, shape and memory order; blocks are read with
 * positioned reads of the rows they cover, so a file far larger than memory
 * can be ingested. Big-endian dtypes ('>u2', '>f4', ...) are converted.
 *
 * Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { type FileHandle, open as openFile } from "node:fs/promises";
import * as path from "node:path";
import {
  allocTyped,
  type DataType,
  dataTypeOf,
  fromTyped,
  type Shape4,
  type TypedArray,
  type VoxelArray,
  viewTyped,
} from "@ngpipe/precomputed";
import { CorruptSourceError, SourceError, UnsupportedDataTypeError } from "./errors";
import {
  type AxisRole,
  blockSize,
  copyStrided,
  cStrides,
  defaultAxes,
  parseAxes,
  roleStrides,
  shape4,
  swapBytes,
} from "./layout";
import type { BlockBox, ReadBlockOptions, VolumeSource } from "./types";

/** What an `.npy` header says. */
export interface NpyHeader {
  /** The dtype string, e.g. "<u2". */
  descr: string;
  dataType: DataType;
  /** Whether the stored bytes are big-endian (they are swapped on read). */
  bigEndian: boolean;
  fortranOrder: boolean;
  /** Shape as numpy reports it (`arr.shape`). */
  shape: number[];
  /** Byte offset of the data. */
  dataOffset: number;
}

/** Options of {@link openNpy}. */
export interface NpySourceOptions {
  /**
   * Axis order of the array as numpy indexes it, slowest first. Default: the
   * order that makes memory x-fastest, i.e. "zyx"/"czyx" for C order and
   * "xyz"/"xyzc" for Fortran order (how CloudVolume saves cutouts).
   */
  axes?: string | string[];
  /** Files up to this size are read into memory once at open. Default 64 MiB. */
  maxWholeFileBytes?: number;
}

const KINDS: Record<string, DataType> = {
  b1: "uint8",
  u1: "uint8",
  u2: "uint16",
  u4: "uint32",
  u8: "uint64",
  i1: "int8",
  i2: "int16",
  i4: "int32",
  i8: "int64",
  f4: "float32",
  f8: "float64",
};

/**
 * Parse the header of an `.npy` file from its first bytes (at least the whole
 * header; 64 KiB is always enough for a plain array).
 */
export function parseNpyHeader(bytes: Uint8Array, source = "npy"): NpyHeader {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) {
    throw new CorruptSourceError(`${source}: not an .npy file (bad magic)`, source);
  }
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new CorruptSourceError(`${source}: truncated .npy header`, source);
    headerLen = dv.getUint32(8, true);
    start = 12;
  } else {
    throw new CorruptSourceError(`${source}: unknown .npy format version ${major}`, source);
  }
  if (bytes.length < start + headerLen) {
    throw new CorruptSourceError(`${source}: truncated .npy header`, source);
  }
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(start, start + headerLen),
  );
  const descrMatch = /['"]descr['"]\s*:\s*(['"])([^'"]*)\1/.exec(text);
  const fortranMatch = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shapeMatch = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!fortranMatch || !shapeMatch) {
    throw new CorruptSourceError(`${source}: malformed .npy header ${text.trim()}`, source);
  }
  if (!descrMatch) {
    throw new UnsupportedDataTypeError(
      source,
      /['"]descr['"]\s*:\s*([^,]*)/.exec(text)?.[1] ?? "?",
    );
  }
  const descr = descrMatch[2];
  const m = /^([<>|=]?)([a-zA-Z]\d+)$/.exec(descr);
  const dataType = m ? KINDS[m[2]] : undefined;
  if (!m || dataType === undefined) throw new UnsupportedDataTypeError(source, descr);
  const shape = shapeMatch[1]
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "")
    .map((t) => Number(t.replace(/L$/, "")));
  if (shape.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new CorruptSourceError(`${source}: bad shape in .npy header (${shapeMatch[1]})`, source);
  }
  return {
    descr,
    dataType,
    bigEndian: m[1] === ">",
    fortranOrder: fortranMatch[1] === "True",
    shape,
    dataOffset: start + headerLen,
  };
}

class NpySource implements VolumeSource {
  readonly format = "npy";
  /** Bytes of array data read from the file so far (header excluded). */
  bytesRead = 0;
  private whole: ReturnType<typeof viewTyped> | undefined;
  private closed = false;

  constructor(
    readonly url: string,
    readonly shape: Shape4,
    readonly header: NpyHeader,
    private readonly fh: FileHandle,
    private readonly roles: AxisRole[],
    /** Element strides of the stored array per numpy axis. */
    private readonly strides: number[],
  ) {}

  get dataType(): DataType {
    return this.header.dataType;
  }

  private get itemSize(): number {
    return allocTyped(this.dataType, 0).BYTES_PER_ELEMENT;
  }

  /** Read `count` elements starting at element `first` into a fresh typed array. */
  private async readElements(first: number, count: number) {
    const item = this.itemSize;
    const buf = new Uint8Array(count * item);
    const pos = this.header.dataOffset + first * item;
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await this.fh.read(buf, done, buf.length - done, pos + done);
      if (bytesRead === 0) {
        throw new CorruptSourceError(
          `${this.url}: file ends at byte ${pos + done}, the array needs ${buf.length - done} more`,
          this.url,
        );
      }
      done += bytesRead;
    }
    this.bytesRead += buf.length;
    if (this.header.bigEndian) swapBytes(buf, item);
    return viewTyped(this.dataType, buf.buffer);
  }

  /**
   * Load a small file whole, once, and close the file: a source held open in
   * a cache (the ingest stage keeps sources across tasks) then holds no
   * file descriptor.
   */
  async loadWhole(): Promise<void> {
    const n = this.header.shape.reduce((a, b) => a * b, 1);
    this.whole = await this.readElements(0, n);
    await this.close();
  }

  async readBlock(bbox: BlockBox, opts: ReadBlockOptions = {}): Promise<VoxelArray> {
    opts.signal?.throwIfAborted();
    const size = blockSize(bbox, this.shape, this.url);
    const out = allocTyped(this.dataType, size[0] * size[1] * size[2] * size[3]);
    const outStride: Shape4 = [1, size[0], size[0] * size[1], size[0] * size[1] * size[2]];
    const nd = this.roles.length;
    const lo = this.roles.map((r) => (r === -1 || r === 3 ? 0 : bbox.min[r]));
    const hi = this.roles.map((r, i) =>
      r === -1 ? 1 : r === 3 ? this.header.shape[i] : bbox.max[r],
    );
    const at = (idx: number[]) => idx.reduce((a, v, i) => a + v * this.strides[i], 0);
    if (this.whole) {
      const stride = roleStrides(this.strides, this.roles);
      copyStrided(this.whole, at(lo), stride, size, out, 0, outStride);
      return fromTyped(out, size);
    }
    // Memory axes, slowest first. The two fastest are read as one span per
    // combination of the others (e.g. one read of the block's y rows per z
    // and channel for a C-order "czyx" array).
    const order = [...Array(nd).keys()].sort((a, b) => this.strides[b] - this.strides[a]);
    const inner = order.slice(-2);
    const outer = order.slice(0, -2);
    const spanRoles = this.roles.map((r, i) => (inner.includes(i) ? r : -1)) as AxisRole[];
    const spanSize: Shape4 = [...size];
    for (const i of outer) if (this.roles[i] !== -1) spanSize[this.roles[i]] = 1;
    const spanStride = roleStrides(this.strides, spanRoles);
    const idx = [...lo];
    for (;;) {
      opts.signal?.throwIfAborted();
      const first = at(idx);
      const lastIdx = idx.map((v, i) => (inner.includes(i) ? hi[i] - 1 : v));
      const span = await this.readElements(first, at(lastIdx) - first + 1);
      let dstOffset = 0;
      for (const i of outer) {
        const r = this.roles[i];
        if (r !== -1) dstOffset += (idx[i] - lo[i]) * outStride[r];
      }
      copyStrided(span, 0, spanStride, spanSize, out, dstOffset, outStride);
      // advance the outer index (odometer, fastest outer axis first)
      let k = outer.length - 1;
      for (; k >= 0; k--) {
        const i = outer[k];
        if (++idx[i] < hi[i]) break;
        idx[i] = lo[i];
      }
      if (k < 0) break;
    }
    return fromTyped(out, size);
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

/**
 * Open a local `.npy` file as a {@link VolumeSource}.
 *
 * ```ts
 * // np.save("vol.npy", vol)  with vol.shape == (z, y, x)
 * const src = await openNpy("vol.npy");
 * src.shape; // [x, y, z, 1]
 * ```
 */
export async function openNpy(file: string, opts: NpySourceOptions = {}): Promise<VolumeSource> {
  const full = path.resolve(file.startsWith("file://") ? file.slice(7) : file);
  let fh: FileHandle;
  try {
    fh = await openFile(full, "r");
  } catch (e) {
    throw new SourceError(`${full}: can't open .npy file (${(e as Error).message})`, full, {
      cause: e,
    });
  }
  try {
    const head = new Uint8Array(65536 + 12);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const header = parseNpyHeader(head.subarray(0, bytesRead), full);
    const nd = header.shape.length;
    const roles = parseAxes(opts.axes ?? defaultAxes(nd, header.fortranOrder), nd, full);
    const strides = header.fortranOrder
      ? cStrides([...header.shape].reverse()).reverse()
      : cStrides(header.shape);
    const item = allocTyped(header.dataType, 0).BYTES_PER_ELEMENT;
    const dataBytes = header.shape.reduce((a, b) => a * b, 1) * item;
    const size = (await fh.stat()).size;
    if (size < header.dataOffset + dataBytes) {
      throw new CorruptSourceError(
        `${full}: truncated .npy file: ${size} bytes, the header promises ${header.dataOffset + dataBytes}`,
        full,
      );
    }
    const src = new NpySource(full, shape4(header.shape, roles, full), header, fh, roles, strides);
    if (dataBytes <= (opts.maxWholeFileBytes ?? 64 * 2 ** 20)) await src.loadWhole();
    return src;
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** The `.npy` dtype string of each data type (little-endian). */
const DESCR: Record<DataType, string> = {
  uint8: "|u1",
  int8: "|i1",
  uint16: "<u2",
  int16: "<i2",
  uint32: "<u4",
  int32: "<i4",
  uint64: "<u8",
  int64: "<i8",
  float32: "<f4",
  float64: "<f8",
};

/**
 * Encodes an array `[x, y, z, c]` (x fastest) as `.npy` bytes (format 1.0,
 * or 2.0 for a header over 64 KiB) in Fortran order with shape
 * `(x, y, z, c)`: `numpy.load` gives `a[x, y, z, c]`, the indexing
 * CloudVolume cutouts use, without copying the voxels.
 *
 * ```ts
 * const cut = await vol.read(box);
 * writeFileSync("cutout.npy", encodeNpy(cut.data, cut.shape));
 * ```
 */
export function encodeNpy(
  data: TypedArray,
  shape: readonly number[],
  dataType?: DataType,
): Uint8Array {
  const dtype = dataType ?? dataTypeOf(data);
  const count = shape.reduce((a, b) => a * b, 1);
  const width = DESCR[dtype] ? Number(DESCR[dtype].slice(2)) : 0;
  if (count * width !== data.byteLength) {
    throw new RangeError(
      `encodeNpy: ${data.byteLength} bytes of ${dtype} do not hold shape (${shape.join(", ")})`,
    );
  }
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let header = `{'descr': '${DESCR[dtype]}', 'fortran_order': True, 'shape': (${dims}), }`;
  const v1 = header.length + 11 < 65536;
  const prefix = v1 ? 10 : 12;
  header += " ".repeat((64 - ((prefix + header.length + 1) % 64)) % 64);
  header += "\n";
  const out = new Uint8Array(prefix + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, v1 ? 1 : 2, 0]); // \x93NUMPY
  const view = new DataView(out.buffer);
  if (v1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), prefix + header.length);
  return out;
}
