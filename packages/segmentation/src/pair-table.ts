/**
 * An insertion-ordered hash table keyed by pairs of uint32 labels, over typed
 * arrays (open addressing, linear probing). The region graphs and the
 * contingency tables of the metrics count pairs with it without a JS object
 * per pair.
 */

/** Pairs (a, b) numbered 0, 1, 2, ... in the order they were first added. */
export class PairTable {
  /** First label of pair `i`. */
  a: Uint32Array;
  /** Second label of pair `i`. */
  b: Uint32Array;
  /** Number of pairs. */
  size = 0;
  // Slot j holds [a, b, index + 1] (0: empty), so a probe reads one cache line.
  private slots: Uint32Array;
  private mask: number;

  constructor(expected = 1024) {
    let cap = 1024;
    while (cap < expected * 2) cap *= 2;
    this.slots = new Uint32Array(cap * 3);
    this.mask = cap - 1;
    this.a = new Uint32Array(cap >>> 1);
    this.b = new Uint32Array(cap >>> 1);
  }

  /** Index of (a, b), adding the pair if it is new (then the index is `size - 1`). */
  add(a: number, b: number): number {
    const slots = this.slots;
    let j = hash(a, b) & this.mask;
    for (;;) {
      const o = 3 * j;
      const k = slots[o + 2];
      if (k === 0) break;
      if (slots[o] === a && slots[o + 1] === b) return k - 1;
      j = (j + 1) & this.mask;
    }
    const k = this.size++;
    slots[3 * j] = a;
    slots[3 * j + 1] = b;
    slots[3 * j + 2] = k + 1;
    if (k === this.a.length) this.growPairs();
    this.a[k] = a;
    this.b[k] = b;
    if (this.size * 2 > this.mask) this.rehash();
    return k;
  }

  /** Index of (a, b), or -1 when absent. */
  get(a: number, b: number): number {
    const slots = this.slots;
    let j = hash(a, b) & this.mask;
    for (;;) {
      const o = 3 * j;
      const k = slots[o + 2];
      if (k === 0) return -1;
      if (slots[o] === a && slots[o + 1] === b) return k - 1;
      j = (j + 1) & this.mask;
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
    const cap = (this.mask + 1) * 2;
    const slots = new Uint32Array(cap * 3);
    this.mask = cap - 1;
    for (let k = 0; k < this.size; k++) {
      let j = hash(this.a[k], this.b[k]) & this.mask;
      while (slots[3 * j + 2] !== 0) j = (j + 1) & this.mask;
      slots[3 * j] = this.a[k];
      slots[3 * j + 1] = this.b[k];
      slots[3 * j + 2] = k + 1;
    }
    this.slots = slots;
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
