/**
 * Volume's array edge: every place a cutout array is made, read from or
 * checked. The rest of Volume works on chunk boxes and typed arrays, so a
 * change of the user-facing array type touches only this module.
 */
import { copyBox, fillBox, NdArray, type Voxel } from "../array";
import { allocTyped, bytesPerVoxel, type DataType, type TypedArray, viewTyped } from "../dtypes";
import { Bbox } from "../geometry/bbox";
import type { Vec3 } from "../geometry/vec3";
import { ArrayMismatchError } from "./errors";

/** The array type `Volume.read` returns and `Volume.write` takes. */
export type VolumeArray = NdArray;

function offsetIn(inner: Bbox, outer: Bbox): number[] {
  return [inner.min[0] - outer.min[0], inner.min[1] - outer.min[1], inner.min[2] - outer.min[2]];
}

/** A new [x, y, z, c] array for `box`, every voxel `background`. */
export function newCutout(
  dtype: DataType,
  box: Bbox,
  channels: number,
  background: Voxel,
  shared = false,
): NdArray {
  const s = box.size();
  const shape = [s[0], s[1], s[2], channels];
  const out = shared
    ? NdArray.from(
        viewTyped(
          dtype,
          new SharedArrayBuffer(s[0] * s[1] * s[2] * channels * bytesPerVoxel(dtype)),
        ),
        shape,
      )
    : NdArray.zeros(dtype, shape);
  if (background !== 0 && background !== 0n)
    (out.data as unknown as { fill(v: Voxel): void }).fill(background);
  return out;
}

/** Paints the part of chunk `chunk` (its voxels `data`, or `background` when null) inside `outBox` into `out`. */
export function paintChunk(
  out: NdArray,
  outBox: Bbox,
  chunk: Bbox,
  data: TypedArray | null,
  background: Voxel,
): void {
  const part = chunk.intersect(outBox);
  if (data === null) {
    fillBox(out, offsetIn(part, outBox), part.size(), background);
    return;
  }
  const cs = chunk.size();
  const src = new NdArray(data, [cs[0], cs[1], cs[2], out.shape[3]], out.dtype);
  copyBox(src, offsetIn(part, chunk), out, offsetIn(part, outBox), part.size());
}

/** A fresh typed array of the voxels of `part` (inside `box`) of `array`, the array written at `box`. */
export function cropArray(array: NdArray, box: Bbox, part: Bbox): TypedArray {
  return array.crop(offsetIn(part, box), part.size()).data;
}

/** The voxels of `part` of a chunk with box `chunk` (its own `data` when `part` is the whole chunk). */
export function cropChunk(
  data: TypedArray,
  chunk: Bbox,
  part: Bbox,
  channels: number,
  dtype: DataType,
): TypedArray {
  if (part.equals(chunk)) return data;
  const cs = chunk.size();
  return new NdArray(data, [cs[0], cs[1], cs[2], channels], dtype).crop(
    offsetIn(part, chunk),
    part.size(),
  ).data;
}

/**
 * Chunk `chunk`'s voxels with the part of `array` (written at `box`) that
 * overlaps it copied in: `data` patched in place, or a new chunk of
 * `background` when `data` is null.
 */
export function patchChunk(
  data: TypedArray | null,
  chunk: Bbox,
  array: NdArray,
  box: Bbox,
  background: Voxel,
): TypedArray {
  const cs = chunk.size();
  const channels = array.shape[3];
  let voxels = data;
  if (voxels === null) {
    voxels = allocTyped(array.dtype, cs[0] * cs[1] * cs[2] * channels);
    if (background !== 0 && background !== 0n)
      (voxels as unknown as { fill(v: Voxel): void }).fill(background);
  }
  const part = chunk.intersect(box);
  const target = new NdArray(voxels, [cs[0], cs[1], cs[2], channels], array.dtype);
  copyBox(array, offsetIn(part, box), target, offsetIn(part, chunk), part.size());
  return voxels;
}

/** The box `array` covers when written with its low corner at `box`, a point; undefined when `box` is not a point. */
export function boxAtPoint(box: unknown, array: NdArray): Bbox | undefined {
  if (!Array.isArray(box) || typeof box[0] !== "number") return undefined;
  return Bbox.fromSize(box as unknown as Vec3, [array.shape[0], array.shape[1], array.shape[2]]);
}

/** Throws `ArrayMismatchError` unless `array` is an array of `dtype` fitting `box` with `channels` channels. */
export function checkArray(
  array: NdArray,
  box: Bbox,
  dtype: DataType,
  channels: number,
  url: string,
): void {
  if (!(array instanceof NdArray)) {
    const got = (array as object)?.constructor?.name ?? typeof array;
    throw new ArrayMismatchError(
      `write to ${url} ${box}: expected an NdArray (NdArray.from(data, shape)), got ${got}`,
    );
  }
  if (array.dtype !== dtype) {
    throw new ArrayMismatchError(`cannot write ${array.dtype} voxels to the ${dtype} layer ${url}`);
  }
  const s = box.size();
  const want = [s[0], s[1], s[2], channels];
  if (array.shape.some((n, i) => n !== want[i])) {
    throw new ArrayMismatchError(
      `array shape [${array.shape.join(", ")}] does not fit box ${box} with ${channels} channel(s) of ${url}`,
    );
  }
}
