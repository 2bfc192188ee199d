/**
 * BigArray datasets (seung-lab/BigArrays.jl) as ingest sources, on any
 * `@ngpipe/storage` URL. Two layouts are read:
 *
 * - **Chunks** (BigArrays.jl's key-value backends): `config.json` with
 *   `dataType` (Julia or numpy spelling), `chunkSize` ([x, y, z] or
 *   [x, y, z, c]), `coding`, and optionally `offset` and `totalSize`; one
 *   object per chunk named `x0:x1_y0:y1_z0:z1` (plus `_1:c` for 4-D chunks)
 *   in Julia's 1-based, inclusive coordinates, holding the chunk x fastest.
 *   Chunk k (from 1) along an axis covers `offset + (k-1)·size + 1 ..
 *   offset + k·size`.
 * - **HDF5 blocks** (BigArrays.jl's H5sBigArray, the seed's affinity maps):
 *   files `block_x0-x1_y0-y1_z0-z1[_c0-c1].h5`, same coordinates, each with a
 *   dataset `img` that Julia wrote as [x, y, z, c] (h5py sees (c, z, y, x)).
 *
 * The layer's voxel (0, 0, 0) is the dataset's lowest voxel: `voxelOffset`
 * gives its global position (key coordinate minus 1). Chunks or blocks missing
 * inside the extent read as zeros, as BigArrays.jl does.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
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
import { BIGARRAY_CODINGS, ChunkCodingError } from "./bigarray-codings";
import {
  CorruptSourceError,
  MissingConfigError,
  SourceError,
  UnknownCodingError,
  UnsupportedDataTypeError,
} from "./errors";
import { openHdf5 } from "./hdf5";
import { blockSize, copyStrided } from "./layout";
import type { BlockBox, ReadBlockOptions, Vec3, VolumeSource } from "./types";

/** Options of {@link openBigArray}. */
export interface BigArraySourceOptions {
  /** Chunks or blocks fetched at once by one block read. Default 8. */
  concurrency?: number;
}

/** A chunk or block of the dataset: its global box (0-based, half-open) and its object key. */
interface Piece {
  min: Vec3;
  max: Vec3;
  key: string;
}

const CHUNK_KEY = /^(\d+):(\d+)_(\d+):(\d+)_(\d+):(\d+)(?:_(\d+):(\d+))?$/;
const BLOCK_KEY = /^(.*?)(\d+)-(\d+)_(\d+)-(\d+)_(\d+)-(\d+)(?:_(\d+)-(\d+))?\.h5$/;

/** The global box of a 1-based inclusive key range list [x0, x1, y0, y1, z0, z1]. */
function pieceOf(nums: number[], key: string): Piece {
  return {
    min: [nums[0] - 1, nums[2] - 1, nums[4] - 1],
    max: [nums[1], nums[3], nums[5]],
    key,
  };
}

/** `dataType` of config.json (Julia's "UInt8" or numpy's "uint8") as an ngpipe data type. */
function parseDataType(value: unknown, source: string): DataType {
  const name = String(value).toLowerCase();
  if (!isDataType(name)) throw new UnsupportedDataTypeError(source, String(value));
  return name;
}

function intList(value: unknown, lengths: number[], field: string, source: string): number[] {
  if (
    !Array.isArray(value) ||
    !lengths.includes(value.length) ||
    value.some((v) => !Number.isInteger(v) || v < 0)
  ) {
    throw new MissingConfigError(
      source,
      "config.json",
      `has ${field} ${JSON.stringify(value)}; expected ${lengths.join(" or ")} whole numbers >= 0`,
    );
  }
  return value as number[];
}

/** Every key of the dataset's directory (not recursive: chunks and blocks sit at its root). */
async function listKeys(storage: Storage, url: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const key of storage.list("")) if (!key.endsWith("/")) out.push(key);
  } catch (e) {
    throw new SourceError(`${url}: can't list the dataset (${(e as Error).message})`, url, {
      cause: e,
    });
  }
  return out;
}

