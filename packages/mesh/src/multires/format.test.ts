import { MeshDecodeError, MeshInputError } from "../errors";
import { meshArea } from "../kernels/mesh-utils";
import { decodeMultiresLod, encodeMultiresMesh } from "./build";
import { decodeDracoFragment, encodeDracoFragment, loadDraco } from "./draco";
import {
  MeshFormatError,
  multiresMeshInfo,
  parseMultiresMeshInfo,
  QuantizationBitsError,
} from "./info";
import {
  decodeMultiresManifest,
  encodeMultiresManifest,
  type MultiresManifest,
  zorderLess,
} from "./manifest";
import { blobMeshes } from "./multires.testutil";

beforeAll(() => loadDraco());

/** Triangles as sorted strings of their positions, rotated so orientation is kept. */
function triangleSet(positions: ArrayLike<number>, faces: ArrayLike<number>): string[] {
  const out: string[] = [];
  for (let f = 0; f < faces.length; f += 3) {
    const p = [0, 1, 2].map((k) =>
      Array.from({ length: 3 }, (_, a) => positions[3 * faces[f + k] + a]).join(","),
    );
    const r = p.indexOf([...p].sort()[0]);
    out.push([p[r], p[(r + 1) % 3], p[(r + 2) % 3]].join(" "));
  }
  return out.sort();
}

test.each([10, 16] as const)(
  "a Draco fragment round-trips its quantized vertices and triangles (%i bits)",
  (bits) => {
    const max = 2 ** bits - 1;
    const positions = new Uint32Array([0, 0, 0, max, 0, 0, 0, max, 0, 0, 0, max, 7, 300, 511]);
    const faces = new Uint32Array([0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3, 1, 4, 2]);
    const bytes = encodeDracoFragment({ positions, faces }, bits);
    const back = decodeDracoFragment(bytes, bits);
    expect(triangleSet(back.positions, back.faces)).toEqual(triangleSet(positions, faces));
  },
);

test("quantization bits other than 10 or 16 are a typed error", () => {
  const q = { positions: new Uint32Array(9), faces: new Uint32Array([0, 1, 2]) };
  expect(() => encodeDracoFragment(q, 12)).toThrow(QuantizationBitsError);
  expect(() => multiresMeshInfo({ bits: 8 as 10 })).toThrow(QuantizationBitsError);
  const info = { ...multiresMeshInfo({}), vertex_quantization_bits: 14 };
  expect(() => parseMultiresMeshInfo(info, "mem://x/mesh/info")).toThrow(
    /mesh\/info.*must be 10 or 16, got 14/,
  );
});

test("a position outside the quantization range is refused on encode and decode", () => {
  const q = {
    positions: new Uint32Array([0, 0, 0, 1024, 0, 0, 0, 5, 0]),
    faces: new Uint32Array([0, 1, 2]),
  };
  expect(() => encodeDracoFragment(q, 10)).toThrow(MeshInputError);
  const wide = encodeDracoFragment(q, 16);
  expect(() => decodeDracoFragment(wide, 10, "7")).toThrow(/7: .*outside \[0, 2\^10\)/);
});

test("bytes that are not Draco are a MeshDecodeError naming the key", () => {
  expect(() => decodeDracoFragment(new Uint8Array([1, 2, 3, 4, 5]), 10, "k/9")).toThrow(
    MeshDecodeError,
  );
});

test("a legacy info is a MeshFormatError when read as multiresolution", () => {
  expect(() =>
    parseMultiresMeshInfo({ "@type": "neuroglancer_legacy_mesh" }, "seg/mesh/info"),
  ).toThrow(MeshFormatError);
});

const manifest: MultiresManifest = {
  chunkShape: [256, 256, 2560],
  gridOrigin: [-4, -4, -40],
  lodScales: [40, 80],
  vertexOffsets: [
    [0, 0, 0],
    [0.5, 0, 0],
  ],
  lods: [
    {
      positions: new Uint32Array([0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0, 2, 0, 0]),
      sizes: new Uint32Array([10, 0, 30, 4, 5]),
    },
    { positions: new Uint32Array([0, 0, 0, 1, 0, 0]), sizes: new Uint32Array([7, 8]) },
  ],
};

test("the manifest is laid out byte for byte as meshes.md says", () => {
  const bytes = encodeMultiresManifest(manifest);
  const v = new DataView(bytes.buffer);
  expect(bytes.length).toBe(28 + 2 * 20 + 16 * 7);
  expect(v.getFloat32(0, true)).toBe(256);
  expect(v.getFloat32(20, true)).toBe(-40);
  expect(v.getUint32(24, true)).toBe(2);
  expect(v.getFloat32(28, true)).toBe(40);
  expect(v.getFloat32(36 + 12, true)).toBe(0.5); // vertex_offsets[1][0]
  expect(v.getUint32(60, true)).toBe(5); // num_fragments_per_lod[0]
  expect(v.getUint32(64, true)).toBe(2);
  // lod 0: x of every fragment, then y, then z, then sizes.
  const words = Array.from({ length: 20 }, (_, i) => v.getUint32(68 + 4 * i, true));
  expect(words).toEqual([0, 1, 0, 1, 2, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 10, 0, 30, 4, 5]);
  expect(decodeMultiresManifest(bytes)).toEqual(manifest);
});

test("fragment positions must be in Z-curve order", () => {
  expect(zorderLess(1, 0, 0, 0, 1, 0)).toBe(true);
  expect(zorderLess(1, 1, 0, 0, 0, 1)).toBe(true);
  expect(zorderLess(0, 0, 1, 2, 0, 0)).toBe(true);
  const bad = {
    ...manifest,
    lods: [{ positions: new Uint32Array([0, 1, 0, 1, 0, 0]), sizes: new Uint32Array([1, 1]) }],
    lodScales: [1],
    vertexOffsets: [[0, 0, 0] as [number, number, number]],
  };
  expect(() => encodeMultiresManifest(bad)).toThrow(/Z-curve/);
});

test("a manifest whose size disagrees with its counts is a MeshDecodeError", () => {
  const bytes = encodeMultiresManifest(manifest);
  expect(() => decodeMultiresManifest(bytes.subarray(0, bytes.length - 4), "5.index")).toThrow(
    /5\.index: .*does not match 2 lods and 7 fragments/,
  );
  expect(() => decodeMultiresManifest(new Uint8Array(10), "5.index")).toThrow(MeshDecodeError);
});

test("an encoded object decodes back to its lod 0 surface", async () => {
  const meshes = blobMeshes(32);
  const mesh = meshes.get("1")!;
  const enc = await encodeMultiresMesh(mesh, {
    chunkShape: [32, 32, 320],
    gridOrigin: [-4, -4, -40],
  });
  const back = await decodeMultiresLod(enc.manifest, enc.data, 10, 0);
  expect(back.faces.length / 3).toBe(enc.facesPerLod[0]);
  expect(Math.abs(meshArea(back) - meshArea(mesh)) / meshArea(mesh)).toBeLessThan(0.02);
  const m = decodeMultiresManifest(enc.manifest);
  expect(m.lods.length).toBe(enc.facesPerLod.length);
  await expect(
    decodeMultiresLod(enc.manifest, enc.data.subarray(0, 10), 10, 0, "1"),
  ).rejects.toThrow(MeshDecodeError);
});
