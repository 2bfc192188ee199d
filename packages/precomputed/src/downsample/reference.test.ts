/**
 * Bit-identity against the numpy reference (fixtures/reference.py): every
 * case in fixtures/cases.json is run and each mip compared byte for byte.
 * Regenerate with `python3 fixtures/make_fixtures.py`.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { VoxelArray } from "./common";
import { type DownsampleMethod, downsample } from "./downsample";

interface ArrayMeta {
  offset: number;
  shape: number[];
}
interface Case {
  name: string;
  method: DownsampleMethod;
  dtype: string;
  factor: [number, number, number];
  mips: number;
  sparse: boolean;
  input: ArrayMeta;
  outputs: ArrayMeta[];
}

const dir = join(__dirname, "fixtures");
const cases: Case[] = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8")).cases;
const blob = gunzipSync(readFileSync(join(dir, "cases.bin.gz")));

const CTORS: Record<string, { new (b: ArrayBuffer): VoxelArray; BYTES_PER_ELEMENT: number }> = {
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  int16: Int16Array,
  int64: BigInt64Array,
  float32: Float32Array,
  float64: Float64Array,
};

function load(dtype: string, meta: ArrayMeta): VoxelArray {
  const C = CTORS[dtype];
  const n = meta.shape.reduce((a, b) => a * b, 1);
  const bytes = blob.subarray(meta.offset, meta.offset + n * C.BYTES_PER_ELEMENT);
  return new C(new Uint8Array(bytes).buffer);
}

function bytesOf(a: VoxelArray): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

describe("downsampling matches the numpy reference bit for bit", () => {
  test("the fixture set covers every method", () => {
    const methods = new Set(cases.map((c) => c.method));
    expect([...methods].sort()).toEqual(["average", "max", "min", "mode", "striding"]);
  });

  test.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const input = load(c.dtype, c.input);
    const shape = c.input.shape as [number, number, number, number];
    const pyramid = downsample(c.method, input, shape, c.factor, c.mips, { sparse: c.sparse });
    expect(pyramid).toHaveLength(c.outputs.length);
    pyramid.forEach((mip, k) => {
      const want = c.outputs[k];
      expect(mip.shape).toEqual(want.shape);
      expect(mip.data.constructor).toBe(input.constructor);
      const expected = load(c.dtype, want);
      if (!bytesOf(mip.data).equals(bytesOf(expected))) {
        const i = firstDifference(mip.data, expected);
        throw new Error(
          `mip ${k + 1}: first difference at element ${i}: got ${mip.data[i]}, want ${expected[i]}`,
        );
      }
    });
  });
});

function firstDifference(a: VoxelArray, b: VoxelArray): number {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}
