/**
 * Checks of the affinity-map argument shared by the watershed and region-graph
 * kernels: shape [x, y, z, 3] matching the data, float32 or uint8 values
 * (uint8 is divided by 255, as the seed's pipeline did), no NaN.
 */
import { AffinityInputError } from "./errors";

/** Affinity values the kernels accept; uint8 maps 0..255 to 0..1. */
export type AffinityArray = Float32Array | Uint8Array;

/** A volume shape [x, y, z] (the affinity map is [x, y, z, 3]). */
import type { Shape3 } from "../label-array";

export type { Shape3 };

/**
 * Validates `shape` against `aff` and returns the spatial shape [x, y, z].
 * `shape` may be given with or without its channel axis.
 */
export function checkAffinityShape(aff: AffinityArray, shape: readonly number[]): Shape3 {
  if (!(aff instanceof Float32Array) && !(aff instanceof Uint8Array)) {
    const kind = (aff as object | null)?.constructor?.name ?? typeof aff;
    throw new AffinityInputError(
      `aff must be a Float32Array or a Uint8Array (uint8 is divided by 255), got ${kind}`,
      "aff",
    );
  }
  if (shape.length !== 3 && !(shape.length === 4 && shape[3] === 3)) {
    throw new AffinityInputError(
      `shape must be [x, y, z] or [x, y, z, 3] (three affinity channels), got [${shape.join(", ")}]`,
      "shape",
    );
  }
  for (let i = 0; i < 3; i++) {
    if (!Number.isInteger(shape[i]) || shape[i] < 1) {
      throw new AffinityInputError(
        `shape[${i}] must be a positive integer, got ${shape[i]} in [${shape.join(", ")}]`,
        "shape",
      );
    }
  }
  const n = shape[0] * shape[1] * shape[2];
  if (aff.length !== 3 * n) {
    throw new AffinityInputError(
      `aff has ${aff.length} values but shape [${shape.slice(0, 3).join(", ")}, 3] needs ${3 * n}`,
      "aff",
    );
  }
  return [shape[0], shape[1], shape[2]];
}

/**
 * The affinities as float32: a float32 map is returned as is (after a NaN
 * check), a uint8 map is converted value / 255 rounded to float32.
 */
export function affinitiesAsFloat32(aff: AffinityArray): Float32Array {
  if (aff instanceof Uint8Array) {
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = v / 255;
    const out = new Float32Array(aff.length);
    for (let i = 0; i < aff.length; i++) out[i] = lut[aff[i]];
    return out;
  }
  for (let i = 0; i < aff.length; i++) {
    const v = aff[i];
    if (Number.isNaN(v)) {
      throw new AffinityInputError(`aff[${i}] is NaN; affinities must be numbers`, "aff");
    }
  }
  return aff;
}