/** The union of the pieces' boxes. */
function extentOf(pieces: Piece[]): { min: Vec3; max: Vec3 } {
  const min: Vec3 = [Infinity, Infinity, Infinity];
  const max: Vec3 = [-Infinity, -Infinity, -Infinity];
  for (const p of pieces)
    for (let i = 0; i < 3; i++) {
      min[i] = Math.min(min[i], p.min[i]);
      max[i] = Math.max(max[i], p.max[i]);
    }
  return { min, max };
}

/**
 * Copy the part of `piece` (its data x fastest, channels planar, of its own
 * size) that falls inside the global box `[gmin, gmin + size)` into `out`.
 */
function copyPiece(
  data: TypedArray,
  pieceMin: Vec3,
  pieceSize: Shape4,
  gmin: Vec3,
  size: Shape4,
  out: TypedArray,
): void {
  const lo: Vec3 = [0, 0, 0];
  const n: Shape4 = [0, 0, 0, size[3]];
  for (let i = 0; i < 3; i++) {
    const a = Math.max(pieceMin[i], gmin[i]);
    const b = Math.min(pieceMin[i] + pieceSize[i], gmin[i] + size[i]);
    if (b <= a) return;
    lo[i] = a;
    n[i] = b - a;
  }
  const [px, py, pz] = pieceSize;
  const [sx, sy, sz] = size;
  copyStrided(
    data,
    lo[0] - pieceMin[0] + px * (lo[1] - pieceMin[1] + py * (lo[2] - pieceMin[2])),
    [1, px, px * py, px * py * pz],
    n,
    out,
    lo[0] - gmin[0] + sx * (lo[1] - gmin[1] + sy * (lo[2] - gmin[2])),
    [1, sx, sx * sy, sx * sy * sz],
  );
}

/** What the chunk and block readers share: geometry and the read loop. */
abstract class BigArrayBase implements VolumeSource {
  readonly format = "bigarray";

  constructor(
    readonly url: string,
    readonly shape: Shape4,
    readonly dataType: DataType,
    readonly voxelOffset: Vec3,
    protected readonly storage: Storage,
    protected readonly concurrency: number,
  ) {}

  /** The pieces that overlap the global box `[gmin, gmax)`. */
  protected abstract piecesIn(gmin: Vec3, gmax: Vec3): Piece[];

  /** The data of one piece, x fastest, of the returned size; null when it is missing. */
  protected abstract loadPiece(
    piece: Piece,
    gmin: Vec3,
    gmax: Vec3,
    signal?: AbortSignal,
  ): Promise<{ data: TypedArray; min: Vec3; size: Shape4 } | null>;

  async readBlock(bbox: BlockBox, opts: ReadBlockOptions = {}): Promise<VoxelArray> {
    opts.signal?.throwIfAborted();
    const size = blockSize(bbox, this.shape, this.url);
    const o = this.voxelOffset;
    const gmin: Vec3 = [bbox.min[0] + o[0], bbox.min[1] + o[1], bbox.min[2] + o[2]];
    const gmax: Vec3 = [bbox.max[0] + o[0], bbox.max[1] + o[1], bbox.max[2] + o[2]];
    const out = allocTyped(this.dataType, size[0] * size[1] * size[2] * size[3]);
    await forEachLimit(
      this.piecesIn(gmin, gmax),
      this.concurrency,
      async (piece) => {
        const got = await this.loadPiece(piece, gmin, gmax, opts.signal);
        if (got) copyPiece(got.data, got.min, got.size, gmin, size, out);
      },
      { signal: opts.signal },
    );
    return fromTyped(out, size);
  }

  async close(): Promise<void> {}
}

/** BigArrays.jl's chunk layout: `config.json` plus one object per chunk. */
class BigArrayChunks extends BigArrayBase {
  constructor(
    url: string,
    shape: Shape4,
    dataType: DataType,
    voxelOffset: Vec3,
    storage: Storage,
    concurrency: number,
    private readonly chunkSize: number[],
    private readonly origin: Vec3,
    private readonly coding: string | undefined,
  ) {
    super(url, shape, dataType, voxelOffset, storage, concurrency);
  }

