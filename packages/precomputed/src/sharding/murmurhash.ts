/**
 * MurmurHash3_x86_128 (Austin Appleby's public-domain algorithm), on 32-bit
 * integer math. The sharded format hashes the 8 little-endian bytes of a
 * uint64 with seed 0 and keeps the low 64 bits of the 128-bit result.
 */

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

function readU32(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
}

/**
 * Full MurmurHash3_x86_128 of `data` with `seed`: the four 32-bit words h1..h4
 * (the 16 output bytes are their little-endian concatenation).
 */
export function murmurHash3X86_128(data: Uint8Array, seed = 0): Uint32Array {
  const len = data.length;
  const nblocks = len >>> 4;
  let h1 = seed | 0;
  let h2 = seed | 0;
  let h3 = seed | 0;
  let h4 = seed | 0;

  for (let i = 0; i < nblocks; i++) {
    const o = i * 16;
    let k1 = readU32(data, o);
    let k2 = readU32(data, o + 4);
    let k3 = readU32(data, o + 8);
    let k4 = readU32(data, o + 12);

    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = rotl(h1, 19) + h2;
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;

    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = rotl(h2, 17) + h3;
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;

    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = rotl(h3, 15) + h4;
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;

    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = rotl(h4, 13) + h1;
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
  }

  // Tail: up to 15 bytes, gathered little-endian into k1..k4.
  const t = nblocks * 16;
  const rem = len & 15;
  let k1 = 0;
  let k2 = 0;
  let k3 = 0;
  let k4 = 0;
  for (let j = rem - 1; j >= 0; j--) {
    const byte = data[t + j] << ((j & 3) * 8);
    if (j >= 12) k4 |= byte;
    else if (j >= 8) k3 |= byte;
    else if (j >= 4) k2 |= byte;
    else k1 |= byte;
  }
  if (rem > 12) {
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
  }
  if (rem > 8) {
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
  }
  if (rem > 4) {
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
  }
  if (rem > 0) {
    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
  }

  return finish(h1, h2, h3, h4, len, new Uint32Array(4));
}

function finish(
  h1: number,
  h2: number,
  h3: number,
  h4: number,
  len: number,
  out: Uint32Array,
): Uint32Array {
  h1 ^= len;
  h2 ^= len;
  h3 ^= len;
  h4 ^= len;

  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;

  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);

  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;

  out[0] = h1;
  out[1] = h2;
  if (out.length >= 4) {
    out[2] = h3;
    out[3] = h4;
  }
  return out;
}

/**
 * Low 64 bits of MurmurHash3_x86_128 of the uint64 (lo, hi) in little-endian
 * byte order: the sharded format's hash. Allocation-free: the result words
 * [lo, hi] go into `out`.
 */
export function murmurHash3X86_128Low64(
  lo: number,
  hi: number,
  seed = 0,
  out: Uint32Array = new Uint32Array(2),
): Uint32Array {
  // Eight bytes: no full 16-byte block, a tail with k1 = lo and k2 = hi.
  const h = seed | 0;
  const k2 = Math.imul(rotl(Math.imul(hi | 0, C2), 16), C3);
  const k1 = Math.imul(rotl(Math.imul(lo | 0, C1), 15), C2);
  return finish(h ^ k1, h ^ k2, h, h, 8, out);
}
