/**
 * A hash table from 64-bit ids, given as (low, high) uint32 words, to dense
 * indices 0, 1, 2, ... in order of first insertion. Open addressing with
 * linear probing over typed arrays: no objects or BigInts per id, which is
 * what makes renumber, remap and countVoxels fast in JavaScript.
 */
export class IdTable {
  /** Number of distinct ids inserted. */
  size = 0;
  /** Low words of the ids in insertion order (index -> id). */
  lo: Uint32Array;
  /** High words of the ids in insertion order. */
  hi: Uint32Array;
  private slots: Int32Array;
  private mask: number;

  constructor(expected = 1024) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.slots = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    this.lo = new Uint32Array(Math.max(8, expected));
    this.hi = new Uint32Array(Math.max(8, expected));
  }

  /** The index of an id, or -1 when it was never inserted. */
  indexOf(lo: number, hi: number): number {
    const { slots, mask } = this;
    let s = hash(lo, hi) & mask;
    for (;;) {
      const k = slots[s];
      if (k < 0) return -1;
      if (this.lo[k] === lo && this.hi[k] === hi) return k;
      s = (s + 1) & mask;
    }
  }

  /** The index of an id, inserting it (with the next index) when new. */
  add(lo: number, hi: number): number {
    const { slots, mask } = this;
    let s = hash(lo, hi) & mask;
    for (;;) {
      const k = slots[s];
      if (k < 0) break;
      if (this.lo[k] === lo && this.hi[k] === hi) return k;
      s = (s + 1) & mask;
    }
    const k = this.size++;
    if (k === this.lo.length) {
      this.lo = grow(this.lo);
      this.hi = grow(this.hi);
    }
    this.lo[k] = lo;
    this.hi[k] = hi;
    slots[s] = k;
    if (this.size * 2 > slots.length) this.rehash();
    return k;
  }

  private rehash(): void {
    const cap = this.slots.length * 2;
    const slots = new Int32Array(cap).fill(-1);
    const mask = cap - 1;
    for (let k = 0; k < this.size; k++) {
      let s = hash(this.lo[k], this.hi[k]) & mask;
      while (slots[s] >= 0) s = (s + 1) & mask;
      slots[s] = k;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

/**
 * Add the 64-bit ids `words` holds ((low, high) pairs, `n` of them, the
 * buffer 8-byte aligned as a BigUint64Array's is) to `table` and write each
 * voxel's index to `out`, from voxel `from` on. Stops at the first voxel
 * whose index exceeds `limit` and returns where it stopped (`n` when done),
 * so that a caller can start with a narrow output and widen it. Ids are
 * read as one double per voxel to see whether the id changed: equal doubles
 * have equal bytes except +0 and -0 (which differ in the high word) and NaN
 * patterns (never equal to themselves, so they compare their words).
 */
export function indexPairs(
  words: Uint32Array,
  n: number,
  table: IdTable,
  out: Uint16Array | Uint32Array,
  from = 0,
  limit = 0xffffffff,
): number {
  const wide = new Float64Array(words.buffer, words.byteOffset, n);
  let pd = Number.NaN;
  let pl = -1;
  let ph = -1;
  let pv = 0;
  for (let i = from; i < n; i++) {
    const d = wide[i];
    if (d !== pd || (d === 0 && words[2 * i + 1] !== ph)) {
      const lo = words[2 * i];
      const hi = words[2 * i + 1];
      if (lo !== pl || hi !== ph) {
        pv = table.add(lo, hi);
        if (pv > limit) return i;
        pl = lo;
        ph = hi;
      }
      pd = d;
    }
    out[i] = pv;
  }
  return n;
}

/** {@link indexPairs} for ids of up to 32 bits, one word per voxel. */
export function indexWords(
  words: Uint8Array | Uint16Array | Uint32Array,
  n: number,
  table: IdTable,
  out: Uint16Array | Uint32Array,
  from = 0,
  limit = 0xffffffff,
): number {
  let pl = -1;
  let pv = 0;
  for (let i = from; i < n; i++) {
    const v = words[i];
    if (v !== pl) {
      pv = table.add(v, 0);
      if (pv > limit) return i;
      pl = v;
    }
    out[i] = pv;
  }
  return n;
}

function grow(a: Uint32Array): Uint32Array {
  const b = new Uint32Array(a.length * 2);
  b.set(a);
  return b;
}

/** Murmur3's finaliser over both words: neighbouring ids land far apart. */
function hash(lo: number, hi: number): number {
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
