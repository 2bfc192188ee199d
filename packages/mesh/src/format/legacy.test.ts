import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { MeshDecodeError, MeshInputError } from "../errors";
import {
  bboxFilename,
  decodeLegacyManifest,
  decodeLegacyMesh,
  encodeLegacyManifest,
  encodeLegacyMesh,
  legacyFragmentName,
  legacyManifestKey,
  legacyMeshInfo,
  parseLegacyMeshInfo,
  withMeshDir,
} from "./legacy";

const fixture = (name: string) => new Uint8Array(readFileSync(join(__dirname, "fixtures", name)));

const tetra = {
  vertices: Float32Array.of(40, 80, 400, 44, 80, 400, 40, 84.5, 400, 40, 80, 440.25),
  faces: Uint32Array.of(0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3),
};

describe("legacy fragments", () => {
  test("encode matches the spec bytes written independently by numpy", () => {
    expect(Buffer.from(encodeLegacyMesh(tetra))).toEqual(Buffer.from(fixture("tetra.frag")));
  });

  test("decode reads the numpy fixture, plain or gzipped", () => {
    for (const bytes of [fixture("tetra.frag"), new Uint8Array(gzipSync(fixture("tetra.frag")))]) {
      const m = decodeLegacyMesh(bytes, "mesh/1:0:0-64_0-64_0-64");
      expect(m.vertices).toEqual(tetra.vertices);
      expect(m.faces).toEqual(tetra.faces);
    }
  });

  test("an empty mesh is a 4-byte zero count", () => {
    const bytes = encodeLegacyMesh({ vertices: new Float32Array(0), faces: new Uint32Array(0) });
    expect([...bytes]).toEqual([0, 0, 0, 0]);
    expect(decodeLegacyMesh(bytes).faces.length).toBe(0);
  });

  const bad: Array<[string, Uint8Array, RegExp]> = [
    ["shorter than the header", Uint8Array.of(1, 0), /shorter than its 4-byte header/],
    ["a vertex count too big", fixture("tetra.frag").slice(0, 40), /declares 4 vertices/],
    ["truncated triangles", fixture("tetra.frag").slice(0, 98), /not a multiple of 12/],
    [
      "an index out of range",
      (() => {
        const b = fixture("tetra.frag").slice();
        b[b.length - 4] = 9;
        return b;
      })(),
      /uses vertex 9 but the fragment has 4 vertices/,
    ],
    ["broken gzip", Uint8Array.of(0x1f, 0x8b, 1, 2, 3), /not valid gzip/],
  ];
  test.each(bad)("a fragment with %s is a MeshDecodeError naming the key", (_, bytes, message) => {
    const key = "mesh/7:0:0-64_0-64_0-64";
    expect(() => decodeLegacyMesh(bytes, key)).toThrow(MeshDecodeError);
    expect(() => decodeLegacyMesh(bytes, key)).toThrow(message);
    expect(() => decodeLegacyMesh(bytes, key)).toThrow(key);
  });

  test("encoding a mesh with an index out of range is refused", () => {
    expect(() =>
      encodeLegacyMesh({ vertices: new Float32Array(3), faces: Uint32Array.of(0, 0, 1) }),
    ).toThrow(MeshInputError);
  });
});

describe("legacy manifests and names", () => {
  const segid = 2n ** 64n - 59n;

  test("fragment names follow Igneous: <id>:<lod>:<x0-x1_y0-y1_z0-z1>", () => {
    const names = [
      legacyFragmentName(segid, { minpt: [0, 0, 0], maxpt: [64, 64, 64] }),
      legacyFragmentName(segid, { minpt: [64, 0, 0], maxpt: [128, 64, 64] }),
    ];
    expect(names).toEqual(decodeLegacyManifest(fixture("manifest.json")));
    expect(legacyFragmentName(12, { minpt: [1, 2, 3], maxpt: [4, 5, 6] }, 2)).toBe(
      "12:2:1-4_2-5_3-6",
    );
    expect(bboxFilename({ minpt: [-64, 0, 0], maxpt: [0, 10, 20] })).toBe("-64-0_0-10_0-20");
    expect(legacyManifestKey(segid)).toBe("18446744073709551557:0");
    expect(legacyManifestKey(5, 1)).toBe("5:1");
  });

  test("manifest bytes match Python json.dumps exactly", () => {
    const names = decodeLegacyManifest(fixture("manifest.json"));
    expect(Buffer.from(encodeLegacyManifest(names))).toEqual(Buffer.from(fixture("manifest.json")));
    expect(new TextDecoder().decode(encodeLegacyManifest([]))).toBe('{"fragments": []}');
  });

  test("bad manifests are MeshDecodeErrors naming the key", () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(() => decodeLegacyManifest(enc("{"), "mesh/5:0")).toThrow(
      /mesh\/5:0: manifest is not JSON/,
    );
    expect(() => decodeLegacyManifest(enc('{"fragments": [1]}'), "mesh/5:0")).toThrow(
      MeshDecodeError,
    );
    expect(() => decodeLegacyManifest(enc("null"), "k")).toThrow(/no "fragments"/);
    expect(decodeLegacyManifest(new Uint8Array(gzipSync(enc('{"fragments": ["a"]}'))))).toEqual([
      "a",
    ]);
  });

  test("labels that are not uint64 are refused in names", () => {
    expect(() => legacyManifestKey(-1)).toThrow(MeshInputError);
    expect(() => legacyManifestKey(2n ** 64n)).toThrow(MeshInputError);
    expect(() => legacyManifestKey(1.5)).toThrow(MeshInputError);
  });
});

describe("mesh info", () => {
  test("legacyMeshInfo writes what Igneous writes", () => {
    expect(legacyMeshInfo({ mip: 0, chunkSize: [448, 448, 448], resolution: [4, 4, 40] })).toEqual({
      "@type": "neuroglancer_legacy_mesh",
      mip: 0,
      chunk_size: [448, 448, 448],
      spatial_index: { resolution: [4, 4, 40], chunk_size: [1792, 1792, 17920] },
    });
    expect(
      legacyMeshInfo({
        mip: 1,
        chunkSize: [64, 64, 64],
        resolution: [8, 8, 8],
        spatialIndex: false,
      }).spatial_index,
    ).toBeNull();
  });

  test("parseLegacyMeshInfo checks the @type", () => {
    expect(parseLegacyMeshInfo({ "@type": "neuroglancer_legacy_mesh" })["@type"]).toBe(
      "neuroglancer_legacy_mesh",
    );
    expect(() =>
      parseLegacyMeshInfo({ "@type": "neuroglancer_multilod_draco" }, "mesh/info"),
    ).toThrow(/mesh\/info: .*neuroglancer_multilod_draco/);
    expect(() => parseLegacyMeshInfo([], "mesh/info")).toThrow(MeshDecodeError);
  });

  test("withMeshDir sets the segmentation info's mesh key", () => {
    const info = { type: "segmentation", data_type: "uint64", num_channels: 1, scales: [] };
    expect(withMeshDir(info, "mesh_mip_0_err_40")).toEqual({ ...info, mesh: "mesh_mip_0_err_40" });
    expect(() => withMeshDir(info, "../x")).toThrow(MeshInputError);
  });
});
