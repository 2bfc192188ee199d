/**
 * The `info` file of a precomputed volume (volume.md): its JSON shape,
 * validation with JSON paths, and a resolved view of one scale.
 *
 * An info is kept as the plain JSON object it was read from, so fields this
 * module does not know (CloudVolume's extras, newer upstream members) survive
 * a read-edit-write cycle untouched.
 */
import { constants } from "node:buffer";
import { bytesPerVoxel, DATA_TYPES, type DataType, isDataType } from "../dtypes";
import { Bbox } from "../geometry/bbox";
import { ceilDiv, formatVec3, type Vec3 } from "../geometry/vec3";
import { type ShardingSpec, shardingSpecProblems } from "../sharding/spec";
import { type InfoProblem, InfoValidationError, ScaleNotFoundError } from "./errors";

/** Encodings named by the spec and by CloudVolume; others are accepted but flagged at chunk time. */
export const KNOWN_ENCODINGS = [
  "raw",
  "jpeg",
  "png",
  "compressed_segmentation",
  "compresso",
  "crackle",
  "fpzip",
  "kempressed",
  "zfpc",
  "jxl",
] as const;

/** One scale (mip level) of an info file, as JSON. */
export interface ScaleJSON {
  key: string;
  size: [number, number, number];
  resolution: [number, number, number];
  /** Defaults to [0, 0, 0]. */
  voxel_offset?: [number, number, number];
  /** Only the first chunk size is used. */
  chunk_sizes: [number, number, number][];
  encoding: string;
  compressed_segmentation_block_size?: [number, number, number];
  sharding?: ShardingSpec;
  [extra: string]: unknown;
}

/** A precomputed `info` file, as JSON. Unknown members are kept. */
export interface InfoJSON {
  "@type"?: "neuroglancer_multiscale_volume";
  type: "image" | "segmentation";
  data_type: DataType;
  num_channels: number;
  scales: ScaleJSON[];
  mesh?: string;
  skeletons?: string;
  segment_properties?: string;
  [extra: string]: unknown;
}

type Problems = InfoProblem[];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? "undefined" : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function checkTriple(
  v: unknown,
  path: string,
  kind: "positive integers" | "integers" | "positive numbers",
  out: Problems,
): boolean {
  const ok =
    Array.isArray(v) &&
    v.length === 3 &&
    v.every((x) => {
      if (typeof x !== "number" || !Number.isFinite(x)) return false;
      if (kind !== "positive numbers" && !Number.isSafeInteger(x)) return false;
      return kind === "integers" || x > 0;
    });
  if (!ok) out.push({ path, rule: `must be 3 ${kind} [x, y, z], got ${show(v)}` });
  return ok;
}

