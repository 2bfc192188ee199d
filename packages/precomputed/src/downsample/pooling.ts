/**
 * Striding, min and max pooling over arbitrary integer factors.
 *
 * Blocks are `fx*fy*fz` voxels anchored at multiples of the factor; a block
 * cut by the array's edge uses the voxels that exist (no padding), so the
 * output has `ceil(size / factor)` voxels per axis. Channels are independent.
 */

type Shape = [number, number, number, number];
type Factor = readonly [number, number, number];
type Words = Uint8Array | Uint16Array | Uint32Array;
type NumberArray =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Float32Array
  | Float64Array;

function outShape(s: Shape, f: Factor): Shape {
  return [Math.ceil(s[0] / f[0]), Math.ceil(s[1] / f[1]), Math.ceil(s[2] / f[2]), s[3]];
}

/**
 * Striding: each output voxel is the block's first voxel, `out[x,y,z] =
 * in[x*fx, y*fy, z*fz]` (numpy's `a[::fx, ::fy, ::fz]`). `pairs`: two words
 * per voxel.
 */
export function striding(
  src: Words,
  shape: Shape,
  factor: Factor,
  pairs: boolean,
): { words: Words; shape: Shape } {
  const [sx, sy, sz, sc] = shape;
  const [fx, fy, fz] = factor;
  const os = outShape(shape, factor);
  const [ox, oy, oz] = os;
  const w = pairs ? 2 : 1;
  const C = src.constructor as new (n: number) => Words;
  const dst = new C(ox * oy * oz * sc * w);
  const sxy = sx * sy;
  let o = 0;
  for (let c = 0; c < sc; c++)
    for (let z = 0; z < oz; z++)
      for (let y = 0; y < oy; y++) {
        const row = c * sxy * sz + z * fz * sxy + y * fy * sx;
        if (pairs)
          for (let x = 0; x < ox; x++) {
            const i = 2 * (row + x * fx);
            dst[o++] = src[i];
            dst[o++] = src[i + 1];
          }
        else for (let x = 0; x < ox; x++) dst[o++] = src[row + x * fx];
      }
  return { words: dst, shape: os };
}

/** One min (`max=false`) or max pooling step over a number-valued array. */
export function extremumStep(
  src: NumberArray,
  shape: Shape,
  factor: Factor,
  max: boolean,
): NumberArray {
  const [sx, sy, sz, sc] = shape;
  const [fx, fy, fz] = factor;
  const [ox, oy, oz] = outShape(shape, factor);
  const C = src.constructor as new (n: number) => NumberArray;
  const dst = new C(ox * oy * oz * sc);
  const sxy = sx * sy;
  let o = 0;
  for (let c = 0; c < sc; c++)
    for (let z = 0; z < oz; z++) {
      const z1 = Math.min(z * fz + fz, sz);
      for (let y = 0; y < oy; y++) {
        const y1 = Math.min(y * fy + fy, sy);
        for (let x = 0; x < ox; x++) {
          const x0 = x * fx;
          const x1 = Math.min(x0 + fx, sx);
          let best = src[c * sxy * sz + z * fz * sxy + y * fy * sx + x0];
          for (let zz = z * fz; zz < z1; zz++)
            for (let yy = y * fy; yy < y1; yy++) {
              const row = c * sxy * sz + zz * sxy + yy * sx;
              for (let xx = x0; xx < x1; xx++) {
                const v = src[row + xx];
                // NaN propagates, as numpy's minimum/maximum do.
                if (max ? v > best : v < best) best = v;
                else if (Number.isNaN(v)) best = v;
              }
            }
          dst[o++] = best;
        }
      }
    }
  return dst;
}

/**
 * {@link extremumStep} for 64-bit integers as uint32 word pairs; `signed`
 * compares the high word as int32 (int64).
 */
export function extremumStepPairs(
  src: Uint32Array,
  shape: Shape,
  factor: Factor,
  max: boolean,
  signed: boolean,
): Uint32Array {
  const [sx, sy, sz, sc] = shape;
  const [fx, fy, fz] = factor;
  const [ox, oy, oz] = outShape(shape, factor);
  const dst = new Uint32Array(ox * oy * oz * sc * 2);
  const sxy = sx * sy;
  let o = 0;
  for (let c = 0; c < sc; c++)
    for (let z = 0; z < oz; z++) {
      const z1 = Math.min(z * fz + fz, sz);
      for (let y = 0; y < oy; y++) {
        const y1 = Math.min(y * fy + fy, sy);
        for (let x = 0; x < ox; x++) {
          const x0 = x * fx;
          const x1 = Math.min(x0 + fx, sx);
          let bi = 2 * (c * sxy * sz + z * fz * sxy + y * fy * sx + x0);
          let bh = signed ? src[bi + 1] | 0 : src[bi + 1];
          let bl = src[bi];
          for (let zz = z * fz; zz < z1; zz++)
            for (let yy = y * fy; yy < y1; yy++) {
              const row = c * sxy * sz + zz * sxy + yy * sx;
              for (let xx = x0; xx < x1; xx++) {
                const i = 2 * (row + xx);
                const h = signed ? src[i + 1] | 0 : src[i + 1];
                const l = src[i];
                const greater = h > bh || (h === bh && l > bl);
                const less = h < bh || (h === bh && l < bl);
                if (max ? greater : less) {
                  bi = i;
                  bh = h;
                  bl = l;
                }
              }
            }
          dst[o++] = src[bi];
          dst[o++] = src[bi + 1];
        }
      }
    }
  return dst;
}
