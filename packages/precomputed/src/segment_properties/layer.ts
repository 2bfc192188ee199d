/**
 * Segment properties of a layer in storage: `<layer>/<dir>/info`, where
 * `<dir>` is the layer info's `segment_properties` (CloudVolume and
 * Igneous use `segment_properties`).
 */
import { type IoOptions, maxJsonBytes } from "@ngpipe/storage";
import { readInfo, writeInfo } from "../info/io";
import { bytesOf, joinUrl, type StorageReader, type StorageWriter } from "../info/store";
import {
  numberTypeFor,
  SEGMENT_PROPERTIES_TYPE,
  SegmentPropertiesError,
  type SegmentPropertiesJSON,
  type SegmentProperty,
  validateSegmentProperties,
} from "./format";

/** Directory name used when a layer's info names none. */
export const DEFAULT_SEGMENT_PROPERTIES_DIR = "segment_properties";

/**
 * The segment properties of a layer, or null when its info has no
 * `segment_properties` key.
 * @throws SegmentPropertiesError naming the URL when the file is missing,
 * not JSON, larger than the JSON cap, or breaks the spec.
 */
export async function readSegmentProperties(
  storage: StorageReader,
  opts: IoOptions = {},
): Promise<SegmentPropertiesJSON | null> {
  const info = await readInfo(storage, opts);
  const dir = info.segment_properties;
  if (dir === undefined) return null;
  const key = `${dir.replace(/\/+$/, "")}/info`;
  const url = joinUrl(storage.url, key);
  const maxBytes = maxJsonBytes();
  const bytes = bytesOf(await storage.get(key, { signal: opts.signal, maxBytes }));
  if (bytes === null)
    throw new SegmentPropertiesError(
      url,
      "",
      "is missing, though the layer info names it in segment_properties",
    );
  if (bytes.byteLength > maxBytes)
    throw new SegmentPropertiesError(
      url,
      "",
      `is more than ${maxBytes} bytes (raise NGPIPE_MAX_JSON_BYTES)`,
    );
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new SegmentPropertiesError(url, "", `is not valid JSON (${(e as Error).message})`);
  }
  return validateSegmentProperties(json, url);
}

/** Options of {@link writeSegmentProperties}. */
export interface WriteSegmentPropertiesOptions extends IoOptions {
  /** Directory of the properties; default the info's `segment_properties`, else "segment_properties". */
  dir?: string;
}

/**
 * Validates and writes segment properties to `<dir>/info` of a layer (as
 * JSON, uncompressed, not cached), then sets the layer info's
 * `segment_properties` to `dir` (the key set is the last write, so a
 * reader never sees a key naming a missing file).
 * @returns the URL of the properties info written.
 * @example
 * await writeSegmentProperties(storage, segmentPropertiesFromCsv(text, "cells.csv"));
 */
export async function writeSegmentProperties(
  storage: StorageReader & StorageWriter,
  props: SegmentPropertiesJSON,
  opts: WriteSegmentPropertiesOptions = {},
): Promise<string> {
  const info = await readInfo(storage, opts);
  if (info.type !== "segmentation")
    throw new SegmentPropertiesError(
      joinUrl(storage.url, "info"),
      "type",
      `segment properties belong to segmentation layers, this layer is "${info.type}"`,
    );
  const dir = (opts.dir ?? info.segment_properties ?? DEFAULT_SEGMENT_PROPERTIES_DIR).replace(
    /\/+$/,
    "",
  );
  const key = `${dir}/info`;
  validateSegmentProperties(props, joinUrl(storage.url, key));
  await storage.put(key, new TextEncoder().encode(JSON.stringify(props)), {
    contentType: "application/json",
    cacheControl: "no-cache",
    compress: false,
    signal: opts.signal,
  });
  if (info.segment_properties !== dir) {
    info.segment_properties = dir;
    await writeInfo(storage, info, opts);
  }
  return joinUrl(storage.url, key);
}

/**
 * Adds (or replaces) a `number` property: `values[i]` for segment
 * `ids[i]`. Segments new to the properties get "" for text properties, no
 * tags and 0 for other numbers; segments the table lacks get 0. The data
 * type is the narrowest integer type holding the values (uint32 for voxel
 * counts up to 2^32 - 1), else float32 (rounded, as Neuroglancer stores it).
 * @throws SegmentPropertiesError when `id` names a property of another type.
 */
export function withNumberProperty(
  props: SegmentPropertiesJSON | null,
  id: string,
  ids: readonly string[],
  values: ArrayLike<number>,
  description?: string,
): SegmentPropertiesJSON {
  const inline = props?.inline ?? { ids: [], properties: [] };
  const existing = inline.properties.find((p) => p.id === id);
  if (existing && existing.type !== "number")
    throw new SegmentPropertiesError(
      "segment properties",
      `property "${id}"`,
      `is a ${existing.type} property, not a number`,
    );
  const allIds = [...inline.ids];
  const index = new Map(allIds.map((s, i) => [s, i]));
  for (const s of ids)
    if (!index.has(s)) {
      index.set(s, allIds.length);
      allIds.push(s);
    }
  const extra = allIds.length - inline.ids.length;
  const grow = (p: SegmentProperty): SegmentProperty => {
    if (p.type === "number")
      return { ...p, values: [...p.values, ...new Array<number>(extra).fill(0)] };
    if (p.type === "tags")
      return { ...p, values: [...p.values, ...Array.from({ length: extra }, () => [])] };
    return { ...p, values: [...p.values, ...new Array<string>(extra).fill("")] };
  };
  const column = new Array<number>(allIds.length).fill(0);
  for (let i = 0; i < ids.length; i++) column[index.get(ids[i]) as number] = values[i];
  const property: SegmentProperty = {
    id,
    type: "number",
    data_type: numberTypeFor(column),
    values: column,
  };
  if (description) property.description = description;
  const properties = inline.properties.filter((p) => p.id !== id).map(grow);
  properties.push(property);
  return { "@type": SEGMENT_PROPERTIES_TYPE, inline: { ids: allIds, properties } };
}