function checkScale(s: unknown, i: number, info: Record<string, unknown>, out: Problems): void {
  const at = `scales[${i}]`;
  if (!isObject(s)) {
    out.push({ path: at, rule: "must be an object" });
    return;
  }
  if (typeof s.key !== "string" || s.key === "")
    out.push({ path: `${at}.key`, rule: `must be a non-empty string, got ${show(s.key)}` });
  checkTriple(s.size, `${at}.size`, "positive integers", out);
  checkTriple(s.resolution, `${at}.resolution`, "positive numbers", out);
  if (s.voxel_offset !== undefined)
    checkTriple(s.voxel_offset, `${at}.voxel_offset`, "integers", out);
  if (!Array.isArray(s.chunk_sizes) || s.chunk_sizes.length === 0)
    out.push({
      path: `${at}.chunk_sizes`,
      rule: `must be a non-empty array of [x, y, z] chunk sizes, got ${show(s.chunk_sizes)}`,
    });
  else
    s.chunk_sizes.forEach((c: unknown, j: number) => {
      checkTriple(c, `${at}.chunk_sizes[${j}]`, "positive integers", out);
    });

  const enc = typeof s.encoding === "string" ? s.encoding.toLowerCase() : undefined;
  if (enc === undefined || enc === "")
    out.push({
      path: `${at}.encoding`,
      rule: `must be a non-empty string, got ${show(s.encoding)}`,
    });
  const dtype = typeof info.data_type === "string" ? info.data_type.toLowerCase() : "";
  if (enc === "compressed_segmentation") {
    if (s.compressed_segmentation_block_size === undefined)
      out.push({
        path: `${at}.compressed_segmentation_block_size`,
        rule: 'is required when encoding is "compressed_segmentation"',
      });
    if (dtype !== "uint32" && dtype !== "uint64")
      out.push({
        path: `${at}.encoding`,
        rule: `"compressed_segmentation" needs data_type uint32 or uint64, not ${show(info.data_type)}`,
      });
  }
  if (enc === "compresso" || enc === "crackle") {
    const allowed =
      enc === "compresso"
        ? ["uint8", "uint16", "uint32", "uint64"]
        : ["uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"];
    if (!allowed.includes(dtype))
      out.push({
        path: `${at}.encoding`,
        rule: `"${enc}" needs data_type ${allowed.join(", ")}, not ${show(info.data_type)}`,
      });
    if (info.num_channels !== 1)
      out.push({ path: `${at}.encoding`, rule: `"${enc}" needs num_channels 1` });
  }
  if (enc === "jpeg") {
    if (dtype !== "uint8")
      out.push({
        path: `${at}.encoding`,
        rule: `"jpeg" needs data_type uint8, not ${show(info.data_type)}`,
      });
    if (info.num_channels !== 1 && info.num_channels !== 3)
      out.push({ path: `${at}.encoding`, rule: '"jpeg" needs num_channels 1 or 3' });
  }
  if (s.compressed_segmentation_block_size !== undefined)
    checkTriple(
      s.compressed_segmentation_block_size,
      `${at}.compressed_segmentation_block_size`,
      "positive integers",
      out,
    );
  if (s.sharding !== undefined) {
    out.push(...shardingSpecProblems(s.sharding, `${at}.sharding`));
    if (Array.isArray(s.chunk_sizes) && s.chunk_sizes.length > 1)
      out.push({
        path: `${at}.chunk_sizes`,
        rule: "must hold exactly one chunk size when the scale is sharded",
      });
  }
}

/**
 * The most bytes one array (a decoded chunk, a cutout) can hold: Node's
 * buffer limit (4 GiB on 64-bit Node 20). An info whose chunks, or whose
 * lines of voxels along one axis, would need more cannot be read.
 */
export const MAX_ARRAY_BYTES: number = constants.MAX_LENGTH;

function isTriple(v: unknown): v is [number, number, number] {
  return Array.isArray(v) && v.length === 3 && v.every((x) => Number.isSafeInteger(x) && x > 0);
}

/**
 * What a read of `info` would have to allocate, checked against
 * {@link MAX_ARRAY_BYTES}: one chunk (chunk size x channels x bytes per
 * voxel), and one line of voxels across the dataset along each axis. Values
 * such as num_channels 1e9 or size 2^40 pass the spec's type rules but no
 * read could hold them; they are reported at their field instead of as a
 * RangeError from a typed array constructor later.
 */
function checkAllocations(json: Record<string, unknown>, out: Problems): void {
  const dt = typeof json.data_type === "string" ? json.data_type.toLowerCase() : "";
  const channels = json.num_channels as number;
  if (!isDataType(dt) || !Number.isSafeInteger(channels) || channels < 1) return;
  const voxel = bytesPerVoxel(dt) * channels;
  const limit = `more than a read can allocate (${MAX_ARRAY_BYTES} bytes)`;
  if (voxel > MAX_ARRAY_BYTES) {
    out.push({
      path: "num_channels",
      rule: `${channels} channels of ${dt} make ${voxel} bytes per voxel, ${limit}`,
    });
    return;
  }
  (json.scales as unknown[]).forEach((s, i) => {
    if (!isObject(s)) return;
    const chunk = Array.isArray(s.chunk_sizes) ? s.chunk_sizes[0] : undefined;
    if (isTriple(chunk) && chunk[0] * chunk[1] * chunk[2] * voxel > MAX_ARRAY_BYTES)
      out.push({
        path: channels > 1 ? "num_channels" : `scales[${i}].chunk_sizes[0]`,
        rule: `chunks of ${chunk.join("x")} voxels x ${channels} channel(s) of ${dt} are ${chunk[0] * chunk[1] * chunk[2] * voxel} bytes, ${limit}`,
      });
    if (isTriple(s.size) && s.size.some((n) => n * voxel > MAX_ARRAY_BYTES))
      out.push({
        path: `scales[${i}].size`,
        rule: `${show(s.size)}: one line of voxels across the dataset would be ${Math.max(...s.size) * voxel} bytes, ${limit}`,
      });
  });
}

