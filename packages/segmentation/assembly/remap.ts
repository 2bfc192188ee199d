// build-wasm: shared-memory
//
// Remap ids through a hash table (the WebAssembly loop of remap in
// src/remap.ts, whose JavaScript loops are the reference it is tested
// against). The memory is imported and shared, so that a large output can
// live in it (see remapInMemory there).
//
// The table has 2^bits slots of 16 bytes (the id, then its value, each a
// u64) and one byte per slot saying whether it is in use. Ids and values are
// the arrays' unsigned words: narrower types are zero-extended.
//
// The voxel loop looks every voxel's id up, with no test for runs of equal
// ids: the end of a run is a branch the CPU cannot predict, and waiting on it
// cost more (about 15 ns a run) than a lookup per voxel. A lookup first reads
// only the id's home slot. An empty slot holds a key that does not hash to
// it, so "the home slot holds this id" needs no test of `used`; ids stored
// past their home slot (collisions) take the probing path.

/** Fibonacci hashing: bits 32.. of the product spread neighbouring ids. */
@inline function product(key: u64): u64 {
  return key * 0x9e3779b97f4a7c15;
}

/** Home slot of `key` (the voxel loop takes the same bits as a byte offset). */
@inline function slotOf(key: u64, bits: u32): u32 {
  return <u32>(product(key) >> 36) & ((1 << bits) - 1);
}

/**
 * Empty the table: clear `used` and give each slot a key whose home is
 * another slot, so that no id's home check matches an empty slot.
 */
export function clear(slots: usize, used: usize, bits: u32): void {
  const n: u32 = 1 << bits;
  memory.fill(used, 0, n);
  const a: u64 = 1;
  const homeA = slotOf(a, bits);
  let b: u64 = 2;
  while (slotOf(b, bits) == homeA) b++;
  for (let s: u32 = 0; s < n; s++) store<u64>(slots + (<usize>s << 4), s == homeA ? b : a);
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

/** The byte offset of `id`'s slot, probing from its home slot; -1 when the table lacks it. */
function probe(id: u64, home: u32, slots: usize, used: usize, bits: u32): i32 {
  const mask: u32 = (1 << bits) - 1;
  let s = home;
  while (load<u8>(used + s) != 0) {
    if (load<u64>(slots + (<usize>s << 4)) == id) return <i32>(s << 4);
    s = (s + 1) & mask;
  }
  return -1;
}

/**
 * Remap voxels from..to: ids at `input`, values to `output` (both indexed
 * from voxel 0; they may be the same array when the widths are equal, as
 * each voxel is read before it is written). Returns `to`, or the first voxel
 * whose id the table lacks (the caller resolves it, inserts it and calls again).
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
  const byteMask: u32 = ((1 << bits) - 1) << 4;
  let i = from;
  let p = input + (<usize>i) * sizeof<I>();
  let q = output + (<usize>i) * sizeof<O>();
  let id: u64 = 0;
  let at: u32 = 0;
  let r: i32 = 0;
  // Eight voxels a step: fewer loop and interrupt checks per voxel. Each
  // voxel is written out (no helper returning a flag), which keeps V8's
  // code for the common path to a load, a multiply, a compare and a store:
  // the same step as an inlined helper in an inner loop took 42 ms instead
  // of 27 for the bench's 33.5 M voxels.
  const end8 = to >= 8 ? to - 7 : 0;
  while (i < end8) {
    id = <u64>load<I>(p);
    at = <u32>(product(id) >> 32) & byteMask;
    if (load<u64>(slots + at) != id) {
      if ((r = probe(id, at >> 4, slots, used, bits)) < 0) return i;
      at = <u32>r;
    }
    store<O>(q, <O>load<u64>(slots + at, 8));
    id = <u64>load<I>(p, sizeof<I>());
    at = <u32>(product(id) >> 32) & byteMask;
    if (load<u64>(slots + at) != id) {
      if ((r = probe(id, at >> 4, slots, used, bits)) < 0) return i + 1;
      at = <u32>r;
    }
    store<O>(q, <O>load<u64>(slots + at, 8), sizeof<O>());
    id = <u64>load<I>(p, 2 * sizeof<I>());
    at = <u32>(product(id) >> 32) & byteMask;
    if (load<u64>(slots + at) != id) {
      if ((r = probe(id, at >> 4, slots, used, bits)) < 0) return i + 2;
      at = <u32>r;
    }
    store<O>(q, <O>load<u64>(slots + at, 8), 2 * sizeof<O>());
    id = <u64>load<I>(p, 3 * sizeof<I>());
    at = <u32>(product(id) >> 32) & byteMask;
    if (load<u64>(slots + at) != id) {
      if ((r = probe(id, at >> 4, slots, used, bits)) < 0) return i + 3;
      at = <u32>r;
    }
    store<O>(q, <O>load<u64>(slots + at, 8), 3 * sizeof<O>());
    id = <u64>load<I>(p, 4 * sizeof<I>());
    at = <u32>(product(id) >> 32) & byteMask;
    if (load<u64>(slots + at) != id) {
      if ((r = probe(id, at >> 4, slots, used, bits)) < 0) return i + 4;
      at = <u32>r;
    }
    store<O>(q, <O>load<u64>(slots + at, 8), 4 * sizeof<O>());
    id = <u64>load<I>(p, 5 * sizeof<I>());
    at = <u32>(product(id) >> 32) & byteMask;
    if (load<u64>(slots + at) != id) {
      if ((r = probe(id, at >> 4, slots, used, bits)) < 0) return i + 5;
      at = <u32>r;
    }
    store<O>(q, <O>load<u64>(slots + at, 8), 5 * sizeof<O>());
    id = <u64>load<I>(p, 6 * sizeof<I>());
    at = <u32>(product(id) >> 32) & byteMask;
    if (load<u64>(slots + at) != id) {
      if ((r = probe(id, at >> 4, slots, used, bits)) < 0) return i + 6;
      at = <u32>r;
    }
    store<O>(q, <O>load<u64>(slots + at, 8), 6 * sizeof<O>());
    id = <u64>load<I>(p, 7 * sizeof<I>());
    at = <u32>(product(id) >> 32) & byteMask;
    if (load<u64>(slots + at) != id) {
      if ((r = probe(id, at >> 4, slots, used, bits)) < 0) return i + 7;
      at = <u32>r;
    }
    store<O>(q, <O>load<u64>(slots + at, 8), 7 * sizeof<O>());
    i += 8;
    p += 8 * sizeof<I>();
    q += 8 * sizeof<O>();
  }
  while (i < to) {
    id = <u64>load<I>(p);
    at = <u32>(product(id) >> 32) & byteMask;
    if (load<u64>(slots + at) != id) {
      if ((r = probe(id, at >> 4, slots, used, bits)) < 0) return i;
      at = <u32>r;
    }
    store<O>(q, <O>load<u64>(slots + at, 8));
    i++;
    p += sizeof<I>();
    q += sizeof<O>();
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

/** Remap voxels from..to of `inBytes`-wide ids into `outBytes`-wide values. */
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
