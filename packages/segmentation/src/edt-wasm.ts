/**
 * The distance transform in WebAssembly (assembly/edt.ts): this module lays
 * out the arena, copies the labels in as uint32 and the distances out. The
 * kernel computes what the JavaScript reference (edt-js.ts) does, with each
 * plane's x pass still in cache for its y pass, and with a SIMD direct search
 * over four columns at once in the y and z passes (groups that need more
 * than NEAR_CAP steps take the reference's line algorithm). The SIMD sums
 * are float32, which equals the reference's float64 sum rounded to float32
 * whenever every w2 k^2 of the axis is exact in float32 (integer or dyadic
 * voxel sizes); along other axes only the float64 line path runs. The output
 * equals the reference's bit for bit.
 */
import type { DistanceLabels } from "./edt";
import { releaseArena, wasmArena } from "./wasm/edt.wasm";

/**
 * The SIMD direct search looks at most this many steps each way; a group of
 * four lines that needs more takes the envelope instead.
 */
const NEAR_CAP = 32;

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
    exactX: number,
    capY: number,
    capZ: number,
  ): void;
}

/**
 * Whether w2 k^2 is exact in float32 for k up to `len` + 1: then float32
 * arithmetic on these and on float32 values rounds as the reference's
 * float64 arithmetic stored as float32 does.
 */
function exactSquares(w2: number, len: number): boolean {
  for (let k = 1; k <= len + 1; k++) {
    const c = w2 * k * k;
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
    exactSquares(wx * wx, sx) ? 1 : 0,
    exactSquares(wy * wy, sy) ? NEAR_CAP : 0,
    exactSquares(wz * wz, sz) ? NEAR_CAP : 0,
  );
  const result = new Float32Array(buffer, out, n).slice();
  if (total > KEEP_ARENA_BYTES) releaseArena();
  return result;
}
