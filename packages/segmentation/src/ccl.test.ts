import fc from "fast-check";
import { connectedComponents } from "./ccl";
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
});
