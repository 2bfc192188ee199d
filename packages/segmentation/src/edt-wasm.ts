/**
 * The distance transform in WebAssembly (assembly/edt.ts): this module lays
 * out the arena, copies the labels in as uint32 and the distances out. The
 * kernel computes what the JavaScript reference (edt-js.ts) does: plane by
 * plane, the x pass and then the y pass while the plane is in cache (a SIMD
 * direct search over rows, four columns per vector); then, plane by plane,
 * the z pass into a one-plane buffer that is copied straight to the output
 * while it is in cache. Columns the direct search cannot finish within
 * NEAR_CAP steps take the reference's line algorithm. The SIMD sums are
 * float32, which equals the reference's float64 sum rounded to float32
 * whenever every w2 k^2 of the axis is exact in float32 (integer or dyadic
 * voxel sizes); along other axes only the float64 line path runs. The output
 * equals the reference's bit for bit.
 */
import type { DistanceLabels } from "./edt";
import { releaseArena, wasmArena } from "./wasm/edt.wasm";

/**
 * The SIMD direct search looks at most this many steps each way; a column
 * that needs more takes the line path instead.
 */
const NEAR_CAP = 32;

/** Arenas past this size are dropped after the call so that a pool worker does not keep them. */
const KEEP_ARENA_BYTES = 1 << 30;

interface EdtExports {
  scratchBytes(sx: number, maxLen: number): number;
  setScratch(at: number, sx: number, maxLen: number): number;
  setCosts(wy2: number, wz2: number): void;
  narrow64(src: number, dst: number, n: number): number;
  planeXY(
    lab: number,
    f: number,
    dr: number,
    dl: number,
    flags: number,
    list: number,
    mid: number,
    sx: number,
    sy: number,
    wx2: number,
    wy2: number,
    blackBorder: number,
    exactX: number,
    capY: number,
  ): number;
  prepareZ(
    lab: number,
    mid: number,
    maxp: number,
    sxy: number,
    sz: number,
    wz2: number,
    blackBorder: number,
    capZ: number,
    top: number,
  ): number;
  planeZ(
    lab: number,
    mid: number,
    maxp: number,
    dst: number,
    list: number,
    best: number,
    z: number,
    sxy: number,
    sz: number,
    blackBorder: number,
    squared: number,
    anyDone: number,
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
 * The transform in WebAssembly into `out` (a new array if not given), or
 * undefined for labels it does not take (float labels; 64-bit labels unless
 * every high word is the same and, when that word is not 0, no low word is
 * 0): the caller then runs the JavaScript reference. The labels are copied
 * into the arena before anything is written to `out`, so `out` may share
 * memory with them.
 */
export function distanceTransformWasm(
  labels: DistanceLabels,
  [sx, sy, sz]: readonly [number, number, number],
  [wx, wy, wz]: readonly [number, number, number],
  blackBorder: boolean,
  squared: boolean,
  out?: Float32Array,
): Float32Array | undefined {
  if (labels instanceof Float32Array || labels instanceof Float64Array) return undefined;
  const n = sx * sy * sz;
  const sxy = sx * sy;
  const words = align16(4 * n);
  const planeBytes = align16(4 * sxy);
  const rowBytes = 4 * sx;
  const lineBytes = align16(4 * sx);
  const maxLen = Math.max(sy, sz);
  const capY = exactSquares(wy * wy, sy) ? NEAR_CAP : 0;
  const capZ = exactSquares(wz * wz, sz) ? NEAR_CAP : 0;
  const padBytes = capY * rowBytes;
  const arena = wasmArena();
  const wasm = arena.exports as unknown as EdtExports;
  // lab and mid (the whole volume); the x pass's plane with capY rows of
  // padding each side; dr, maxp and the z pass's output plane; dl, flags and
  // the y search's list (one row each); the line path's scratch.
  const fBytes = align16(2 * padBytes + sy * rowBytes);
  const wide = labels instanceof BigUint64Array || labels instanceof BigInt64Array;
  const total = Math.max(
    2 * words + fBytes + 3 * planeBytes + 3 * lineBytes + wasm.scratchBytes(sx, maxLen),
    // 64-bit labels are first copied in whole past lab.
    wide ? words + 8 * n : 0,
  );
  const base = arena.reserve(total);
  const lab = base;
  const mid = lab + words;
  const fPad = mid + words;
  const f = fPad + padBytes;
  const dr = fPad + fBytes;
  const maxp = dr + planeBytes;
  const dst = maxp + planeBytes;
  const dl = dst + planeBytes;
  const flags = dl + lineBytes;
  const list = flags + lineBytes;
  const buffer = arena.memory.buffer;
  if (wide) {
    // The 64-bit words fill mid and what follows, all written only later.
    new BigUint64Array(buffer, mid, n).set(
      labels instanceof BigUint64Array
        ? labels
        : new BigUint64Array(labels.buffer, labels.byteOffset, n),
    );
    if (!wasm.narrow64(mid, lab, n)) return undefined;
  }
  // Narrower labels are copied in plane by plane, each right before its x
  // and y passes read it (from cache). Signed ones through an Int32Array:
  // sign extension keeps labels distinct and 0 at 0.
  const signed =
    labels instanceof Int8Array || labels instanceof Int16Array || labels instanceof Int32Array;
  const into = wide
    ? undefined
    : signed
      ? new Int32Array(buffer, lab, n)
      : new Uint32Array(buffer, lab, n);
  const from = wide
    ? undefined
    : (labels as Exclude<DistanceLabels, BigUint64Array | BigInt64Array>);
  wasm.setScratch(list + lineBytes, sx, maxLen);
  wasm.setCosts(wy * wy, wz * wz);
  const padFloats = padBytes / 4;
  new Float32Array(buffer, fPad, padFloats).fill(Number.POSITIVE_INFINITY);
  new Float32Array(buffer, f + sy * rowBytes, padFloats).fill(Number.POSITIVE_INFINITY);
  const bb = blackBorder ? 1 : 0;
  const exactX = exactSquares(wx * wx, sx) ? 1 : 0;
  let top = 0;
  for (let z = 0; z < sz; z++) {
    const off = 4 * z * sxy;
    if (into && from) into.set(from.subarray(z * sxy, (z + 1) * sxy), z * sxy);
    const planeTop = wasm.planeXY(
      lab + off,
      f,
      dr,
      dl,
      flags,
      list,
      mid + off,
      sx,
      sy,
      wx * wx,
      wy * wy,
      bb,
      exactX,
      capY,
    );
    if (!(planeTop <= top)) top = planeTop;
  }
  const anyDone = wasm.prepareZ(lab, mid, maxp, sxy, sz, wz * wz, bb, capZ, top) > 0 ? 1 : 0;
  const result = out ?? new Float32Array(n);
  const plane = new Float32Array(buffer, dst, sxy);
  for (let z = 0; z < sz; z++) {
    wasm.planeZ(lab, mid, maxp, dst, dr, f, z, sxy, sz, bb, squared ? 1 : 0, anyDone);
    result.set(plane, z * sxy);
  }
  if (total > KEEP_ARENA_BYTES) releaseArena();
  return result;
}