/**
 * Every way `json` breaks the info spec, as `{path, rule}` pairs (empty when
 * valid). Rules: volume.md of the Neuroglancer precomputed format, with the
 * data types of `DataType` (see docs/precomputed-format.md for the choices).
 */
export function validateInfo(json: unknown): InfoProblem[] {
  const out: Problems = [];
  if (!isObject(json)) {
    out.push({ path: "", rule: "info must be a JSON object" });
    return out;
  }
  if (json["@type"] !== undefined && json["@type"] !== "neuroglancer_multiscale_volume")
    out.push({
      path: '["@type"]',
      rule: `must be "neuroglancer_multiscale_volume" when present, got ${show(json["@type"])}`,
    });
  if (json.type !== "image" && json.type !== "segmentation")
    out.push({ path: "type", rule: `must be "image" or "segmentation", got ${show(json.type)}` });
  const dt = typeof json.data_type === "string" ? json.data_type.toLowerCase() : json.data_type;
  if (!isDataType(dt))
    out.push({
      path: "data_type",
      rule: `must be one of ${DATA_TYPES.join(", ")}, got ${show(json.data_type)}`,
    });
  if (!(Number.isSafeInteger(json.num_channels) && (json.num_channels as number) >= 1))
    out.push({
      path: "num_channels",
      rule: `must be a positive integer, got ${show(json.num_channels)}`,
    });
  else if (json.type === "segmentation" && json.num_channels !== 1)
    out.push({ path: "num_channels", rule: "must be 1 for segmentation volumes" });
  for (const k of ["mesh", "skeletons", "segment_properties"])
    if (json[k] !== undefined && (typeof json[k] !== "string" || json[k] === ""))
      out.push({
        path: k,
        rule: `must be a non-empty string (a directory name), got ${show(json[k])}`,
      });

  if (!Array.isArray(json.scales) || json.scales.length === 0) {
    out.push({ path: "scales", rule: `must be a non-empty array, got ${show(json.scales)}` });
    return out;
  }
  json.scales.forEach((s: unknown, i: number) => {
    checkScale(s, i, json, out);
  });
  checkAllocations(json, out);
  // Resolutions must not decrease along the scales array (volume.md).
  for (let i = 1; i < json.scales.length; i++) {
    const a = (json.scales[i - 1] as ScaleJSON | undefined)?.resolution;
    const b = (json.scales[i] as ScaleJSON | undefined)?.resolution;
    if (!Array.isArray(a) || !Array.isArray(b)) continue;
    for (let d = 0; d < 3; d++)
      if (b[d] < a[d]) {
        out.push({
          path: `scales[${i}].resolution`,
          rule: `must not be finer than scales[${i - 1}].resolution ${show(a)} on any axis, got ${show(b)}`,
        });
        break;
      }
  }
  const keys = new Set<string>();
  json.scales.forEach((s: unknown, i: number) => {
    const k = isObject(s) ? s.key : undefined;
    if (typeof k !== "string") return;
    if (keys.has(k)) out.push({ path: `scales[${i}].key`, rule: `duplicates key "${k}"` });
    keys.add(k);
  });
  return out;
}

/**
 * Parses and validates an info (a JSON string, bytes, or an already parsed
 * object, which is deep-copied). Case-insensitive `data_type` and `encoding`
 * values are lower-cased; everything else, unknown members included, is kept
 * as is. Throws `InfoValidationError` naming the JSON path of each problem.
 *
 * @example
 * const info = parseInfo(await (await fetch(url)).text());
 * info.scales[0].chunk_sizes[0]; // [64, 64, 64]
 */
