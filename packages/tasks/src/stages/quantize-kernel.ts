/**
 * The quantize kernel: one channel of a float affinity map as 8-bit voxels.
 */

/**
 * Channel `channel` of a float array of shape `[x, y, z, c]` (x fastest) as
 * uint8: `trunc(v * 255)`, as Igneous' `QuantizeTask` does
 * (`(image * 255.0).astype(np.uint8)`). For float32 input the product is
 * rounded to float32 first, as numpy computes it. Values below 0 (and NaN)
 * give 0 and values above 1 give 255, where numpy's cast is undefined.
 *
 * @example quantizeChannel(affinities, [64, 64, 16, 3], 0) // Uint8Array of 64*64*16
 */
export function quantizeChannel(
  data: Float32Array | Float64Array,
  shape: readonly [number, number, number, number],
  channel: number,
): Uint8Array {
  const n = shape[0] * shape[1] * shape[2];
  if (data.length !== n * shape[3]) {
    throw new RangeError(
      `quantizeChannel: shape [${shape.join(", ")}] holds ${n * shape[3]} values, the array has ${data.length}`,
    );
  }
  if (!(Number.isInteger(channel) && channel >= 0 && channel < shape[3])) {
    throw new RangeError(`quantizeChannel: channel ${channel} is not in 0..${shape[3] - 1}`);
  }
  const out = new Uint8Array(n);
  const base = channel * n;
  const single = data instanceof Float32Array;
  for (let i = 0; i < n; i++) {
    const p = single ? Math.fround(data[base + i] * 255) : data[base + i] * 255;
    // NaN stays NaN through Math.max and stores as 0, like negatives.
    out[i] = p >= 255 ? 255 : Math.max(p, 0);
  }
  return out;
}
