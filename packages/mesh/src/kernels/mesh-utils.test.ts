import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { testIf } from "../../../../test/support/skip";
import type { Mesh } from "../types";
import { marchingCubes } from "./marching-cubes";
import {
  concatMeshes,
  meshArea,
  meshTopology,
  meshVolume,
  removeUnusedVertices,
  weldMesh,
} from "./mesh-utils";

// Unit cube, 12 outward triangles.
const cube: Mesh = {
  vertices: Float32Array.of(0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1),
  faces: Uint32Array.of(
    0,
    2,
    1,
    1,
    2,
    3, // z = 0, normal -z
    4,
    5,
    6,
    5,
    7,
    6, // z = 1
    0,
    1,
    4,
    1,
    5,
    4, // y = 0
    2,
    6,
    3,
    3,
    6,
    7, // y = 1
    0,
    4,
    2,
    2,
    4,
    6, // x = 0
    1,
    3,
    5,
    3,
    7,
    5, // x = 1
  ),
};

describe("mesh measures", () => {
  test("unit cube: area 6, volume 1, watertight and consistently oriented", () => {
    expect(meshArea(cube)).toBeCloseTo(6, 6);
    expect(meshVolume(cube)).toBeCloseTo(1, 6);
    const t = meshTopology(cube);
    expect(t.watertight).toBe(true);
    expect(t.consistentlyOriented).toBe(true);
  });

  test("a flipped triangle is reported as misoriented, a missing one as boundary", () => {
    const flipped = { vertices: cube.vertices, faces: cube.faces.slice() };
    [flipped.faces[0], flipped.faces[1]] = [flipped.faces[1], flipped.faces[0]];
    const t = meshTopology(flipped);
    expect(t.watertight).toBe(true);
    expect(t.misorientedEdges).toBe(3);
    expect(t.consistentlyOriented).toBe(false);
    const open = meshTopology({ vertices: cube.vertices, faces: cube.faces.slice(3) });
    expect(open.boundaryEdges).toBe(3);
    expect(open.watertight).toBe(false);
  });

  test("two cubes sharing one corner are watertight but pinched there, so not a manifold", () => {
    expect(meshTopology(cube)).toMatchObject({ pinchedVertices: 0, manifold: true });
    // The second cube spans (1, 1, 1)..(2, 2, 2): its corner 0 is the first's corner 7.
    const second = cube.vertices.map((v) => v + 1);
    const pair = weldMesh(concatMeshes([cube, { vertices: second, faces: cube.faces }]));
    const t = meshTopology(pair);
    expect(t.watertight).toBe(true);
    expect(t.pinchedVertices).toBe(1);
    expect(t.manifold).toBe(false);
  });
});

describe("concatenate and weld", () => {
  test("two halves of a cube, concatenated then welded, are the watertight cube", () => {
    const half = (from: number, to: number) =>
      removeUnusedVertices({ vertices: cube.vertices, faces: cube.faces.slice(from, to) });
    const a = half(0, 18);
    const b = half(18, 36);
    const joined = concatMeshes([a, b]);
    expect(joined.vertices.length / 3).toBe(a.vertices.length / 3 + b.vertices.length / 3);
    expect(meshTopology(joined).watertight).toBe(false);
    const welded = weldMesh(joined);
    expect(welded.vertices.length / 3).toBe(8);
    expect(meshTopology(welded).consistentlyOriented).toBe(true);
    expect(meshVolume(welded)).toBeCloseTo(1, 6);
  });

  test("welding drops triangles that collapse to a point or a line", () => {
    const m: Mesh = {
      vertices: Float32Array.of(0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0),
      faces: Uint32Array.of(0, 1, 2, 0, 1, 3),
    };
    const w = weldMesh(m);
    expect(w.faces.length).toBe(3);
    expect(w.vertices.length).toBe(9);
  });
});

describe("FIB-25 segmentation", () => {
  // The shared data sit beside the project root, as for every other test.
  const path = join(__dirname, "../../../../../shared/data/fib25-64x64x64-uint64.raw");
  let labels: BigUint64Array | null = null;
  if (existsSync(path)) {
    const bytes = readFileSync(path);
    labels = new BigUint64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  }
  const run = testIf(labels !== null, `${path} not found (the shared FIB-25 cutout)`);

  run("every label meshes; labels off the border are watertight and outward-oriented", () => {
    const data = labels as BigUint64Array;
    const n = 64;
    const ids = new Set<bigint>();
    const onBorder = new Set<bigint>();
    for (let z = 0; z < n; z++)
      for (let y = 0; y < n; y++)
        for (let x = 0; x < n; x++) {
          const v = data[x + n * (y + n * z)];
          ids.add(v);
          if (x === 0 || y === 0 || z === 0 || x === n - 1 || y === n - 1 || z === n - 1)
            onBorder.add(v);
        }
    ids.delete(0n);
    expect(ids.size).toBe(52);
    const meshes = marchingCubes(data, [n, n, n], { resolution: [8, 8, 8] }).meshes();
    const closed = marchingCubes(data, [n, n, n], { resolution: [8, 8, 8], close: true }).meshes();
    let interior = 0;
    for (const id of ids) {
      const key = Number(id);
      const m = meshes.get(key) ?? closed.get(key);
      expect(m?.faces.length).toBeGreaterThan(0);
      const c = closed.get(key) as Mesh;
      expect(meshTopology(c).consistentlyOriented).toBe(true);
      if (!onBorder.has(id)) {
        interior++;
        const t = meshTopology(meshes.get(key) as Mesh);
        expect(t.watertight).toBe(true);
        expect(t.consistentlyOriented).toBe(true);
        expect(meshVolume(meshes.get(key) as Mesh)).toBeGreaterThan(0);
      }
    }
    expect(interior).toBeGreaterThan(0);
  });
});