  protected piecesIn(gmin: Vec3, gmax: Vec3): Piece[] {
    const cs = this.chunkSize;
    const first = [0, 1, 2].map((i) => Math.floor((gmin[i] - this.origin[i]) / cs[i]));
    const last = [0, 1, 2].map((i) => Math.ceil((gmax[i] - this.origin[i]) / cs[i]));
    const channels = cs.length === 4 ? `_1:${cs[3]}` : "";
    const out: Piece[] = [];
    for (let k = first[2]; k < last[2]; k++)
      for (let j = first[1]; j < last[1]; j++)
        for (let i = first[0]; i < last[0]; i++) {
          const min: Vec3 = [
            this.origin[0] + i * cs[0],
            this.origin[1] + j * cs[1],
            this.origin[2] + k * cs[2],
          ];
          const max: Vec3 = [min[0] + cs[0], min[1] + cs[1], min[2] + cs[2]];
          const key = `${min[0] + 1}:${max[0]}_${min[1] + 1}:${max[1]}_${min[2] + 1}:${max[2]}${channels}`;
          out.push({ min, max, key });
        }
    return out;
  }

  protected async loadPiece(piece: Piece, _gmin: Vec3, _gmax: Vec3, signal?: AbortSignal) {
    const where = `${this.url}/${piece.key}`;
    const bytes = await this.storage.get(piece.key, { signal });
    if (bytes === null) return null;
    const nc = this.shape[3];
    const size: Shape4 = [this.chunkSize[0], this.chunkSize[1], this.chunkSize[2], nc];
    const expected = size[0] * size[1] * size[2] * nc * bytesPerVoxel(this.dataType);
    let raw: Uint8Array;
    try {
      // Decoding runs in the worker pool, so the chunks of one read (and
      // reads at once) decode in parallel. The worker gets its own copy:
      // the fetched bytes may share their buffer with the store.
      const own = bytes.slice();
      raw = await runKernel<Uint8Array>(
        tasksKernels(),
        "decodeBigArrayChunk",
        [own, expected, this.coding],
        { transfer: [own.buffer as ArrayBuffer], signal },
      );
    } catch (e) {
      if (!(e instanceof ChunkCodingError)) throw e;
      throw new CorruptSourceError(`${where}: ${e.message}`, where, { cause: e });
    }
    // The decoded bytes may sit at any offset of a shared buffer: copy when
    // they are not aligned for the element type.
    const width = bytesPerVoxel(this.dataType);
    const owned = raw.byteOffset % width === 0 ? raw : raw.slice();
    const data = allocTyped(this.dataType, 0).constructor as new (
      b: ArrayBufferLike,
      o: number,
      n: number,
    ) => TypedArray;
    return {
      data: new data(owned.buffer, owned.byteOffset, owned.length / width),
      min: piece.min,
      size,
    };
  }
}

/** H5sBigArray / the seed's affinity blocks: `block_x0-x1_y0-y1_z0-z1_1-3.h5`, dataset `img`. */
class BigArrayBlocks extends BigArrayBase {
  private tempDir: Promise<string> | undefined;

  constructor(
    url: string,
    shape: Shape4,
    dataType: DataType,
    voxelOffset: Vec3,
    storage: Storage,
    concurrency: number,
    private readonly blocks: Piece[],
    private readonly localRoot: string | undefined,
  ) {
    super(url, shape, dataType, voxelOffset, storage, concurrency);
  }

  protected piecesIn(gmin: Vec3, gmax: Vec3): Piece[] {
    return this.blocks.filter((b) =>
      [0, 1, 2].every((i) => b.min[i] < gmax[i] && b.max[i] > gmin[i]),
    );
  }

  /** A local path of the block: the file itself on file://, else a downloaded copy. */
  private async localFile(piece: Piece, signal?: AbortSignal): Promise<string | null> {
    if (this.localRoot) return path.join(this.localRoot, piece.key);
    const bytes = await this.storage.get(piece.key, { signal });
    if (bytes === null) return null;
    this.tempDir ??= mkdtemp(path.join(tmpdir(), "ngpipe-bigarray-"));
    const file = path.join(await this.tempDir, piece.key);
    await writeFile(file, bytes);
    return file;
  }

