/**
 * Compressed Morton codes (volume.md, "Compressed morton code"): the uint64
 * chunk id of a grid cell in a sharded scale. Bits that would be zero for
 * every cell of the grid are skipped, so the code interleaves x, y, z bits
 * only while each axis still has bits.
 *
 * Work is done on uint32 pairs [lo, hi]; a {@link MortonPlan} built once per
 * grid makes encoding many cells cheap.
 */
import { ShardSpecError } from "./errors";
import { joinU64, splitU64 } from "./spec";

/** For one grid size: which axis and which coordinate bit feeds each output bit. */
export interface MortonPlan {
  readonly gridSize: readonly [number, number, number];
  /** Axis (0, 1, 2) of output bit j. */
  readonly axis: Uint8Array;
  /** Coordinate bit of output bit j. */
  readonly bit: Uint8Array;
  /** Total bits of the code (<= 64). */
  readonly bits: number;
  /** Bits used by each axis: ceil(log2(gridSize)). */
  readonly axisBits: readonly [number, number, number];
  /**
   * Lookup tables: for axis a, coordinate byte k and byte value v, the code
   * words contributed are `table[2 * ((a * 3 + k) * 256 + v)]` (lo) and `+ 1` (hi).
   */
  readonly table: Uint32Array;
}

function bitsFor(n: number): number {
  let b = 0;
  while (2 ** b < n) b++;
  return b;
}

/** The plan of the compressed Morton code for a grid of `gridSize` chunks. */
export function mortonPlan(gridSize: readonly [number, number, number]): MortonPlan {
  for (const g of gridSize)
    if (!(Number.isSafeInteger(g) && g >= 1))
      throw new ShardSpecError(`grid size must be positive integers, got [${gridSize.join(", ")}]`);
  const axisBits: [number, number, number] = [
    bitsFor(gridSize[0]),
    bitsFor(gridSize[1]),
    bitsFor(gridSize[2]),
  ];
  const total = axisBits[0] + axisBits[1] + axisBits[2];
  if (total > 64)
    throw new ShardSpecError(
      `grid [${gridSize.join(", ")}] needs ${total} bits, more than a uint64 compressed Morton code holds`,
    );
  const axis = new Uint8Array(total);
  const bit = new Uint8Array(total);
  let j = 0;
  const n = Math.max(...axisBits);
  for (let i = 0; i < n; i++)
    for (let d = 0; d < 3; d++)
      if (2 ** i < gridSize[d]) {
        axis[j] = d;
        bit[j] = i;
        j++;
      }
  // Spread each coordinate byte once, so encoding is nine table lookups
  // (for axes of up to 24 bits; longer axes use the bit loop).
  const useTable = Math.max(...axisBits) <= 24;
  const table = new Uint32Array(useTable ? 2 * 9 * 256 : 0);
  for (let k = 0; useTable && k < total; k++) {
    const a = axis[k];
    const byte = bit[k] >>> 3;
    const mask = 1 << (bit[k] & 7);
    for (let v = 0; v < 256; v++)
      if (v & mask) {
        const t = 2 * ((a * 3 + byte) * 256 + v);
        if (k < 32) table[t] |= 1 << k;
        else table[t + 1] |= 1 << (k - 32);
      }
  }
  return { gridSize: [...gridSize], axis, bit, bits: total, axisBits, table };
}

/**
 * Compressed Morton code of grid cell (x, y, z), written as [lo, hi] into
 * `out`. Coordinates must lie inside the plan's grid.
 */
export function compressedMortonCode(
  plan: MortonPlan,
  x: number,
  y: number,
  z: number,
  out: Uint32Array = new Uint32Array(2),
): Uint32Array {
  const g = plan.gridSize;
  if (!(x >= 0 && y >= 0 && z >= 0 && x < g[0] && y < g[1] && z < g[2]))
    throw new ShardSpecError(
      `grid cell [${x}, ${y}, ${z}] is outside the grid [${g[0]}, ${g[1]}, ${g[2]}]`,
    );
  const t = plan.table;
  if (t.length === 0) return slowCode(plan, x, y, z, out);
  const ix = 2 * (x & 255);
  const iy = 2 * (768 + (y & 255));
  const iz = 2 * (1536 + (z & 255));
  const jx = 2 * (256 + ((x >>> 8) & 255));
  const jy = 2 * (1024 + ((y >>> 8) & 255));
  const jz = 2 * (1792 + ((z >>> 8) & 255));
  const kx = 2 * (512 + ((x >>> 16) & 255));
  const ky = 2 * (1280 + ((y >>> 16) & 255));
  const kz = 2 * (2048 + ((z >>> 16) & 255));
  const lo = t[ix] | t[iy] | t[iz] | t[jx] | t[jy] | t[jz] | t[kx] | t[ky] | t[kz];
  const hi =
    t[ix + 1] |
    t[iy + 1] |
    t[iz + 1] |
    t[jx + 1] |
    t[jy + 1] |
    t[jz + 1] |
    t[kx + 1] |
    t[ky + 1] |
    t[kz + 1];
  out[0] = lo;
  out[1] = hi;
  return out;
}

function slowCode(
  plan: MortonPlan,
  x: number,
  y: number,
  z: number,
  out: Uint32Array,
): Uint32Array {
  let lo = 0;
  let hi = 0;
  for (let j = 0; j < plan.bits; j++) {
    const c = plan.axis[j] === 0 ? x : plan.axis[j] === 1 ? y : z;
    if (Math.floor(c / 2 ** plan.bit[j]) % 2) {
      if (j < 32) lo |= 1 << j;
      else hi |= 1 << (j - 32);
    }
  }
  out[0] = lo;
  out[1] = hi;
  return out;
}

/** Compressed Morton code of grid cell `g` as a bigint (the chunk id at the API edge). */
export function mortonChunkId(plan: MortonPlan, g: readonly [number, number, number]): bigint {
  const w = compressedMortonCode(plan, g[0], g[1], g[2]);
  return joinU64(w[0], w[1]);
}

/** The grid cell [x, y, z] of a compressed Morton code (the inverse of {@link mortonChunkId}). */
export function decodeMortonChunkId(plan: MortonPlan, id: bigint): [number, number, number] {
  const [lo, hi] = splitU64(id);
  const g: [number, number, number] = [0, 0, 0];
  for (let j = 0; j < plan.bits; j++) {
    const b = j < 32 ? (lo >>> j) & 1 : (hi >>> (j - 32)) & 1;
    if (b) g[plan.axis[j]] += 2 ** plan.bit[j];
  }
  return g;
}
