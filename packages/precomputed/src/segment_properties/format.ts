/**
 * Neuroglancer's segment properties (segment_properties.md of the
 * precomputed format): a directory beside a segmentation layer, named by
 * the layer info's `segment_properties` key, holding one `info` JSON file
 * of type `neuroglancer_segment_properties` with inline properties: the
 * segment ids (base-10 strings) and, per property, one value per id.
 * Property types are `label` and `description` (at most one each, shown
 * next to the segment), `string`, `tags` (at most one; tag indices into a
 * list of tag names) and `number` (with a data type).
 */
import { PrecomputedError } from "../errors";

/** The `@type` of a segment properties info. */
export const SEGMENT_PROPERTIES_TYPE = "neuroglancer_segment_properties";

/** Numeric data types a `number` property may have. */
export const NUMBER_DATA_TYPES = [
  "uint8",
  "int8",
  "uint16",
  "int16",
  "uint32",
  "int32",
  "float32",
] as const;

/** Data type of a `number` property. */
export type NumberDataType = (typeof NUMBER_DATA_TYPES)[number];

/** A `label`, `description` or `string` property. */
export interface TextProperty {
  id: string;
  type: "label" | "description" | "string";
  description?: string;
  values: string[];
}

/** A `tags` property: each value lists indices into `tags`, increasing. */
export interface TagsProperty {
  id: string;
  type: "tags";
  tags: string[];
  tag_descriptions?: string[];
  values: number[][];
}

/** A `number` property. */
export interface NumberProperty {
  id: string;
  type: "number";
  data_type: NumberDataType;
  description?: string;
  values: number[];
}

/** One inline property. */
export type SegmentProperty = TextProperty | TagsProperty | NumberProperty;

/** The `info` of a segment properties directory. */
export interface SegmentPropertiesJSON {
  "@type": typeof SEGMENT_PROPERTIES_TYPE;
  inline?: {
    ids: string[];
    properties: SegmentProperty[];
  };
}

/**
 * Segment properties that break the spec, or a properties file (CSV,
 * JSON) that cannot be turned into them. Names the file and the field or
 * row: `cells.csv: row 7, column "volume": "12a" is not a number`.
 */
export class SegmentPropertiesError extends PrecomputedError {
  override name = "SegmentPropertiesError";
  constructor(
    /** The file (path or URL) the properties came from. */
    readonly file: string,
    /** Where in it: a JSON path such as `inline.properties[2].values[4]`, or a row and column. */
    readonly field: string,
    /** What is wrong. */
    readonly rule: string,
  ) {
    super(`${file}: ${field ? `${field}: ` : ""}${rule}`);
  }
}

const UINT64_MAX = "18446744073709551615";

/** Whether `s` is the base-10 form of a uint64 (no sign, no leading zeros). */
export function isUint64String(s: unknown): s is string {
  if (typeof s !== "string" || !/^(0|[1-9][0-9]*)$/.test(s)) return false;
  return s.length < 20 || (s.length === 20 && s <= UINT64_MAX);
}

const NUMBER_RANGES: Record<NumberDataType, [number, number] | null> = {
  uint8: [0, 255],
  int8: [-128, 127],
  uint16: [0, 65535],
  int16: [-32768, 32767],
  uint32: [0, 4294967295],
  int32: [-2147483648, 2147483647],
  float32: null,
};

/** Whether `v` is a value of a `number` property of `dataType` (integers in range, or any finite float32). */
export function fitsNumberType(v: number, dataType: NumberDataType): boolean {
  if (!Number.isFinite(v)) return false;
  const range = NUMBER_RANGES[dataType];
  if (!range) return Math.abs(v) <= 3.4028234663852886e38;
  return Number.isInteger(v) && v >= range[0] && v <= range[1];
}

