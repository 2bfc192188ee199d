import type { Mesh } from "../types";
import { cutoutLockedPlanes, marchingCubes, setLabelEscapeForTesting } from "./marching-cubes";
import { edgeLowCorner, MC_START, MC_TRIANGLES } from "./mc-table";
import { meshArea, meshTopology, meshVolume } from "./mesh-utils";

function randomLabels(n: number, nlabels: number, seed: number): Uint8Array {
  let s = seed;
  const out = new Uint8Array(n * n * n);
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s >>> 16) % nlabels;
  }
  return out;
}

function vertexSet(m: Mesh): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < m.vertices.length; i += 3)
    out.add(`${m.vertices[i]},${m.vertices[i + 1]},${m.vertices[i + 2]}`);
  return out;
}

describe("marching cubes table", () => {
  test("case 0 and case 255 have no triangles; a lone corner has one", () => {
    expect(MC_START[1] - MC_START[0]).toBe(0);
    expect(MC_START[256] - MC_START[255]).toBe(0);
    for (let c = 0; c < 8; c++) expect(MC_START[(1 << c) + 1] - MC_START[1 << c]).toBe(3);
  });

  test("each case's triangles use exactly the cube edges whose ends differ", () => {
    for (let c = 0; c < 256; c++) {
      const used = new Set<number>();
      for (let t = MC_START[c]; t < MC_START[c + 1]; t++) used.add(MC_TRIANGLES[t]);
      const crossed = new Set<number>();
      for (let e = 0; e < 12; e++) {
        const lo = edgeLowCorner(e);
        const hi = lo + (1 << (e >> 2));
        if (((c >> lo) & 1) !== ((c >> hi) & 1)) crossed.add(e);
      }
      expect(used).toEqual(crossed);
    }
  });
});

