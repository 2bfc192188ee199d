import { meshArea, meshTopology } from "../kernels/mesh-utils";
import type { Mesh } from "../types";
import { encodeMultiresMesh } from "./build";
import { decodeDracoFragment, loadDraco } from "./draco";
import { buildMultiresLods, clipByPlanes } from "./lods";
import { decodeMultiresManifest } from "./manifest";
import { blobMeshes } from "./multires.testutil";

beforeAll(() => loadDraco());

const M = 1023;
const P = 512;
const options = {
  chunkShape: [24, 24, 240] as [number, number, number],
  gridOrigin: [-8, -8, -80] as [number, number, number],
};

interface Placed {
  cell: number[];
  positions: Uint32Array;
  faces: Uint32Array;
}

/** Every stored fragment of each lod, decoded from the written bytes. */
async function storedLods(mesh: Mesh): Promise<Placed[][]> {
  const enc = await encodeMultiresMesh(mesh, options);
  const manifest = decodeMultiresManifest(enc.manifest);
  let at = 0;
  return manifest.lods.map((lod) =>
    Array.from(lod.sizes).flatMap((size, i) => {
      if (size === 0) return [];
      const q = decodeDracoFragment(enc.data.subarray(at, at + size), 10);
      at += size;
      return [{ cell: Array.from(lod.positions.subarray(3 * i, 3 * i + 3)), ...q }];
    }),
  );
}

/** Global integer position of vertex v of a fragment. */
function globalKey(f: Placed, v: number): string {
  return [0, 1, 2].map((a) => f.cell[a] * M + f.positions[3 * v + a]).join(",");
}

const meshes = blobMeshes(40);

describe.each([...meshes.keys()])("object %s, crossing many cells", (id) => {
  let lods: Placed[][];
  beforeAll(async () => {
    lods = await storedLods(meshes.get(id)!);
  });

  test("has several lods and many cells at lod 0", () => {
    expect(lods.length).toBeGreaterThanOrEqual(3);
    expect(lods[0].length).toBeGreaterThan(8);
  });

  test("at every lod, every edge a fragment leaves open is closed by the fragment across the cell face", () => {
    for (const [lod, frags] of lods.entries()) {
      // Count, per global edge, the triangles using it and the cells they lie in.
      const uses = new Map<string, string[]>();
      for (const f of frags)
        for (let t = 0; t < f.faces.length; t += 3)
          for (let k = 0; k < 3; k++) {
            const a = globalKey(f, f.faces[t + k]);
            const b = globalKey(f, f.faces[t + ((k + 1) % 3)]);
            const key = a < b ? `${a}|${b}` : `${b}|${a}`;
            const list = uses.get(key) ?? [];
            list.push(f.cell.join(","));
            uses.set(key, list);
          }
      let shared = 0;
      const bad: string[] = [];
      for (const [edge, cells] of uses) {
        if (cells.length !== 2) bad.push(`lod ${lod}: edge ${edge} used ${cells.length} times`);
        else if (cells[0] !== cells[1]) {
          shared++;
          // An edge between two fragments lies on a face of both cells.
          const [p, q] = edge.split("|").map((s) => s.split(",").map(Number));
          if (![0, 1, 2].some((a) => p[a] === q[a] && p[a] % M === 0))
            bad.push(`lod ${lod}: edge ${edge} joins cells ${cells} off their faces`);
        }
      }
      expect(bad).toEqual([]);
      if (frags.length > 1) expect(shared).toBeGreaterThan(0);
    }
  });

  test("at every lod, the fragments together are a closed 2-manifold: no pinched vertex", () => {
    for (const [lod, frags] of lods.entries()) {
      const ids = new Map<string, number>();
      const faces: number[] = [];
      for (const f of frags) {
        const local = Array.from({ length: f.positions.length / 3 }, (_, v) => {
          const key = globalKey(f, v);
          if (!ids.has(key)) ids.set(key, ids.size);
          return ids.get(key)!;
        });
        for (const v of f.faces) faces.push(local[v]);
      }
      const t = meshTopology({
        vertices: new Float32Array(3 * ids.size),
        faces: Uint32Array.from(faces),
      });
      expect({ lod, manifold: t.manifold }).toEqual({ lod, manifold: true });
    }
  });

  test("no vertex lies outside its cell and, above lod 0, no triangle crosses the 2x2x2 partition", () => {
    for (const [lod, frags] of lods.entries())
      for (const f of frags) {
        expect(Math.max(...f.positions)).toBeLessThanOrEqual(M);
        if (lod === 0) continue;
        let crossing = 0;
        for (let t = 0; t < f.faces.length; t += 3)
          for (let a = 0; a < 3; a++) {
            const xs = [0, 1, 2].map((k) => f.positions[3 * f.faces[t + k] + a]);
            if (Math.min(...xs) < P && Math.max(...xs) > P) crossing++;
          }
        expect(crossing).toBe(0);
      }
  });

  test("lod 0 keeps the legacy mesh's area within 2% and is watertight like it", async () => {
    const legacy = meshes.get(id)!;
    const enc = await encodeMultiresMesh(legacy, options);
    expect(meshTopology(legacy).watertight).toBe(true);
    const frags = lods[0];
    let area = 0;
    const cell = [24, 24, 240];
    for (const f of frags) {
      const vertices = new Float32Array(f.positions.length);
      for (let v = 0; v < f.positions.length; v += 3)
        for (let a = 0; a < 3; a++)
          vertices[v + a] = options.gridOrigin[a] + cell[a] * (f.cell[a] + f.positions[v + a] / M);
      area += meshArea({ vertices, faces: f.faces });
    }
    expect(Math.abs(area - meshArea(legacy)) / meshArea(legacy)).toBeLessThan(0.02);
    expect(enc.facesPerLod[enc.facesPerLod.length - 1]).toBeLessThan(enc.facesPerLod[0]);
  });
});

