import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  MeshDecodeError,
  MeshFormatError,
  MeshLayer,
  MultiresMeshLayer,
  meshArea,
  meshTopology,
  weldMesh,
} from "@ngpipe/mesh";
import { closePool, fromTyped, Volume, type VoxelArray } from "@ngpipe/precomputed";
import { executeTask } from "../runtime/define";
import { createMultiresMeshMergeTasks, multiresShardingSpec } from "./multires";
import { createMeshingTasks, createMeshManifestTasks } from "./stages";

const FIB25 = join(__dirname, "../../../../../shared/data/fib25-64x64x64-uint64.raw");
afterAll(() => closePool());

async function runAll(tasks: Promise<Iterable<unknown>>): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const t of await tasks) out.push(await executeTask(JSON.parse(JSON.stringify(t))));
  return out;
}

function fib25(): VoxelArray {
  const bytes = readFileSync(FIB25);
  return fromTyped(
    new BigUint64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)),
    [64, 64, 64],
  );
}

async function segmentation(url: string): Promise<void> {
  await Volume.fromArray(url, fib25(), {
    encoding: "raw",
    chunkSize: [64, 64, 64],
    resolution: [8, 8, 8],
  });
}

/** Ids of the objects with legacy manifests in a mesh directory. */
async function legacyIds(meshes: MeshLayer): Promise<string[]> {
  const ids: string[] = [];
  for await (const key of meshes.storage.list("")) {
    const m = /^(\d+):0$/.exec(key);
    if (m) ids.push(m[1]);
  }
  return ids;
}

test("forge --multires then merge, unsharded and sharded: lod 0 matches the legacy mesh of every segment", async () => {
  const url = "mem://multires-stage/fib25";
  await segmentation(url);
  await runAll(createMeshingTasks(url, { shape: [32, 32, 32], meshDir: "legacy" }));
  await runAll(createMeshManifestTasks(url, { meshDir: "legacy" }));
  const legacy = await MeshLayer.open(url, { meshDir: "legacy" });
  const ids = await legacyIds(legacy);
  expect(ids.length).toBe(52);

  for (const sharded of [false, true]) {
    const dir = sharded ? "sharded" : "unsharded";
    await runAll(
      createMeshingTasks(url, { shape: [32, 32, 32], meshDir: dir, format: "multires" }),
    );
    const results = await runAll(
      createMultiresMeshMergeTasks(url, { meshDir: dir, sharded, cellShape: [16, 16, 16] }),
    );
    const meshes = await MultiresMeshLayer.open(url, { meshDir: dir });
    expect(meshes.info["@type"]).toBe("neuroglancer_multilod_draco");
    expect(meshes.info.sharding !== undefined).toBe(sharded);
    const objects = results.reduce<number>((n, r) => n + (r as { objects: number }).objects, 0);
    expect(objects).toBe(52);
    if (sharded) {
      let shards = 0;
      for await (const key of meshes.storage.list("")) if (key.endsWith(".shard")) shards++;
      expect(shards).toBe(2 ** meshes.info.sharding!.shard_bits);
    } else expect(await meshes.storage.exists(`${ids[0]}.index`)).toBe(true);

    for (const id of ids) {
      const want = await legacy.get(BigInt(id));
      const lod0 = weldMesh(await meshes.get(id, 0));
      const rel = Math.abs(meshArea(lod0) - meshArea(want)) / meshArea(want);
      expect({ id, close: rel < 0.02 }).toEqual({ id, close: true });
      // Strictly watertight where the legacy mesh is: every edge used by
      // two triangles and every vertex's triangles one fan, at every lod
      // (rounding to the grid pinches nearly touching sheets unless kept apart).
      const strict = meshTopology(want).manifold;
      expect({ id, manifold: meshTopology(lod0).manifold }).toEqual({ id, manifold: strict });
      const manifest = await meshes.manifest(id);
      for (let lod = 1; lod < manifest.lods.length; lod++) {
        const mesh = weldMesh(await meshes.get(id, lod));
        if (strict)
          expect({ id, lod, manifold: meshTopology(mesh).manifold }).toEqual({
            id,
            lod,
            manifold: true,
          });
      }
    }
  }
  // The layer info points at the last directory merged.
  expect((await Volume.open(url)).info.mesh).toBe("sharded");
  // About 15 s on a quiet machine; over 60 s in a full run at load 30.
}, 240_000);