/** The narrowest number data type holding every value (integers), else float32. */
export function numberTypeFor(values: readonly number[]): NumberDataType {
  for (const t of ["uint8", "int8", "uint16", "int16", "uint32", "int32"] as const)
    if (values.every((v) => fitsNumberType(v, t))) return t;
  return "float32";
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const show = (v: unknown) => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 37)}...` : s;
};

/**
 * Checks segment properties against the spec and returns them typed:
 * `@type`, uint64 decimal ids without repeats, property ids unique, at most
 * one label, description and tags property, one value per id of the
 * property's type, tag indices increasing and in range, numbers that fit
 * their data type.
 * @throws SegmentPropertiesError naming `file` and the JSON path.
 */
export function validateSegmentProperties(json: unknown, file: string): SegmentPropertiesJSON {
  const fail = (field: string, rule: string) => new SegmentPropertiesError(file, field, rule);
  if (!isObject(json)) throw fail("", "segment properties must be a JSON object");
  if (json["@type"] !== SEGMENT_PROPERTIES_TYPE)
    throw fail('["@type"]', `must be "${SEGMENT_PROPERTIES_TYPE}", got ${show(json["@type"])}`);
  const inline = json.inline;
  if (inline === undefined) return json as unknown as SegmentPropertiesJSON;
  if (!isObject(inline)) throw fail("inline", "must be an object with ids and properties");
  const ids = inline.ids;
  if (!Array.isArray(ids))
    throw fail("inline.ids", "must be an array of base-10 segment id strings");
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    if (!isUint64String(id))
      throw fail(`inline.ids[${i}]`, `${show(id)} is not a base-10 uint64 string`);
    if (seen.has(id)) throw fail(`inline.ids[${i}]`, `segment ${id} is listed twice`);
    seen.add(id);
  });
  const props = inline.properties;
  if (!Array.isArray(props)) throw fail("inline.properties", "must be an array");
  const propIds = new Set<string>();
  const once = new Set<string>();
  props.forEach((p, k) => {
    const at = `inline.properties[${k}]`;
    if (!isObject(p)) throw fail(at, "must be an object");
    if (typeof p.id !== "string" || p.id === "")
      throw fail(`${at}.id`, "must be a non-empty string");
    if (propIds.has(p.id)) throw fail(`${at}.id`, `property "${p.id}" is defined twice`);
    propIds.add(p.id);
    const type = p.type;
    if (
      type !== "label" &&
      type !== "description" &&
      type !== "string" &&
      type !== "tags" &&
      type !== "number"
    )
      throw fail(
        `${at}.type`,
        `must be "label", "description", "string", "tags" or "number", got ${show(type)}`,
      );
    if (type !== "string" && type !== "number") {
      if (once.has(type)) throw fail(`${at}.type`, `at most one property may have type "${type}"`);
      once.add(type);
    }
    if (p.description !== undefined && (typeof p.description !== "string" || type === "tags"))
      throw fail(
        `${at}.description`,
        type === "tags" ? 'must not be present for "tags"' : "must be a string",
      );
    if (type !== "tags" && (p.tags !== undefined || p.tag_descriptions !== undefined))
      throw fail(`${at}.tags`, 'is only allowed for type "tags"');
    if (type !== "number" && p.data_type !== undefined)
      throw fail(`${at}.data_type`, 'is only allowed for type "number"');
    const values = p.values;
    if (!Array.isArray(values) || values.length !== ids.length)
      throw fail(`${at}.values`, `must be an array of ${ids.length} values (one per id)`);
    if (type === "label" || type === "description" || type === "string") {
      values.forEach((v, i) => {
        if (typeof v !== "string")
          throw fail(`${at}.values[${i}]`, `must be a string, got ${show(v)}`);
      });
    } else if (type === "number") {
      const dt = p.data_type as NumberDataType;
      if (!NUMBER_DATA_TYPES.includes(dt))
        throw fail(
          `${at}.data_type`,
          `must be one of ${NUMBER_DATA_TYPES.join(", ")}, got ${show(p.data_type)}`,
        );
      values.forEach((v, i) => {
        if (typeof v !== "number" || !fitsNumberType(v, dt))
          throw fail(`${at}.values[${i}]`, `${show(v)} is not a ${dt} value`);
      });
    } else {
      const tags = p.tags;
      if (!Array.isArray(tags))
        throw fail(`${at}.tags`, 'must be an array of strings for type "tags"');
      const tagSeen = new Set<string>();
      tags.forEach((t, j) => {
        if (typeof t !== "string" || t === "" || t.startsWith("#") || /\s/.test(t))
          throw fail(
            `${at}.tags[${j}]`,
            `${show(t)} is not a tag (a non-empty string without "#" or spaces)`,
          );
        if (tagSeen.has(t.toLowerCase()))
          throw fail(
            `${at}.tags[${j}]`,
            `tag "${t}" is listed twice (tags match case-insensitively)`,
          );
        tagSeen.add(t.toLowerCase());
      });
      const descs = p.tag_descriptions;
      if (
        descs !== undefined &&
        (!Array.isArray(descs) ||
          descs.length !== tags.length ||
          !descs.every((d) => typeof d === "string"))
      )
        throw fail(
          `${at}.tag_descriptions`,
          `must be an array of ${tags.length} strings (one per tag)`,
        );
      values.forEach((v, i) => {
        const ok =
          Array.isArray(v) &&
          v.every(
            (x, j) => Number.isInteger(x) && x >= 0 && x < tags.length && (j === 0 || x > v[j - 1]),
          );
        if (!ok)
          throw fail(
            `${at}.values[${i}]`,
            `${show(v)} is not an increasing list of tag indices below ${tags.length}`,
          );
      });
    }
  });
  return json as unknown as SegmentPropertiesJSON;
}
