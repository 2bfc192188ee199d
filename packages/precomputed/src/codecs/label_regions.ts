/**
 * Connected-component numbering for the label codecs. compresso and
 * crackle both number the regions of a boundary structure in order of
 * first appearance in x-fastest order, and a decoder must reproduce the
 * encoder's numbering exactly. Both functions run a two-pass union-find
 * over provisional labels, then renumber roots as they are first met.
 */

/** Union-find over provisional labels 1..n with path halving. */
function find(parent: Uint32Array, a: number): number {
  while (parent[a] !== a) {
    parent[a] = parent[parent[a]];
    a = parent[a];
  }
  return a;
}

function union(parent: Uint32Array, a: number, b: number): void {
  const ra = find(parent, a);
  const rb = find(parent, b);
  if (ra < rb) parent[rb] = ra;
  else if (rb < ra) parent[ra] = rb;
}

/**
 * Second pass: provisional labels in `out` to final ones `first, first + 1,
 * ...` by first appearance. A region's first voxel always opens a new
 * provisional label, and unions keep the smaller root, so each region's root
 * is its first provisional label: numbering roots in increasing order is
 * numbering regions by first appearance, with one table lookup per voxel.
 */
function renumber(
  out: Uint32Array,
  parent: Uint32Array,
  next: number,
  first: number,
  skipZero: boolean,
): number {
  const final = new Uint32Array(next + 1);
  let n = 0;
  // parent[l] <= l for every label, so roots are resolved in one increasing pass.
  for (let l = 1; l <= next; l++) final[l] = parent[l] === l ? first + n++ : final[parent[l]];
  for (let i = 0; i < out.length; i++) {
    const p = out[i];
    if (!(skipZero && p === 0)) out[i] = final[p];
  }
  return n;
}

/**
 * Numbers the connected regions of non-boundary voxels (`boundary[i]` 0)
 * 1, 2, ... in order of first appearance, x fastest (boundary voxels get 0):
 * 4-connected within each z slice, or 6-connected in 3-D. Returns the
 * number of regions.
 */
export function labelRegions(
  boundary: Uint8Array,
  sx: number,
  sy: number,
  sz: number,
  connectivity: 4 | 6,
  out: Uint32Array,
): number {
  const sxy = sx * sy;
  const parent = new Uint32Array(boundary.length + 1);
  let next = 0;
  for (let z = 0, i = 0; z < sz; z++)
    for (let y = 0; y < sy; y++)
      for (let x = 0; x < sx; x++, i++) {
        if (boundary[i]) {
          out[i] = 0;
          continue;
        }
        let l = x > 0 && !boundary[i - 1] ? out[i - 1] : 0;
        if (y > 0 && !boundary[i - sx]) {
          const u = out[i - sx];
          if (l === 0) l = u;
          else if (u !== l) union(parent, l, u);
        }
        if (connectivity === 6 && z > 0 && !boundary[i - sxy]) {
          const b = out[i - sxy];
          if (l === 0) l = b;
          else if (b !== l) union(parent, l, b);
        }
        if (l === 0) {
          l = ++next;
          parent[l] = l;
        }
        out[i] = l;
      }
  return renumber(out, parent, next, 1, true);
}

/** Voxel connectivity graph bits: +x, -x, +y, -y passable. */
export const VCG_MX = 0b0010;
export const VCG_MY = 0b1000;

/**
 * Numbers the 4-connected components of one slice's voxel connectivity
 * graph (`vcg`, four bits per pixel: +x, -x, +y, -y passable) 0, 1, ...
 * in order of first appearance into `out`; returns their count.
 */
export function colorSlice(vcg: Uint8Array, sx: number, sy: number, out: Uint32Array): number {
  const parent = new Uint32Array(sx * sy + 1);
  let next = 0;
  for (let y = 0, i = 0; y < sy; y++)
    for (let x = 0; x < sx; x++, i++) {
      const e = vcg[i];
      let l = x > 0 && e & VCG_MX ? out[i - 1] : 0;
      if (y > 0 && e & VCG_MY) {
        const u = out[i - sx];
        if (l === 0) l = u;
        else if (u !== l) union(parent, l, u);
      }
      if (l === 0) {
        l = ++next;
        parent[l] = l;
      }
      out[i] = l;
    }
  return renumber(out.subarray(0, sx * sy), parent, next, 0, false);
}
