/** Kernels used only by the pool's own tests. */
export function double(data: Float64Array): Float64Array {
  for (let i = 0; i < data.length; i++) data[i] *= 2;
  return data;
}

export function describe(data: Uint8Array): { length: number; first: number } {
  return { length: data.length, first: data[0] };
}

export function fail(message: string): never {
  throw new RangeError(message);
}
