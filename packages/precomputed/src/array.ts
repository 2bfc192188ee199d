/**
 * `NdArray`: the [x, y, z, c] voxel array handed to users, a view over one
 * typed array in x-fastest (Fortran) order — exactly how a raw precomputed
 * chunk lies on disk, so reads and writes never transpose.
 *
 * ```ts
 * const a = NdArray.zeros("uint8", [64, 64, 16, 1]);
 * a.set(3, 4, 5, 0, 200);
 * a.get(3, 4, 5); // 200
 * ```
 */

import { allocTyped, type DataType, dataTypeOf, type TypedArray } from "./dtypes";
import { ArrayShapeError } from "./errors";

/** Shape [x, y, z, channels]. */
export type Shape4 = [number, number, number, number];

/** A voxel value: number, or bigint for 64-bit integer arrays. */
export type Voxel = number | bigint;

/** An x-fastest [x, y, z, c] view over a typed array. */
export class NdArray<T extends TypedArray = TypedArray> {
  /** Element strides: [1, sx, sx*sy, sx*sy*sz]. */
  readonly stride: Shape4;

  constructor(
    readonly data: T,
    readonly shape: Shape4,
    readonly dtype: DataType = dataTypeOf(data),
  ) {
    const [sx, sy, sz, sc] = shape;
    if (shape.some((n) => !Number.isInteger(n) || n < 0)) {
      throw new ArrayShapeError(`NdArray: bad shape [${shape.join(", ")}]`);
    }
    if (data.length !== sx * sy * sz * sc) {
      throw new ArrayShapeError(
        `NdArray: shape [${shape.join(", ")}] needs ${sx * sy * sz * sc} elements, the data has ${data.length}`,
      );
    }
    this.stride = [1, sx, sx * sy, sx * sy * sz];
  }

  /** A zero-filled array. A 3-element shape means one channel. */
  static zeros(dtype: DataType, shape: readonly number[]): NdArray {
    const s = toShape4(shape);
    return new NdArray(allocTyped(dtype, s[0] * s[1] * s[2] * s[3]), s, dtype);
  }

  /** Wrap a typed array (x fastest); a 3-element shape means one channel. */
  static from<T extends TypedArray>(data: T, shape: readonly number[]): NdArray<T> {
    return new NdArray(data, toShape4(shape));
  }

  /** Number of voxels times channels. */
  get size(): number {
    return this.data.length;
  }

  /** Flat index of (x, y, z, c). */
  index(x: number, y: number, z: number, c = 0): number {
    return x + this.stride[1] * y + this.stride[2] * z + this.stride[3] * c;
  }

  get(x: number, y: number, z: number, c = 0): Voxel {
    return this.data[this.index(x, y, z, c)];
  }

  set(x: number, y: number, z: number, c: number, value: Voxel): void {
    (this.data as unknown as Voxel[])[this.index(x, y, z, c)] = value;
  }

  /** Channel c as its own [x, y, z, 1] array (a view, no copy). */
  channel(c: number): NdArray<T> {
    const n = this.stride[3];
    return new NdArray(this.data.subarray(c * n, (c + 1) * n) as T, [
      this.shape[0],
      this.shape[1],
      this.shape[2],
      1,
    ]);
  }

  /** A copy of the sub-box [min, min+size) (all channels). */
  crop(min: readonly number[], size: readonly number[]): NdArray<T> {
    const out = NdArray.zeros(this.dtype, [size[0], size[1], size[2], this.shape[3]]) as NdArray<T>;
    copyBox(this, [min[0], min[1], min[2]], out, [0, 0, 0], [size[0], size[1], size[2]]);
    return out;
  }
}

function toShape4(shape: readonly number[]): Shape4 {
  if (shape.length === 3) return [shape[0], shape[1], shape[2], 1];
  if (shape.length === 4) return [shape[0], shape[1], shape[2], shape[3]];
  throw new ArrayShapeError(`NdArray: a shape has 3 or 4 axes, got [${shape.join(", ")}]`);
}

/**
 * Copy the box `size` at `srcMin` of `src` to `dstMin` of `dst`, every
 * channel. Rows along x are contiguous, so each row is one `set` of a
 * subarray (a memcpy); no per-voxel work. Both arrays need the same dtype
 * and channel count; the caller guarantees the box is inside both.
 */
export function copyBox(
  src: NdArray,
  srcMin: readonly number[],
  dst: NdArray,
  dstMin: readonly number[],
  size: readonly number[],
): void {
  const [nx, ny, nz] = size;
  if (nx <= 0 || ny <= 0 || nz <= 0) return;
  const channels = src.shape[3];
  const s = src.data as unknown as Uint8Array;
  const d = dst.data as unknown as Uint8Array;
  const [, ssy, ssz, ssc] = src.stride;
  const [, dsy, dsz, dsc] = dst.stride;
  // A whole-slab fast path: full x-y planes line up and copy in one go.
  const fullPlanes =
    srcMin[0] === 0 &&
    srcMin[1] === 0 &&
    dstMin[0] === 0 &&
    dstMin[1] === 0 &&
    nx === src.shape[0] &&
    nx === dst.shape[0] &&
    ny === src.shape[1] &&
    ny === dst.shape[1];
  for (let c = 0; c < channels; c++) {
    if (fullPlanes) {
      const so = ssc * c + ssz * srcMin[2];
      const dof = dsc * c + dsz * dstMin[2];
      d.set(s.subarray(so, so + nx * ny * nz), dof);
      continue;
    }
    for (let z = 0; z < nz; z++) {
      let so = srcMin[0] + ssy * srcMin[1] + ssz * (srcMin[2] + z) + ssc * c;
      let dof = dstMin[0] + dsy * dstMin[1] + dsz * (dstMin[2] + z) + dsc * c;
      for (let y = 0; y < ny; y++, so += ssy, dof += dsy) {
        d.set(s.subarray(so, so + nx), dof);
      }
    }
  }
}

/** Fill the box `size` at `min` of `dst` (every channel) with one value. */
export function fillBox(
  dst: NdArray,
  min: readonly number[],
  size: readonly number[],
  value: Voxel,
): void {
  const [nx, ny, nz] = size;
  if (nx <= 0 || ny <= 0 || nz <= 0) return;
  const d = dst.data as unknown as { fill(v: Voxel, a: number, b: number): void };
  const [, sy, sz, sc] = dst.stride;
  for (let c = 0; c < dst.shape[3]; c++) {
    for (let z = 0; z < nz; z++) {
      let o = min[0] + sy * min[1] + sz * (min[2] + z) + sc * c;
      for (let y = 0; y < ny; y++, o += sy) d.fill(value, o, o + nx);
    }
  }
}
