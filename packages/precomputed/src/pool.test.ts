import { closePool, kernelModulePath, runKernel } from "./pool";

const MODULE = kernelModulePath(__dirname, "pool-test-kernels");

afterAll(() => closePool());

test("a kernel runs in a worker thread and its result buffer comes back", async () => {
  const input = new Float64Array([1, 2, 3]);
  const out = await runKernel<Float64Array>(MODULE, "double", [input]);
  expect(Array.from(out)).toEqual([2, 4, 6]);
  expect(Array.from(input)).toEqual([1, 2, 3]);
});

test("transferred input buffers are moved, not copied", async () => {
  const input = new Uint8Array([7, 8, 9]);
  const out = await runKernel<{ length: number; first: number }>(MODULE, "describe", [input], {
    transfer: [input.buffer],
  });
  expect(out).toEqual({ length: 3, first: 7 });
  expect(input.byteLength).toBe(0);
});

test("an error thrown by a kernel rejects the call and the pool keeps working", async () => {
  await expect(runKernel(MODULE, "fail", ["bad chunk"])).rejects.toThrow("bad chunk");
  const out = await runKernel<Float64Array>(MODULE, "double", [new Float64Array([5])]);
  expect(out[0]).toBe(10);
});

test("an unknown kernel name is a clear error", async () => {
  await expect(runKernel(MODULE, "nope", [])).rejects.toThrow(/kernel "nope" is not exported/);
});
