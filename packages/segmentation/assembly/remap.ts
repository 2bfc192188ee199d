// Remap a chunk of ids through a hash table (the WebAssembly loop of remap in
// src/remap.ts, whose JavaScript loops are the reference it is tested against).
//
// The table has 2^bits slots of 16 bytes (the id, then its value, each a
// u64) and one byte per slot saying whether it is in use. Ids and values are
// the arrays' unsigned words: narrower types are zero-extended.
//
// The voxel loop works on runs of equal ids (a segmentation is mostly runs
// along x): one lookup per run, then 16 bytes of ids compared and the value
// stored 16 bytes at a time until the run ends. Stores run past the end of a
// run (the next run overwrites them) and up to 128 bytes past the end of the
// chunk, and id loads up to 16 bytes past it: the caller leaves room after
// the input and the output.

@inline function slotOf(key: u64, bits: u32): u32 {
  // Fibonacci hashing: the top bits of the product spread neighbouring ids.
  return <u32>((key * 0x9e3779b97f4a7c15) >> (64 - bits));
}

/** Give the id (lo, hi) the value (valueLo, valueHi) in the table. */
export function insert(
  slots: usize,
  used: usize,
  bits: u32,
  lo: u32,
  hi: u32,
  valueLo: u32,
  valueHi: u32,
): void {
  const key = (<u64>hi << 32) | <u64>lo;
  const value = (<u64>valueHi << 32) | <u64>valueLo;
  const mask: u32 = (1 << bits) - 1;
  let s = slotOf(key, bits);
  while (load<u8>(used + s) != 0) {
    if (load<u64>(slots + (<usize>s << 4)) == key) break;
    s = (s + 1) & mask;
  }
  store<u8>(used + s, 1);
  store<u64>(slots + (<usize>s << 4), key);
  store<u64>(slots + (<usize>s << 4), value, 8);
}

/** `v` in every lane of a vector of T. */
@inline function splat<T>(v: u64): v128 {
  if (sizeof<T>() == 8) return i64x2.splat(v);
  if (sizeof<T>() == 4) return i32x4.splat(<u32>v);
  if (sizeof<T>() == 2) return i16x8.splat(<u16>v);
  return i8x16.splat(<u8>v);
}

/** Bit b set for each byte b of the lanes of T where `a` equals `b`. */
@inline function equalBytes<T>(a: v128, b: v128): u32 {
  if (sizeof<T>() == 8) return i8x16.bitmask(i64x2.eq(a, b));
  if (sizeof<T>() == 4) return i8x16.bitmask(i32x4.eq(a, b));
  if (sizeof<T>() == 2) return i8x16.bitmask(i16x8.eq(a, b));
  return i8x16.bitmask(i8x16.eq(a, b));
}

/**
 * Remap voxels from..to of the chunk. Returns `to`, or the first voxel whose
 * id the table lacks (the caller resolves it, inserts it and calls again).
 */
function run<I, O>(
  input: usize,
  output: usize,
  from: u32,
  to: u32,
  slots: usize,
  used: usize,
  bits: u32,
): u32 {
  const mask: u32 = (1 << bits) - 1;
  // Voxels per vector of ids, and vectors of values that cover them.
  const lanes: u32 = 16 / sizeof<I>();
  const wide: u32 = (lanes * <u32>sizeof<O>() + 15) >> 4;
  let i = from;
  while (i < to) {
    const id = <u64>load<I>(input + (<usize>i) * sizeof<I>());
    let s = slotOf(id, bits);
    for (;;) {
      if (load<u8>(used + s) == 0) return i;
      if (load<u64>(slots + (<usize>s << 4)) == id) break;
      s = (s + 1) & mask;
    }
    const ids = splat<I>(id);
    const values = splat<O>(load<u64>(slots + (<usize>s << 4), 8));
    let j = i;
    for (;;) {
      const at = output + (<usize>j) * sizeof<O>();
      v128.store(at, values);
      if (wide > 1) v128.store(at, values, 16);
      if (wide > 2) {
        v128.store(at, values, 32);
        v128.store(at, values, 48);
      }
      if (wide > 4) {
        v128.store(at, values, 64);
        v128.store(at, values, 80);
        v128.store(at, values, 96);
        v128.store(at, values, 112);
      }
      const same = equalBytes<I>(v128.load(input + (<usize>j) * sizeof<I>()), ids);
      if (same != 0xffff) {
        j += <u32>ctz(~same) / <u32>sizeof<I>();
        break;
      }
      j += lanes;
      if (j >= to) break;
    }
    i = j;
  }
  return to;
}

function runTo<I>(
  outBytes: u32,
  input: usize,
  output: usize,
  from: u32,
  to: u32,
  slots: usize,
  used: usize,
  bits: u32,
): u32 {
  if (outBytes == 8) return run<I, u64>(input, output, from, to, slots, used, bits);
  if (outBytes == 4) return run<I, u32>(input, output, from, to, slots, used, bits);
  if (outBytes == 2) return run<I, u16>(input, output, from, to, slots, used, bits);
  return run<I, u8>(input, output, from, to, slots, used, bits);
}

/** Remap voxels from..to of a chunk of `inBytes`-wide ids into `outBytes`-wide values. */
export function remap(
  inBytes: u32,
  outBytes: u32,
  input: usize,
  output: usize,
  from: u32,
  to: u32,
  slots: usize,
  used: usize,
  bits: u32,
): u32 {
  if (inBytes == 8) return runTo<u64>(outBytes, input, output, from, to, slots, used, bits);
  if (inBytes == 4) return runTo<u32>(outBytes, input, output, from, to, slots, used, bits);
  if (inBytes == 2) return runTo<u16>(outBytes, input, output, from, to, slots, used, bits);
  return runTo<u8>(outBytes, input, output, from, to, slots, used, bits);
}
