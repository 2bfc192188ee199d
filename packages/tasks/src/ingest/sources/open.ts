/**
 * `openSource`: one entry point that picks the reader for a path or URL by
 * its extension, scheme or contents.
 */
import { readdir, stat } from "node:fs/promises";
import * as path from "node:path";
import { type BigArraySourceOptions, openBigArray } from "./bigarray";
import { SourceError } from "./errors";
import { type Hdf5SourceOptions, openHdf5 } from "./hdf5";
import { type HyperSquareSourceOptions, openHyperSquare } from "./hypersquare";
import { type ImageStackOptions, openImageStack } from "./images";
import { splitInnerPath } from "./layout";
import { type NpySourceOptions, openNpy } from "./npy";
import type { VolumeSource } from "./types";
import { openZarr, type ZarrSourceOptions } from "./zarr";

/** The source readers {@link openSource} knows. */
export type SourceFormat = "hdf5" | "zarr" | "npy" | "images" | "bigarray" | "hypersquare";

/** Every {@link SourceFormat}, for option parsers. */
export const SOURCE_FORMATS: readonly SourceFormat[] = [
  "hdf5",
  "zarr",
  "npy",
  "images",
  "bigarray",
  "hypersquare",
];

/** Options of {@link openSource}: those of every reader, plus `format` to skip detection. */
export interface OpenSourceOptions
  extends Hdf5SourceOptions,
    ZarrSourceOptions,
    NpySourceOptions,
    ImageStackOptions,
    BigArraySourceOptions,
    Omit<HyperSquareSourceOptions, "dataset" | "cacheBytes"> {
  /** Use this reader instead of guessing from the path. */
  format?: SourceFormat;
}

/** A source as plain JSON (e.g. in a task payload): its URL plus reader options. */
export interface SourceSpec extends OpenSourceOptions {
  /** Path, URL, glob, or list of image files. */
  url: string | string[];
}

const HDF5 = /\.(h5|hdf5|hdf|he5)$/i;
const ZARR = /\.zarr(\/|$)/i;
const IMAGE = /\.(tiff?|png|jpe?g)$/i;
const REMOTE = /^[a-z][a-z0-9+]*:\/\//i;

/** Pick the reader for a spec by extension, scheme, or (for a local directory) its contents. */
export async function detectFormat(url: string | string[]): Promise<SourceFormat> {
  if (Array.isArray(url)) return "images";
  const bare = splitInnerPath(url).container.replace(/\/+$/, "");
  if (HDF5.test(bare)) return "hdf5";
  if (/\.npy$/i.test(bare)) return "npy";
  if (ZARR.test(bare)) return "zarr";
  if (IMAGE.test(bare) || /[*?[]/.test(path.basename(bare))) return "images";
  if (REMOTE.test(bare) && !bare.startsWith("file://")) return "zarr";
  const local = path.resolve(bare.replace(/^file:\/\//, ""));
  const st = await stat(local).catch(() => null);
  if (st?.isDirectory()) {
    const names = await readdir(local);
    if (names.some((n) => n === ".zarray" || n === ".zgroup" || n === "zarr.json")) return "zarr";
    return "images";
  }
  throw new SourceError(
    `${url}: can't tell the format (${st ? "unknown extension" : "no such file or directory"}); pass format: "hdf5" | "zarr" | "npy" | "images"`,
    url,
  );
}

/**
 * Open any supported volume as a {@link VolumeSource}:
 *
 * - `file.h5#/path/to/dataset` (or `dataset` option): HDF5, local files
 * - `vol.zarr`, `s3://bucket/vol.zarr#/0`, any `@ngpipe/storage` URL, or a
 *   directory holding Zarr metadata: Zarr v2/v3 arrays and OME-Zarr groups
 * - `vol.npy`: NumPy arrays
 * - a directory, glob or list of .tif/.png/.jpg slices, or a (multi-page) .tif
 * - with `format: "bigarray"`: a BigArrays.jl dataset (chunks or HDF5 blocks)
 * - with `format: "hypersquare"`: the image or (`dataset: "segmentation"`)
 *   segmentation of a HyperSquare cube directory
 *
 * ```ts
 * const src = await openSource("aff.h5#/main");
 * const block = await src.readBlock({ min: [0, 0, 0], max: [64, 64, 5] });
 * await src.close();
 * ```
 */
export async function openSource(
  spec: string | string[] | SourceSpec,
  opts: OpenSourceOptions = {},
): Promise<VolumeSource> {
  const { url, ...specOpts } =
    typeof spec === "string" || Array.isArray(spec) ? { url: spec } : spec;
  const o: OpenSourceOptions = { ...specOpts, ...opts };
  const format = o.format ?? (await detectFormat(url));
  const one = (what: string): string => {
    if (Array.isArray(url)) {
      throw new SourceError(
        `a list of files can only be an image stack, not ${what}`,
        url.join(","),
      );
    }
    return url;
  };
  switch (format) {
    case "hdf5":
      return openHdf5(one("HDF5"), o);
    case "zarr":
      return openZarr(one("Zarr"), o);
    case "npy":
      return openNpy(one("npy"), o);
    case "bigarray":
      return openBigArray(one("BigArray"), o);
    case "hypersquare":
      return openHyperSquare(one("HyperSquare"), o);
    case "images": {
      const single = typeof url === "string" && /\.(png|jpe?g)$/i.test(url) ? [url] : url;
      return openImageStack(single, o);
    }
    default:
      throw new SourceError(`unknown source format "${format as string}"`, String(url));
  }
}
