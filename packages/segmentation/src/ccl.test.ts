import fc from "fast-check";
import { comparableLabels, connectedComponents, labelRuns, labelRunsWasm } from "./ccl";
import type { LabelArray, Shape3 } from "./label-array";
import { LabelArrayError } from "./label-array";

/** Breadth-first search from each unlabelled voxel in scan order: the definition, slowly. */
function reference(
  labels: ArrayLike<number | bigint>,
  [sx, sy, sz]: Shape3,
  connectivity: 6 | 18 | 26,
  isBackground: (v: number | bigint) => boolean,
): { labels: Uint32Array; count: number } {
  const out = new Uint32Array(labels.length);
  const offsets: [number, number, number][] = [];
  for (let dz = -1; dz <= 1; dz++)
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const d = Math.abs(dx) + Math.abs(dy) + Math.abs(dz);
        if (d === 0 || (connectivity === 6 && d > 1) || (connectivity === 18 && d > 2)) continue;
        offsets.push([dx, dy, dz]);
      }
  let count = 0;
  const queue: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    if (out[i] !== 0 || isBackground(labels[i])) continue;
    out[i] = ++count;
    queue.push(i);
    while (queue.length > 0) {
      const j = queue.pop() as number;
      const x = j % sx;
      const y = Math.floor(j / sx) % sy;
      const z = Math.floor(j / (sx * sy));
      for (const [dx, dy, dz] of offsets) {
        const [nx, ny, nz] = [x + dx, y + dy, z + dz];
        if (nx < 0 || ny < 0 || nz < 0 || nx >= sx || ny >= sy || nz >= sz) continue;
        const k = nx + sx * (ny + sy * nz);
        if (out[k] === 0 && labels[k] === labels[j]) {
          out[k] = count;
          queue.push(k);
        }
      }
    }
  }
  return { labels: out, count };
}

const shapes = fc.tuple(
  fc.integer({ min: 1, max: 9 }),
  fc.integer({ min: 1, max: 9 }),
  fc.integer({ min: 1, max: 7 }),
);
const connectivities = fc.constantFrom(6 as const, 18 as const, 26 as const);