test("every lod's node has its parent in the next lod", () => {
  const { lods } = buildMultiresLods(meshes.get("1")!, options);
  for (let l = 1; l < lods.length; l++) {
    const parents = new Set<string>();
    const p = lods[l].positions;
    for (let i = 0; i < p.length; i += 3) parents.add(`${p[i]},${p[i + 1]},${p[i + 2]}`);
    const c = lods[l - 1].positions;
    for (let i = 0; i < c.length; i += 3)
      expect(parents.has(`${c[i] >>> 1},${c[i + 1] >>> 1},${c[i + 2] >>> 1}`)).toBe(true);
  }
});

test("building is deterministic", async () => {
  const a = await encodeMultiresMesh(meshes.get("2")!, options);
  const b = await encodeMultiresMesh(meshes.get("2")!, options);
  expect(Buffer.from(a.manifest).equals(Buffer.from(b.manifest))).toBe(true);
  expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
});

test("clipping splits a triangle at a plane and shares the cut points", () => {
  // Two triangles sharing edge (1, 2), both crossing x = 10.
  const vertices = new Float64Array([0, 0, 0, 20, 0, 0, 0, 20, 0, 20, 20, 0]);
  const faces = new Uint32Array([0, 1, 2, 1, 3, 2]);
  const out = clipByPlanes(vertices, faces, (x) => (x < 10 ? 10 : Number.POSITIVE_INFINITY));
  const topo = meshTopology({ vertices: new Float32Array(out.vertices), faces: out.faces });
  expect(topo.nonManifoldEdges).toBe(0);
  expect(topo.misorientedEdges).toBe(0);
  for (let f = 0; f < out.faces.length; f += 3) {
    const xs = [0, 1, 2].map((k) => out.vertices[3 * out.faces[f + k]]);
    expect(Math.min(...xs) < 10 && Math.max(...xs) > 10).toBe(false);
  }
  // Area is kept.
  const area = meshArea({ vertices: new Float32Array(out.vertices), faces: out.faces });
  expect(area).toBeCloseTo(400, 6);
});
