/**
 * An insertion-ordered hash table keyed by pairs of uint32 labels, over typed
 * arrays (open addressing, linear probing). The region graphs and the
 * contingency tables of the metrics count pairs with it without a JS object
 * per pair.
 */

const EMPTY = -1;

/** Pairs (a, b) numbered 0, 1, 2, ... in the order they were first added. */
export class PairTable {
  /** First label of pair `i`. */
  a: Uint32Array;
  /** Second label of pair `i`. */
  b: Uint32Array;
  /** Number of pairs. */
  size = 0;
  private slots: Int32Array;
  private mask: number;

  constructor(expected = 1024) {
    let cap = 1024;
    while (cap < expected * 2) cap *= 2;
    this.slots = new Int32Array(cap).fill(EMPTY);
    this.mask = cap - 1;
    this.a = new Uint32Array(cap >>> 1);
    this.b = new Uint32Array(cap >>> 1);
  }

  /** Index of (a, b), adding the pair if it is new (then the index is `size - 1`). */
  add(a: number, b: number): number {
    let slot = hash(a, b) & this.mask;
    for (;;) {
      const k = this.slots[slot];
      if (k === EMPTY) break;
      if (this.a[k] === a && this.b[k] === b) return k;
      slot = (slot + 1) & this.mask;
    }
    const k = this.size++;
    this.slots[slot] = k;
    if (k === this.a.length) this.growPairs();
    this.a[k] = a;
    this.b[k] = b;
    if (this.size * 2 > this.mask) this.rehash();
    return k;
  }

  /** Index of (a, b), or -1 when absent. */
  get(a: number, b: number): number {
    let slot = hash(a, b) & this.mask;
    for (;;) {
      const k = this.slots[slot];
      if (k === EMPTY) return -1;
      if (this.a[k] === a && this.b[k] === b) return k;
      slot = (slot + 1) & this.mask;
    }
  }

  private growPairs(): void {
    const a = new Uint32Array(this.a.length * 2);
    a.set(this.a);
    this.a = a;
    const b = new Uint32Array(this.b.length * 2);
    b.set(this.b);
    this.b = b;
  }

  private rehash(): void {
    const cap = this.slots.length * 2;
    this.slots = new Int32Array(cap).fill(EMPTY);
    this.mask = cap - 1;
    for (let k = 0; k < this.size; k++) {
      let slot = hash(this.a[k], this.b[k]) & this.mask;
      while (this.slots[slot] !== EMPTY) slot = (slot + 1) & this.mask;
      this.slots[slot] = k;
    }
  }
}

function hash(a: number, b: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b ^ (b >>> 16), 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 13)) >>> 0;
}

/**
 * A growable array of numbers over a typed array, for per-pair values whose
 * count is not known in advance.
 */
export function grow<T extends Float32Array | Float64Array | Uint32Array>(arr: T, need: number): T {
  if (need <= arr.length) return arr;
  let len = Math.max(arr.length, 1024);
  while (len < need) len *= 2;
  const out = new (arr.constructor as new (n: number) => T)(len);
  out.set(arr);
  return out;
}
