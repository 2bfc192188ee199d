/**
 * Axis-aligned bounding boxes in voxels of one mip level, half-open:
 * `[min, max)`. Immutable: every operation returns a new box.
 */
import { BboxError } from "./errors";
import { equals, formatVec3, isVec3, toVec3, type Vec3, type Vec3Like } from "./vec3";

/** Per-face amounts for {@link Bbox.grow} / {@link Bbox.shrink}. */
export interface FaceAmounts {
  /** Amount on the low faces (min side). */
  low?: Vec3Like;
  /** Amount on the high faces (max side). */
  high?: Vec3Like;
}

/** JSON form of a bbox (also accepted: `{min, max}`, `[[min], [max]]`, a chunk name). */
export interface BboxJSON {
  minpt: [number, number, number];
  maxpt: [number, number, number];
}

const CHUNK_NAME = /^(-?\d+)-(-?\d+)_(-?\d+)-(-?\d+)_(-?\d+)-(-?\d+)$/;

function checkInts(v: Vec3, what: string, raw: () => string): void {
  for (let i = 0; i < 3; i++)
    if (!Number.isSafeInteger(v[i]))
      throw new BboxError(`${what} must be three safe integers, got ${formatVec3(v)}`, raw());
}

function checkPositive(v: Vec3, what: string, bbox: Bbox): void {
  for (let i = 0; i < 3; i++)
    if (!(Number.isSafeInteger(v[i]) && v[i] > 0))
      throw new BboxError(
        `${what} must be three positive integers, got ${formatVec3(v)}`,
        bbox.toString(),
      );
}

function mod(a: number, b: number): number {
  const r = a % b;
  return r < 0 ? r + b : r;
}

/**
 * Relative distance below which a value counts as the whole number next to
 * it: a few units of floating-point rounding (about 1.8e-15), far below any
 * real fraction of a voxel even at 1e7 voxels.
 */
const NEAR = 8 * Number.EPSILON;

/**
 * `Math.floor`, except that a value within rounding error (8 ulps,
 * relative) of a whole number gives that number: for voxel coordinates converted
 * between resolutions that are not whole numbers of nanometres.
 */
export function floorNear(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - r) <= NEAR * Math.max(1, Math.abs(v)) ? r : Math.floor(v);
}

/** `Math.ceil` with the same tolerance as {@link floorNear}. */
export function ceilNear(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - r) <= NEAR * Math.max(1, Math.abs(v)) ? r : Math.ceil(v);
}

/**
 * A half-open box `[min, max)` of integer voxel coordinates.
 *
 * @example
 * const b = new Bbox([0, 0, 0], [100, 100, 10]);
 * b.expandToChunks([64, 64, 64]).toString(); // "0-128_0-128_0-64"
 * for (const c of b.chunks([64, 64, 64], [0, 0, 0], b)) console.log(c.toString());
 */
export class Bbox {
  /** Inclusive low corner. */
  readonly min: Vec3;
  /** Exclusive high corner. */
  readonly max: Vec3;

  /** Throws `BboxError` unless both corners are integers and `min <= max` on every axis. */
  constructor(min: Vec3, max: Vec3) {
    const raw = () => `${formatVec3(min)}-${formatVec3(max)}`;
    checkInts(min, "min", raw);
    checkInts(max, "max", raw);
    if (min[0] > max[0] || min[1] > max[1] || min[2] > max[2])
      throw new BboxError("min must not exceed max on any axis", raw());
    this.min = [min[0], min[1], min[2]];
    this.max = [max[0], max[1], max[2]];
  }

  /** The box starting at `min` with extent `size`. */
  static fromSize(min: Vec3, size: Vec3): Bbox {
    return new Bbox(min, [min[0] + size[0], min[1] + size[1], min[2] + size[2]]);
  }

  /** Parses a chunk name `x0-x1_y0-y1_z0-z1` (negative coordinates allowed). */
  static parseChunkName(name: string): Bbox {
    const base = name.slice(name.lastIndexOf("/") + 1);
    const m = CHUNK_NAME.exec(base);
    if (!m) throw new BboxError("not a chunk name of the form x0-x1_y0-y1_z0-z1", name);
    const n = m.slice(1).map(Number);
    return new Bbox([n[0], n[2], n[4]], [n[1], n[3], n[5]]);
  }

