/**
 * Volume's array edge: every place a cutout array is made, read from or
 * checked. Cutouts are scijs ndarrays ([x, y, z, c], Fortran strides); what
 * callers write may be any ndarray view or `{ data, shape }`, validated here
 * once and then copied row by row into each chunk it covers. The rest of
 * Volume works on chunk boxes and typed arrays.
 */
import {
  copyBox,
  crop,
  dataTypeOfInput,
  fillBox,
  fromTyped,
  type Voxel,
  type VoxelArray,
  type VoxelInput,
  voxelView,
  zeros,
} from "../array";
import { allocTyped, bytesPerVoxel, type DataType, type TypedArray, viewTyped } from "../dtypes";
import { Bbox } from "../geometry/bbox";
import type { Vec3 } from "../geometry/vec3";
import { ArrayMismatchError } from "./errors";
import { takeSharedBuffer } from "./shared-cutouts";

/** A checked [x, y, z, c] view of what `Volume.write` was given (any strides). */
export type VolumeArray = VoxelArray;

function offsetIn(inner: Bbox, outer: Bbox): number[] {
  return [inner.min[0] - outer.min[0], inner.min[1] - outer.min[1], inner.min[2] - outer.min[2]];
}

/**
 * A new [x, y, z, c] array for `box`, every voxel `background`; `shared`:
 * on a SharedArrayBuffer, one given back for reuse when there is one of
 * the size. `covered` says the caller will write every voxel, so a reused
 * buffer needs no filling.
 */
export function newCutout(
  dtype: DataType,
  box: Bbox,
  channels: number,
  background: Voxel,
  shared = false,
  covered = false,
): VoxelArray {
  const s = box.size();
  const shape = [s[0], s[1], s[2], channels];
  let zeroed = true;
  let out: VoxelArray;
  if (shared) {
    const { buffer, reused } = takeSharedBuffer(
      s[0] * s[1] * s[2] * channels * bytesPerVoxel(dtype),
    );
    zeroed = !reused;
    out = fromTyped(viewTyped(dtype, buffer), shape);
  } else {
    out = zeros(dtype, shape);
  }
  if (!covered && (!zeroed || (background !== 0 && background !== 0n)))
    (out.data as unknown as { fill(v: Voxel): void }).fill(background);
  return out;
}

/** Paints the part of chunk `chunk` (its voxels `data`, or `background` when null) inside `outBox` into `out`. */
export function paintChunk(
  out: VoxelArray,
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
  const src = fromTyped(data, [cs[0], cs[1], cs[2], out.shape[3]]);
  copyBox(src, offsetIn(part, chunk), out, offsetIn(part, outBox), part.size());
}

/** A fresh typed array of the voxels of `part` (inside `box`) of `array`, the array written at `box`. */
export function cropArray(array: VolumeArray, box: Bbox, part: Bbox): TypedArray {
  return crop(array, offsetIn(part, box), part.size()).data;
}

/** The voxels of `part` of a chunk with box `chunk` (its own `data` when `part` is the whole chunk). */
export function cropChunk(data: TypedArray, chunk: Bbox, part: Bbox, channels: number): TypedArray {
  if (part.equals(chunk)) return data;
  const cs = chunk.size();
  return crop(fromTyped(data, [cs[0], cs[1], cs[2], channels]), offsetIn(part, chunk), part.size())
    .data;
}

/**
 * Chunk `chunk`'s voxels with the part of `array` (written at `box`) that
 * overlaps it copied in: `data` patched in place, or a new chunk of
 * `background` when `data` is null.
 */
export function patchChunk(
  data: TypedArray | null,
  chunk: Bbox,
  array: VolumeArray,
  box: Bbox,
  background: Voxel,
): TypedArray {
  const cs = chunk.size();
  const channels = array.shape[3];
  let voxels = data;
  if (voxels === null) {
    voxels = allocTyped(dataTypeOfInput(array), cs[0] * cs[1] * cs[2] * channels);
    if (background !== 0 && background !== 0n)
      (voxels as unknown as { fill(v: Voxel): void }).fill(background);
  }
  const part = chunk.intersect(box);
  const target = fromTyped(voxels, [cs[0], cs[1], cs[2], channels]);
  copyBox(array, offsetIn(part, box), target, offsetIn(part, chunk), part.size());
  return voxels;
}

/** The box `array` covers when written with its low corner at `box`, a point; undefined when `box` is not a point. */
export function boxAtPoint(box: unknown, array: VoxelInput): Bbox | undefined {
  if (!Array.isArray(box) || typeof box[0] !== "number") return undefined;
  return Bbox.fromSize(box as unknown as Vec3, [array.shape[0], array.shape[1], array.shape[2]]);
}

/**
 * `array` as a checked [x, y, z, c] view (no copy). Throws
 * `ArrayMismatchError` unless it is an ndarray (or `{ data, shape }`) over a
 * typed array of `dtype` whose shape fits `box` with `channels` channels;
 * `ArrayShapeError` when its strides leave its data.
 */
export function checkArray(
  array: VoxelInput,
  box: Bbox,
  dtype: DataType,
  channels: number,
  url: string,
): VolumeArray {
  if (!ArrayBuffer.isView(array?.data)) {
    const got = (array as object)?.constructor?.name ?? typeof array;
    throw new ArrayMismatchError(
      `write to ${url} ${box}: expected an ndarray over a typed array ` +
        `(ndarray(data, shape, stride), fromTyped(data, shape) or { data, shape }), got ${got}`,
    );
  }
  const got = dataTypeOfInput(array, `write to ${url} ${box}`);
  if (got !== dtype) {
    throw new ArrayMismatchError(`cannot write ${got} voxels to the ${dtype} layer ${url}`);
  }
  const s = box.size();
  const want = [s[0], s[1], s[2], channels];
  const shape = array.shape.length === 3 ? [...array.shape, 1] : array.shape;
  if (shape.length !== 4 || shape.some((n, i) => n !== want[i])) {
    throw new ArrayMismatchError(
      `array shape [${array.shape.join(", ")}] does not fit box ${box} with ${channels} channel(s) of ${url}`,
    );
  }
  return voxelView(array, `write to ${url} ${box}`);
}
