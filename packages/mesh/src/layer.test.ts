import { openStorage } from "@ngpipe/storage";
import { MeshInputError } from "./errors";
import { encodeLegacyMesh } from "./format/legacy";
import { MeshLayer } from "./layer";

const tri = encodeLegacyMesh({
  vertices: new Float32Array([0, 0, 0, 1, 0, 0, 0, 1, 0]),
  faces: new Uint32Array([0, 1, 2]),
});

test("writeBlockFragments names fragments <id>:0:<block> and manifests list them", async () => {
  const url = "mem://mesh-layer/block-fragments";
  const layer = openStorage(url);
  await layer.put("info", JSON.stringify({ mesh: "m" }));
  const meshes = await MeshLayer.open(url);
  const block = {
    minpt: [0, 64, 0] as [number, number, number],
    maxpt: [64, 128, 32] as [number, number, number],
  };
  const names = await meshes.writeBlockFragments(block, ["7", "18446744073709551615"], [tri, tri]);
  expect(names).toEqual(["7:0:0-64_64-128_0-32", "18446744073709551615:0:0-64_64-128_0-32"]);
  expect(await layer.exists("m/7:0:0-64_64-128_0-32")).toBe(true);
  await meshes.writeManifests(await meshes.listFragments());
  expect(await meshes.manifest(7)).toEqual(["7:0:0-64_64-128_0-32"]);
  expect((await meshes.get(7)).faces.length).toBe(3);
});

test("a segment id that is not a decimal uint64 is refused before anything is written", async () => {
  const meshes = await MeshLayer.open("mem://mesh-layer/bad-id", { meshDir: "mesh" });
  const block = {
    minpt: [0, 0, 0] as [number, number, number],
    maxpt: [8, 8, 8] as [number, number, number],
  };
  await expect(meshes.writeBlockFragments(block, ["../x"], [tri])).rejects.toThrow(MeshInputError);
  await expect(meshes.writeManifests([["1/2", ["a"]]])).rejects.toThrow(/segment id "1\/2"/);
  expect(await meshes.listFragments()).toEqual(new Map());
});
