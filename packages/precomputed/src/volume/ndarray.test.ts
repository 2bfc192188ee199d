/**
 * Volume reads and writes scijs ndarrays: whatever view a caller hands to
 * `write` (lo/hi/step/transpose/pick, C order, a bare `{ data, shape }`)
 * reads back voxel for voxel, for uint8 and for uint64 labels above 2^53;
 * and ndarray-ops works on what `read` returns.
 */
import ndarray from "ndarray";
import ops from "ndarray-ops";
import { fromTyped, type VoxelArray, type VoxelInput, zeros } from "../array";
import { allocTyped, type DataType, type TypedArray } from "../dtypes";
import { Bbox } from "../geometry/bbox";
import { closePool } from "../pool";
import { Volume } from "./volume";

afterAll(closePool);

const SHAPE: [number, number, number] = [16, 12, 8];
let layers = 0;

async function emptyLayer(dtype: DataType): Promise<Volume> {
  return Volume.fromArray(`mem://ndarray-test/${dtype}/${layers++}`, zeros(dtype, SHAPE), {
    type: dtype === "uint64" ? "segmentation" : "image",
    chunkSize: [8, 8, 4],
    workers: false,
  });
}

/** `n` distinct-looking values of `dtype`; uint64 ones above 2^53, so a float round trip would show. */
function values(dtype: DataType, n: number): TypedArray {
  const out = allocTyped(dtype, n);
  for (let i = 0; i < n; i++) {
    if (dtype === "uint64") (out as BigUint64Array)[i] = 2n ** 60n + BigInt(i * 7919);
    else (out as Uint8Array)[i] = (i * 37 + 11) % 251;
  }
  return out;
}

/** Voxel (x, y, z) of a 3- or 4-axis view, channel 0, by scijs `get` (or x-fastest indexing of a `{ data, shape }`). */
function at(a: VoxelInput, x: number, y: number, z: number): number | bigint {
  if (!("get" in a)) return a.data[x + a.shape[0] * (y + a.shape[1] * z)];
  const v = a as VoxelArray;
  return v.shape.length === 3 ? v.get(x, y, z) : v.get(x, y, z, 0);
}

/** The views of the issue, each of shape SHAPE (plus a channel axis where it keeps one). */
function views(dtype: DataType): [string, VoxelInput][] {
  const [sx, sy, sz] = SHAPE;
  const big = fromTyped(values(dtype, 20 * 15 * 11), [20, 15, 11, 1]);
  const doubled = fromTyped(values(dtype, 2 * sx * 2 * sy * 2 * sz), [2 * sx, 2 * sy, 2 * sz, 1]);
  const yx = fromTyped(values(dtype, sy * sx * sz), [sy, sx, sz, 1]);
  const fiveD = ndarray(
    values(dtype, sx * sy * sz * 3) as Uint8Array,
    [sx, sy, sz, 1, 3],
    [1, sx, sx * sy, sx * sy * sz, sx * sy * sz],
  );
  const cOrder = values(dtype, sx * sy * sz) as Uint8Array;
  return [
    ["lo/hi box of a larger array", big.lo(3, 2, 1, 0).hi(sx, sy, sz, 1)],
    ["step(2) of an array twice the size", doubled.step(2, 2, 2, 1)],
    ["step(-1) along x and z", doubled.hi(sx, sy, sz, 1).step(-1, 1, -1, 1)],
    ["transpose of a [y, x, z] array", yx.transpose(1, 0, 2, 3)],
    ["pick of a 5-axis array", fiveD.pick(null, null, null, null, 2)],
    [
      "pick of the channel axis (3 axes)",
      big.lo(2, 1, 0, 0).hi(sx, sy, sz, 1).pick(null, null, null, 0),
    ],
    ["C-order ndarray", ndarray(cOrder, [sx, sy, sz])],
    ["{ data, shape }", { data: values(dtype, sx * sy * sz), shape: [sx, sy, sz] }],
  ];
}

