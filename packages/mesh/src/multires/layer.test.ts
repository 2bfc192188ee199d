import { computeHashedShardingSpec } from "@ngpipe/precomputed";
import { openStorage } from "@ngpipe/storage";
import { MeshDecodeError } from "../errors";
import { MeshNotFoundError } from "../layer";
import { encodeMultiresMesh } from "./build";
import { MeshFormatError, multiresMeshInfo } from "./info";
import { MultiresMeshLayer } from "./layer";
import { blobMeshes } from "./multires.testutil";

const options = {
  chunkShape: [32, 32, 320] as [number, number, number],
  gridOrigin: [-4, -4, -40] as [number, number, number],
};
const meshes = blobMeshes(32);

async function layerWith(url: string, info: object): Promise<MultiresMeshLayer> {
  const s = openStorage(url);
  await s.put("info", JSON.stringify({ mesh: "mesh" }));
  await s.put("mesh/info", JSON.stringify(info));
  return MultiresMeshLayer.open(url);
}

test("unsharded objects are written as <id> and <id>.index and read back per lod", async () => {
  const layer = await layerWith("mem://multires/unsharded", multiresMeshInfo({}));
  const enc = await encodeMultiresMesh(meshes.get("1")!, options);
  await layer.writeUnsharded("1", enc);
  expect(await layer.storage.exists("1.index")).toBe(true);
  expect(await layer.storage.get("1")).toEqual(enc.data);
  for (const [lod, faces] of enc.facesPerLod.entries())
    expect((await layer.get(1, lod)).faces.length / 3).toBe(faces);
  await expect(layer.get(2)).rejects.toThrow(/segment 2 has no multiresolution mesh at .*2\.index/);
  await expect(layer.writeShard([["1", enc]])).rejects.toThrow(/not sharded/);
});

test("sharded objects put their fragment data right before their manifest", async () => {
  const sharding = { ...computeHashedShardingSpec(2), data_encoding: "raw" as const };
  const layer = await layerWith("mem://multires/sharded", multiresMeshInfo({ sharding }));
  const objects: [string, Awaited<ReturnType<typeof encodeMultiresMesh>>][] = [];
  for (const [id, mesh] of meshes) objects.push([id, await encodeMultiresMesh(mesh, options)]);
  const key = await layer.writeShard(objects);
  expect(key).toBe("0.shard");
  for (const [id, enc] of objects) {
    const stored = await layer.read(id);
    expect(stored.data).toEqual(enc.data);
    expect((await layer.get(id, 1)).faces.length / 3).toBe(enc.facesPerLod[1]);
  }
  await expect(layer.get(99)).rejects.toThrow(MeshNotFoundError);
  await expect(layer.get(99)).rejects.toThrow(/segment 99 .*0\.shard/);
});

test("a legacy mesh directory is a MeshFormatError, a missing info a MeshNotFoundError", async () => {
  await expect(
    layerWith("mem://multires/legacy", { "@type": "neuroglancer_legacy_mesh" }),
  ).rejects.toThrow(MeshFormatError);
  const s = openStorage("mem://multires/none");
  await s.put("info", JSON.stringify({ mesh: "mesh" }));
  await expect(MultiresMeshLayer.open("mem://multires/none")).rejects.toThrow(MeshNotFoundError);
});

test("a corrupt manifest names its key", async () => {
  const layer = await layerWith("mem://multires/corrupt", multiresMeshInfo({}));
  await layer.storage.put("5.index", new Uint8Array(13));
  await expect(layer.get(5)).rejects.toThrow(MeshDecodeError);
  await expect(layer.get(5)).rejects.toThrow(/5\.index/);
});
