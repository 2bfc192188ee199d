/**
 * Voxel arrays at the API edge are scijs `ndarray`s: shape [x, y, z, c] with
 * Fortran strides [1, sx, sx*sy, sx*sy*sz] over one typed array, exactly how
 * a raw precomputed chunk lies on disk, so reads hand out the decoded buffer
 * without transposing and `ndarray-ops`, `ndarray-pack`, `cwise` and the rest
 * of scijs work on a cutout as it is. The few helpers here build such arrays
 * and bring any caller's array (a view with `lo/hi/step/transpose/pick`, a
 * C-order array, a `{ data, shape }` pair) to that layout, copying a
 * non-contiguous one once, row by row. Kernels never see an ndarray: they get
 * the contiguous typed array (`asFortran(a).data`).
 *
 * ```ts
 * import ops from "ndarray-ops";
 * const a = zeros("uint8", [64, 64, 16]); // shape [64, 64, 16, 1]
 * a.set(3, 4, 5, 0, 200);
 * ops.sup(a); // 200
 * ```
 */

import ndarray from "ndarray";
import { allocTyped, type DataType, dataTypeOf, type TypedArray } from "./dtypes";
import { ArrayShapeError } from "./errors";

/** Shape [x, y, z, channels]. */
export type Shape4 = [number, number, number, number];

/** A voxel value: number, or bigint for 64-bit integer arrays. */
export type Voxel = number | bigint;

/**
 * `@types/ndarray` accepts 64-bit arrays only over an `ArrayBuffer` (its
 * other typed arrays may sit on any buffer); this maps ours to its spelling.
 */
type NdData<T extends TypedArray> = T extends BigUint64Array
  ? BigUint64Array<ArrayBuffer>
  : T extends BigInt64Array
    ? BigInt64Array<ArrayBuffer>
    : T;

/**
 * A scijs ndarray of voxels over a typed array `T`. The ones ngpipe returns
 * have shape [x, y, z, c], Fortran strides, offset 0 and exactly `size`
 * elements of data. `ndarray-ops` is typed for number arrays: name the array
 * type (`VoxelArray<Uint8Array>`, `vol.read<Uint8Array>(box)`) to pass one.
 */
export type VoxelArray<T extends TypedArray = TypedArray> = ndarray.NdArray<NdData<T>>;

/**
 * What voxel-taking APIs accept: any scijs ndarray over a typed array
 * (contiguous or a view, 3 axes [x, y, z] or 4 [x, y, z, c]), or a plain
 * `{ data, shape }` whose data is x fastest (Fortran order) when no `stride`
 * is given.
 */
export interface VoxelInput<T extends TypedArray = TypedArray> {
  readonly data: T;
  readonly shape: readonly number[];
  readonly stride?: readonly number[];
  readonly offset?: number;
}

/** A checked 4-axis view of an input: where every voxel of it lies in `data`. */
interface View4<T extends TypedArray = TypedArray> {
  data: T;
  shape: Shape4;
  stride: Shape4;
  offset: number;
}

function fortranStride(s: Shape4): Shape4 {
  return [1, s[0], s[0] * s[1], s[0] * s[1] * s[2]];
}

function toShape4(shape: readonly number[], what: string): Shape4 {
  if (shape.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new ArrayShapeError(`${what}: bad shape [${shape.join(", ")}]`);
  }
  if (shape.length === 3) return [shape[0], shape[1], shape[2], 1];
  if (shape.length === 4) return [shape[0], shape[1], shape[2], shape[3]];
  throw new ArrayShapeError(
    `${what}: a voxel array has 3 axes [x, y, z] or 4 [x, y, z, c], got shape [${shape.join(", ")}]`,
  );
}

/**
 * The input as a 4-axis strided view, after checking that its shape is
 * [x, y, z] or [x, y, z, c], its data a supported typed array, and that every
 * voxel it addresses lies inside the data (a bad stride would otherwise read
 * `undefined` silently).
 */