  protected async loadPiece(piece: Piece, gmin: Vec3, gmax: Vec3, signal?: AbortSignal) {
    const file = await this.localFile(piece, signal);
    if (file === null) return null;
    const where = `${this.url}/${piece.key}`;
    try {
      const src = await openHdf5(file, { dataset: "img" });
      try {
        const want = [0, 1, 2].map((i) => piece.max[i] - piece.min[i]);
        if (want.some((n, i) => n !== src.shape[i]) || src.shape[3] !== this.shape[3]) {
          throw new CorruptSourceError(
            `${where}: dataset img has shape [${src.shape.join(",")}], its name says [${want.join(",")},${this.shape[3]}]`,
            where,
          );
        }
        if (src.dataType !== this.dataType) {
          throw new CorruptSourceError(
            `${where}: dataset img holds ${src.dataType}, the dataset's first block ${this.dataType}`,
            where,
          );
        }
        // Only the part of the block the read needs.
        const lo: Vec3 = [0, 0, 0];
        const hi: Vec3 = [0, 0, 0];
        for (let i = 0; i < 3; i++) {
          lo[i] = Math.max(gmin[i], piece.min[i]) - piece.min[i];
          hi[i] = Math.min(gmax[i], piece.max[i]) - piece.min[i];
        }
        const part = await src.readBlock({ min: lo, max: hi }, { signal });
        const min: Vec3 = [piece.min[0] + lo[0], piece.min[1] + lo[1], piece.min[2] + lo[2]];
        return { data: part.data as TypedArray, min, size: part.shape as unknown as Shape4 };
      } finally {
        await src.close();
      }
    } catch (e) {
      if (e instanceof CorruptSourceError && e.source === where) throw e;
      if (e instanceof SourceError) {
        throw new CorruptSourceError(`${where}: ${e.message}`, where, { cause: e });
      }
      throw e;
    } finally {
      if (!this.localRoot) await rm(file, { force: true });
    }
  }

  override async close(): Promise<void> {
    if (this.tempDir) await rm(await this.tempDir, { recursive: true, force: true });
    this.tempDir = undefined;
  }
}

/** Open the chunk layout described by `config`. */
async function openChunks(
  url: string,
  storage: Storage,
  config: Record<string, unknown>,
  concurrency: number,
): Promise<VolumeSource> {
  if (config.dataType === undefined) {
    throw new MissingConfigError(url, "config.json", "has no dataType");
  }
  const dataType = parseDataType(config.dataType, `${url}/config.json`);
  const chunkSize = intList(config.chunkSize, [3, 4], "chunkSize", url);
  if (chunkSize.some((n) => n === 0)) {
    throw new MissingConfigError(url, "config.json", `has chunkSize ${JSON.stringify(chunkSize)}`);
  }
  let coding: string | undefined;
  if (config.coding !== undefined) {
    coding = String(config.coding).toLowerCase();
    if (!(BIGARRAY_CODINGS as readonly string[]).includes(coding))
      throw new UnknownCodingError(url, "config.json", String(config.coding), BIGARRAY_CODINGS);
  }
  const offset =
    config.offset === undefined ? [0, 0, 0] : intList(config.offset, [3, 4], "offset", url);
  const origin: Vec3 = [offset[0], offset[1], offset[2]];
  const nc = chunkSize[3] ?? 1;
  const declared = config.totalSize ?? config.size;
  let min: Vec3;
  let max: Vec3;
  if (declared !== undefined) {
    const total = intList(declared, [3, 4], "totalSize", url);
    min = origin;
    max = [origin[0] + total[0], origin[1] + total[1], origin[2] + total[2]];
  } else {
    // No size recorded: the extent is the union of the chunks present.
    const pieces: Piece[] = [];
    for (const key of await listKeys(storage, url)) {
      const m = CHUNK_KEY.exec(key);
      if (m) pieces.push(pieceOf(m.slice(1, 7).map(Number), key));
    }
    if (pieces.length === 0) {
      throw new SourceError(`${url}: config.json is there but no chunk x0:x1_y0:y1_z0:z1`, url);
    }
    ({ min, max } = extentOf(pieces));
  }
  const shape: Shape4 = [max[0] - min[0], max[1] - min[1], max[2] - min[2], nc];
  if (shape.slice(0, 3).some((n) => n <= 0)) {
    throw new MissingConfigError(url, "config.json", `describes an empty volume`);
  }
  return new BigArrayChunks(
    url,
    shape,
    dataType,
    min,
    storage,
    concurrency,
    chunkSize,
    origin,
    coding,
  );
}