describe.each(["uint8", "uint64"] as const)("%s", (dtype) => {
  test.each(views(dtype))(
    "a %s written through Volume.write reads back identically",
    async (_, view) => {
      const vol = await emptyLayer(dtype);
      await vol.write(vol.bounds, view);
      const back = await vol.read(vol.bounds);
      expect(back.shape).toEqual([...SHAPE, 1]);
      expect(back.stride).toEqual([1, 16, 16 * 12, 16 * 12 * 8]);
      let wrong = 0;
      for (let z = 0; z < SHAPE[2]; z++)
        for (let y = 0; y < SHAPE[1]; y++)
          for (let x = 0; x < SHAPE[0]; x++)
            if (back.get(x, y, z, 0) !== at(view, x, y, z)) wrong++;
      expect(wrong).toBe(0);
    },
  );

  test("a view written at an unaligned box with read-modify-write lands there only", async () => {
    const vol = await emptyLayer(dtype);
    const [, view] = views(dtype)[3]; // the transposed one: x strides
    const part = (view as VoxelArray).lo(1, 2, 1, 0).hi(5, 6, 3, 1);
    const box = new Bbox([3, 1, 2], [8, 7, 5]);
    await vol.write(box, part, { readModifyWrite: true });
    const back = await vol.read(vol.bounds);
    const zero = dtype === "uint64" ? 0n : 0;
    let wrong = 0;
    for (let z = 0; z < SHAPE[2]; z++)
      for (let y = 0; y < SHAPE[1]; y++)
        for (let x = 0; x < SHAPE[0]; x++) {
          const inside = x >= 3 && x < 8 && y >= 1 && y < 7 && z >= 2 && z < 5;
          const want = inside ? part.get(x - 3, y - 1, z - 2, 0) : zero;
          if (back.get(x, y, z, 0) !== want) wrong++;
        }
    expect(wrong).toBe(0);
  });
});

test("a view of the wrong shape or dtype is refused before anything is written", async () => {
  const vol = await emptyLayer("uint8");
  const big = zeros("uint8", [20, 15, 11]);
  await expect(vol.write(vol.bounds, big.hi(16, 12, 7, 1))).rejects.toThrow(/does not fit box/);
  await expect(vol.write(vol.bounds, zeros("uint16", SHAPE))).rejects.toThrow(
    /cannot write uint16 voxels to the uint8 layer/,
  );
  await expect(vol.write(vol.bounds, new Uint8Array(16 * 12 * 8) as never)).rejects.toThrow(
    /expected an ndarray over a typed array .* got Uint8Array/,
  );
});

test("ndarray-ops works on a read result: sup, sum, and painting a box with assigns", async () => {
  const vol = await emptyLayer("uint8");
  const img = fromTyped(values("uint8", 16 * 12 * 8) as Uint8Array, SHAPE);
  await vol.write(vol.bounds, img);
  const cut = await vol.read<Uint8Array>(new Bbox([2, 3, 1], [12, 11, 7]));
  let max = 0;
  let sum = 0;
  for (let z = 1; z < 7; z++)
    for (let y = 3; y < 11; y++)
      for (let x = 2; x < 12; x++) {
        const v = img.get(x, y, z, 0);
        max = Math.max(max, v);
        sum += v;
      }
  expect(ops.sup(cut)).toBe(max);
  expect(ops.sum(cut)).toBe(sum);
  // Paint a 2x2x2 box of the cutout and write the whole cutout back.
  ops.assigns(cut.lo(1, 1, 1, 0).hi(2, 2, 2, 1), 255);
  await vol.write(new Bbox([2, 3, 1], [12, 11, 7]), cut, { readModifyWrite: true });
  const after = await vol.read<Uint8Array>(vol.bounds);
  expect(after.get(3, 4, 2, 0)).toBe(255);
  expect(after.get(4, 5, 3, 0)).toBe(255);
  expect(after.get(5, 5, 3, 0)).toBe(img.get(5, 5, 3, 0));
  expect(ops.equals(after.lo(0, 0, 0, 0).hi(2, 12, 8, 1), img.hi(2, 12, 8, 1))).toBe(true);
});