describe("connectedComponents", () => {
  test("numbers components 1..N by their first voxel in the x-fastest scan", () => {
    // Two labels; the 2s at x=0 and x=3 are apart, the 1s one block.
    const labels = new Uint32Array([2, 1, 1, 2, 0, 1, 1, 0]);
    const r = connectedComponents(labels, [4, 2, 1], { connectivity: 6 });
    expect(Array.from(r.labels)).toEqual([1, 2, 2, 3, 0, 2, 2, 0]);
    expect(r.count).toBe(3);
  });

  test("diagonal neighbours join under 26- but not 6- or 18-connectivity", () => {
    const labels = new Uint8Array(8);
    labels[0] = 5; // (0,0,0)
    labels[7] = 5; // (1,1,1)
    expect(connectedComponents(labels, [2, 2, 2], { connectivity: 26 }).count).toBe(1);
    expect(connectedComponents(labels, [2, 2, 2], { connectivity: 18 }).count).toBe(2);
    expect(connectedComponents(labels, [2, 2, 2], { connectivity: 6 }).count).toBe(2);
  });

  test("property: equals breadth-first search for every connectivity (uint32)", () => {
    fc.assert(
      fc.property(
        shapes,
        connectivities,
        fc.integer({ min: 1, max: 4 }),
        fc.integer(),
        (shape, c, k, seed) => {
          const n = shape[0] * shape[1] * shape[2];
          let s = seed >>> 0;
          const labels = new Uint32Array(n);
          for (let i = 0; i < n; i++) {
            s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
            labels[i] = (s >>> 24) % (k + 1);
          }
          const got = connectedComponents(labels, shape, { connectivity: c });
          const want = reference(labels, shape, c, (v) => v === 0);
          expect(got.count).toBe(want.count);
          expect(got.labels).toEqual(want.labels);
        },
      ),
      { numRuns: 300 },
    );
  });

  test("property: uint64 ids differing only in the high word are different labels", () => {
    fc.assert(
      fc.property(
        shapes,
        connectivities,
        fc.array(fc.bigInt({ min: 0n, max: 3n }), { minLength: 1, maxLength: 600 }),
        (shape, c, pool) => {
          const n = shape[0] * shape[1] * shape[2];
          const labels = new BigUint64Array(n);
          // Same low word (7), high words 0..3: only the high word tells them apart.
          for (let i = 0; i < n; i++) labels[i] = (pool[i % pool.length] << 32n) | 7n;
          labels[0] = 0n;
          const got = connectedComponents(labels, shape, { connectivity: c });
          const want = reference(labels, shape, c, (v) => v === 0n);
          expect(got.labels).toEqual(want.labels);
        },
      ),
      { numRuns: 200 },
    );
  });

  test("a nonzero background, signed and 16-bit inputs", () => {
    const values = [-1, 4, 4, -1, 3, -1];
    const i16 = new Int16Array(values);
    const r = connectedComponents(i16, [3, 2, 1], { connectivity: 6, background: -1 });
    expect(r.labels).toEqual(reference(i16, [3, 2, 1], 6, (v) => v === -1).labels);
    const u16 = new Uint16Array([0, 7, 7, 0]);
    expect(Array.from(connectedComponents(u16, [4, 1, 1], { background: 7 }).labels)).toEqual([
      1, 0, 0, 2,
    ]);
  });

  test("a threshold labels the components of lo <= value < hi", () => {
    const img = new Float32Array([0.1, 0.6, 0.7, 0.2, 0.9, 1.5]);
    const r = connectedComponents(img, [6, 1, 1], { threshold: [0.5, 1.0] });
    expect(Array.from(r.labels)).toEqual([0, 1, 1, 0, 2, 0]);
  });

  test("a float array without a threshold is a LabelArrayError", () => {
    expect(() => connectedComponents(new Float64Array(8), [2, 2, 2])).toThrow(LabelArrayError);
    expect(() => connectedComponents(new Float64Array(8), [2, 2, 2])).toThrow(/threshold/);
  });

  test("a shape that does not match, a bad connectivity or an impossible background is refused", () => {
    expect(() => connectedComponents(new Uint32Array(7), [2, 2, 2])).toThrow(LabelArrayError);
    expect(() =>
      connectedComponents(new Uint32Array(8), [2, 2, 2], { connectivity: 4 as 6 }),
    ).toThrow(/connectivity/);
    expect(() => connectedComponents(new Uint8Array(8), [2, 2, 2], { background: 300 })).toThrow(
      /background 300/,
    );
  });

  test("firstVoxels gives each component's first voxel", () => {
    const labels = new Uint32Array([0, 3, 0, 3, 3, 0, 9, 9]) as LabelArray;
    const r = connectedComponents(labels, [2, 2, 2], { connectivity: 6, firstVoxels: true });
    for (let k = 1; k <= r.count; k++) expect(r.labels.indexOf(k)).toBe(r.firstVoxels?.[k - 1]);
  });

  test("more provisional labels than the first allocation (a checkerboard)", () => {
    const shape: Shape3 = [64, 64, 20];
    const labels = new Uint32Array(64 * 64 * 20);
    for (let i = 0; i < labels.length; i++) labels[i] = i % 2 === 0 ? 1 : 2 + (i % 3);
    const got = connectedComponents(labels, shape, { connectivity: 6 });
    expect(got.labels).toEqual(reference(labels, shape, 6, (v) => v === 0).labels);
  });

  test("property: the WebAssembly and JavaScript run labellings equal breadth-first search on blobs", () => {
    // Few labels in blocky regions: long runs, runs right below that cover
    // the current one, and boundaries that move by one voxel per row.
    fc.assert(
      fc.property(
        fc.tuple(
          fc.integer({ min: 1, max: 24 }),
          fc.integer({ min: 1, max: 12 }),
          fc.integer({ min: 1, max: 8 }),
        ),
        connectivities,
        fc.integer({ min: 1, max: 6 }),
        fc.integer(),
        (shape, c, cells, seed) => {
          const labels = blobs(shape, cells, seed);
          const want = reference(labels, shape, c, (v) => v === 0);
          for (const label of [labelRuns, labelRunsWasm]) {
            const got = label(labels, shape, c, true);
            expect(got?.count).toBe(want.count);
            expect(got?.labels).toEqual(want.labels);
            for (let k = 1; k <= want.count; k++)
              expect(got?.firstVoxels?.[k - 1]).toBe(want.labels.indexOf(k));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test("every dtype, a threshold and uint64 ids above 2^32 take the same path as their uint32 keys", () => {
    const shape: Shape3 = [20, 9, 7];
    const base = blobs(shape, 5, 7);
    const n = base.length;
    const u64 = new BigUint64Array(n);
    for (let i = 0; i < n; i++) u64[i] = base[i] === 0 ? 0n : (BigInt(base[i]) << 33n) | 5n;
    const image = Float32Array.from(base, (v) => v / 10);
    const inputs: [LabelArray, (v: number | bigint) => boolean][] = [
      [Uint8Array.from(base), (v) => v === 0],
      [Int16Array.from(base, (v) => v - 1), (v) => v === -1],
      [u64, (v) => v === 0n],
      [BigInt64Array.from(u64, (v) => -v), (v) => v === 0n],
    ];
    for (const c of [6, 18, 26] as const) {
      for (const [labels, isBackground] of inputs) {
        const background = labels instanceof Int16Array ? -1 : 0;
        const got = connectedComponents(labels, shape, { connectivity: c, background });
        expect(got.labels).toEqual(reference(labels, shape, c, isBackground).labels);
      }
      const fg = connectedComponents(image, shape, { connectivity: c, threshold: [0.15, 0.45] });
      const keys = comparableLabels(image, { threshold: [0.15, 0.45] });
      expect(fg.labels).toEqual(reference(keys, shape, c, (v) => v === 0).labels);
      expect(fg.labels).toEqual(labelRuns(keys, shape, c, false).labels);
    }
  });

  test("a volume whose runs outgrow the first memory of the WebAssembly module", () => {
    // Alternating ids: one run per voxel, far more than the first guess of runs.
    const shape: Shape3 = [130, 70, 30];
    const labels = new Uint32Array(shape[0] * shape[1] * shape[2]);
    for (let i = 0; i < labels.length; i++) labels[i] = 1 + ((i * 7919) % 3);
    for (const c of connectivities3) {
      const got = labelRunsWasm(labels, shape, c, true);
      const want = labelRuns(labels, shape, c, true);
      expect(got?.count).toBe(want.count);
      // First difference (-1: none); toEqual on 273,000 entries is slow.
      expect(firstDifference(got?.labels, want.labels)).toBe(-1);
      expect(firstDifference(got?.firstVoxels, want.firstVoxels)).toBe(-1);
    }
  });
});

const connectivities3 = [6, 18, 26] as const;

function firstDifference(a: Uint32Array | undefined, b: Uint32Array | undefined): number {
  if (!a || !b || a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** `cells` labels (0 among them) in boxes of random size along each axis: blocky regions. */
function blobs(shape: Shape3, cells: number, seed: number): Uint32Array {
  let s = seed >>> 0;
  const rand = (k: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) % k;
  };
  const [sx, sy, sz] = shape;
  const labels = new Uint32Array(sx * sy * sz);
  for (let b = 0; b < 2 * cells + 2; b++) {
    const v = rand(cells + 1);
    const [x0, y0, z0] = [rand(sx), rand(sy), rand(sz)];
    const [x1, y1, z1] = [x0 + 1 + rand(sx), y0 + 1 + rand(sy), z0 + 1 + rand(sz)];
    for (let z = z0; z < Math.min(z1, sz); z++)
      for (let y = y0; y < Math.min(y1, sy); y++)
        // A slanted x range: boundaries that move one voxel per row and plane.
        for (let x = x0 + ((y + z) % 2); x < Math.min(x1 + (y % 3), sx); x++)
          labels[x + sx * (y + sy * z)] = v;
  }
  return labels;
}