export function parseInfo(input: string | Uint8Array | object, source?: string): InfoJSON {
  let json: unknown;
  if (typeof input === "string" || input instanceof Uint8Array) {
    const text = typeof input === "string" ? input : new TextDecoder().decode(input);
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new InfoValidationError(
        [{ path: "", rule: `is not valid JSON (${(e as Error).message})` }],
        source,
      );
    }
  } else {
    json = structuredClone(input);
  }
  const problems = validateInfo(json);
  if (problems.length) throw new InfoValidationError(problems, source);
  const info = json as InfoJSON;
  info.data_type = info.data_type.toLowerCase() as DataType;
  for (const s of info.scales) s.encoding = s.encoding.toLowerCase();
  return info;
}

/** The info as the JSON text CloudVolume writes: sorted keys, 2-space indent. */
export function formatInfo(info: InfoJSON): string {
  return JSON.stringify(sortKeys(info), null, 2);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObject(v)) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) o[k] = sortKeys(v[k]);
    return o;
  }
  return v;
}

/** A scale of an info with defaults applied and handy derived values. */
export interface Scale {
  /** Index in `info.scales`. */
  mip: number;
  key: string;
  size: Vec3;
  resolution: Vec3;
  voxelOffset: Vec3;
  /** The first of `chunk_sizes`. */
  chunkSize: Vec3;
  encoding: string;
  /** compressed_segmentation block size, if given. */
  blockSize?: Vec3;
  sharding?: ShardingSpec;
  /** `[voxel_offset, voxel_offset + size)`. */
  bounds: Bbox;
  /** Chunks per axis: ceil(size / chunkSize). */
  gridSize: Vec3;
  /** The scale's JSON inside the info (edit it to change the info). */
  raw: ScaleJSON;
}

/** The resolved view of `info.scales[mip]`. */
export function scaleAt(info: InfoJSON, mip: number): Scale {
  const raw = info.scales[mip];
  const voxelOffset = raw.voxel_offset ?? [0, 0, 0];
  const chunkSize = raw.chunk_sizes[0];
  return {
    mip,
    key: raw.key,
    size: raw.size,
    resolution: raw.resolution,
    voxelOffset,
    chunkSize,
    encoding: raw.encoding,
    blockSize: raw.compressed_segmentation_block_size,
    sharding: raw.sharding,
    bounds: Bbox.fromSize(voxelOffset, raw.size),
    gridSize: ceilDiv(raw.size, chunkSize),
    raw,
  };
}

function sameResolution(a: readonly number[], b: readonly number[]): boolean {
  // Resolutions may be floats written with rounding; compare with a small tolerance.
  for (let i = 0; i < 3; i++) if (Math.abs(a[i] - b[i]) > 1e-6 * Math.max(1, a[i])) return false;
  return true;
}

/** Mip index of the scale with `resolution`, or -1. */
export function mipOfResolution(info: InfoJSON, resolution: Vec3): number {
  return info.scales.findIndex((s) => sameResolution(s.resolution, resolution));
}

/**
 * The scale for a mip index or a resolution in nm. Throws
 * `ScaleNotFoundError` listing the available mips and resolutions.
 */
export function scaleForMip(info: InfoJSON, mip: number | Vec3): Scale {
  const i = typeof mip === "number" ? mip : mipOfResolution(info, mip);
  if (!(Number.isInteger(i) && i >= 0 && i < info.scales.length)) {
    const avail = info.scales.map((s, k) => `${k}: ${formatVec3(s.resolution)}`).join(", ");
    const what = typeof mip === "number" ? `mip ${mip}` : `resolution ${formatVec3(mip)}`;
    throw new ScaleNotFoundError(`no scale for ${what}; available mips (resolution nm): ${avail}`);
  }
  return scaleAt(info, i);
}

/** Resolution of `mip` divided by the resolution of mip 0 (the downsampling factor). */
export function downsampleRatio(info: InfoJSON, mip: number): Vec3 {
  const r = scaleForMip(info, mip).resolution;
  const r0 = info.scales[0].resolution;
  return [r[0] / r0[0], r[1] / r0[1], r[2] / r0[2]];
}
