/**
 * The image-analysis kernels against the numpy reference
 * (fixtures/make_fixtures.py): per-slice histograms, the limits of each clip
 * fraction, and the stretched stacks, compared exactly. Regenerate with
 * `python3 fixtures/make_fixtures.py`.
 */
import { checkClip, contrastLimits, stretchContrast } from "./contrast";
import { ImageKernelError } from "./errors";
import { caseHistograms, imageCases as cases, loadImage as image } from "./fixtures.testutil";
import { sliceHistograms } from "./histogram";

describe.each(cases.map((c) => [c.name, c] as const))("%s matches numpy", (_name, c) => {
  test("sliceHistograms equals np.bincount of every slice", () => {
    const got = sliceHistograms(image(c, c.input), c.input.shape);
    expect(
      Buffer.from(got.buffer).equals(
        Buffer.from(Float64Array.from(caseHistograms(c).flat()).buffer),
      ),
    ).toBe(true);
  });

  test.each(c.clips.map((k) => [k.clip.join("/"), k] as const))(
    "clip %s: limits and stretched stack",
    (_clip, k) => {
      const hist = sliceHistograms(image(c, c.input), c.input.shape);
      const bins = c.dtype === "uint8" ? 256 : 65536;
      const depth = c.input.shape[2];
      const limits = new Float64Array(2 * depth);
      for (let z = 0; z < depth; z++) {
        const l = contrastLimits(hist.subarray(z * bins, (z + 1) * bins), k.clip[0], k.clip[1]);
        limits.set(l, 2 * z);
      }
      expect(Array.from(limits)).toEqual(k.limits.flat());
      const got = stretchContrast(image(c, c.input), c.input.shape, limits);
      const want = image(c, k.output);
      expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true);
    },
  );
});

test("the direct path and the lookup-table path of stretchContrast agree", () => {
  // 16x16 slices of uint16 (256 voxels < 65536 bins) take the direct path;
  // the same values repeated over a 256x256 slice take the table.
  const small = new Uint16Array(256);
  for (let i = 0; i < 256; i++) small[i] = (i * 257) % 65536;
  const big = new Uint16Array(65536);
  for (let i = 0; i < big.length; i++) big[i] = small[i % 256];
  const limits = [1000, 50000];
  const a = stretchContrast(small.slice(), [16, 16, 1], limits);
  const b = stretchContrast(big, [256, 256, 1], limits);
  for (let i = 0; i < big.length; i++) if (b[i] !== a[i % 256]) throw new Error(`voxel ${i}`);
  expect(a[0]).toBe(0);
  expect(a[255]).toBe(65535);
});

test("contrastLimits ignores black and leaves an all-black slice alone", () => {
  const h = new Float64Array(256);
  h[0] = 1e6;
  expect(contrastLimits(h, 0.01)).toEqual([0, 0]);
  h[100] = 1;
  expect(contrastLimits(h, 0.01)).toEqual([99, 99]);
});

describe("bad input is an ImageKernelError naming the argument", () => {
  test.each([
    ["float data", () => sliceHistograms(new Float32Array(8) as never, [2, 2, 2]), /data/],
    ["short array", () => sliceHistograms(new Uint8Array(7), [2, 2, 2]), /shape.*8 voxels/],
    ["channels", () => sliceHistograms(new Uint8Array(16), [2, 2, 2, 2]), /shape/],
    ["negative clip", () => checkClip(-0.1, 0), /clipFraction/],
    ["clips over 1", () => contrastLimits(new Float64Array(256), 0.6, 0.5), /clipFraction/],
    ["limits length", () => stretchContrast(new Uint8Array(8), [2, 2, 2], [0, 1]), /limits/],
    ["limits range", () => stretchContrast(new Uint8Array(4), [2, 2, 1], [0, 300]), /limits/],
  ])("%s", (_what, call, message) => {
    expect(call).toThrow(ImageKernelError);
    expect(call).toThrow(message);
  });
});
