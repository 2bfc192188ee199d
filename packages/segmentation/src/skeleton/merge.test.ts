import { treeCount } from "./forest.testutil";
import { mergeSkeletonFragments, type SkeletonGraph } from "./merge";
import { skeletonize, skeletonStats } from "./skeletonize";

const RES: [number, number, number] = [1, 1, 1];

function graph(points: number[][], edges: number[][]): SkeletonGraph {
  return {
    vertices: Float32Array.from(points.flat()),
    edges: Uint32Array.from(edges.flat()),
    radii: Float32Array.from(points, () => 1),
  };
}

test("fragments meeting at a shared voxel are welded into one path", () => {
  const a = graph(
    [
      [0, 0, 0],
      [1, 0, 0],
      [2, 0, 0],
    ],
    [
      [0, 1],
      [1, 2],
    ],
  );
  const b = graph(
    [
      [2, 0, 0],
      [3, 0, 0],
    ],
    [[0, 1]],
  );
  const m = mergeSkeletonFragments([a, b], { resolution: RES });
  expect(m.radii.length).toBe(4);
  expect(m.edges.length / 2).toBe(3);
  expect(treeCount(m)).toBe(1);
  expect(skeletonStats(m)).toEqual({ cableLength: 3, branchPoints: 0, endPoints: 2 });
});

test("a cycle made by two fragments tracing the shared plane differently is cut", () => {
  const a = graph(
    [
      [0, 0, 0],
      [1, 0, 0],
      [1, 1, 0],
    ],
    [
      [0, 1],
      [1, 2],
    ],
  );
  const b = graph(
    [
      [0, 0, 0],
      [0, 1, 0],
      [1, 1, 0],
    ],
    [
      [0, 1],
      [1, 2],
    ],
  );
  const m = mergeSkeletonFragments([a, b], { resolution: RES });
  expect(m.radii.length).toBe(4);
  expect(treeCount(m)).toBe(1);
  expect(m.edges.length / 2).toBe(3);
});

test("vertices are welded by voxel under anisotropic resolution, keeping the larger radius", () => {
  const a: SkeletonGraph = {
    vertices: Float32Array.from([0, 0, 0, 4.0001, 0, 40]),
    edges: Uint32Array.from([0, 1]),
    radii: Float32Array.from([3, 5]),
  };
  const b: SkeletonGraph = {
    vertices: Float32Array.from([4, 0, 40, 8, 0, 80]),
    edges: Uint32Array.from([0, 1]),
    radii: Float32Array.from([7, 2]),
  };
  const m = mergeSkeletonFragments([a, b], { resolution: [4, 4, 40] });
  expect(m.radii.length).toBe(3);
  expect([...m.radii].sort((x, y) => x - y)).toEqual([2, 3, 7]);
  expect([...m.vertices]).toContain(80);
});

test("pieces with less cable than dust are dropped", () => {
  const long = graph(
    [
      [0, 0, 0],
      [10, 0, 0],
    ],
    [[0, 1]],
  );
  const speck = graph(
    [
      [50, 50, 50],
      [51, 50, 50],
    ],
    [[0, 1]],
  );
  const m = mergeSkeletonFragments([long, speck], { resolution: RES, dust: 5 });
  expect(m.radii.length).toBe(2);
  expect(skeletonStats(m).cableLength).toBe(10);
});

test("short ticks are pruned, long branches and the main path kept", () => {
  // A path along x from 0 to 20, a tick of length 2 at x=10, a branch of length 8 at x=5.
  const points: number[][] = [];
  const edges: number[][] = [];
  for (let x = 0; x <= 20; x++) {
    points.push([x, 0, 0]);
    if (x > 0) edges.push([x - 1, x]);
  }
  const tick = points.length;
  points.push([10, 1, 0], [10, 2, 0]);
  edges.push([10, tick], [tick, tick + 1]);
  const branch = points.length;
  for (let y = 1; y <= 8; y++) {
    points.push([5, -y, 0]);
    edges.push([y === 1 ? 5 : branch + y - 2, branch + y - 1]);
  }
  const m = mergeSkeletonFragments([graph(points, edges)], { resolution: RES, tickThreshold: 4 });
  expect(skeletonStats(m)).toEqual({ cableLength: 28, branchPoints: 1, endPoints: 3 });
  expect(treeCount(m)).toBe(1);
});

test("a lone short path is not pruned away as a tick", () => {
  const m = mergeSkeletonFragments(
    [
      graph(
        [
          [0, 0, 0],
          [1, 0, 0],
        ],
        [[0, 1]],
      ),
    ],
    { resolution: RES, tickThreshold: 100 },
  );
  expect(m.radii.length).toBe(2);
});

test("an edge naming a missing vertex is refused", () => {
  const bad: SkeletonGraph = {
    vertices: new Float32Array(3),
    edges: Uint32Array.from([0, 4]),
    radii: new Float32Array(1),
  };
  expect(() => mergeSkeletonFragments([bad], { resolution: RES })).toThrow(/vertex 4 of 1/);
});

test("a tube skeletonized in two blocks sharing a face plane merges into one tree like the whole", () => {
  const shape: [number, number, number] = [40, 9, 9];
  const labels = new Uint32Array(40 * 81);
  for (let z = 0; z < 9; z++)
    for (let y = 0; y < 9; y++)
      for (let x = 0; x < 40; x++)
        if ((y - 4) ** 2 + (z - 4) ** 2 <= 9) labels[x + 40 * (y + 9 * z)] = 1;
  const opts = { dust: 0, teasar: { scale: 1.5, const: 2 } };
  const whole = skeletonize(labels, shape, opts)[0];
  const half = (x0: number, x1: number) => {
    const w = x1 - x0;
    const part = new Uint32Array(w * 81);
    for (let i = 0; i < 81; i++)
      for (let x = 0; x < w; x++) part[x + w * i] = labels[x0 + x + 40 * i];
    const s = skeletonize(part, [w, 9, 9], opts)[0];
    for (let v = 0; v < s.radii.length; v++) s.vertices[3 * v] += x0;
    return s;
  };
  const merged = mergeSkeletonFragments([half(0, 21), half(20, 40)], { resolution: RES });
  const ref = mergeSkeletonFragments([whole], { resolution: RES });
  expect(treeCount(merged)).toBe(1);
  const a = skeletonStats(merged);
  const b = skeletonStats(ref);
  expect([a.branchPoints, a.endPoints]).toEqual([b.branchPoints, b.endPoints]);
  expect(Math.abs(a.cableLength - b.cableLength)).toBeLessThan(3);
});