test("a merge rerun writes the same bytes", async () => {
  const url = "mem://multires-stage/rerun";
  await segmentation(url);
  await runAll(createMeshingTasks(url, { shape: [64, 64, 64], format: "multires" }));
  const tasks = [...(await createMultiresMeshMergeTasks(url, { sharded: true }))];
  await executeTask(JSON.parse(JSON.stringify(tasks[0])));
  const meshes = await MultiresMeshLayer.open(url);
  const first = await meshes.storage.get("0.shard");
  await executeTask(JSON.parse(JSON.stringify(tasks[0])));
  expect(Buffer.from((await meshes.storage.get("0.shard"))!).equals(Buffer.from(first!))).toBe(
    true,
  );
});

test("convert turns legacy meshes into a multiresolution directory", async () => {
  const url = "mem://multires-stage/convert";
  await segmentation(url);
  await runAll(createMeshingTasks(url, { shape: [32, 32, 32] }));
  await runAll(createMeshManifestTasks(url));
  await runAll(createMultiresMeshMergeTasks(url, { convertFrom: "mesh", meshDir: "multires" }));
  const legacy = await MeshLayer.open(url, { meshDir: "mesh" });
  const multires = await MultiresMeshLayer.open(url);
  expect(multires.url.endsWith("/multires")).toBe(true);
  const ids = await legacyIds(legacy);
  for (const id of ids.slice(0, 10)) {
    const a = meshArea(await legacy.get(BigInt(id)));
    expect(Math.abs(meshArea(await multires.get(id)) - a) / a).toBeLessThan(0.02);
  }
});

test("a fragment of another format in the mesh directory is a MeshDecodeError naming its key", async () => {
  const url = "mem://multires-stage/foreign";
  await segmentation(url);
  await runAll(createMeshingTasks(url, { shape: [64, 64, 64], format: "multires" }));
  const dir = (await MeshLayer.open(url)).storage;
  await dir.put("534:0:0-64_0-64_0-64", new Uint8Array([0x44, 0x52, 0x41, 0x43, 0x4f, 2, 2]), {
    compress: false,
  });
  await expect(runAll(createMultiresMeshMergeTasks(url))).rejects.toThrow(MeshDecodeError);
  await expect(runAll(createMultiresMeshMergeTasks(url))).rejects.toThrow(/534:0:0-64_0-64_0-64/);
});

test("merging into a legacy mesh directory is a MeshFormatError", async () => {
  const url = "mem://multires-stage/legacy-dir";
  await segmentation(url);
  await runAll(createMeshingTasks(url, { shape: [64, 64, 64] }));
  const [task] = [...(await createMultiresMeshMergeTasks(url, { meshDir: "m2" }))];
  const payload = JSON.parse(JSON.stringify(task));
  payload.params.meshDir = "mesh";
  await expect(executeTask(payload)).rejects.toThrow(MeshFormatError);
});

test("the shard spec grows with the object count and with the bytes", () => {
  expect(multiresShardingSpec(10, 1e6).shard_bits).toBe(0);
  expect(multiresShardingSpec(10, 1e10, 2 ** 28).shard_bits).toBeGreaterThanOrEqual(6);
  expect(multiresShardingSpec(1e6, 1e6).shard_bits).toBeGreaterThan(0);
  expect(multiresShardingSpec(1e6, 1e6).data_encoding).toBe("raw");
});
