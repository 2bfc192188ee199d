/**
 * Watershed step 1: relative thresholds, from counts of the top and low 16
 * bits of the affinities' float32 bit patterns.
 */

import { alloc } from "./_ws_state";

let topCounts: usize = 0;
let minBits: u32 = 0;
let maxBits: u32 = 0;

/** Starts the top-16-bit counts (65,536 uint32) and the bit range; returns the counts. */
export function histBegin(): usize {
  topCounts = alloc(2 * 65536 * 4);
  memory.fill(topCounts, 0, 2 * 65536 * 4);
  minBits = 0xffffffff;
  maxBits = 0;
  return topCounts;
}

/**
 * Counts the top 16 bits of `count` values at `src` and widens the bit
 * range. Two tables take alternate values, so that runs of equal buckets
 * (smooth maps) do not wait on one counter.
 */
export function histTop(src: usize, count: i32): void {
  let lo = minBits;
  let hi = maxBits;
  const t1 = topCounts + 65536 * 4;
  let i = 0;
  for (; i + 1 < count; i += 2) {
    const a = load<u32>(src + ((<usize>i) << 2));
    const b = load<u32>(src + ((<usize>i) << 2), 4);
    const pa = topCounts + ((<usize>(a >>> 16)) << 2);
    store<u32>(pa, load<u32>(pa) + 1);
    const pb = t1 + ((<usize>(b >>> 16)) << 2);
    store<u32>(pb, load<u32>(pb) + 1);
    if (a < lo) lo = a;
    if (b < lo) lo = b;
    if (a > hi) hi = a;
    if (b > hi) hi = b;
  }
  if (i < count) {
    const a = load<u32>(src + ((<usize>i) << 2));
    const pa = topCounts + ((<usize>(a >>> 16)) << 2);
    store<u32>(pa, load<u32>(pa) + 1);
    if (a < lo) lo = a;
    if (a > hi) hi = a;
  }
  minBits = lo;
  maxBits = hi;
}

/** Folds the second table into the first. */
export function histTopEnd(): void {
  const t1 = topCounts + 65536 * 4;
  for (let k: usize = 0; k < 65536 * 4; k += 4) {
    store<u32>(topCounts + k, load<u32>(topCounts + k) + load<u32>(t1 + k));
  }
}

/** Smallest bit pattern seen (by {@link histTop}). */
export function bitsMin(): u32 {
  return minBits;
}

/** Largest bit pattern seen (by {@link histTop} or {@link checkBits}). */
export function bitsMax(): u32 {
  return maxBits;
}

/**
 * Counts the low 16 bits of the values whose top 16 bits have a slot
 * (`slots`: 65,536 int32, -1 for none) into `low + slot * 65536` (uint32).
 */
export function histLow(src: usize, count: i32, slots: usize, low: usize): void {
  for (let i = 0; i < count; i++) {
    const b = load<u32>(src + ((<usize>i) << 2));
    const j = load<i32>(slots + ((<usize>(b >>> 16)) << 2));
    if (j >= 0) {
      const p = low + ((((<usize>j) << 16) + (b & 0xffff)) << 2);
      store<u32>(p, load<u32>(p) + 1);
    }
  }
}

/**
 * {@link histLow} when at most four buckets are wanted (`w0..w3`, -1 for
 * none): sixteen values at a time are compared with them, and only the
 * values that match are counted, one by one.
 */
export function histLowFew(
  src: usize,
  count: i32,
  slots: usize,
  low: usize,
  w0: i32,
  w1: i32,
  w2: i32,
  w3: i32,
): void {
  const a = i32x4.splat(w0);
  const b = i32x4.splat(w1);
  const c = i32x4.splat(w2);
  const d = i32x4.splat(w3);
  let i = 0;
  for (; i + 16 <= count; i += 16) {
    const p = src + ((<usize>i) << 2);
    let mask =
      wantedMask(v128.load(p), a, b, c, d) |
      (wantedMask(v128.load(p, 16), a, b, c, d) << 4) |
      (wantedMask(v128.load(p, 32), a, b, c, d) << 8) |
      (wantedMask(v128.load(p, 48), a, b, c, d) << 12);
    while (mask !== 0) {
      const v = load<u32>(p + ((<usize>ctz<i32>(mask)) << 2));
      mask &= mask - 1;
      const j = load<i32>(slots + ((<usize>(v >>> 16)) << 2));
      const q = low + ((((<usize>j) << 16) + (v & 0xffff)) << 2);
      store<u32>(q, load<u32>(q) + 1);
    }
  }
  histLow(src + ((<usize>i) << 2), count - i, slots, low);
}

/** Bits 0..3: which of the four values `v` have top 16 bits among `a`, `b`, `c`, `d`. */
@inline function wantedMask(v: v128, a: v128, b: v128, c: v128, d: v128): i32 {
  const t = i32x4.shr_u(v, 16);
  return i32x4.bitmask(
    v128.or(v128.or(i32x4.eq(t, a), i32x4.eq(t, b)), v128.or(i32x4.eq(t, c), i32x4.eq(t, d))),
  );
}

/** Allocates `bytes` zeroed bytes for the driver (slot tables and low counts). */
export function allocZeroed(bytes: usize): usize {
  const p = alloc(bytes);
  memory.fill(p, 0, bytes);
  return p;
}

/** Widens the largest bit pattern with `count` values at `src` (sign and NaN check). */
export function checkBits(src: usize, count: i32): void {
  let acc = i32x4.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) acc = i32x4.max_u(acc, v128.load(src + ((<usize>i) << 2)));
  let hi = maxBits;
  const l0 = <u32>i32x4.extract_lane(acc, 0);
  const l1 = <u32>i32x4.extract_lane(acc, 1);
  const l2 = <u32>i32x4.extract_lane(acc, 2);
  const l3 = <u32>i32x4.extract_lane(acc, 3);
  if (l0 > hi) hi = l0;
  if (l1 > hi) hi = l1;
  if (l2 > hi) hi = l2;
  if (l3 > hi) hi = l3;
  for (; i < count; i++) {
    const v = load<u32>(src + ((<usize>i) << 2));
    if (v > hi) hi = v;
  }
  maxBits = hi;
}

/** Resets the largest bit pattern before {@link checkBits}. */
export function checkBegin(): void {
  maxBits = 0;
}
