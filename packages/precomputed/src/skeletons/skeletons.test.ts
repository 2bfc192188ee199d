import { openStorage } from "@ngpipe/storage";
import fc from "fast-check";
import { computeHashedShardingSpec } from "../sharding/params";
import {
  decodeSkeleton,
  type EncodedSkeleton,
  encodeSkeleton,
  parseSkeletonInfo,
  SkeletonDecodeError,
  SkeletonInfoError,
  skeletonInfo,
} from "./format";
import { SkeletonLayer } from "./layer";

const line: EncodedSkeleton = {
  vertices: new Float32Array([0, 0, 0, 10, 0, 0, 20, 5, 0]),
  edges: new Uint32Array([0, 1, 1, 2]),
  attributes: { radius: new Float32Array([1, 2, 3]) },
};

describe("skeleton format", () => {
  test("bytes follow the spec: counts, positions, edges, then attributes in the info's order", () => {
    const info = parseSkeletonInfo({
      "@type": "neuroglancer_skeletons",
      vertex_attributes: [
        { id: "radius", data_type: "float32", num_components: 1 },
        { id: "kind", data_type: "uint8", num_components: 2 },
      ],
    });
    const bytes = encodeSkeleton(
      {
        ...line,
        attributes: { kind: new Uint8Array([1, 2, 3, 4, 5, 6]), radius: line.attributes!.radius },
      },
      info,
    );
    const view = new DataView(bytes.buffer);
    expect(bytes.length).toBe(8 + 36 + 16 + 12 + 6);
    expect([view.getUint32(0, true), view.getUint32(4, true)]).toEqual([3, 2]);
    expect(view.getFloat32(8 + 4 * 6, true)).toBe(20);
    expect(view.getUint32(8 + 36 + 12, true)).toBe(2);
    expect(view.getFloat32(8 + 36 + 16 + 8, true)).toBe(3);
    expect(Array.from(bytes.subarray(8 + 36 + 16 + 12))).toEqual([1, 2, 3, 4, 5, 6]);
    const back = decodeSkeleton(bytes, info);
    expect(Array.from(back.attributes!.kind)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test("decode(encode(x)) == x for random skeletons", () => {
    const info = skeletonInfo();
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer(),
        (nv, ne, seed) => {
          let s = seed >>> 0;
          const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
          const vertices = Float32Array.from({ length: 3 * nv }, () => (rand() % 10000) / 7);
          const edges = Uint32Array.from({ length: 2 * ne }, () => rand() % nv);
          const radius = Float32Array.from({ length: nv }, () => (rand() % 100) / 3);
          const back = decodeSkeleton(
            encodeSkeleton({ vertices, edges, attributes: { radius } }, info),
            info,
          );
          expect(back.vertices).toEqual(vertices);
          expect(back.edges).toEqual(edges);
          expect(back.attributes!.radius).toEqual(radius);
        },
      ),
    );
  });

  test("bad infos and bytes are typed errors naming the field or key", () => {
    expect(() => parseSkeletonInfo({ "@type": "neuroglancer_meshes" })).toThrow(SkeletonInfoError);
    expect(() =>
      parseSkeletonInfo({
        "@type": "neuroglancer_skeletons",
        vertex_attributes: [{ id: "radius", data_type: "float64", num_components: 1 }],
      }),
    ).toThrow(/vertex_attributes"\[0\]\.data_type/);
    expect(() =>
      parseSkeletonInfo({ "@type": "neuroglancer_skeletons", transform: [1, 2] }),
    ).toThrow(/transform/);
    expect(() =>
      parseSkeletonInfo({ "@type": "neuroglancer_skeletons", sharding: { "@type": "x" } }),
    ).toThrow(/sharding/);
    const info = skeletonInfo();
    const bytes = encodeSkeleton(line, info);
    expect(() => decodeSkeleton(bytes.subarray(0, bytes.length - 1), info, "skel/7")).toThrow(
      SkeletonDecodeError,
    );
    expect(() => decodeSkeleton(bytes.subarray(0, bytes.length - 1), info, "skel/7")).toThrow(
      /skel\/7/,
    );
    expect(() => encodeSkeleton({ ...line, edges: new Uint32Array([0, 3]) }, info)).toThrow(
      /vertex 3/,
    );
    expect(() => encodeSkeleton({ vertices: line.vertices, edges: line.edges }, info)).toThrow(
      /radius/,
    );
  });
});

describe("SkeletonLayer", () => {
  test("unsharded: one object per id named in base 10, read back one by one and in batches", async () => {
    const storage = openStorage(`mem://skel-${Date.now()}/skeletons`);
    const layer = await SkeletonLayer.create(storage.url, skeletonInfo(), { storage });
    await layer.putMany([
      [7, line],
      [2n ** 40n + 1n, { ...line, attributes: { radius: new Float32Array([5, 5, 5]) } }],
    ]);
    expect(await storage.exists("7")).toBe(true);
    expect(await storage.exists(String(2n ** 40n + 1n))).toBe(true);
    const again = await SkeletonLayer.open(storage.url, { storage });
    expect((await again.get(7))!.vertices).toEqual(line.vertices);
    const [a, b, c] = await again.getMany([7n, 2n ** 40n + 1n, 8]);
    expect(a!.edges).toEqual(line.edges);
    expect(Array.from(b!.attributes!.radius)).toEqual([5, 5, 5]);
    expect(c).toBeNull();
  });

  test("sharded: skeletons are found through the shard files by segment id", async () => {
    const storage = openStorage(`mem://skel-sharded-${Date.now()}/skeletons`);
    const sharding = computeHashedShardingSpec(500, { minShards: 4, minishardIndexBytes: 2 ** 8 });
    const layer = await SkeletonLayer.create(storage.url, skeletonInfo({ sharding }), { storage });
    const entries: [bigint, EncodedSkeleton][] = [];
    for (let id = 1n; id <= 50n; id++) {
      entries.push([
        id * 1000003n,
        { ...line, attributes: { radius: new Float32Array([Number(id), 0, 0]) } },
      ]);
    }
    const keys = await layer.putMany(entries);
    expect(keys.every((k) => k.endsWith(".shard"))).toBe(true);
    expect(await storage.exists(String(1000003n))).toBe(false);
    const reopened = await SkeletonLayer.open(storage.url, { storage });
    const got = await reopened.getMany(entries.map(([id]) => id));
    expect(got.map((s) => s!.attributes!.radius[0])).toEqual(entries.map((_, i) => i + 1));
    expect(await reopened.get(12345n)).toBeNull();
  });

  test("a directory without an info is refused naming it", async () => {
    await expect(SkeletonLayer.open("mem://no-skeletons-here/skeletons")).rejects.toThrow(
      /no skeleton info at mem:\/\/no-skeletons-here\/skeletons\/info/,
    );
  });
});
