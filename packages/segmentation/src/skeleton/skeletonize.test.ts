import { treeCount } from "./forest.testutil";
import { type Skeleton, type SkeletonizeOptions, skeletonize, skeletonStats } from "./skeletonize";

type Shape = [number, number, number];

function volume(shape: Shape, inside: (x: number, y: number, z: number) => number): Uint32Array {
  const [sx, sy, sz] = shape;
  const out = new Uint32Array(sx * sy * sz);
  for (let z = 0; z < sz; z++)
    for (let y = 0; y < sy; y++)
      for (let x = 0; x < sx; x++) out[x + sx * (y + sy * z)] = inside(x, y, z);
  return out;
}

/** Checks TEASAR's guarantees for one object: vertices inside, and every voxel covered by some ball. */
function expectInsideAndCovered(
  labels: Uint32Array,
  shape: Shape,
  skel: Skeleton,
  anisotropy: Shape,
  scale: number,
  konst: number,
): void {
  const [sx, sy, sz] = shape;
  const n = skel.vertices.length / 3;
  const vox: number[][] = [];
  for (let v = 0; v < n; v++) {
    const p = [0, 1, 2].map((a) => Math.round(skel.vertices[3 * v + a] / anisotropy[a]));
    expect(labels[p[0] + sx * (p[1] + sy * p[2])]).toBe(skel.id);
    vox.push(p);
  }
  for (let z = 0; z < sz; z++)
    for (let y = 0; y < sy; y++)
      for (let x = 0; x < sx; x++) {
        if (labels[x + sx * (y + sy * z)] !== skel.id) continue;
        let covered = false;
        for (let v = 0; v < n && !covered; v++) {
          const d = Math.hypot(
            (x - vox[v][0]) * anisotropy[0],
            (y - vox[v][1]) * anisotropy[1],
            (z - vox[v][2]) * anisotropy[2],
          );
          covered = d <= scale * skel.radii[v] + konst + 1e-3;
        }
        if (!covered) throw new Error(`voxel (${x}, ${y}, ${z}) of ${skel.id} is not covered`);
      }
}

const small: SkeletonizeOptions = { dust: 0, teasar: { scale: 1.5, const: 1 } };