describe("marchingCubes", () => {
  test("a single voxel becomes an octahedron on its edge midpoints, voxel-centred like zmesh/Igneous", () => {
    const labels = new Uint32Array(27);
    labels[13] = 9; // voxel (1,1,1)
    const mesh = marchingCubes(labels, [3, 3, 3]).meshes().get(9);
    expect(mesh).toBeDefined();
    const m = mesh as Mesh;
    expect(m.faces.length / 3).toBe(8);
    // Voxel (1,1,1) is centred at (1.5,1.5,1.5); its neighbours' centres are one
    // voxel away, so the surface vertices sit on the voxel's faces.
    expect(vertexSet(m)).toEqual(
      new Set(["1,1.5,1.5", "2,1.5,1.5", "1.5,1,1.5", "1.5,2,1.5", "1.5,1.5,1", "1.5,1.5,2"]),
    );
    expect(meshVolume(m)).toBeCloseTo(1 / 6, 6);
    expect(meshTopology(m).consistentlyOriented).toBe(true);
  });

  test("resolution and offset put vertices in physical units", () => {
    const labels = new Uint16Array(27);
    labels[13] = 1;
    const m = marchingCubes(labels, [3, 3, 3], {
      resolution: [4, 8, 40],
      offset: [100, 200, 400],
    })
      .meshes()
      .get(1) as Mesh;
    const xs = new Set<number>();
    const zs = new Set<number>();
    for (let i = 0; i < m.vertices.length; i += 3) {
      xs.add(m.vertices[i]);
      zs.add(m.vertices[i + 2]);
    }
    expect([...xs].sort((a, b) => a - b)).toEqual([104, 106, 108]);
    expect([...zs].sort((a, b) => a - b)).toEqual([440, 460, 480]);
    expect(meshVolume(m)).toBeCloseTo((4 * 8 * 40) / 6, 3);
  });

  test("closed random multi-label volumes give watertight, outward-oriented meshes for every label", () => {
    const n = 12;
    const labels = randomLabels(n, 4, 7);
    const meshes = marchingCubes(labels, [n, n, n], { close: true }).meshes();
    expect([...meshes.keys()].sort()).toEqual([1, 2, 3]);
    for (const m of meshes.values()) {
      const t = meshTopology(m);
      expect(t.watertight).toBe(true);
      expect(t.consistentlyOriented).toBe(true);
      expect(meshVolume(m)).toBeGreaterThan(0);
    }
  });

  test("labels touching an open border are open there, and closed when asked", () => {
    const n = 6;
    const labels = new Uint8Array(n * n * n).fill(3);
    expect(marchingCubes(labels, [n, n, n]).meshes().size).toBe(0);
    const closed = marchingCubes(labels, [n, n, n], { close: true }).meshes().get(3) as Mesh;
    expect(meshTopology(closed).watertight).toBe(true);
    // Closed on the cutout's outer boundary: a 6x6x6 box whose 12 edges are
    // chamfered (1/8 voxel^2 cut over length 5) and 8 corners cut (5/48 each).
    expect(meshVolume(closed)).toBeCloseTo(216 - (12 * 5) / 8 - (8 * 5) / 48, 6);
    const half = marchingCubes(labels, [n, n, n], {
      close: [true, false, false, false, false, false],
    }).meshes();
    const t = meshTopology(half.get(3) as Mesh);
    expect(t.watertight).toBe(false);
    expect(t.boundaryEdges).toBeGreaterThan(0);
  });

  test("an interior sphere is watertight with volume close to theory", () => {
    const n = 24;
    const r = 9;
    const labels = new Uint32Array(n * n * n);
    for (let z = 0; z < n; z++)
      for (let y = 0; y < n; y++)
        for (let x = 0; x < n; x++)
          if (Math.hypot(x + 0.5 - 12, y + 0.5 - 12, z + 0.5 - 12) <= r)
            labels[x + n * (y + n * z)] = 5;
    const m = marchingCubes(labels, [n, n, n]).meshes().get(5) as Mesh;
    expect(meshTopology(m).consistentlyOriented).toBe(true);
    expect(meshVolume(m) / ((4 / 3) * Math.PI * r ** 3)).toBeCloseTo(1, 1);
    expect(meshArea(m)).toBeGreaterThan(4 * Math.PI * r * r);
  });

  test("labels and exclude select what is meshed", () => {
    const labels = randomLabels(8, 5, 3);
    const only = marchingCubes(labels, [8, 8, 8], { labels: [2, 4] }).meshes();
    expect([...only.keys()].sort()).toEqual([2, 4]);
    const but = marchingCubes(labels, [8, 8, 8], { exclude: [1n, 3] }).meshes();
    expect([...but.keys()].sort()).toEqual([2, 4]);
  });

  test("8/16/32-bit input (read in place) gives the same surfaces, in the same label order, as uint64 input (renumbered copy)", () => {
    const n = 14;
    // Many distinct large labels (the label table must grow), some runs of
    // equal labels along x, a third background.
    let seed = 11;
    const words = new Uint32Array(n * n * n);
    for (let i = 0; i < words.length; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const v = (seed >>> 8) % 3000;
      words[i] = i % 3 === 2 ? words[i - 1] : v < 1000 ? 0 : (Math.imul(v, 2654435761) >>> 0) | 1;
    }
    const wide = BigUint64Array.from(words, (v) => BigInt(v));
    const signed = new Int32Array(words.buffer);
    const present = [...new Set(words)].filter((v) => v !== 0);
    expect(present.length).toBeGreaterThan(600);
    for (const options of [
      {},
      { exclude: [present[0], present[9]] },
      { labels: [present[5], present[100]] },
    ]) {
      const a = marchingCubes(words, [n, n, n], options);
      const b = marchingCubes(wide, [n, n, n], options);
      expect(a.labels.length).toBeGreaterThan(1);
      expect(a.labels).toEqual(b.labels);
      const ma = a.meshes();
      const mb = b.meshes();
      expect([...ma.keys()]).toEqual([...mb.keys()]);
      for (const [label, m] of ma) {
        expect(m.vertices).toEqual(mb.get(label)?.vertices);
        expect(m.faces).toEqual(mb.get(label)?.faces);
      }
      expect([...marchingCubes(signed, [n, n, n], options).meshes().keys()]).toEqual([
        ...ma.keys(),
      ]);
    }
    // 8-bit labels, where the first voxel belongs to a label.
    const small = randomLabels(10, 7, 5);
    small[0] = 3;
    const c = marchingCubes(small, [10, 10, 10]);
    const d = marchingCubes(
      BigUint64Array.from(small, (v) => BigInt(v)),
      [10, 10, 10],
    );
    expect(c.labels).toEqual(d.labels);
    expect([...c.meshes().values()]).toEqual([...d.meshes().values()]);
  });

  test("output spanning many record chunks equals meshing one label at a time", () => {
    // 48^3 voxels of 6 random labels: about 100k surface cubes, several
    // chunks of records, against runs with far fewer records per call.
    const n = 48;
    const labels = randomLabels(n, 6, 17);
    const all = marchingCubes(labels, [n, n, n], {
      close: [true, false, false, true, true, false],
    });
    expect(all.triangleCount * 3).toBeGreaterThan(3 << 18);
    const meshes = all.meshes();
    expect([...meshes.keys()].sort()).toEqual([1, 2, 3, 4, 5]);
    for (const [label, m] of meshes) {
      const one = marchingCubes(labels, [n, n, n], {
        labels: [label],
        close: [true, false, false, true, true, false],
      })
        .meshes()
        .get(label) as Mesh;
      expect(m.vertices).toEqual(one.vertices);
      expect(m.faces).toEqual(one.faces);
    }
  });

  test("labels written in the escaped record form (large dense ids) give the same meshes", () => {
    const n = 20;
    let seed = 5;
    const words = new Uint32Array(n * n * n);
    for (let i = 0; i < words.length; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      words[i] = i % 2 === 1 ? words[i - 1] : (seed >>> 10) % 900;
    }
    const wide = BigUint64Array.from(words, (v) => BigInt(v));
    const plain = [marchingCubes(words, [n, n, n]), marchingCubes(wide, [n, n, n])];
    try {
      setLabelEscapeForTesting(3);
      const escaped = [marchingCubes(words, [n, n, n]), marchingCubes(wide, [n, n, n])];
      for (let k = 0; k < 2; k++) {
        expect(escaped[k].labels).toEqual(plain[k].labels);
        expect(escaped[k].triangleCount).toBe(plain[k].triangleCount);
        expect([...escaped[k].meshes()]).toEqual([...plain[k].meshes()]);
      }
    } finally {
      setLabelEscapeForTesting();
    }
  });

  test("uint64 labels keep their full value: numbers below 2^53, bigints above", () => {
    const labels = new BigUint64Array(27);
    labels[4] = 2n ** 40n + 7n;
    labels[13] = 2n ** 63n + 5n;
    const meshes = marchingCubes(labels, [3, 3, 3]).meshes();
    expect(meshes.has(2 ** 40 + 7)).toBe(true);
    expect(meshes.has(2n ** 63n + 5n)).toBe(true);
    expect(meshes.size).toBe(2);
  });

  test("meshing in 8 overlapping blocks gives fragments that meet exactly on shared planes", () => {
    const n = 16;
    const labels = randomLabels(n, 3, 11);
    const whole = marchingCubes(labels, [n, n, n], { resolution: [4, 4, 40] }).meshes();
    let blockFaces = 0;
    const blockVerts = new Map<number | bigint, Set<string>>();
    for (const bz of [0, 8])
      for (const by of [0, 8])
        for (const bx of [0, 8]) {
          // +1 voxel of overlap on the high faces, clipped to the volume.
          const shape: [number, number, number] = [
            Math.min(9, n - bx),
            Math.min(9, n - by),
            Math.min(9, n - bz),
          ];
          const block = new Uint8Array(shape[0] * shape[1] * shape[2]);
          for (let z = 0; z < shape[2]; z++)
            for (let y = 0; y < shape[1]; y++)
              for (let x = 0; x < shape[0]; x++)
                block[x + shape[0] * (y + shape[1] * z)] =
                  labels[bx + x + n * (by + y + n * (bz + z))];
          const meshes = marchingCubes(block, shape, {
            resolution: [4, 4, 40],
            offset: [bx * 4, by * 4, bz * 40],
          }).meshes();
          for (const [label, m] of meshes) {
            blockFaces += m.faces.length / 3;
            const set = blockVerts.get(label) ?? new Set<string>();
            for (const v of vertexSet(m)) set.add(v);
            blockVerts.set(label, set);
          }
        }
    let wholeFaces = 0;
    for (const [label, m] of whole) {
      wholeFaces += m.faces.length / 3;
      expect(blockVerts.get(label)).toEqual(vertexSet(m));
    }
    expect(blockFaces).toBe(wholeFaces);
  });

  test("cutoutLockedPlanes gives the outermost voxel-centre planes of open faces only", () => {
    const p = cutoutLockedPlanes([10, 20, 30], {
      resolution: [4, 4, 40],
      offset: [40, 0, 400],
      close: [false, false, true, false, false, true],
    });
    expect(p.min).toEqual([42, Number.NaN, 420]);
    expect(p.max).toEqual([78, 78, Number.NaN]);
  });

  test("bad shapes and resolutions are refused", () => {
    expect(() => marchingCubes(new Uint8Array(7), [2, 2, 2])).toThrow(/needs 8/);
    expect(() => marchingCubes(new Uint8Array(8), [2, 2, 2], { resolution: [1, 0, 1] })).toThrow(
      /resolution/,
    );
    const v = new Uint8Array(8);
    expect(() => marchingCubes(v, [2, 2, 2], { offset: [Number.NaN, 0, 0] })).toThrow(
      /offset must be three finite numbers/,
    );
    expect(() =>
      marchingCubes(v, [2, 2, 2], { offset: [0, 0] as unknown as [number, number, number] }),
    ).toThrow(/offset/);
    expect(() => marchingCubes(v, [2, 2, 2], { origin: [0.5, 0, 0] })).toThrow(
      /origin must be three integers/,
    );
    expect(() => marchingCubes(v, [2, 2, 2], { labels: [-1n] })).toThrow(/not a uint64/);
    expect(() => marchingCubes(v, [2, 2, 2], { exclude: [2n ** 64n] })).toThrow(/not a uint64/);
  });
});
