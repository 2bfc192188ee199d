/**
 * The watershed module's shared state: the volume's size and where its
 * arrays lie in linear memory, set by `setup`, and the bump allocator every
 * step allocates from. See watershed.ts for the layout.
 */

export const QUEUED: u32 = 0x40;

export let sx: i32 = 0;
export let sy: i32 = 0;
export let sz: i32 = 0;
export let sxy: i32 = 0;
export let sag: usize = 0;
export let labels: usize = 0;
export let queue: usize = 0;
export let sizes: usize = 0;
export let lowRow: usize = 0;
/** 4 * x zero bytes: the row before the volume's first row or slice. */
export let zeroRow: usize = 0;
/** Step (in voxels) of each direction 0..5, and of each single edge bit. */
export let steps: usize = 0;
export let stepOfBit: usize = 0;
export let top: usize = 0;

/**
 * Bump allocation (16-byte aligned) above the driver's layout. The memory
 * grows by at least an eighth at a time: every grow costs the engine a
 * garbage collection check, and the region graph allocates in small steps.
 */
export function alloc(bytes: usize): usize {
  const p = (top + 15) & ~(<usize>15);
  const end = p + bytes;
  const pages = memory.size();
  if (end > (<usize>pages) << 16) {
    const need = <i32>((end - ((<usize>pages) << 16) + 0xffff) >> 16);
    if (memory.grow(max<i32>(need, min<i32>(pages >> 3, 65536 - pages))) < 0) {
      if (memory.grow(need) < 0) unreachable();
    }
  }
  top = end;
  return p;
}

/**
 * Sets the volume and where its arrays are: `sagP` (n bytes), `labelsP`
 * (4n), `queueP` (4n), `sizesP` (4 per basin), `rowP` (4 * x, filled here
 * with `low`'s bits by {@link ascentBegin}); `heap` is the first free byte.
 */
export function setup(
  x: i32,
  y: i32,
  z: i32,
  sagP: usize,
  labelsP: usize,
  queueP: usize,
  sizesP: usize,
  rowP: usize,
  heap: usize,
): void {
  sx = x;
  sy = y;
  sz = z;
  sxy = x * y;
  sag = sagP;
  labels = labelsP;
  queue = queueP;
  sizes = sizesP;
  lowRow = rowP;
  top = heap;
  steps = alloc(6 * 4);
  store<i32>(steps, -1, 0);
  store<i32>(steps, -x, 4);
  store<i32>(steps, -x * y, 8);
  store<i32>(steps, 1, 12);
  store<i32>(steps, x, 16);
  store<i32>(steps, x * y, 20);
  zeroRow = alloc((<usize>x) << 2);
  memory.fill(zeroRow, 0, (<usize>x) << 2);
  stepOfBit = alloc(64 * 4);
  for (let d = 0; d < 6; d++)
    store<i32>(stepOfBit + (((<usize>1) << d) << 2), load<i32>(steps + (d << 2)));
}

/** First free byte (the driver reads its outputs before the next call). */
export function heapTop(): usize {
  return top;
}
