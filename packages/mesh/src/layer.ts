/**
 * `MeshLayer`: the legacy mesh directory of a segmentation layer — fragment
 * files `<id>:0:<bbox>`, per-segment manifests `<id>:0` and the directory's
 * `info` — read and written through @ngpipe/storage.
 *
 * ```ts
 * const meshes = await MeshLayer.open("gs://bucket/seg");   // follows info.mesh
 * const mesh = await meshes.get(12345);                      // fragments fused and welded
 * ```
 */
import {
  type Compression,
  DecompressionError,
  DecompressionLimitError,
  maxJsonBytes,
  openStorage,
  type Storage,
  type StorageOptions,
} from "@ngpipe/storage";
import { MeshDecodeError, MeshError, MeshInputError } from "./errors";
import {
  bboxFilename,
  decodeLegacyManifest,
  decodeLegacyMesh,
  encodeLegacyManifest,
  encodeLegacyMesh,
  type LegacyMeshInfo,
  legacyManifestKey,
  maxMeshBytes,
  parseLegacyMeshInfo,
  type VoxelBox,
} from "./format/legacy";
import { concatMeshes, weldMesh } from "./kernels/mesh-utils";
import type { Label, Mesh } from "./types";

/** A segment with no manifest, or a layer with no mesh directory. */
export class MeshNotFoundError extends MeshError {
  override name = "MeshNotFoundError";
}

/** Options of {@link MeshLayer.open}. */
export interface MeshLayerOptions {
  /** Mesh directory relative to the layer; default: the layer info's `mesh`, else "mesh". */
  meshDir?: string;
  /**
   * Compression of fragments on write: `"gzip"` (default, as CloudVolume and
   * Igneous write them), `"br"`, or `false` for plain bytes. `true` means gzip.
   */
  compress?: boolean | "gzip" | "br";
  /** Requests in flight when reading many fragments. Default 32. */
  concurrency?: number;
  storageOptions?: StorageOptions;
  /** An open storage rooted at the segmentation layer. */
  storage?: Storage;
}

/**
 * A storage read whose stored compression is broken (e.g. a truncated `.gz`)
 * becomes a {@link MeshDecodeError} naming the object, like any other corrupt
 * mesh data; other errors pass through.
 */
function asDecodeError(err: unknown, url: string): unknown {
  if (err instanceof DecompressionLimitError)
    return new MeshDecodeError(
      `stored compression inflates to more than ${err.limit} bytes, the most a mesh object may (NGPIPE_MAX_MESH_BYTES raises it for fragments)`,
      url,
      { cause: err },
    );
  return err instanceof DecompressionError
    ? new MeshDecodeError("stored compression is corrupt", url, { cause: err })
    : err;
}

/** The fragment name's parts: `<id>:<lod>:<rest>`. */
export function parseFragmentName(name: string): { id: string; lod: number; rest: string } | null {
  const m = /^(\d+):(\d+):(.+)$/.exec(name);
  return m ? { id: m[1], lod: Number(m[2]), rest: m[3] } : null;
}

/** A segment id given as a decimal string, checked (it becomes part of a key). */
function segmentId(id: string): string {
  if (!/^\d+$/.test(id)) throw new MeshInputError(`segment id "${id}" is not a decimal uint64`);
  return id;
}

/** The legacy mesh directory of a segmentation layer. */
export class MeshLayer {
  private constructor(
    /** Storage rooted at the mesh directory. */
    readonly storage: Storage,
    private readonly options: MeshLayerOptions,
  ) {}

  /** Open the mesh directory of the segmentation layer at `layerUrl`. */
  static async open(layerUrl: string, options: MeshLayerOptions = {}): Promise<MeshLayer> {
    const layer = options.storage ?? openStorage(layerUrl, options.storageOptions);
    let dir = options.meshDir;
    if (dir === undefined) {
      const info = await layer.get("info", { maxBytes: maxJsonBytes() });
      if (info === null)
        throw new MeshNotFoundError(
          `no layer info at ${layer.url}/info: not a segmentation layer (check the URL)`,
        );
      let parsed: { mesh?: unknown } = {};
      try {
        parsed = info ? JSON.parse(new TextDecoder().decode(info)) : {};
      } catch {
        throw new MeshDecodeError("layer info is not JSON", `${layer.url}/info`);
      }
      dir = typeof parsed.mesh === "string" ? parsed.mesh : "mesh";
    }
    return new MeshLayer(layer.child(dir), options);
  }

  /** The mesh directory URL. */
  get url(): string {
    return this.storage.url;
  }

