/**
 * Axis orders of stored arrays and the copy kernel that turns any strided
 * slab into an x-fastest [x, y, z, c] block.
 *
 * An axis order names the array's axes slowest first, the way numpy, h5py and
 * Zarr index them: "zyx" is an array `a[z][y][x]`. Letters other than x, y, z
 * and c (e.g. "t") are allowed for axes of size 1, which are dropped.
 */
import type { Shape4, TypedArray } from "@ngpipe/precomputed";
import { BlockOutOfBoundsError, ShapeMismatchError, SourceError } from "./errors";
import type { BlockBox, Vec3 } from "./types";

/** Role of a stored axis: 0 = x, 1 = y, 2 = z, 3 = c, -1 = dropped (size 1). */
export type AxisRole = -1 | 0 | 1 | 2 | 3;

const ROLE: Record<string, AxisRole> = { x: 0, y: 1, z: 2, c: 3 };

/**
 * Default axis order for an array of `ndim` dimensions: the one that makes
 * memory x-fastest. C-order arrays (h5py, Zarr, numpy default) read as
 * "yx", "zyx", "czyx"; Fortran-order arrays as "xy", "xyz", "xyzc".
 */
export function defaultAxes(ndim: number, fortranOrder = false): string {
  const c = ["", "", "yx", "zyx", "czyx"][ndim];
  if (c === undefined || c === "") {
    throw new RangeError(`no default axis order for a ${ndim}-D array: pass an "axes" option`);
  }
  return fortranOrder ? [...c].reverse().join("") : c;
}

/** Parse an axis order such as "czyx" (or ["c","z","y","x"]) for an array of `ndim` axes. */
export function parseAxes(
  axes: string | readonly string[],
  ndim: number,
  source: string,
): AxisRole[] {
  const names =
    typeof axes === "string" ? [...axes.toLowerCase()] : axes.map((a) => a.toLowerCase());
  if (names.length !== ndim) {
    throw new ShapeMismatchError(
      `${source}: axes "${names.join("")}" name ${names.length} axes but the array has ${ndim}`,
      source,
    );
  }
  const seen = new Set<string>();
  const roles = names.map((n): AxisRole => {
    if (seen.has(n)) {
      throw new SourceError(`${source}: axis "${n}" appears twice in "${names.join("")}"`, source);
    }
    seen.add(n);
    return ROLE[n] ?? -1;
  });
  if (!seen.has("x")) {
    throw new SourceError(`${source}: axes "${names.join("")}" have no x axis`, source);
  }
  return roles;
}

/** The [x, y, z, c] shape of an array of `shape` with axis `roles`; other axes must have size 1. */
export function shape4(
  shape: readonly number[],
  roles: readonly AxisRole[],
  source: string,
): Shape4 {
  const out: Shape4 = [1, 1, 1, 1];
  roles.forEach((r, i) => {
    if (r !== -1) out[r] = shape[i];
    else if (shape[i] !== 1) {
      throw new ShapeMismatchError(
        `${source}: axis ${i} has size ${shape[i]} but is not x, y, z or c (only size-1 extra axes are dropped)`,
        source,
      );
    }
  });
  return out;
}

/** C-order (row-major) element strides of `shape`. */
export function cStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Per-role strides [x, y, z, c] from per-axis strides; dropped and absent axes get 0. */
export function roleStrides(strides: readonly number[], roles: readonly AxisRole[]): Shape4 {
  const out: Shape4 = [0, 0, 0, 0];
  roles.forEach((r, i) => {
    if (r !== -1) out[r] = strides[i];
  });
  return out;
}

/** A Uint-typed view of the same bytes: 8-byte elements become pairs of uint32 words. */
function wordView(a: TypedArray): { words: Uint8Array | Uint16Array | Uint32Array; k: number } {
  switch (a.BYTES_PER_ELEMENT) {
    case 1:
      return { words: new Uint8Array(a.buffer, a.byteOffset, a.length), k: 1 };
    case 2:
      return { words: new Uint16Array(a.buffer, a.byteOffset, a.length), k: 1 };
    case 4:
      return { words: new Uint32Array(a.buffer, a.byteOffset, a.length), k: 1 };
    default:
      return { words: new Uint32Array(a.buffer, a.byteOffset, a.length * 2), k: 2 };
  }
}

/**
 * Copy a strided region of `src` into `dst` as an x-fastest block of
 * `size` = [nx, ny, nz, nc]. `stride` gives the element step in `src` along
 * x, y, z and c; `offset` the element index of (0, 0, 0, 0). Both arrays hold
 * the same element type; values are copied bit for bit (64-bit elements as
 * uint32 pairs, no BigInt).
 */
