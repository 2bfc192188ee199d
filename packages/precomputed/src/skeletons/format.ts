/**
 * The precomputed skeleton format (`skeletons.md` of Neuroglancer's
 * precomputed datasource): the `neuroglancer_skeletons` info, and the binary
 * encoding of one object's skeleton — vertex and edge counts (uint32le),
 * positions (float32le, [n, 3]), edges (uint32le, [m, 2]), then each vertex
 * attribute in the info's order, little-endian.
 */
import { PrecomputedError } from "../errors";
import { type ShardingSpec, shardingSpecProblems } from "../sharding/spec";

/** Data types a vertex attribute may have. */
export type SkeletonAttributeType =
  | "float32"
  | "int8"
  | "uint8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32";

/** One entry of `vertex_attributes`. */
export interface SkeletonAttributeInfo {
  id: string;
  data_type: SkeletonAttributeType;
  num_components: number;
}

/** The info file of a skeleton directory. */
export interface SkeletonInfo {
  "@type": "neuroglancer_skeletons";
  /** 3x4 row-major transform from stored coordinates to nanometres. */
  transform?: number[];
  vertex_attributes?: SkeletonAttributeInfo[];
  sharding?: ShardingSpec;
  segment_properties?: string;
}

/** An attribute's values: one typed array of `num_vertices * num_components` elements. */
export type SkeletonAttributeArray =
  | Float32Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

/** One object's skeleton as stored. */
export interface EncodedSkeleton {
  /** x, y, z per vertex in stored-model coordinates. */
  vertices: Float32Array;
  /** Vertex index pairs. */
  edges: Uint32Array;
  /** Per-vertex attributes by id (e.g. `radius`), in the info's order when encoded. */
  attributes?: Record<string, SkeletonAttributeArray>;
}

/** A skeleton info that breaks the spec; names the field. */
export class SkeletonInfoError extends PrecomputedError {
  override name = "SkeletonInfoError";
}

/** Skeleton bytes that do not decode under the info; names the key. */
export class SkeletonDecodeError extends PrecomputedError {
  override name = "SkeletonDecodeError";
}

const ARRAYS: Record<
  SkeletonAttributeType,
  {
    new (buffer: ArrayBuffer, offset: number, length: number): SkeletonAttributeArray;
    BYTES_PER_ELEMENT: number;
  }
> = {
  float32: Float32Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
};

