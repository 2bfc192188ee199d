/**
 * Test helper: the piriform affinity map (../shared/data, read with h5wasm)
 * and the reference fixtures in ../fixtures (written by fixtures/generate.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";

/** ../shared/data/piriform.aff.h5, found relative to the project root. */
export const PIRIFORM_PATH = path.resolve(__dirname, "../../../../shared/data/piriform.aff.h5");

/** Spatial shape of the piriform map. */
export const PIRIFORM_SHAPE = [200, 200, 5] as const;

/** Whether the shared data is present (tests skip with a message when it is not). */
export const hasPiriform = existsSync(PIRIFORM_PATH);

/** The piriform affinities, float32 [200, 200, 5, 3], x fastest. */
export async function readPiriform(): Promise<Float32Array> {
  const h5 = await import("h5wasm/node");
  await h5.ready;
  const file = new h5.File(PIRIFORM_PATH, "r");
  try {
    return (file.get("main") as import("h5wasm").Dataset).value as Float32Array;
  } finally {
    file.close();
  }
}

const FIXTURES = path.resolve(__dirname, "../fixtures");

/** A JSON fixture from this directory. */
export function readJsonFixture<T>(name: string): T {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), "utf8")) as T;
}

/** A gzipped little-endian uint32 array fixture from this directory. */
export function readLabelsFixture(name: string): Uint32Array {
  const bytes = gunzipSync(readFileSync(path.join(FIXTURES, name)));
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
}