function view4<T extends TypedArray>(input: VoxelInput<T>, what = "voxel array"): View4<T> {
  const data = input?.data;
  if (!ArrayBuffer.isView(data)) {
    const got = (input as object)?.constructor?.name ?? typeof input;
    throw new ArrayShapeError(
      `${what}: expected an ndarray over a typed array (or { data, shape }), got ${got}`,
    );
  }
  dataTypeOfInput(input, what);
  const shape = toShape4(input.shape, what);
  let stride: Shape4;
  if (input.stride === undefined) stride = fortranStride(shape);
  else if (input.stride.length === input.shape.length) {
    const st = input.stride;
    stride = [st[0], st[1], st[2], st.length === 4 ? st[3] : shape[0] * shape[1] * shape[2]];
  } else {
    throw new ArrayShapeError(
      `${what}: stride [${input.stride.join(", ")}] does not match shape [${input.shape.join(", ")}]`,
    );
  }
  const offset = input.offset ?? 0;
  const size = shape[0] * shape[1] * shape[2] * shape[3];
  if (size > 0) {
    let lo = offset;
    let hi = offset;
    for (let i = 0; i < 4; i++) {
      const span = (shape[i] - 1) * stride[i];
      if (span < 0) lo += span;
      else hi += span;
    }
    if (!Number.isInteger(lo) || lo < 0 || hi >= data.length) {
      throw new ArrayShapeError(
        `${what}: shape [${shape.join(", ")}], stride [${stride.join(", ")}] and offset ${offset} ` +
          `address elements ${lo}..${hi}, the data has ${data.length}`,
      );
    }
  }
  return { data, shape, stride, offset };
}

/**
 * The precomputed data type of an input's typed array (`uint64` for a
 * BigUint64Array, where scijs says `biguint64`).
 */
export function dataTypeOfInput(input: VoxelInput, what = "voxel array"): DataType {
  try {
    return dataTypeOf(input.data);
  } catch {
    const got = (input.data as object)?.constructor?.name ?? typeof input.data;
    throw new ArrayShapeError(
      `${what}: ${got} is not a voxel type (uint8/16/32/64, int8/16/32/64, float32/64 typed arrays)`,
    );
  }
}

/**
 * `input` as a 4-axis [x, y, z, c] ndarray over the same data (no copy),
 * after checking its shape, dtype and that its strides stay inside the data.
 * A 3-axis input gets a channel axis of extent 1.
 */
export function voxelView<T extends TypedArray>(
  input: VoxelInput<T>,
  what = "voxel array",
): VoxelArray<T> {
  const v = view4(input, what);
  return ndarray(v.data as NdData<T>, v.shape, v.stride, v.offset);
}

/** The typed array that holds each data type. */
export interface TypedArrayOf {
  uint8: Uint8Array;
  uint16: Uint16Array;
  uint32: Uint32Array;
  uint64: BigUint64Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  float32: Float32Array;
  float64: Float64Array;
}

/** A zero-filled [x, y, z, c] array; a 3-element shape means one channel. */
export function zeros<D extends DataType>(
  dtype: D,
  shape: readonly number[],
): VoxelArray<TypedArrayOf[D]> {
  const s = toShape4(shape, "zeros");
  return ndarray(
    allocTyped(dtype, s[0] * s[1] * s[2] * s[3]) as NdData<TypedArrayOf[D]>,
    s,
    fortranStride(s),
  );
}

/**
 * Wrap a typed array that is x fastest (Fortran order) as an [x, y, z, c]
 * ndarray, without copying; a 3-element shape means one channel.
 */
export function fromTyped<T extends TypedArray>(data: T, shape: readonly number[]): VoxelArray<T> {
  const s = toShape4(shape, "fromTyped");
  const n = s[0] * s[1] * s[2] * s[3];
  if (data.length !== n) {
    throw new ArrayShapeError(
      `fromTyped: shape [${shape.join(", ")}] needs ${n} elements, the data has ${data.length}`,
    );
  }
  return ndarray(data as NdData<T>, s, fortranStride(s));
}