/** Open the HDF5-block layout from the listed `block_*.h5` keys. */
async function openBlocks(
  url: string,
  storage: Storage,
  keys: string[],
  concurrency: number,
): Promise<VolumeSource> {
  const blocks: Piece[] = [];
  let channels: [number, number] | undefined;
  for (const key of keys) {
    const m = BLOCK_KEY.exec(key);
    if (!m) continue;
    blocks.push(pieceOf(m.slice(2, 8).map(Number), key));
    if (m[8] !== undefined) channels = [Number(m[8]), Number(m[9])];
  }
  const local = storage.url.startsWith("file://") ? storage.url.slice(7) : undefined;
  // The first block tells the data type and the channel count.
  const probe = blocks[0];
  const file = local
    ? path.join(local, probe.key)
    : await (async () => {
        const bytes = await storage.get(probe.key);
        const dir = await mkdtemp(path.join(tmpdir(), "ngpipe-bigarray-"));
        const f = path.join(dir, probe.key);
        await writeFile(f, bytes ?? new Uint8Array(0));
        return f;
      })();
  let dataType: DataType;
  let nc: number;
  const where = `${url}/${probe.key}`;
  try {
    const src = await openHdf5(file, { dataset: "img" });
    dataType = src.dataType;
    nc = src.shape[3];
    await src.close();
  } catch (e) {
    if (!(e instanceof SourceError)) throw e;
    throw new CorruptSourceError(`${where}: ${e.message}`, where, { cause: e });
  } finally {
    if (!local) await rm(path.dirname(file), { recursive: true, force: true });
  }
  if (channels && channels[1] - channels[0] + 1 !== nc) {
    throw new CorruptSourceError(
      `${where}: dataset img has ${nc} channels, its name says ${channels[0]}-${channels[1]}`,
      where,
    );
  }
  const { min, max } = extentOf(blocks);
  return new BigArrayBlocks(
    url,
    [max[0] - min[0], max[1] - min[1], max[2] - min[2], nc],
    dataType,
    min,
    storage,
    concurrency,
    blocks,
    local,
  );
}

/**
 * Open a BigArray dataset (a directory or prefix on any storage) as a
 * {@link VolumeSource}: the chunk layout when `config.json` is there, the
 * HDF5-block layout when `block_*.h5` files are.
 *
 * ```ts
 * const src = await openBigArray("gs://lab/zfish/image/bigarray");
 * src.voxelOffset; // e.g. [14336, 12288, 16384]: the lowest chunk key minus 1
 * ```
 */
export async function openBigArray(
  url: string,
  opts: BigArraySourceOptions = {},
): Promise<VolumeSource> {
  const storage = openStorage(url.replace(/\/+$/, ""));
  const concurrency = opts.concurrency ?? 8;
  let text: Uint8Array | null;
  try {
    text = await storage.get("config.json");
  } catch (e) {
    throw new SourceError(`${url}: can't read config.json (${(e as Error).message})`, url, {
      cause: e,
    });
  }
  if (text !== null) {
    let config: unknown;
    try {
      config = JSON.parse(new TextDecoder().decode(text));
    } catch (e) {
      throw new MissingConfigError(url, "config.json", "is not JSON", { cause: e });
    }
    if (config === null || typeof config !== "object" || Array.isArray(config)) {
      throw new MissingConfigError(url, "config.json", "is not a JSON object");
    }
    const c = config as Record<string, unknown>;
    // H5sBigArray's config.json describes HDF5 blocks, not chunks.
    if (c.h5FilePrefix === undefined && c.blockSize === undefined) {
      return openChunks(url, storage, c, concurrency);
    }
  }
  const keys = await listKeys(storage, url);
  if (keys.some((k) => BLOCK_KEY.test(k))) return openBlocks(url, storage, keys, concurrency);
  if (keys.some((k) => CHUNK_KEY.test(k))) {
    throw new MissingConfigError(
      url,
      "config.json",
      "is missing: BigArray chunks need it for their data type and chunk size",
    );
  }
  throw new SourceError(
    `${url}: not a BigArray dataset (no config.json, no x0:x1_y0:y1_z0:z1 chunks, no block_*.h5 files)`,
    url,
  );
}
