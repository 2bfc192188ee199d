/**
 * The first half of Watershed.jl's watershed: the steepest-ascent graph, the
 * division of plateaus, and the basins of attraction. Each step follows the
 * Julia code's visiting order exactly, because that order decides ties: which
 * way a plateau drains, and which basin a voxel on a tie joins.
 *
 * The graph lives in one byte per voxel: bits 0..5 are the outgoing edges
 * towards -x, -y, -z, +x, +y, +z; bit 6 marks a voxel queued by a search;
 * bit 7 (findBasins only) marks a voxel already given a basin.
 */
import type { Shape3 } from "./affinities";

const NEG_X = 0x01;
const NEG_Y = 0x02;
const NEG_Z = 0x04;
const POS_X = 0x08;
const POS_Y = 0x10;
const POS_Z = 0x20;
const QUEUED = 0x40;
const ASSIGNED = 0x80;

/** Direction bits in Watershed.jl's order and the bit of the reverse edge. */
const DIR_MASK = [NEG_X, NEG_Y, NEG_Z, POS_X, POS_Y, POS_Z] as const;
const REVERSE_MASK = [POS_X, POS_Y, POS_Z, NEG_X, NEG_Y, NEG_Z] as const;

/** Direction index of a single edge bit. */
const BIT_INDEX = new Int8Array(64);
for (let d = 0; d < 6; d++) BIT_INDEX[DIR_MASK[d]] = d;

function offsets(shape: Shape3): number[] {
  const sxy = shape[0] * shape[1];
  return [-1, -shape[0], -sxy, 1, shape[0], sxy];
}

/**
 * Steepest-ascent graph: from each voxel, keep every edge whose affinity
 * equals the voxel's largest incident affinity `m`, or is `>= high`, provided
 * `m > low`. Edges leaving the volume count as `low`. `low` and `high` must
 * already be float32 values.
 */
export function steepestAscent(
  aff: Float32Array,
  shape: Shape3,
  low: number,
  high: number,
): Uint8Array {
  return hasSignBit(aff) ? ascentFloat(aff, shape, low, high) : ascentBits(aff, shape, low, high);
}

function hasSignBit(aff: Float32Array): boolean {
  const bits = new Int32Array(aff.buffer, aff.byteOffset, aff.length);
  let any = 0;
  for (let i = 0; i < bits.length; i++) any |= bits[i];
  return any < 0;
}

function float32Bits(v: number): number {
  return new Int32Array(Float32Array.of(v).buffer)[0];
}

/**
 * The common case, every affinity >= +0: float32 bit patterns then order as
 * int32, so maxima and comparisons are branch-free integer arithmetic (on
 * noisy affinities the float comparisons are coin flips the CPU mispredicts).
 */
function ascentBits(aff: Float32Array, shape: Shape3, lowF: number, highF: number): Uint8Array {
  const [sx, sy, sz] = shape;
  const b = new Int32Array(aff.buffer, aff.byteOffset, aff.length);
  const low = float32Bits(lowF);
  const high1 = float32Bits(highF) - 1;
  const n = sx * sy * sz;
  const sxy = sx * sy;
  const cy = n;
  const cz = 2 * n;
  const sag = new Uint8Array(n);
  for (let z = 0; z < sz; z++) {
    for (let y = 0; y < sy; y++) {
      const row = sx * (y + sy * z);
      const yIn = y > 0;
      const yOut = y < sy - 1;
      const zIn = z > 0;
      const zOut = z < sz - 1;
      for (let x = 0; x < sx; x++) {
        const i = row + x;
        const negx = x > 0 ? b[i] : low;
        const negy = yIn ? b[cy + i] : low;
        const negz = zIn ? b[cz + i] : low;
        const posx = x < sx - 1 ? b[i + 1] : low;
        const posy = yOut ? b[cy + i + sx] : low;
        const posz = zOut ? b[cz + i + sxy] : low;
        // m = max(...): d & (d >> 31) is d when d < 0, else 0.
        let m = negx;
        let d = m - negy;
        m -= d & (d >> 31);
        d = m - negz;
        m -= d & (d >> 31);
        d = m - posx;
        m -= d & (d >> 31);
        d = m - posy;
        m -= d & (d >> 31);
        d = m - posz;
        m -= d & (d >> 31);
        if (m > low) {
          // ((v ^ m) - 1) >>> 31 is 1 iff v === m; (high - 1 - v) >>> 31 is 1 iff v >= high.
          sag[i] =
            (((negx ^ m) - 1) >>> 31) |
            ((high1 - negx) >>> 31) |
            (((((negy ^ m) - 1) >>> 31) | ((high1 - negy) >>> 31)) << 1) |
            (((((negz ^ m) - 1) >>> 31) | ((high1 - negz) >>> 31)) << 2) |
            (((((posx ^ m) - 1) >>> 31) | ((high1 - posx) >>> 31)) << 3) |
            (((((posy ^ m) - 1) >>> 31) | ((high1 - posy) >>> 31)) << 4) |
            (((((posz ^ m) - 1) >>> 31) | ((high1 - posz) >>> 31)) << 5);
        }
      }
    }
  }
  return sag;
}