/** The usual info: a `radius` attribute (float32) and an optional transform and sharding. */
export function skeletonInfo(
  options: { transform?: number[]; sharding?: ShardingSpec; radius?: boolean } = {},
): SkeletonInfo {
  const info: SkeletonInfo = {
    "@type": "neuroglancer_skeletons",
    transform: options.transform ?? [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
    vertex_attributes:
      options.radius === false ? [] : [{ id: "radius", data_type: "float32", num_components: 1 }],
  };
  if (options.sharding) info.sharding = options.sharding;
  return parseSkeletonInfo(info);
}

/** Checks a skeleton info against the spec; `source` (a URL) goes into the error. */
export function parseSkeletonInfo(json: unknown, source = "skeleton info"): SkeletonInfo {
  const fail = (what: string): never => {
    throw new SkeletonInfoError(`${source}: ${what}`);
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) fail("not a JSON object");
  const info = json as Record<string, unknown>;
  if (info["@type"] !== "neuroglancer_skeletons") {
    fail(`"@type" must be "neuroglancer_skeletons", got ${JSON.stringify(info["@type"])}`);
  }
  const t = info.transform;
  if (t !== undefined && (!Array.isArray(t) || t.length !== 12 || !t.every(Number.isFinite))) {
    fail(`"transform" must be an array of 12 finite numbers`);
  }
  const attrs = info.vertex_attributes ?? [];
  if (!Array.isArray(attrs)) fail(`"vertex_attributes" must be an array`);
  const seen = new Set<string>();
  (attrs as unknown[]).forEach((a, i) => {
    const at = `"vertex_attributes"[${i}]`;
    const attr = a as Partial<SkeletonAttributeInfo> | null;
    if (typeof attr?.id !== "string" || attr.id === "") fail(`${at}.id must be a non-empty string`);
    if (seen.has(attr!.id!)) fail(`${at}.id "${attr!.id}" is repeated`);
    seen.add(attr!.id!);
    if (!(typeof attr!.data_type === "string" && attr!.data_type in ARRAYS)) {
      fail(`${at}.data_type must be one of ${Object.keys(ARRAYS).join(", ")}`);
    }
    if (!Number.isInteger(attr!.num_components) || (attr!.num_components as number) < 1) {
      fail(`${at}.num_components must be a whole number >= 1`);
    }
  });
  if (info.sharding !== undefined) {
    const problems = shardingSpecProblems(info.sharding, "sharding");
    if (problems.length > 0) fail(`${problems[0].path}: ${problems[0].rule}`);
  }
  if (info.segment_properties !== undefined && typeof info.segment_properties !== "string") {
    fail(`"segment_properties" must be a string`);
  }
  return {
    ...(info as object),
    vertex_attributes: attrs as SkeletonAttributeInfo[],
  } as SkeletonInfo;
}

/**
 * Encodes one skeleton under `info`: every attribute the info lists must be
 * given with `num_vertices * num_components` values.
 */
export function encodeSkeleton(skeleton: EncodedSkeleton, info: SkeletonInfo): Uint8Array {
  const { vertices, edges } = skeleton;
  if (vertices.length % 3 !== 0) {
    throw new SkeletonInfoError(
      `skeleton vertices: ${vertices.length} floats is not a multiple of 3`,
    );
  }
  const nv = vertices.length / 3;
  if (edges.length % 2 !== 0) {
    throw new SkeletonInfoError(`skeleton edges: ${edges.length} indices is not a multiple of 2`);
  }
  for (let i = 0; i < edges.length; i++) {
    if (edges[i] >= nv) {
      throw new SkeletonInfoError(`skeleton edge ${i >> 1} names vertex ${edges[i]} of ${nv}`);
    }
  }
  const attrs = info.vertex_attributes ?? [];
  const parts = attrs.map((a) => {
    const values = skeleton.attributes?.[a.id];
    if (!values)
      throw new SkeletonInfoError(
        `skeleton: the info lists attribute "${a.id}" but none was given`,
      );
    // By type tag, not instanceof: arrays made in a worker thread come from another realm.
    const tag = (values as { [Symbol.toStringTag]?: string })[Symbol.toStringTag];
    if (tag !== ARRAYS[a.data_type].name || values.length !== nv * a.num_components) {
      throw new SkeletonInfoError(
        `skeleton attribute "${a.id}": expected ${nv * a.num_components} ${a.data_type} values, got ${values.length} (${values.constructor.name})`,
      );
    }
    return values;
  });
  const size =
    8 + vertices.byteLength + edges.byteLength + parts.reduce((s, p) => s + p.byteLength, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, nv, true);
  view.setUint32(4, edges.length / 2, true);
  let at = 8;
  // Typed arrays are little-endian on every platform Node runs on.
  for (const p of [vertices, edges, ...parts]) {
    out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
    at += p.byteLength;
  }
  return out;
}

/** Decodes one skeleton's bytes under `info`; `key` names the object in errors. */
export function decodeSkeleton(
  bytes: Uint8Array,
  info: SkeletonInfo,
  key = "skeleton",
): EncodedSkeleton {
  const fail = (what: string): never => {
    throw new SkeletonDecodeError(`${key}: ${what}`);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes is shorter than the 8-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nv = view.getUint32(0, true);
  const ne = view.getUint32(4, true);
  const attrs = info.vertex_attributes ?? [];
  const expected =
    8 +
    nv * 12 +
    ne * 8 +
    attrs.reduce((s, a) => s + nv * a.num_components * ARRAYS[a.data_type].BYTES_PER_ELEMENT, 0);
  if (bytes.length !== expected) {
    fail(
      `${nv} vertices and ${ne} edges need ${expected} bytes under the info, the object has ${bytes.length}`,
    );
  }
  // Copy into a fresh buffer so every array is aligned.
  const own = bytes.slice().buffer;
  let at = 8;
  const vertices = new Float32Array(own, at, nv * 3);
  at += nv * 12;
  const edges = new Uint32Array(own, at, ne * 2);
  at += ne * 8;
  for (let i = 0; i < edges.length; i++) {
    if (edges[i] >= nv) fail(`edge ${i >> 1} names vertex ${edges[i]} of ${nv}`);
  }
  const attributes: Record<string, SkeletonAttributeArray> = {};
  for (const a of attrs) {
    const Arr = ARRAYS[a.data_type];
    const n = nv * a.num_components;
    if (at % Arr.BYTES_PER_ELEMENT === 0) {
      attributes[a.id] = new Arr(own, at, n);
    } else {
      attributes[a.id] = new Arr(own.slice(at, at + n * Arr.BYTES_PER_ELEMENT), 0, n);
    }
    at += n * Arr.BYTES_PER_ELEMENT;
  }
  return { vertices, edges, attributes };
}
