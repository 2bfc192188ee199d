/**
 * `MultiresMeshLayer`: the multi-resolution (`neuroglancer_multilod_draco`)
 * mesh directory of a segmentation layer, unsharded (`<id>.index` manifests
 * and `<id>` fragment data files) or sharded (manifest as the shard entry of
 * the id, fragment data right before it), read and written through
 * @ngpipe/storage and @ngpipe/precomputed's shard reader and builder.
 *
 * ```ts
 * const meshes = await MultiresMeshLayer.open("gs://bucket/seg"); // follows info.mesh
 * const coarse = await meshes.get(12345, 2);                      // lod 2, in nm
 * ```
 */
import {
  buildShard,
  type ShardEntry,
  ShardReader,
  shardFileName,
  shardNumberFor,
} from "@ngpipe/precomputed";
import { maxJsonBytes, openStorage, type Storage, type StorageOptions } from "@ngpipe/storage";
import { MeshDecodeError, MeshInputError } from "../errors";
import { maxMeshBytes } from "../format/legacy";
import { MeshNotFoundError } from "../layer";
import type { Label, Mesh } from "../types";
import { decodeMultiresLod, type MultiresMeshBytes } from "./build";
import { type MultiresMeshInfo, parseMultiresMeshInfo } from "./info";
import { decodeMultiresManifest, type MultiresManifest, manifestDataBytes } from "./manifest";

/** Options of {@link MultiresMeshLayer.open}. */
export interface MultiresMeshLayerOptions {
  /** Mesh directory relative to the layer; default: the layer info's `mesh`, else "mesh". */
  meshDir?: string;
  storageOptions?: StorageOptions;
  /** An open storage rooted at the segmentation layer. */
  storage?: Storage;
}

/** A segment id as a decimal string, checked (it becomes a key or a shard id). */
function idString(label: Label | string): string {
  const s = String(label);
  if (!/^\d+$/.test(s) || BigInt(s) >= 2n ** 64n)
    throw new MeshInputError(`segment id "${s}" is not a decimal uint64`);
  return s;
}

/** The manifest and fragment data of one object, as stored. */
export interface StoredMultiresMesh {
  manifest: MultiresManifest;
  /** The object's whole fragment data file. */
  data: Uint8Array;
}

/** The multi-resolution mesh directory of a segmentation layer. */
export class MultiresMeshLayer {
  private reader: ShardReader | undefined;

  private constructor(
    /** Storage rooted at the mesh directory. */
    readonly storage: Storage,
    /** The directory's `info`. */
    readonly info: MultiresMeshInfo,
  ) {
    if (info.sharding) this.reader = new ShardReader(storage, info.sharding);
  }

  /**
   * Opens the multi-resolution mesh directory of the segmentation layer at
   * `layerUrl`. Throws {@link MeshNotFoundError} when the directory has no
   * `info`, and `MeshFormatError` when its info is of another format
   * (legacy meshes: use `MeshLayer`).
   */
  static async open(
    layerUrl: string,
    options: MultiresMeshLayerOptions = {},
  ): Promise<MultiresMeshLayer> {
    const layer = options.storage ?? openStorage(layerUrl, options.storageOptions);
    let dir = options.meshDir;
    if (dir === undefined) {
      const info = await layer.getJson<{ mesh?: unknown }>("info", { maxBytes: maxJsonBytes() });
      if (info === null)
        throw new MeshNotFoundError(
          `no layer info at ${layer.url}/info: not a segmentation layer (check the URL)`,
        );
      dir = typeof info.mesh === "string" ? info.mesh : "mesh";
    }
    return MultiresMeshLayer.at(layer.child(dir));
  }