export function copyToXyzc(
  src: TypedArray,
  offset: number,
  stride: Shape4,
  size: Shape4,
  dst: TypedArray,
): void {
  const [nx, ny, nz, nc] = size;
  if (dst.length < nx * ny * nz * nc) {
    throw new RangeError(
      `copyToXyzc: destination holds ${dst.length} elements, needs ${nx * ny * nz * nc}`,
    );
  }
  copyStrided(src, offset, stride, size, dst, 0, [1, nx, nx * ny, nx * ny * nz]);
}

/**
 * Whether per-role element `stride`s over a region of `size` = [nx, ny, nz, nc]
 * are those of an x-fastest block with planar channels (what
 * {@link copyToXyzc} makes), so that the source memory can be used as it is.
 * Axes of size 1 may have any stride.
 */
export function isXyzcLayout(stride: Shape4, size: Shape4): boolean {
  let want = 1;
  for (let i = 0; i < 4; i++) {
    if (size[i] !== 1 && stride[i] !== want) return false;
    want *= size[i];
  }
  return true;
}

/**
 * Copy a 4-D strided region of `size` from `src` to `dst`, each with its own
 * element offset and per-axis element strides (same element type, bit for bit).
 */
export function copyStrided(
  src: TypedArray,
  srcOffset: number,
  srcStride: Shape4,
  size: Shape4,
  dst: TypedArray,
  dstOffset: number,
  dstStride: Shape4,
): void {
  const [nx, ny, nz, nc] = size;
  const { words: s, k } = wordView(src);
  const { words: d } = wordView(dst);
  const [sx, sy, sz, sc] = srcStride.map((v) => v * k);
  const [dx, dy, dz, dc] = dstStride.map((v) => v * k);
  for (let c = 0; c < nc; c++) {
    for (let z = 0; z < nz; z++) {
      for (let y = 0; y < ny; y++) {
        let si = srcOffset * k + c * sc + z * sz + y * sy;
        let di = dstOffset * k + c * dc + z * dz + y * dy;
        if (sx === k && dx === k) {
          d.set(s.subarray(si, si + nx * k), di);
        } else if (k === 1) {
          for (let x = 0; x < nx; x++, si += sx, di += dx) d[di] = s[si];
        } else {
          for (let x = 0; x < nx; x++, si += sx, di += dx) {
            d[di] = s[si];
            d[di + 1] = s[si + 1];
          }
        }
      }
    }
  }
}

/** Reverse the byte order of every `width`-byte element of `bytes`, in place. */
export function swapBytes(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  const n = bytes.length - (bytes.length % width);
  for (let i = 0; i < n; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/**
 * Check that `bbox` is a non-empty box inside a volume of `shape` and return
 * the block's size [nx, ny, nz, nc].
 */
export function blockSize(bbox: BlockBox, shape: Shape4, source: string): Shape4 {
  for (let i = 0; i < 3; i++) {
    const lo = bbox.min[i];
    const hi = bbox.max[i];
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi > shape[i] || hi <= lo) {
      throw new BlockOutOfBoundsError(source, bbox, shape);
    }
  }
  return [
    bbox.max[0] - bbox.min[0],
    bbox.max[1] - bbox.min[1],
    bbox.max[2] - bbox.min[2],
    shape[3],
  ];
}

/** The smallest box holding every one of `boxes` (half-open, global voxels). */
export function unionOfBoxes(boxes: readonly { min: Vec3; max: Vec3 }[]): { min: Vec3; max: Vec3 } {
  const min: Vec3 = [Infinity, Infinity, Infinity];
  const max: Vec3 = [-Infinity, -Infinity, -Infinity];
  for (const b of boxes)
    for (let i = 0; i < 3; i++) {
      min[i] = Math.min(min[i], b.min[i]);
      max[i] = Math.max(max[i], b.max[i]);
    }
  return { min, max };
}

/** File and directory names that hold datasets addressed as `<container>#<inner path>`. */
const CONTAINER = /\.(h5|hdf5|hdf|he5|zarr|n5)\/?$/i;

/**
 * Splits `<container>#<inner path>` (e.g. `cells.h5#/raw`,
 * `s3://lab/v.zarr#/0`) into the container and the inner path, without
 * taking a `#` inside a directory name (`run #2/cells.h5`) for the
 * separator: the separator is the first `#` right after a container's
 * extension; failing that, the first `#/`; failing that, the last `#` whose
 * remainder has no `/`. No separator: `inner` is undefined.
 */
export function splitInnerPath(spec: string): { container: string; inner?: string } {
  let at = -1;
  for (let i = spec.indexOf("#"); i >= 0; i = spec.indexOf("#", i + 1))
    if (CONTAINER.test(spec.slice(0, i))) {
      at = i;
      break;
    }
  if (at < 0) at = spec.indexOf("#/");
  if (at < 0) {
    const last = spec.lastIndexOf("#");
    if (last >= 0 && !spec.slice(last + 1).includes("/")) at = last;
  }
  if (at < 0) return { container: spec };
  return { container: spec.slice(0, at), inner: spec.slice(at + 1) };
}
