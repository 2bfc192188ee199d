/**
 * The distance transform in WebAssembly (assembly/edt.ts): this module lays
 * out the arena, copies the labels in as uint32 and the distances out. The
 * kernel's passes are those of the JavaScript reference (edt-js.ts), fused so
 * that each plane's x pass is still in cache for its y pass, and with a SIMD
 * direct search over four columns at once where every value of the group's
 * line is within four steps of its boundary (most of the z pass at 4x4x40
 * nm): there the sums are float32, which equals the reference's float64 sum
 * rounded to float32 whenever each w2 d^2 is itself exact in float32 (integer
 * or dyadic voxel sizes); other voxel sizes take the float64 line path.
 */
import type { DistanceLabels } from "./edt";
import { releaseArena, wasmArena } from "./wasm/edt.wasm";

/** Steps of the SIMD direct search (the kernel's NEAR_REACH), plus the one that ends it. */
const NEAR_STEPS = 5;

/** Arenas past this size are dropped after the call so that a pool worker does not keep them. */
const KEEP_ARENA_BYTES = 1 << 30;

interface EdtExports {
  scratchBytes(maxLen: number): number;
  setScratch(at: number, maxLen: number): number;
  narrow64(src: number, dst: number, n: number): number;
  distanceTransform(
    lab: number,
    out: number,
    mid: number,
    plane: number,
    sx: number,
    sy: number,
    sz: number,
    wx2: number,
    wy2: number,
    wz2: number,
    blackBorder: number,
    squared: number,
    simdY: number,
    simdZ: number,
  ): void;
}

/** Whether w2 d^2 is exact in float32 for every step the SIMD search takes. */
function exactSteps(w2: number): boolean {
  for (let d = 1; d <= NEAR_STEPS; d++) {
    const c = w2 * d * d;
    if (Math.fround(c) !== c) return false;
  }
  return true;
}

const align16 = (bytes: number) => (bytes + 15) & ~15;

/**
 * The transform in WebAssembly, or undefined for labels it does not take
 * (float labels; 64-bit labels unless every high word is the same and, when
 * that word is not 0, no low word is 0): the caller then runs the
 * JavaScript reference.
 */
export function distanceTransformWasm(
  labels: DistanceLabels,
  [sx, sy, sz]: readonly [number, number, number],
  [wx, wy, wz]: readonly [number, number, number],
  blackBorder: boolean,
  squared: boolean,
): Float32Array | undefined {
  if (labels instanceof Float32Array || labels instanceof Float64Array) return undefined;
  const n = sx * sy * sz;
  const words = align16(4 * n);
  const maxLen = Math.max(sy, sz);
  const planeBytes = align16(4 * sx * sy);
  const arena = wasmArena();
  const wasm = arena.exports as unknown as EdtExports;
  const total = 3 * words + planeBytes + wasm.scratchBytes(maxLen);
  const base = arena.reserve(total);
  const lab = base;
  const mid = lab + words;
  const out = mid + words;
  const plane = out + words;
  wasm.setScratch(plane + planeBytes, maxLen);
  const buffer = arena.memory.buffer;
  if (labels instanceof BigUint64Array || labels instanceof BigInt64Array) {
    // The 64-bit words fill mid and out, which the transform overwrites later.
    new BigUint64Array(buffer, mid, n).set(
      labels instanceof BigUint64Array
        ? labels
        : new BigUint64Array(labels.buffer, labels.byteOffset, n),
    );
    if (!wasm.narrow64(mid, lab, n)) return undefined;
  } else if (labels instanceof Int8Array || labels instanceof Int16Array) {
    // Sign extension keeps labels distinct and 0 at 0.
    new Int32Array(buffer, lab, n).set(labels);
  } else if (labels instanceof Int32Array) {
    new Int32Array(buffer, lab, n).set(labels);
  } else {
    new Uint32Array(buffer, lab, n).set(labels);
  }
  wasm.distanceTransform(
    lab,
    out,
    mid,
    plane,
    sx,
    sy,
    sz,
    wx * wx,
    wy * wy,
    wz * wz,
    blackBorder ? 1 : 0,
    squared ? 1 : 0,
    exactSteps(wy * wy) ? 1 : 0,
    exactSteps(wz * wz) ? 1 : 0,
  );
  const result = new Float32Array(buffer, out, n).slice();
  if (total > KEEP_ARENA_BYTES) releaseArena();
  return result;
}
