import { gzipSync } from "node:zlib";
import { DecompressionLimitError, openStorage } from "@ngpipe/storage";
import { MeshDecodeError, MeshInputError } from "./errors";
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

test("keyOf places fragments in subdirectories, and a recursive listing finds them by id", async () => {
  const meshes = await MeshLayer.open("mem://mesh-layer/key-of", { meshDir: "mesh" });
  const block = {
    minpt: [0, 0, 0] as [number, number, number],
    maxpt: [8, 8, 8] as [number, number, number],
  };
  const keys = await meshes.writeBlockFragments(block, ["7", "12"], [tri, tri], {
    keyOf: (name, id) => `b/${Number(id) % 2}/${name}`,
  });
  expect(keys).toEqual(["b/1/7:0:0-8_0-8_0-8", "b/0/12:0:0-8_0-8_0-8"]);
  expect(await meshes.listFragments()).toEqual(new Map());
  expect(await meshes.listFragments("b/", { recursive: true })).toEqual(
    new Map([
      ["12", ["b/0/12:0:0-8_0-8_0-8"]],
      ["7", ["b/1/7:0:0-8_0-8_0-8"]],
    ]),
  );
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

describe("fragments that inflate past NGPIPE_MAX_MESH_BYTES", () => {
  const before = process.env.NGPIPE_MAX_MESH_BYTES;
  beforeAll(() => {
    process.env.NGPIPE_MAX_MESH_BYTES = String(2 ** 20);
  });
  afterAll(() => {
    if (before === undefined) delete process.env.NGPIPE_MAX_MESH_BYTES;
    else process.env.NGPIPE_MAX_MESH_BYTES = before;
  });
  // 8 MiB of zeros gzips to about 8 KiB: a small bomb against a 1 MiB cap.
  const bomb = gzipSync(new Uint8Array(8 * 2 ** 20));

  test("stored compressed (.gz) are MeshDecodeErrors naming the key, by fragment and by segment", async () => {
    const url = "mem://mesh-layer/bomb-stored";
    const layer = openStorage(url);
    await layer.put("mesh/1:0:0-8_0-8_0-8", new Uint8Array(8 * 2 ** 20), { compress: "gzip" });
    const meshes = await MeshLayer.open(url, { meshDir: "mesh" });
    await meshes.writeManifest("1", ["1:0:0-8_0-8_0-8"]);
    for (const read of [() => meshes.fragment("1:0:0-8_0-8_0-8"), () => meshes.get(1)]) {
      const err = await read().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(MeshDecodeError);
      expect((err as Error).message).toMatch(
        /bomb-stored\/mesh\/1:0:0-8_0-8_0-8: stored compression inflates to more than 1048576 bytes/,
      );
      expect((err as Error).cause).toBeInstanceOf(DecompressionLimitError);
    }
  });

  test("gzip inside a plain object is a MeshDecodeError naming the key", async () => {
    const url = "mem://mesh-layer/bomb-inside";
    await openStorage(url).put("mesh/2:0:0-8_0-8_0-8", bomb, { compress: false });
    const meshes = await MeshLayer.open(url, { meshDir: "mesh" });
    await expect(meshes.fragment("2:0:0-8_0-8_0-8")).rejects.toThrow(
      /bomb-inside\/mesh\/2:0:0-8_0-8_0-8: fragment inflates to more than 1048576 bytes/,
    );
    await expect(meshes.fragment("2:0:0-8_0-8_0-8")).rejects.toThrow(MeshDecodeError);
  });
});