/** Whether the view's voxels are one Fortran-ordered run of its data (axes of extent 1 don't count). */
function isFortranRun(v: View4): boolean {
  let expect = 1;
  for (let i = 0; i < 4; i++) {
    if (v.shape[i] !== 1 && v.stride[i] !== expect) return false;
    expect *= v.shape[i];
  }
  return true;
}

/**
 * `input` as an [x, y, z, c] ndarray with Fortran strides, offset 0 and
 * exactly its own voxels as data. A contiguous Fortran input is returned
 * without copying (a `subarray` when it starts at an offset); anything else
 * (a C-order array, a `transpose`, `step` or `lo/hi` box of a larger array)
 * is copied once, row by row.
 */
export function asFortran<T extends TypedArray>(input: VoxelInput<T>): VoxelArray<T> {
  const v = view4(input);
  const n = v.shape[0] * v.shape[1] * v.shape[2] * v.shape[3];
  if (isFortranRun(v)) {
    const data =
      v.offset === 0 && v.data.length === n ? v.data : v.data.subarray(v.offset, v.offset + n);
    return ndarray(data as NdData<T>, v.shape, fortranStride(v.shape));
  }
  const out = zeros(dataTypeOf(v.data), v.shape) as VoxelArray<T>;
  copyView(v, [0, 0, 0], view4(out), [0, 0, 0], [v.shape[0], v.shape[1], v.shape[2]]);
  return out;
}

/**
 * Channel `c` of an array as its own contiguous [x, y, z, 1] array: a view
 * (no copy) when the input is contiguous, else a copy.
 */
export function channel<T extends TypedArray>(input: VoxelInput<T>, c: number): VoxelArray<T> {
  const v = view4(input);
  if (!Number.isInteger(c) || c < 0 || c >= v.shape[3]) {
    throw new ArrayShapeError(`channel ${c} of an array with ${v.shape[3]} channel(s)`);
  }
  return asFortran({
    data: v.data,
    shape: [v.shape[0], v.shape[1], v.shape[2], 1],
    stride: v.stride,
    offset: v.offset + c * v.stride[3],
  });
}

/** A contiguous copy of the sub-box [min, min+size) of `input`, every channel. */
export function crop<T extends TypedArray>(
  input: VoxelInput<T>,
  min: readonly number[],
  size: readonly number[],
): VoxelArray<T> {
  const v = view4(input);
  const out = zeros(dataTypeOf(v.data), [size[0], size[1], size[2], v.shape[3]]) as VoxelArray<T>;
  copyView(v, min, view4(out), [0, 0, 0], size);
  return out;
}

/**
 * Copy the box `size` at `srcMin` of `src` to `dstMin` of `dst`, every
 * channel. Both may be any views. Rows along x with stride 1 on both sides
 * are copied as 32-bit words by an index loop when every row starts and ends
 * on a 4-byte boundary of both buffers (always for 32- and 64-bit types:
 * BigInt values are never made), and as one `set` of a subarray (a memcpy)
 * when they are long enough to pay for its fixed cost; other rows are an
 * element loop. Whole x-y planes of contiguous arrays go in one `set`. Both
 * arrays need the same dtype and channel count; the caller guarantees the
 * box is inside both.
 */
export function copyBox(
  src: VoxelInput,
  srcMin: readonly number[],
  dst: VoxelInput,
  dstMin: readonly number[],
  size: readonly number[],
): void {
  copyView(view4(src), srcMin, view4(dst), dstMin, size);
}