  /** Reads `{minpt, maxpt}`, `{min, max}`, `[[min], [max]]` or a chunk-name string. */
  static fromJSON(json: unknown): Bbox {
    if (typeof json === "string") return Bbox.parseChunkName(json);
    let lo: unknown;
    let hi: unknown;
    if (Array.isArray(json) && json.length === 2) [lo, hi] = json;
    else if (json && typeof json === "object") {
      const o = json as Record<string, unknown>;
      lo = o.minpt ?? o.min;
      hi = o.maxpt ?? o.max;
    }
    if (!isVec3(lo) || !isVec3(hi))
      throw new BboxError("expected {minpt, maxpt} with three numbers each", JSON.stringify(json));
    return new Bbox(lo, hi);
  }

  /** `{minpt, maxpt}` (CloudVolume's names). */
  toJSON(): BboxJSON {
    return { minpt: [...this.min], maxpt: [...this.max] };
  }

  /** The chunk-name form `x0-x1_y0-y1_z0-z1`, as used for unsharded chunk keys. */
  toChunkName(): string {
    const [a, b] = [this.min, this.max];
    return `${a[0]}-${b[0]}_${a[1]}-${b[1]}_${a[2]}-${b[2]}`;
  }

  /** Same as {@link toChunkName}; used in error messages. */
  toString(): string {
    return this.toChunkName();
  }

  /** Extent `max - min`. */
  size(): Vec3 {
    return [this.max[0] - this.min[0], this.max[1] - this.min[1], this.max[2] - this.min[2]];
  }

  /** Number of voxels. */
  volume(): number {
    const s = this.size();
    return s[0] * s[1] * s[2];
  }

  /** Whether the box holds no voxel (zero extent on some axis). */
  empty(): boolean {
    return (
      this.min[0] === this.max[0] || this.min[1] === this.max[1] || this.min[2] === this.max[2]
    );
  }

  /** Same corners. (Two empty boxes with different corners are not equal.) */
  equals(other: Bbox): boolean {
    return equals(this.min, other.min) && equals(this.max, other.max);
  }

  /**
   * For a point: whether it lies inside (half-open). For a box: whether every
   * voxel of it lies inside; an empty box is contained when its corners lie
   * within `[min, max]`.
   */
  contains(x: Vec3 | Bbox): boolean {
    if (x instanceof Bbox) {
      for (let i = 0; i < 3; i++)
        if (x.min[i] < this.min[i] || x.max[i] > this.max[i]) return false;
      return true;
    }
    for (let i = 0; i < 3; i++) if (!(x[i] >= this.min[i] && x[i] < this.max[i])) return false;
    return true;
  }

  /** Whether the boxes share at least one voxel. */
  intersects(other: Bbox): boolean {
    for (let i = 0; i < 3; i++)
      if (Math.max(this.min[i], other.min[i]) >= Math.min(this.max[i], other.max[i])) return false;
    return true;
  }

  /**
   * The common part. When the boxes do not overlap on some axis the result is
   * an empty box (its max equals its min on that axis).
   */
  intersect(other: Bbox): Bbox {
    const lo: [number, number, number] = [0, 0, 0];
    const hi: [number, number, number] = [0, 0, 0];
    for (let i = 0; i < 3; i++) {
      lo[i] = Math.max(this.min[i], other.min[i]);
      hi[i] = Math.max(lo[i], Math.min(this.max[i], other.max[i]));
    }
    return new Bbox(lo, hi);
  }

  /** The smallest box holding both. An empty box adds nothing (the other is returned). */
  union(other: Bbox): Bbox {
    if (other.empty()) return this;
    if (this.empty()) return other;
    const lo: [number, number, number] = [0, 0, 0];
    const hi: [number, number, number] = [0, 0, 0];
    for (let i = 0; i < 3; i++) {
      lo[i] = Math.min(this.min[i], other.min[i]);
      hi[i] = Math.max(this.max[i], other.max[i]);
    }
    return new Bbox(lo, hi);
  }

  /** This box clipped to `bounds` (same as {@link intersect}; reads as "clamp to the dataset"). */
  clamp(bounds: Bbox): Bbox {
    return this.intersect(bounds);
  }

  /** Shifted by `delta`. */
  translate(delta: Vec3Like): Bbox {
    const d = toVec3(delta);
    return new Bbox(
      [this.min[0] + d[0], this.min[1] + d[1], this.min[2] + d[2]],
      [this.max[0] + d[0], this.max[1] + d[1], this.max[2] + d[2]],
    );
  }

