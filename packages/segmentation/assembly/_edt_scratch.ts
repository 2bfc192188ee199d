// The EDT module's constants and the scratch layout its passes share (see
// edt.ts for the contract).

/** On the line path, runs whose squared reach is at most NEAR_REACH^2 steps take the direct search. */
export const NEAR_REACH: f64 = 4;

/** A run distance meaning "no boundary on this side": its w2 d^2 is beyond any cap's. */
export const FAR: i32 = 0x40000000;

/** The most steps the SIMD direct search may take (the size of its cost tables). */
export const MAX_CAP: i32 = 64;

/** Scratch of the line path and the cost tables, laid out by {@link setScratch}. */
export let sv: usize = 0; // i32 vertex positions
export let sfv: usize = 0; // f64 values at the vertices
export let scv: usize = 0; // f64 vertex heights fv + w2 v^2
export let szn: usize = 0; // f64 intersection numerators
export let szd: usize = 0; // f64 intersection denominators
export let sg: usize = 0; // f64 direct-search results of one run
export let tile: usize = 0; // four lines of labels, then four of values (see linesAcross)
export let costY: usize = 0; // f32x4 wy2 d^2 for d = 0..MAX_CAP + 1
export let costZ: usize = 0; // f32x4 wz2 d^2 for d = 0..MAX_CAP + 1
export let xl: usize = 0; // i32x4 labels of four rows, transposed (see passX4)
export let xd: usize = 0; // i32x4 then f32x4 run distances and values of four rows (see passX4)

/** Bytes of scratch that rows of `sx` voxels and lines of up to `maxLen` voxels need. */
export function scratchBytes(sx: i32, maxLen: i32): usize {
  return setScratch(0, sx, maxLen);
}

/**
 * Lays out the scratch for rows of `sx` voxels and lines of up to `maxLen`
 * voxels from `at`; returns its size in bytes.
 */
export function setScratch(at: usize, sx: i32, maxLen: i32): usize {
  const n = <usize>maxLen + 3;
  sv = at;
  sfv = sv + (n << 3);
  scv = sfv + (n << 3);
  szn = scv + (n << 3);
  szd = szn + (n << 3);
  sg = szd + (n << 3);
  tile = sg + (n << 3);
  const stride = (((<usize>maxLen) << 2) + 15) & ~(<usize>15);
  costY = tile + 8 * stride;
  costZ = costY + ((<usize>(MAX_CAP + 2)) << 4);
  xl = costZ + ((<usize>(MAX_CAP + 2)) << 4);
  xd = xl + ((<usize>sx) << 4);
  return xd + ((<usize>sx) << 4) - at;
}

/**
 * Fills the cost tables: w2 d^2 (rounded to float32, exact where the SIMD
 * searches run) for d = 0..MAX_CAP + 1, each in four lanes.
 */
export function setCosts(wy2: f64, wz2: f64): void {
  for (let d = 0; d <= MAX_CAP + 1; d++) {
    const dd = <f64>d * <f64>d;
    v128.store(costY + ((<usize>d) << 4), f32x4.splat(<f32>(wy2 * dd)));
    v128.store(costZ + ((<usize>d) << 4), f32x4.splat(<f32>(wz2 * dd)));
  }
}