function copyView(
  src: View4,
  srcMin: readonly number[],
  dst: View4,
  dstMin: readonly number[],
  size: readonly number[],
): void {
  const [nx, ny, nz] = size;
  if (nx <= 0 || ny <= 0 || nz <= 0) return;
  const channels = src.shape[3];
  // Index as one element type: values (numbers or bigints) move unchanged
  // between arrays of the same dtype.
  const s = src.data as unknown as Float64Array;
  const d = dst.data as unknown as Float64Array;
  const [ssx, ssy, ssz, ssc] = src.stride;
  const [dsx, dsy, dsz, dsc] = dst.stride;
  const so0 = src.offset + ssx * srcMin[0] + ssy * srcMin[1] + ssz * srcMin[2];
  const do0 = dst.offset + dsx * dstMin[0] + dsy * dstMin[1] + dsz * dstMin[2];
  // Whole x-y planes of Fortran-ordered arrays line up and copy in one go.
  const planes =
    ssx === 1 &&
    dsx === 1 &&
    ssy === nx &&
    dsy === nx &&
    ssz === nx * ny &&
    dsz === nx * ny &&
    srcMin[0] === 0 &&
    dstMin[0] === 0 &&
    srcMin[1] === 0 &&
    dstMin[1] === 0 &&
    nx === src.shape[0] &&
    nx === dst.shape[0] &&
    ny === src.shape[1] &&
    ny === dst.shape[1];
  if (planes) {
    for (let c = 0; c < channels; c++) {
      const so = so0 + ssc * c;
      d.set(s.subarray(so, so + nx * ny * nz), do0 + dsc * c);
    }
    return;
  }
  if (ssx === 1 && dsx === 1) {
    const bytes = s.BYTES_PER_ELEMENT;
    const big = isBigIntArray(src.data);
    const rows = (row: (so: number, dof: number) => void) => {
      for (let c = 0; c < channels; c++)
        for (let z = 0; z < nz; z++) {
          let so = so0 + ssz * z + ssc * c;
          let dof = do0 + dsz * z + dsc * c;
          for (let y = 0; y < ny; y++, so += ssy, dof += dsy) row(so, dof);
        }
    };
    // `set` of a subarray is a memcpy behind the fixed cost of a subarray
    // object and a call (about a microsecond for BigInt arrays): only long
    // rows go that way; shorter ones are copied as words by an index loop.
    if (!big && nx * bytes >= SET_ROW_BYTES) {
      rows((so, dof) => d.set(s.subarray(so, so + nx), dof));
      return;
    }
    const extents = [ny, nz, channels];
    for (const word of [8, 4]) {
      if (
        wordAligned(src, so0, [ssy, ssz, ssc], extents, nx, word) &&
        wordAligned(dst, do0, [dsy, dsz, dsc], extents, nx, word)
      ) {
        copyRowsAsWords(src, so0, dst, do0, size, word);
        return;
      }
    }
    // Unaligned 8- and 16-bit rows: `set` unless they are very short.
    if (nx >= MIN_SET_ROW) {
      rows((so, dof) => d.set(s.subarray(so, so + nx), dof));
      return;
    }
  }
  for (let c = 0; c < channels; c++) {
    for (let z = 0; z < nz; z++) {
      let so = so0 + ssz * z + ssc * c;
      let dof = do0 + dsz * z + dsc * c;
      for (let y = 0; y < ny; y++, so += ssy, dof += dsy) {
        for (let x = 0, i = so, j = dof; x < nx; x++, i += ssx, j += dsx) d[j] = s[i];
      }
    }
  }
}

/**
 * Rows of at least this many bytes are copied by `set` (a memcpy) rather
 * than a word loop; below it the loop wins (3x at 128 bytes, even at 2 KiB).
 */
const SET_ROW_BYTES = 4096;

/** Unaligned rows shorter than this many elements are copied by an element loop rather than `set`. */
const MIN_SET_ROW = 16;

/**
 * Whether every x-row of `nx` elements of the view, starting at element
 * `o0` and stepping by `strides` over `extents` (y, z, c), starts and ends
 * on a `word`-byte boundary of its buffer.
 */
function wordAligned(
  v: View4,
  o0: number,
  strides: readonly number[],
  extents: readonly number[],
  nx: number,
  word: number,
): boolean {
  const b = v.data.BYTES_PER_ELEMENT;
  if ((v.data.byteOffset + o0 * b) % word !== 0 || (nx * b) % word !== 0) return false;
  for (let i = 0; i < 3; i++) if (extents[i] > 1 && (strides[i] * b) % word !== 0) return false;
  return true;
}