/** Any affinities, negative ones included, compared as floats. */
function ascentFloat(aff: Float32Array, shape: Shape3, low: number, high: number): Uint8Array {
  const [sx, sy, sz] = shape;
  const n = sx * sy * sz;
  const sxy = sx * sy;
  const cy = n;
  const cz = 2 * n;
  const sag = new Uint8Array(n);
  for (let z = 0; z < sz; z++) {
    for (let y = 0; y < sy; y++) {
      const row = sx * (y + sy * z);
      for (let x = 0; x < sx; x++) {
        const i = row + x;
        const negx = x > 0 ? aff[i] : low;
        const negy = y > 0 ? aff[cy + i] : low;
        const negz = z > 0 ? aff[cz + i] : low;
        const posx = x < sx - 1 ? aff[i + 1] : low;
        const posy = y < sy - 1 ? aff[cy + i + sx] : low;
        const posz = z < sz - 1 ? aff[cz + i + sxy] : low;
        const m = Math.max(negx, negy, negz, posx, posy, posz);
        if (m > low) {
          let s = 0;
          if (negx === m || negx >= high) s |= NEG_X;
          if (negy === m || negy >= high) s |= NEG_Y;
          if (negz === m || negz >= high) s |= NEG_Z;
          if (posx === m || posx >= high) s |= POS_X;
          if (posy === m || posy >= high) s |= POS_Y;
          if (posz === m || posz >= high) s |= POS_Z;
          sag[i] = s;
        }
      }
    }
  }
  return sag;
}

/**
 * Divides non-maximal plateaus (in place): a breadth-first search from every
 * voxel with an edge that is not returned leaves each voxel it reaches exactly
 * one outgoing edge, towards the plateau's nearest exit (the last such
 * direction in -x, -y, -z, +x, +y, +z order when several qualify). Voxels of
 * maximal plateaus keep their two-way edges. `queue` needs one slot per voxel.
 */
export function dividePlateaus(sag: Uint8Array, shape: Shape3, queue: Int32Array): void {
  const dir = offsets(shape);
  const n = sag.length;
  let tail = 0;
  for (let idx = 0; idx < n; idx++) {
    const s = sag[idx];
    if (s === 0) continue;
    // A voxel with one one-way edge would be queued only to keep that edge:
    // nothing ever queues it again or reads its queued bit, so skip it.
    if ((s & (s - 1)) === 0) continue;
    for (let d = 0; d < 6; d++) {
      if ((s & DIR_MASK[d]) !== 0 && (sag[idx + dir[d]] & REVERSE_MASK[d]) === 0) {
        sag[idx] = s | QUEUED;
        queue[tail++] = idx;
        break;
      }
    }
  }
  for (let head = 0; head < tail; head++) {
    const idx = queue[head];
    const s = sag[idx];
    let toSet = 0;
    for (let d = 0; d < 6; d++) {
      if ((s & DIR_MASK[d]) === 0) continue;
      const him = idx + dir[d];
      const h = sag[him];
      if ((h & REVERSE_MASK[d]) !== 0) {
        if ((h & QUEUED) === 0) {
          queue[tail++] = him;
          sag[him] = h | QUEUED;
        }
      } else {
        toSet = DIR_MASK[d];
      }
    }
    sag[idx] = toSet;
  }
}

/** Basins: labels 1..count in order of their first voxel, 0 for voxels without edges. */
export interface Basins {
  /** Basin id per voxel (0: background, no edges at all). */
  labels: Uint32Array;
  /** Voxels per basin: `sizes[id - 1]`. */
  sizes: Float64Array;
  /** Number of basins. */
  count: number;
  /** Number of background voxels. */
  background: number;
}

/**
 * Basins of attraction: from each unassigned voxel in scan order, follow the
 * outgoing edges breadth first; the first already-assigned voxel met gives
 * its basin to every voxel queued, otherwise they form a new basin. Uses and
 * clears the queued/assigned bits of `sag`; `queue` needs one slot per voxel.
 */
export function findBasins(sag: Uint8Array, shape: Shape3, queue: Int32Array): Basins {
  const dir = offsets(shape);
  const n = sag.length;
  const labels = new Uint32Array(n);
  let sizes = new Float64Array(1024);
  let count = 0;
  let background = 0;
  for (let idx = 0; idx < n; idx++) {
    const s0 = sag[idx];
    if (s0 === 0) {
      sag[idx] = ASSIGNED;
      background++;
      continue;
    }
    if ((s0 & ASSIGNED) !== 0) continue;
    // Most voxels have one edge to a voxel the scan already assigned.
    if ((s0 & (s0 - 1)) === 0) {
      const him = idx + dir[BIT_INDEX[s0]];
      if ((sag[him] & ASSIGNED) !== 0) {
        const id = labels[him];
        labels[idx] = id;
        sizes[id - 1]++;
        sag[idx] = s0 | ASSIGNED;
        continue;
      }
    }
    queue[0] = idx;
    let tail = 1;
    sag[idx] = s0 | QUEUED;
    let found = 0;
    for (let head = 0; head < tail && found === 0; head++) {
      const me = queue[head];
      const s = sag[me];
      for (let d = 0; d < 6; d++) {
        if ((s & DIR_MASK[d]) === 0) continue;
        const him = me + dir[d];
        const h = sag[him];
        if ((h & ASSIGNED) !== 0) {
          found = labels[him];
          break;
        }
        if ((h & QUEUED) === 0) {
          sag[him] = h | QUEUED;
          queue[tail++] = him;
        }
      }
    }
    let id = found;
    if (id === 0) {
      if (count === sizes.length) {
        const grown = new Float64Array(sizes.length * 2);
        grown.set(sizes);
        sizes = grown;
      }
      id = ++count;
    }
    sizes[id - 1] += tail;
    for (let k = 0; k < tail; k++) {
      const v = queue[k];
      labels[v] = id;
      sag[v] = (sag[v] & ~QUEUED) | ASSIGNED;
    }
  }
  return { labels, sizes: sizes.subarray(0, count), count, background };
}