  /**
   * Grown outward. A number or Vec3 grows every face; `{low, high}` grows
   * chosen faces, e.g. `grow({high: 1})` adds the one-voxel overlap on the
   * high faces that meshing needs. Throws when a negative amount would
   * make min exceed max.
   */
  grow(amount: Vec3Like | FaceAmounts): Bbox {
    const f: FaceAmounts =
      typeof amount === "number" || Array.isArray(amount)
        ? { low: amount as Vec3Like, high: amount as Vec3Like }
        : (amount as FaceAmounts);
    const lo = toVec3(f.low ?? 0);
    const hi = toVec3(f.high ?? 0);
    const nmin: Vec3 = [this.min[0] - lo[0], this.min[1] - lo[1], this.min[2] - lo[2]];
    const nmax: Vec3 = [this.max[0] + hi[0], this.max[1] + hi[1], this.max[2] + hi[2]];
    if (nmin[0] > nmax[0] || nmin[1] > nmax[1] || nmin[2] > nmax[2])
      throw new BboxError(
        `cannot shrink by low ${formatVec3(lo)} high ${formatVec3(hi)}`,
        this.toString(),
      );
    return new Bbox(nmin, nmax);
  }

  /** Shrunk inward; the opposite of {@link grow}. Throws if the box would invert. */
  shrink(amount: Vec3Like | FaceAmounts): Bbox {
    const neg = (v: Vec3Like | undefined): Vec3 | undefined => {
      if (v === undefined) return undefined;
      const t = toVec3(v);
      return [-t[0], -t[1], -t[2]];
    };
    if (typeof amount === "number" || Array.isArray(amount)) {
      const n = neg(amount as Vec3Like);
      return this.grow({ low: n, high: n });
    }
    const f = amount as FaceAmounts;
    return this.grow({ low: neg(f.low), high: neg(f.high) });
  }

  /**
   * The smallest box aligned to the chunk grid (`offset + k * chunkSize`) that
   * holds this one. Pass the scale's `voxel_offset` as `offset`.
   */
  expandToChunks(chunkSize: Vec3, offset: Vec3 = [0, 0, 0]): Bbox {
    checkPositive(chunkSize, "chunk size", this);
    const lo: [number, number, number] = [0, 0, 0];
    const hi: [number, number, number] = [0, 0, 0];
    for (let i = 0; i < 3; i++) {
      const c = chunkSize[i];
      lo[i] = Math.floor((this.min[i] - offset[i]) / c) * c + offset[i];
      hi[i] = Math.ceil((this.max[i] - offset[i]) / c) * c + offset[i];
    }
    return new Bbox(lo, hi);
  }

  /**
   * The largest box aligned to the chunk grid inside this one. Where no whole
   * chunk fits on an axis, the result is empty on that axis (max = min).
   */
  shrinkToChunks(chunkSize: Vec3, offset: Vec3 = [0, 0, 0]): Bbox {
    checkPositive(chunkSize, "chunk size", this);
    const lo: [number, number, number] = [0, 0, 0];
    const hi: [number, number, number] = [0, 0, 0];
    for (let i = 0; i < 3; i++) {
      const c = chunkSize[i];
      lo[i] = Math.ceil((this.min[i] - offset[i]) / c) * c + offset[i];
      hi[i] = Math.max(lo[i], Math.floor((this.max[i] - offset[i]) / c) * c + offset[i]);
    }
    return new Bbox(lo, hi);
  }

  /**
   * Whether both corners lie on the chunk grid. With `bounds` (the dataset),
   * a max equal to the dataset's upper edge also counts as aligned, since the
   * last chunk of each axis is truncated there.
   */
  isAlignedTo(chunkSize: Vec3, offset: Vec3 = [0, 0, 0], bounds?: Bbox): boolean {
    checkPositive(chunkSize, "chunk size", this);
    for (let i = 0; i < 3; i++) {
      if (mod(this.min[i] - offset[i], chunkSize[i]) !== 0) return false;
      const atEdge = bounds !== undefined && this.max[i] === bounds.max[i];
      if (!atEdge && mod(this.max[i] - offset[i], chunkSize[i]) !== 0) return false;
    }
    return true;
  }