/**
 * {@link copyView} of x-contiguous rows that {@link wordAligned} allows, as
 * 8-byte words (BigUint64Array elements: V8's optimized loop moves them
 * without making BigInts, bit for bit) or 4-byte ones.
 */
function copyRowsAsWords(
  src: View4,
  so0: number,
  dst: View4,
  do0: number,
  size: readonly number[],
  word: number,
): void {
  const b = src.data.BYTES_PER_ELEMENT;
  const words = (v: View4) => {
    const buffer = v.data.buffer as ArrayBuffer;
    const n = Math.floor(buffer.byteLength / word);
    return word === 8 ? new BigUint64Array(buffer, 0, n) : new Int32Array(buffer, 0, n);
  };
  // Offsets and strides in words (wordAligned made every product divide).
  const at = (v: View4, elements: number) => (v.data.byteOffset + elements * b) / word;
  const [, ssy, ssz, ssc] = src.stride;
  const [, dsy, dsz, dsc] = dst.stride;
  const rows: WordRows = {
    nw: (size[0] * b) / word,
    ny: size[1],
    sy: (ssy * b) / word,
    dy: (dsy * b) / word,
  };
  const sw = words(src);
  const dw = words(dst);
  for (let c = 0; c < src.shape[3]; c++) {
    for (let z = 0; z < size[2]; z++) {
      const i = at(src, so0 + ssz * z + ssc * c);
      const j = at(dst, do0 + dsz * z + dsc * c);
      // One loop per word type keeps each one's element accesses monomorphic.
      if (word === 8) copyRows64(sw as BigUint64Array, i, dw as BigUint64Array, j, rows);
      else copyRows32(sw as Int32Array, i, dw as Int32Array, j, rows);
    }
  }
}

/** Rows of a word copy: `nw` words each, `ny` of them, `sy`/`dy` words apart. */
interface WordRows {
  nw: number;
  ny: number;
  sy: number;
  dy: number;
}

function copyRows64(s: BigUint64Array, i: number, d: BigUint64Array, j: number, r: WordRows): void {
  for (let y = 0; y < r.ny; y++, i += r.sy, j += r.dy)
    for (let k = 0; k < r.nw; k++) d[j + k] = s[i + k];
}

function copyRows32(s: Int32Array, i: number, d: Int32Array, j: number, r: WordRows): void {
  for (let y = 0; y < r.ny; y++, i += r.sy, j += r.dy)
    for (let k = 0; k < r.nw; k++) d[j + k] = s[i + k];
}

function isBigIntArray(a: TypedArray): boolean {
  return (a as BigUint64Array)[Symbol.toStringTag].startsWith("Big");
}

/** Fill the box `size` at `min` of `dst` (every channel, any view) with one value. */
export function fillBox(
  dst: VoxelInput,
  min: readonly number[],
  size: readonly number[],
  value: Voxel,
): void {
  const [nx, ny, nz] = size;
  if (nx <= 0 || ny <= 0 || nz <= 0) return;
  const v = view4(dst);
  const d = v.data as unknown as Float64Array;
  const val = value as number;
  const [sx, sy, sz, sc] = v.stride;
  // `fill` of a BigInt array is slower than its element loop (see copyView).
  const rows = sx === 1 && !isBigIntArray(v.data);
  const o0 = v.offset + sx * min[0] + sy * min[1] + sz * min[2];
  for (let c = 0; c < v.shape[3]; c++) {
    for (let z = 0; z < nz; z++) {
      let o = o0 + sz * z + sc * c;
      for (let y = 0; y < ny; y++, o += sy) {
        if (rows) d.fill(val, o, o + nx);
        else for (let x = 0, i = o; x < nx; x++, i += sx) d[i] = val;
      }
    }
  }
}
