// Remap a chunk of ids through a hash table (the WebAssembly loop of remap in
// src/remap.ts, whose JavaScript loops are the reference it is tested against).
//
// The table has 2^bits slots of 16 bytes (the id, then its value, each a
// u64) and one byte per slot saying whether it is in use. Ids and values are
// the arrays' unsigned words: narrower types are zero-extended.

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
  let prev: u64 = 0;
  let value: u64 = 0;
  let valid = false;
  for (let i = from; i < to; i++) {
    const id = <u64>load<I>(input + (<usize>i) * sizeof<I>());
    // A run of equal ids (the usual case in a segmentation) is looked up once.
    if (id != prev || !valid) {
      let s = slotOf(id, bits);
      for (;;) {
        if (load<u8>(used + s) == 0) return i;
        if (load<u64>(slots + (<usize>s << 4)) == id) break;
        s = (s + 1) & mask;
      }
      value = load<u64>(slots + (<usize>s << 4), 8);
      prev = id;
      valid = true;
    }
    store<O>(output + (<usize>i) * sizeof<O>(), <O>value);
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
