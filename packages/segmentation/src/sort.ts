/**
 * A stable sort of indices by float32 keys, descending, by LSD radix sort on
 * the keys' bit patterns: Watershed.jl sorts its region graph with a stable
 * sort by weight only, so equal weights must keep their insertion order, and
 * a comparison sort of millions of edges is several times slower.
 */

/**
 * The indices 0..n-1 ordered by `keys[i]` from largest to smallest; equal
 * keys keep their index order. `keys` may be longer than `n`.
 */
export function sortIndicesDescending(keys: Float32Array, n: number): Int32Array {
  const bits = new Uint32Array(keys.buffer, keys.byteOffset, keys.length);
  // Map float bits to unsigned integers in the same order, then flip them so
  // an ascending radix sort yields descending keys.
  const k = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const u = bits[i];
    k[i] = ~((u & 0x80000000) !== 0 ? ~u : u | 0x80000000) >>> 0;
  }
  let idx = new Int32Array(n);
  let tmp = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const count = new Int32Array(65537);
  for (let shift = 0; shift < 32; shift += 16) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[((k[idx[i]] >>> shift) & 0xffff) + 1]++;
    for (let d = 0; d < 65536; d++) count[d + 1] += count[d];
    for (let i = 0; i < n; i++) {
      const j = idx[i];
      tmp[count[(k[j] >>> shift) & 0xffff]++] = j;
    }
    const t = idx;
    idx = tmp;
    tmp = t;
  }
  return idx;
}
