import { meshTopology, weldMesh } from "../kernels/mesh-utils";
import { roundWithoutPinches } from "./rounding";

/** A closed box (12 triangles, outward), vertices `lo`..`hi` per axis. */
function box(lo: number[], hi: number[], base = 0): { vertices: number[]; faces: number[] } {
  const vertices: number[] = [];
  for (let i = 0; i < 8; i++)
    vertices.push(i & 1 ? hi[0] : lo[0], i & 2 ? hi[1] : lo[1], i & 4 ? hi[2] : lo[2]);
  const quads = [
    [0, 2, 3, 1],
    [4, 5, 7, 6],
    [0, 1, 5, 4],
    [2, 6, 7, 3],
    [0, 4, 6, 2],
    [1, 3, 7, 5],
  ];
  const faces = quads.flatMap(([a, b, c, d]) => [a, b, c, a, c, d].map((v) => v + base));
  return { vertices, faces };
}

/** Two boxes whose facing sides are 0.3 apart along x: rounding puts both on x = 10. */
function nearlyTouching(y0: number, y1: number) {
  const a = box([0, y0, y0], [10, y1, y1]);
  const b = box([10.3, y0, y0], [20, y1, y1], 8);
  return {
    vertices: new Float64Array([...a.vertices, ...b.vertices]),
    faces: new Uint32Array([...a.faces, ...b.faces]),
  };
}

const noPlanes = () => Number.POSITIVE_INFINITY;

function topologyOf(grid: Float64Array, faces: Uint32Array) {
  return meshTopology(weldMesh({ vertices: new Float32Array(grid), faces }));
}

test("plain rounding pinches two sheets that pass within half a quantum", () => {
  const { vertices, faces } = nearlyTouching(1, 9);
  const t = topologyOf(vertices.map(Math.round), faces);
  expect(t.nonManifoldEdges).toBeGreaterThan(0);
  expect(t.manifold).toBe(false);
});

test("rounding without pinches keeps them apart: a closed 2-manifold, each vertex near its position", () => {
  const { vertices, faces } = nearlyTouching(1, 9);
  const grid = roundWithoutPinches(vertices, faces, noPlanes);
  expect(topologyOf(grid, faces)).toMatchObject({ manifold: true, pinchedVertices: 0 });
  for (let i = 0; i < grid.length; i++) {
    expect(Number.isInteger(grid[i])).toBe(true);
    expect(Math.abs(grid[i] - vertices[i])).toBeLessThanOrEqual(1.5);
  }
});

test("a vertex on a plane stays on it, and none crosses a plane", () => {
  // Planes every 10 along every axis: the pinched vertices land on x = 10,
  // so they may only move within it (in y or z, which are off the planes).
  const planeAfter = (x: number) => (Math.floor(x / 10) + 1) * 10;
  const { vertices, faces } = nearlyTouching(1, 9);
  const grid = roundWithoutPinches(vertices, faces, planeAfter);
  expect(topologyOf(grid, faces).manifold).toBe(true);
  for (let i = 0; i < grid.length; i++) {
    const r = Math.round(vertices[i]);
    if (planeAfter(r - 0.5) === r) expect(grid[i]).toBe(r);
    const lo = Math.min(vertices[i], grid[i]);
    expect(planeAfter(lo)).toBeGreaterThanOrEqual(Math.max(vertices[i], grid[i]));
  }
});

test("a pinch at a point that cannot move (on planes in every axis) is left as it is", () => {
  const everyInteger = (x: number) => Math.floor(x) + 1;
  const { vertices, faces } = nearlyTouching(1, 9);
  const grid = roundWithoutPinches(vertices, faces, everyInteger);
  expect(Array.from(grid)).toEqual(Array.from(vertices.map(Math.round)));
});

test("collapses of short edges that keep the surface a manifold are kept", () => {
  // A box whose edge from corner 0 to corner 1 has an extra vertex 0.2 from
  // corner 0: rounding welds it to the corner, and the box stays closed.
  const { vertices, faces } = box([0, 0, 0], [10, 10, 10]);
  const m = 8;
  vertices.push(0.2, 0, 0);
  const split: number[] = [];
  for (let t = 0; t < faces.length; t += 3) {
    const tri = faces.slice(t, t + 3);
    const k = [0, 1, 2].find((i) => tri[i] === 0 && tri[(i + 1) % 3] === 1);
    const j = [0, 1, 2].find((i) => tri[i] === 1 && tri[(i + 1) % 3] === 0);
    if (k !== undefined) {
      const c = tri[(k + 2) % 3];
      split.push(0, m, c, m, 1, c);
    } else if (j !== undefined) {
      const c = tri[(j + 2) % 3];
      split.push(1, m, c, m, 0, c);
    } else split.push(...tri);
  }
  const f = new Uint32Array(split);
  expect(meshTopology(weldMesh({ vertices: new Float32Array(vertices), faces: f })).manifold).toBe(
    true,
  );
  const grid = roundWithoutPinches(new Float64Array(vertices), f, noPlanes);
  expect(Array.from(grid.subarray(3 * m))).toEqual([0, 0, 0]);
  expect(topologyOf(grid, f).manifold).toBe(true);
});
