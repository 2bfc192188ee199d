/**
 * The numpy fixtures of the image-analysis kernels (fixtures/make_fixtures.py),
 * for this package's tests and the histogram/contrast stage tests of
 * @ngpipe/tasks and @ngpipe/cli.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

/** Where an array lies in the fixture blob. */
export interface ArrayMeta {
  offset: number;
  shape: number[];
}

/** One stack: its histograms and, per clip fraction, its limits and stretched form. */
export interface ImageCase {
  name: string;
  dtype: "uint8" | "uint16";
  input: ArrayMeta;
  /** float64, shape (z, bins), stored x fastest. */
  histograms: ArrayMeta;
  clips: { clip: [number, number]; limits: [number, number][]; output: ArrayMeta }[];
}

const dir = join(__dirname, "fixtures");

/** Every case of cases.json. */
export const imageCases: ImageCase[] = JSON.parse(
  readFileSync(join(dir, "cases.json"), "utf8"),
).cases;

const blob = gunzipSync(readFileSync(join(dir, "cases.bin.gz")));

/** A copy of an array of the blob. */
export function loadArray<T>(
  C: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number },
  meta: ArrayMeta,
): T {
  const n = meta.shape.reduce((a, b) => a * b, 1);
  const bytes = blob.subarray(meta.offset, meta.offset + n * C.BYTES_PER_ELEMENT);
  return new C(new Uint8Array(bytes).buffer);
}

/** An image array (input or output) of a case, in the case's data type. */
export function loadImage(c: ImageCase, meta: ArrayMeta): Uint8Array | Uint16Array {
  return c.dtype === "uint8" ? loadArray(Uint8Array, meta) : loadArray(Uint16Array, meta);
}

/** numpy's histograms of a case as one array per slice. */
export function caseHistograms(c: ImageCase): number[][] {
  const [depth, bins] = c.histograms.shape;
  const ref = loadArray(Float64Array, c.histograms);
  return Array.from({ length: depth }, (_, z) =>
    Array.from({ length: bins }, (_, v) => ref[z + v * depth]),
  );
}