  /**
   * The range of chunk-grid cells (integer grid coordinates, half-open) that
   * this box touches, for a grid of `chunkSize` anchored at `offset`.
   */
  gridRange(chunkSize: Vec3, offset: Vec3 = [0, 0, 0]): Bbox {
    checkPositive(chunkSize, "chunk size", this);
    const lo: [number, number, number] = [0, 0, 0];
    const hi: [number, number, number] = [0, 0, 0];
    for (let i = 0; i < 3; i++) {
      lo[i] = Math.floor((this.min[i] - offset[i]) / chunkSize[i]);
      hi[i] = Math.max(lo[i], Math.ceil((this.max[i] - offset[i]) / chunkSize[i]));
    }
    return new Bbox(lo, hi);
  }

  /**
   * Lazily yields the chunk-grid cells this box touches (x fastest, then y,
   * then z), each as a voxel box clipped to `clip` when given (pass the
   * dataset bounds to get exactly the stored chunks, or this box to tile it).
   * Cells whose clipped part is empty are skipped.
   */
  *chunks(chunkSize: Vec3, offset: Vec3 = [0, 0, 0], clip?: Bbox): Generator<Bbox> {
    for (const cell of this.chunkCells(chunkSize, offset, clip)) yield cell.bbox;
  }

  /**
   * Like {@link chunks}, with each cell's integer grid coordinates too
   * (`(cell.min - offset) / chunkSize` before clipping), e.g. for the
   * compressed Morton code of a sharded chunk.
   */
  *chunkCells(
    chunkSize: Vec3,
    offset: Vec3 = [0, 0, 0],
    clip?: Bbox,
  ): Generator<{ grid: Vec3; bbox: Bbox }> {
    const g = this.gridRange(chunkSize, offset);
    for (let z = g.min[2]; z < g.max[2]; z++) {
      const z0 = offset[2] + z * chunkSize[2];
      for (let y = g.min[1]; y < g.max[1]; y++) {
        const y0 = offset[1] + y * chunkSize[1];
        for (let x = g.min[0]; x < g.max[0]; x++) {
          const x0 = offset[0] + x * chunkSize[0];
          let bbox = new Bbox(
            [x0, y0, z0],
            [x0 + chunkSize[0], y0 + chunkSize[1], z0 + chunkSize[2]],
          );
          if (clip) {
            bbox = bbox.intersect(clip);
            if (bbox.empty()) continue;
          }
          yield { grid: [x, y, z], bbox };
        }
      }
    }
  }

  /**
   * Downsampled by `factor` (e.g. [2, 2, 1]): min is floored and max ceiled,
   * so the result covers every voxel the original touches (as CloudVolume).
   */
  downsample(factor: Vec3Like): Bbox {
    const f = toVec3(factor);
    checkPositive(f, "downsample factor", this);
    return new Bbox(
      [
        Math.floor(this.min[0] / f[0]),
        Math.floor(this.min[1] / f[1]),
        Math.floor(this.min[2] / f[2]),
      ],
      [Math.ceil(this.max[0] / f[0]), Math.ceil(this.max[1] / f[1]), Math.ceil(this.max[2] / f[2])],
    );
  }

  /** Upsampled by `factor`: both corners multiplied. */
  upsample(factor: Vec3Like): Bbox {
    const f = toVec3(factor);
    checkPositive(f, "upsample factor", this);
    return new Bbox(
      [this.min[0] * f[0], this.min[1] * f[1], this.min[2] * f[2]],
      [this.max[0] * f[0], this.max[1] * f[1], this.max[2] * f[2]],
    );
  }

  /**
   * This box (in voxels of resolution `from`) in voxels of resolution `to`:
   * `floor(min * from / to)`, `ceil(max * from / to)`, like CloudVolume's
   * `bbox_to_mip`. Resolutions are the scales' `resolution` in nm.
   */
  toMip(from: Vec3, to: Vec3): Bbox {
    const lo: [number, number, number] = [0, 0, 0];
    const hi: [number, number, number] = [0, 0, 0];
    for (let i = 0; i < 3; i++) {
      if (!(from[i] > 0 && to[i] > 0))
        throw new BboxError(
          `resolutions must be positive, got ${formatVec3(from)} -> ${formatVec3(to)}`,
          this.toString(),
        );
      // Multiply before dividing (exact for integer resolutions); a result
      // within rounding error of a whole number is that number (6 * 3.8 / 7.6
      // is 2.9999999999999996 in binary floating point, meaning 3).
      lo[i] = floorNear((this.min[i] * from[i]) / to[i]);
      hi[i] = ceilNear((this.max[i] * from[i]) / to[i]);
    }
    return new Bbox(lo, hi);
  }
}
