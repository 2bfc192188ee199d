/**
 * Unit-testing your own analysis code against a volume that lives in memory.
 *
 * An analysis that reads from a `Volume` does not care where the layer is:
 * `Volume.fromArray("mem://...", array)` makes a complete precomputed layer
 * (info + encoded chunks) in the process's memory in one call, so a test can
 * build exactly the voxels it needs, run the real read path (chunking,
 * codecs, unaligned boxes) and check the answer it knows by construction.
 *
 *   npx jest examples/unit-testing.test.ts
 *
 * Copy this file next to your own code; jest and `@ngpipe/*` are all it needs.
 */
import { closePool, fromTyped, Volume, type VoxelArray, zeros } from "@ngpipe/precomputed";

// ---- The code under test (in a real project: its own module, imported here). --

/** Contact area between two segments: faces where one touches the other. */
interface Contact {
  a: number;
  b: number;
  /** Voxel faces shared by the two segments (x, y and z faces together). */
  faces: number;
}

/**
 * Which segments touch which, and over how many voxel faces, inside `box`
 * (`{min, max}` in voxels) of a uint32 segmentation. Pairs come with a < b,
 * sorted by decreasing contact.
 */
async function contacts(
  seg: Volume,
  box: { min: [number, number, number]; max: [number, number, number] },
): Promise<Contact[]> {
  // A scijs ndarray [x, y, z, c] with Fortran strides: its data is x fastest,
  // so the inner loop walks the typed array itself.
  const cut = await seg.read<Uint32Array>(box);
  const labels = cut.data;
  const [sx, sy, sz] = cut.shape;
  const count = new Map<string, number>();
  const touch = (p: number, q: number) => {
    if (p === q || p === 0 || q === 0) return;
    const key = p < q ? `${p},${q}` : `${q},${p}`;
    count.set(key, (count.get(key) ?? 0) + 1);
  };
  for (let z = 0; z < sz; z++)
    for (let y = 0; y < sy; y++)
      for (let x = 0; x < sx; x++) {
        const i = x + sx * (y + sy * z);
        if (x + 1 < sx) touch(labels[i], labels[i + 1]);
        if (y + 1 < sy) touch(labels[i], labels[i + sx]);
        if (z + 1 < sz) touch(labels[i], labels[i + sx * sy]);
      }
  return [...count]
    .map(([key, faces]) => {
      const [a, b] = key.split(",").map(Number);
      return { a, b, faces };
    })
    .sort((p, q) => q.faces - p.faces || p.a - q.a || p.b - q.b);
}

// ---- The tests. ------------------------------------------------------------

afterAll(closePool); // Volume decodes batches of chunks in a worker pool.

/** Two half-spaces split at x = 8, plus a small cube of 3 inside the right half. */
function halves(): VoxelArray {
  const seg = zeros("uint32", [16, 16, 16]);
  for (let z = 0; z < 16; z++)
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) seg.set(x, y, z, 0, x < 8 ? 1 : 2);
  for (let z = 4; z < 6; z++)
    for (let y = 4; y < 6; y++) for (let x = 10; x < 12; x++) seg.set(x, y, z, 0, 3);
  return seg;
}

test("two half-spaces touch over one full plane", async () => {
  // The two lines: make a layer in memory from an array, then analyse it.
  const labels = Uint32Array.from({ length: 16 ** 3 }, (_, i) => (i % 16 < 8 ? 1 : 2));
  const vol = await Volume.fromArray("mem://lab-tests/halves", fromTyped(labels, [16, 16, 16]));

  expect(await contacts(vol, { min: [0, 0, 0], max: [16, 16, 16] })).toEqual([
    { a: 1, b: 2, faces: 16 * 16 },
  ]);
});

test("a 2x2x2 cube inside another segment touches it on all 24 outer faces", async () => {
  const vol = await Volume.fromArray("mem://lab-tests/cube", halves(), {
    chunkSize: [8, 8, 8], // several chunks, so the read stitches them together
    encoding: "compressed_segmentation",
  });
  expect(await contacts(vol, { min: [0, 0, 0], max: [16, 16, 16] })).toEqual([
    { a: 1, b: 2, faces: 256 },
    { a: 2, b: 3, faces: 24 },
  ]);
});

test("an unaligned box only counts the faces inside it", async () => {
  const vol = await Volume.fromArray("mem://lab-tests/cube-box", halves(), {
    chunkSize: [8, 8, 8],
  });
  // x 6..11 crosses the 1|2 plane; y 0..4 and z 0..4 reach one corner row of the cube.
  const found = await contacts(vol, { min: [6, 0, 0], max: [12, 5, 5] });
  expect(found).toEqual([
    { a: 1, b: 2, faces: 5 * 5 },
    // Cube voxels inside the box: x 10 and 11 at y 4, z 4. Their faces to
    // segment 2 inside the box: -x of x=10 (x=12 is outside), -y and -z of both.
    { a: 2, b: 3, faces: 5 },
  ]);
});

test("background (0) never counts as a contact", async () => {
  const seg = new Uint32Array(8 * 8 * 8); // all zero but one voxel
  seg[9] = 5;
  const vol = await Volume.fromArray("mem://lab-tests/empty", fromTyped(seg, [8, 8, 8]));
  expect(await contacts(vol, { min: [0, 0, 0], max: [8, 8, 8] })).toEqual([]);
});