  /** The mesh directory's `info`, or null when it has none (legacy meshes need none). */
  async info(): Promise<LegacyMeshInfo | null> {
    const bytes = await this.storage.get("info", { maxBytes: maxJsonBytes() });
    if (bytes === null) return null;
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new MeshDecodeError("mesh info is not JSON", `${this.url}/info`);
    }
    return parseLegacyMeshInfo(json, `${this.url}/info`);
  }

  /** Write the mesh directory's `info`. */
  async writeInfo(info: LegacyMeshInfo): Promise<void> {
    await this.storage.put("info", JSON.stringify(info), {
      contentType: "application/json",
      cacheControl: "no-cache",
    });
  }

  /** Fragment names listed in a segment's manifest; null when it has none. */
  async manifest(label: Label, lod = 0): Promise<string[] | null> {
    const key = legacyManifestKey(label, lod);
    const bytes = await this.storage.get(key, { maxBytes: maxJsonBytes() }).catch((e) => {
      throw asDecodeError(e, `${this.url}/${key}`);
    });
    return bytes === null ? null : decodeLegacyManifest(bytes, `${this.url}/${key}`);
  }

  /** Write a segment's manifest (uncompressed, like Igneous). */
  async writeManifest(label: Label | string, fragments: readonly string[], lod = 0): Promise<void> {
    const key = typeof label === "string" ? `${label}:${lod}` : legacyManifestKey(label, lod);
    await this.storage.put(key, encodeLegacyManifest(fragments), {
      contentType: "application/json",
      cacheControl: "no-cache",
      compress: false,
    });
  }

  /** Read and decode one fragment by name. */
  async fragment(name: string): Promise<Mesh> {
    const bytes = await this.storage.get(name, { maxBytes: maxMeshBytes() }).catch((e) => {
      throw asDecodeError(e, `${this.url}/${name}`);
    });
    if (bytes === null) throw new MeshNotFoundError(`missing mesh fragment ${this.url}/${name}`);
    return decodeLegacyMesh(bytes, `${this.url}/${name}`);
  }

  /** How fragments are compressed on write (the `compress` option). */
  get fragmentCompression(): Compression | false {
    const c = this.options.compress;
    return c === false ? false : c === "br" ? "br" : "gzip";
  }

  /** Write one fragment, compressed as {@link fragmentCompression} says. */
  async writeFragment(name: string, mesh: Mesh | Uint8Array): Promise<void> {
    const bytes = mesh instanceof Uint8Array ? mesh : encodeLegacyMesh(mesh);
    await this.storage.put(name, bytes, {
      contentType: "application/octet-stream",
      compress: this.fragmentCompression,
    });
  }

  /**
   * Write the fragments one meshing block made: `<id>:<lod>:<block>` for
   * each id (decimal strings, so uint64 ids stay exact), where `<block>` is
   * the block's {@link bboxFilename}, in parallel; returns the keys written.
   * `keyOf` places each fragment under another key (a bucket directory, for
   * instance); by default its key is its name.
   */
  async writeBlockFragments(
    block: VoxelBox,
    ids: readonly string[],
    fragments: readonly Uint8Array[],
    options: {
      lod?: number;
      signal?: AbortSignal;
      keyOf?: (name: string, id: string) => string;
    } = {},
  ): Promise<string[]> {
    if (ids.length !== fragments.length)
      throw new MeshInputError(`${ids.length} ids for ${fragments.length} fragments`);
    const lod = options.lod ?? 0;
    const suffix = `:${lod}:${bboxFilename(block)}`;
    const keyOf = options.keyOf ?? ((name: string) => name);
    const names = ids.map((id) => keyOf(`${segmentId(id)}${suffix}`, id));
    const written = await this.storage.putMany(
      names.map((key, i) => ({
        key,
        data: fragments[i],
        contentType: "application/octet-stream",
        compress: this.fragmentCompression,
      })),
      { signal: options.signal },
    );
    for (const r of written) if (!r.ok) throw r.error;
    return names;
  }

  /**
   * Write many segments' manifests `<id>:<lod>` in parallel (uncompressed,
   * like Igneous), from segment ids (decimal strings) to fragment names.
   */
  async writeManifests(
    manifests: Iterable<[string, readonly string[]]>,
    options: { lod?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    const lod = options.lod ?? 0;
    const written = await this.storage.putMany(
      [...manifests].map(([id, fragments]) => ({
        key: `${segmentId(id)}:${lod}`,
        data: encodeLegacyManifest(fragments),
        contentType: "application/json",
        cacheControl: "no-cache",
        compress: false as const,
      })),
      { signal: options.signal },
    );
    for (const r of written) if (!r.ok) throw r.error;
  }

  /** A segment's whole mesh: every fragment of its manifest, concatenated and welded. */
  async get(label: Label, lod = 0): Promise<Mesh> {
    const names = await this.manifest(label, lod);
    if (names === null) {
      throw new MeshNotFoundError(
        `no mesh manifest for segment ${label} at ${this.url}/${legacyManifestKey(label, lod)}`,
      );
    }
    const results = await this.storage.getMany(names, {
      concurrency: this.options.concurrency ?? 32,
      maxBytes: maxMeshBytes(),
    });
    const meshes: Mesh[] = [];
    for (const r of results) {
      if (!r.ok) throw asDecodeError(r.error, `${this.url}/${r.key}`);
      if (r.value === null) {
        throw new MeshNotFoundError(
          `manifest of segment ${label} lists ${r.key}, which is missing at ${this.url}`,
        );
      }
      meshes.push(decodeLegacyMesh(r.value, `${this.url}/${r.key}`));
    }
    return weldMesh(concatMeshes(meshes));
  }

  /**
   * Every fragment in the directory whose key starts with `prefix`, grouped
   * by segment id (a decimal string) for lod 0, as keys. Manifests and
   * `info` are skipped. `recursive` also lists subdirectories (such as the
   * hash buckets `fragments/<bucket>/` of the multiresolution forge),
   * parsing the last part of each key as the fragment name.
   */
  async listFragments(
    prefix = "",
    options: { recursive?: boolean } = {},
  ): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    const recursive = options.recursive === true;
    for await (const key of this.storage.list(prefix, { recursive })) {
      const f = parseFragmentName(recursive ? key.slice(key.lastIndexOf("/") + 1) : key);
      if (f === null || f.lod !== 0) continue;
      let list = out.get(f.id);
      if (!list) out.set(f.id, (list = []));
      list.push(key);
    }
    for (const list of out.values()) list.sort();
    return out;
  }
}