describe("skeletonize", () => {
  test("a tube along x gives one unbranched path along its axis", () => {
    const shape: Shape = [60, 11, 11];
    const labels = volume(shape, (x, y, z) =>
      (y - 5) ** 2 + (z - 5) ** 2 <= 16 && x > 2 && x < 57 ? 7 : 0,
    );
    const [skel] = skeletonize(labels, shape, small);
    expect(skel.id).toBe(7);
    expect(treeCount(skel)).toBe(1);
    const stats = skeletonStats(skel);
    expect(stats.branchPoints).toBe(0);
    expect(stats.endPoints).toBe(2);
    // It runs close to the full length (54 voxels) of the tube.
    expect(stats.cableLength).toBeGreaterThan(40);
    expect(stats.cableLength).toBeLessThan(60);
    expectInsideAndCovered(labels, shape, skel, [1, 1, 1], 1.5, 1);
  });

  test("a cross gives a branched tree that covers every voxel", () => {
    const shape: Shape = [41, 41, 7];
    const labels = volume(shape, (x, y, z) =>
      z > 0 &&
      z < 6 &&
      ((Math.abs(y - 20) <= 2 && x > 1 && x < 39) || (Math.abs(x - 20) <= 2 && y > 1 && y < 39))
        ? 3
        : 0,
    );
    const [skel] = skeletonize(labels, shape, small);
    expect(treeCount(skel)).toBe(1);
    const stats = skeletonStats(skel);
    expect(stats.endPoints).toBeGreaterThanOrEqual(4);
    expect(stats.branchPoints).toBeGreaterThanOrEqual(1);
    expectInsideAndCovered(labels, shape, skel, [1, 1, 1], 1.5, 1);
  });

  test("a sphere with anisotropic voxels is covered, vertices inside, radii from the boundary", () => {
    const shape: Shape = [31, 31, 9];
    const anisotropy: Shape = [4, 4, 16];
    const labels = volume(shape, (x, y, z) =>
      ((x - 15) * 4) ** 2 + ((y - 15) * 4) ** 2 + ((z - 4) * 16) ** 2 <= 56 ** 2 ? 1 : 0,
    );
    const opts: SkeletonizeOptions = { anisotropy, dust: 0, teasar: { scale: 1.2, const: 8 } };
    const [skel] = skeletonize(labels, shape, opts);
    expect(treeCount(skel)).toBe(1);
    expect(Math.max(...skel.radii)).toBeGreaterThan(40);
    expectInsideAndCovered(labels, shape, skel, anisotropy, 1.2, 8);
  });

  test("objects in pieces give one tree per 26-connected piece; without fixBranching too", () => {
    const shape: Shape = [40, 9, 9];
    const labels = volume(shape, (x, y, z) =>
      (y - 4) ** 2 + (z - 4) ** 2 <= 4 && (x < 15 || x > 24) ? 5 : 0,
    );
    for (const fixBranching of [true, false]) {
      const [skel] = skeletonize(labels, shape, { ...small, fixBranching });
      expect(treeCount(skel)).toBe(2);
      expectInsideAndCovered(labels, shape, skel, [1, 1, 1], 1.5, 1);
    }
  });

  test("dust and objectIds choose the objects; 64-bit ids come back as bigints", () => {
    const shape: Shape = [30, 10, 10];
    const plain = volume(shape, (x, y, z) =>
      y > 2 && y < 7 && z > 2 && z < 7 ? (x < 14 ? 1 : x > 15 && x < 18 ? 2 : 0) : 0,
    );
    expect(skeletonize(plain, shape, { ...small, dust: 100 }).map((s) => s.id)).toEqual([1]);
    expect(skeletonize(plain, shape, { ...small, objectIds: [2] }).map((s) => s.id)).toEqual([2]);
    const wide = BigUint64Array.from(plain, (v) => (v === 0 ? 0n : BigInt(v) + (1n << 40n)));
    expect(skeletonize(wide, shape, small).map((s) => s.id)).toEqual([
      1n + (1n << 40n),
      2n + (1n << 40n),
    ]);
  });

  test("fixBorders: two blocks sharing a face plane put a vertex at the same point of it", () => {
    const shape: Shape = [40, 15, 15];
    const labels = volume(shape, (_x, y, z) => ((y - 7) ** 2 + (z - 6) ** 2 <= 12 ? 9 : 0));
    // Blocks [0, 21) and [20, 40) share the plane x = 20.
    const crop = (x0: number, x1: number): Uint32Array => {
      const out = new Uint32Array((x1 - x0) * 15 * 15);
      for (let z = 0; z < 15; z++)
        for (let y = 0; y < 15; y++)
          for (let x = x0; x < x1; x++)
            out[x - x0 + (x1 - x0) * (y + 15 * z)] = labels[x + 40 * (y + 15 * z)];
      return out;
    };
    const [a] = skeletonize(crop(0, 21), [21, 15, 15], small);
    const [b] = skeletonize(crop(20, 40), [20, 15, 15], small);
    const onPlane = (s: Skeleton, x: number) => {
      const pts: string[] = [];
      for (let v = 0; v < s.vertices.length / 3; v++)
        if (s.vertices[3 * v] === x) pts.push(`${s.vertices[3 * v + 1]},${s.vertices[3 * v + 2]}`);
      return pts;
    };
    const fromA = onPlane(a, 20);
    const fromB = onPlane(b, 0);
    expect(fromA.length).toBeGreaterThan(0);
    expect(fromA.some((p) => fromB.includes(p))).toBe(true);
  });

  test("skeletonStats measures cable length, branch and end points", () => {
    const star = {
      vertices: new Float32Array([0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5]),
      edges: new Uint32Array([0, 1, 0, 2, 0, 3]),
    };
    expect(skeletonStats(star)).toEqual({ cableLength: 12, branchPoints: 1, endPoints: 3 });
  });
});
