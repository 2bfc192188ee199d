import { cStrides, isXyzcLayout, roleStrides, splitInnerPath } from "./layout";

test("a zyx slab is already an x-fastest block", () => {
  // h5py shape (z, y, x) = (4, 3, 5): roles z, y, x.
  const stride = roleStrides(cStrides([4, 3, 5]), [2, 1, 0]);
  expect(isXyzcLayout(stride, [5, 3, 4, 1])).toBe(true);
});

test("a czyx slab is an x-fastest block with planar channels", () => {
  const stride = roleStrides(cStrides([2, 4, 3, 5]), [3, 2, 1, 0]);
  expect(isXyzcLayout(stride, [5, 3, 4, 2])).toBe(true);
});

test("interleaved channels (zyxc) and transposed axes (xyz in C order) need a copy", () => {
  const zyxc = roleStrides(cStrides([4, 3, 5, 2]), [2, 1, 0, 3]);
  expect(isXyzcLayout(zyxc, [5, 3, 4, 2])).toBe(false);
  const xyz = roleStrides(cStrides([5, 3, 4]), [0, 1, 2]);
  expect(isXyzcLayout(xyz, [5, 3, 4, 1])).toBe(false);
});

test("axes of size 1 may have any stride", () => {
  // roles y, x with a dropped leading axis; z and c are absent (size 1, stride 0).
  const stride = roleStrides(cStrides([1, 3, 5]), [-1, 1, 0]);
  expect(isXyzcLayout(stride, [5, 3, 1, 1])).toBe(true);
  // A size-1 y axis between x and z: z's stride must still follow x's.
  expect(isXyzcLayout([1, 99, 5, 0], [5, 1, 4, 1])).toBe(true);
  expect(isXyzcLayout([1, 99, 6, 0], [5, 1, 4, 1])).toBe(false);
});

test("the container#inner separator is not a # inside a directory name", () => {
  expect(splitInnerPath("/d/cells.h5#/raw")).toEqual({ container: "/d/cells.h5", inner: "/raw" });
  expect(splitInnerPath("/d/cells.h5#raw")).toEqual({ container: "/d/cells.h5", inner: "raw" });
  expect(splitInnerPath("/runs/run #2/cells.h5#/raw/v")).toEqual({
    container: "/runs/run #2/cells.h5",
    inner: "/raw/v",
  });
  expect(splitInnerPath("/runs/run #2/cells.h5")).toEqual({ container: "/runs/run #2/cells.h5" });
  expect(splitInnerPath("/runs/#3/v.zarr/#/0")).toEqual({
    container: "/runs/#3/v.zarr/",
    inner: "/0",
  });
  expect(splitInnerPath("s3://lab/volume#/0")).toEqual({
    container: "s3://lab/volume",
    inner: "/0",
  });
  expect(splitInnerPath("s3://lab/volume#0")).toEqual({ container: "s3://lab/volume", inner: "0" });
  expect(splitInnerPath("/plain/path.npy")).toEqual({ container: "/plain/path.npy" });
});