  /** Opens the multi-resolution mesh directory rooted at `storage` (reads its `info`). */
  static async at(storage: Storage): Promise<MultiresMeshLayer> {
    const key = `${storage.url}/info`;
    const bytes = await storage.get("info", { maxBytes: maxJsonBytes() });
    if (bytes === null)
      throw new MeshNotFoundError(`no mesh info at ${key}: not a multiresolution mesh directory`);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new MeshDecodeError("mesh info is not JSON", key);
    }
    return new MultiresMeshLayer(storage, parseMultiresMeshInfo(json, key));
  }

  /** The mesh directory URL. */
  get url(): string {
    return this.storage.url;
  }

  /** Quantization bits of every fragment. */
  get bits(): 10 | 16 {
    return this.info.vertex_quantization_bits;
  }

  /** Where a sharded object's manifest lives; null when the id is absent from its shard. */
  private async locate(id: string): Promise<{ key: string; start: number; end: number } | null> {
    return this.reader!.locateChunk(BigInt(id));
  }

  /** The key naming an id in errors: `<id>.index`, or the id's shard file. */
  private where(id: string): string {
    if (!this.reader) return `${this.url}/${id}.index`;
    return `${this.url}/${shardFileName(shardNumberFor(BigInt(id), this.reader.spec), this.reader.spec)} (segment ${id})`;
  }

  /**
   * An object's manifest. Throws {@link MeshNotFoundError} naming the id and
   * the key (or shard file) when the object has none, and
   * {@link MeshDecodeError} when the bytes are not a manifest.
   */
  async manifest(label: Label | string): Promise<MultiresManifest> {
    const id = idString(label);
    const where = this.where(id);
    let bytes: Uint8Array | null;
    if (this.reader) {
      bytes = await this.reader.get(BigInt(id));
    } else {
      bytes = await this.storage.get(`${id}.index`, { maxBytes: maxMeshBytes() });
    }
    if (bytes === null)
      throw new MeshNotFoundError(`segment ${id} has no multiresolution mesh at ${where}`);
    return decodeMultiresManifest(bytes, where);
  }

  /** An object's manifest and whole fragment data file. */
  async read(label: Label | string): Promise<StoredMultiresMesh> {
    const id = idString(label);
    const where = this.where(id);
    if (this.reader) {
      const at = await this.locate(id);
      if (at === null)
        throw new MeshNotFoundError(`segment ${id} has no multiresolution mesh at ${where}`);
      const stored = await this.reader.get(BigInt(id));
      if (stored === null)
        throw new MeshNotFoundError(`segment ${id} has no multiresolution mesh at ${where}`);
      const manifest = decodeMultiresManifest(stored, where);
      const size = manifestDataBytes(manifest);
      if (size > at.start)
        throw new MeshDecodeError(
          `manifest of segment ${id} lists ${size} bytes of fragments but only ${at.start} bytes precede it`,
          where,
        );
      const data =
        size === 0
          ? new Uint8Array(0)
          : await this.storage.get(at.key, { range: { start: at.start - size, end: at.start } });
      return { manifest, data: data ?? new Uint8Array(0) };
    }
    const manifest = await this.manifest(id);
    const data = (await this.storage.get(id, { maxBytes: maxMeshBytes() })) ?? null;
    if (data === null) {
      if (manifestDataBytes(manifest) === 0) return { manifest, data: new Uint8Array(0) };
      throw new MeshNotFoundError(
        `segment ${id} has a manifest but no fragment data at ${this.url}/${id}`,
      );
    }
    return { manifest, data };
  }

  /** One lod of an object, decoded to a mesh in stored model units (fragments concatenated). */
  async get(label: Label | string, lod = 0): Promise<Mesh> {
    const id = idString(label);
    const { manifest, data } = await this.read(id);
    return decodeMultiresLod(manifest, data, this.bits, lod, this.where(id));
  }

  /** Writes an unsharded object: `<id>` (fragment data) first, then `<id>.index`. */
  async writeUnsharded(label: Label | string, mesh: MultiresMeshBytes): Promise<void> {
    if (this.reader)
      throw new MeshInputError(
        `${this.url} is sharded: write whole shards (writeShard), not object ${label}`,
      );
    const id = idString(label);
    await this.storage.put(id, mesh.data, {
      contentType: "application/octet-stream",
      compress: false,
    });
    await this.storage.put(`${id}.index`, mesh.manifest, {
      contentType: "application/octet-stream",
      compress: false,
    });
  }

  /**
   * Builds and writes one whole shard file from every object of that shard
   * (each manifest indexed, its fragment data right before it). Returns the
   * key written. Shards are read with byte ranges, so they are stored
   * uncompressed.
   */
  async writeShard(
    objects: Iterable<[string, MultiresMeshBytes]>,
    options: { signal?: AbortSignal } = {},
  ): Promise<string> {
    const spec = this.info.sharding;
    if (!spec) throw new MeshInputError(`${this.url} is not sharded: its info has no "sharding"`);
    const entries: ShardEntry[] = [];
    for (const [id, m] of objects)
      entries.push({ id: BigInt(idString(id)), data: m.manifest, prefix: m.data });
    if (entries.length === 0) throw new MeshInputError("a shard needs at least one object");
    const key = shardFileName(shardNumberFor(entries[0].id, spec), spec);
    await this.storage.put(key, buildShard(entries, spec), {
      contentType: "application/octet-stream",
      compress: false,
      signal: options.signal,
    });
    this.reader?.clearCache();
    return key;
  }
}
