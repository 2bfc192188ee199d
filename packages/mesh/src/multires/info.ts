/**
 * The `info` of a multi-resolution mesh directory
 * (`@type: neuroglancer_multilod_draco`), per the spec's meshes.md.
 */
import { type ShardingSpec, ShardSpecError, validateShardingSpec } from "@ngpipe/precomputed";
import { MeshDecodeError, MeshError, MeshInputError } from "../errors";

/** The `@type` of a multi-resolution mesh directory. */
export const MULTILOD_DRACO = "neuroglancer_multilod_draco";

/** The mesh directory `info` of a multi-resolution mesh layer. */
export interface MultiresMeshInfo {
  "@type": typeof MULTILOD_DRACO;
  /** Bits per position component of a fragment: 10 or 16. */
  vertex_quantization_bits: 10 | 16;
  /** 4x3 row-major homogeneous transform from stored model to model coordinates. */
  transform: number[];
  /** Factor applied to every manifest's `lod_scales`. */
  lod_scale_multiplier: number;
  /** Present when manifests and fragments live in shard files. */
  sharding?: ShardingSpec;
  /** Subdirectory of segment properties (optional). */
  segment_properties?: string;
  /** Other members are kept as they are. */
  [key: string]: unknown;
}

/** Vertex quantization bits other than the spec's 10 or 16. */
export class QuantizationBitsError extends MeshInputError {
  override name = "QuantizationBitsError";
  constructor(
    readonly bits: unknown,
    where?: string,
  ) {
    super(
      `${where ? `${where}: ` : ""}vertex_quantization_bits must be 10 or 16, got ${JSON.stringify(bits)}`,
    );
  }
}

/**
 * A mesh directory or object of another format than the one asked for (a
 * legacy directory opened as multi-resolution, or the reverse). Names the key.
 */
export class MeshFormatError extends MeshError {
  override name = "MeshFormatError";
  constructor(
    message: string,
    readonly key?: string,
  ) {
    super(key ? `${key}: ${message}` : message);
  }
}

/** Throws {@link QuantizationBitsError} unless `bits` is 10 or 16. */
export function checkQuantizationBits(bits: unknown, where?: string): asserts bits is 10 | 16 {
  if (bits !== 10 && bits !== 16) throw new QuantizationBitsError(bits, where);
}

/** The identity `transform` (stored model coordinates are nanometres). */
export const IDENTITY_TRANSFORM: readonly number[] = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0];

/** A multi-resolution mesh `info`: identity transform and lod scale multiplier 1 unless given. */
export function multiresMeshInfo(options: {
  bits?: 10 | 16;
  transform?: readonly number[];
  lodScaleMultiplier?: number;
  sharding?: ShardingSpec;
}): MultiresMeshInfo {
  const bits = options.bits ?? 10;
  checkQuantizationBits(bits);
  const info: MultiresMeshInfo = {
    "@type": MULTILOD_DRACO,
    vertex_quantization_bits: bits,
    transform: [...(options.transform ?? IDENTITY_TRANSFORM)],
    lod_scale_multiplier: options.lodScaleMultiplier ?? 1,
  };
  if (options.sharding) info.sharding = { ...options.sharding };
  return info;
}

/**
 * Checks a parsed mesh `info` of a multi-resolution directory. A legacy (or
 * other) `@type` is a {@link MeshFormatError}, bad quantization bits a
 * {@link QuantizationBitsError}, other broken members a
 * {@link MeshDecodeError}; all name `key`.
 */
export function parseMultiresMeshInfo(json: unknown, key?: string): MultiresMeshInfo {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new MeshDecodeError("mesh info is not a JSON object", key);
  const o = json as Record<string, unknown>;
  if (o["@type"] !== MULTILOD_DRACO)
    throw new MeshFormatError(
      `mesh info "@type" is ${JSON.stringify(o["@type"])}, not "${MULTILOD_DRACO}"`,
      key,
    );
  checkQuantizationBits(o.vertex_quantization_bits, key);
  const t = o.transform;
  if (!Array.isArray(t) || t.length !== 12 || !t.every((v) => typeof v === "number"))
    throw new MeshDecodeError('mesh info "transform" is not an array of 12 numbers', key);
  if (typeof o.lod_scale_multiplier !== "number" || !(o.lod_scale_multiplier > 0))
    throw new MeshDecodeError('mesh info "lod_scale_multiplier" is not a positive number', key);
  if (o.sharding !== undefined) {
    try {
      validateShardingSpec(o.sharding);
    } catch (e) {
      if (!(e instanceof ShardSpecError)) throw e;
      throw new MeshDecodeError(`mesh info "sharding": ${e.message}`, key, { cause: e });
    }
  }
  return o as MultiresMeshInfo;
}
