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
import {
  closePool,
  fromTyped,
  type ShardingSpec,
  shardNumberFor,
  splitU64,
  Volume,
  type VoxelArray,
} from "@ngpipe/precomputed";
import type { Storage } from "@ngpipe/storage";
import { createTaskContext, type TaskContext } from "../runtime/context";
import { executeTask } from "../runtime/define";
import { bucketOf, fragmentKey } from "../skeletons/fragments";
import { bucketsOfShard, createMultiresMeshMergeTasks, multiresShardingSpec } from "./multires";
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
  const { bucketBits } = (await dir.getJson("fragments/manifest.json")) as { bucketBits: number };
  const key = fragmentKey(bucketOf(534, 0, bucketBits), "534:0:0-64_0-64_0-64");
  await dir.put(key, new Uint8Array([0x44, 0x52, 0x41, 0x43, 0x4f, 2, 2]), { compress: false });
  await expect(runAll(createMultiresMeshMergeTasks(url))).rejects.toThrow(MeshDecodeError);
  await expect(runAll(createMultiresMeshMergeTasks(url))).rejects.toThrow(key);
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

/** A task context whose storages record every prefix listed (as `<url>/<prefix>`). */
function listingContext(listed: string[]): TaskContext {
  const ctx = createTaskContext();
  const wrap = (s: Storage): Storage =>
    new Proxy(s, {
      get(target, prop) {
        if (prop === "list")
          return (prefix: string, options?: object) => {
            listed.push(`${target.url}/${prefix}`);
            return target.list(prefix, options);
          };
        if (prop === "child") return (sub: string) => wrap(target.child(sub));
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return { ...ctx, storage: (url: string) => wrap(ctx.storage(url)) };
}

describe("fragments in hash buckets", () => {
  const url = "mem://multires-stage/buckets";
  beforeAll(async () => {
    await segmentation(url);
    await runAll(createMeshingTasks(url, { shape: [32, 32, 32], format: "multires" }));
  });

  test("the forge writes each fragment under its id's bucket, and a manifest of the buckets", async () => {
    const dir = (await MeshLayer.open(url)).storage;
    const manifest = (await dir.getJson("fragments/manifest.json")) as { bucketBits: number };
    expect(manifest.bucketBits).toBe(3); // 8 blocks
    let fragments = 0;
    for await (const key of dir.list("fragments/", { recursive: true })) {
      const m = /^fragments\/(\d+)\/(\d+):0:/.exec(key);
      if (!m) continue;
      fragments++;
      expect({ key, bucket: bucketOf(...splitU64(BigInt(m[2])), 3) }).toEqual({
        key,
        bucket: Number(m[1]),
      });
    }
    expect(fragments).toBeGreaterThan(52);
    for await (const key of dir.list("")) expect(key).not.toMatch(/^\d+:0:/);
  });

  test.each([
    ["unsharded", undefined],
    ["sharded, 4 shards", { shard_bits: 2, minishard_bits: 0 }],
    ["sharded, shard bits above the bucket bits", { shard_bits: 2, minishard_bits: 2 }],
  ])(
    "each merge task lists only its own buckets (%s) and every object is written once",
    async (_, bits) => {
      const sharding: ShardingSpec | undefined = bits && {
        "@type": "neuroglancer_uint64_sharded_v1",
        hash: "murmurhash3_x86_128",
        preshift_bits: 0,
        ...bits,
        minishard_index_encoding: "gzip",
        data_encoding: "raw",
      };
      const tasks = [...(await createMultiresMeshMergeTasks(url, { sharding }))];
      let objects = 0;
      for (const task of tasks) {
        const listed: string[] = [];
        const payload = JSON.parse(JSON.stringify(task));
        objects += ((await executeTask(payload, listingContext(listed))) as { objects: number })
          .objects;
        const own = (payload.params.buckets as number[]).map((b) => `${url}/mesh/fragments/${b}/`);
        expect(listed.sort()).toEqual(own.sort());
      }
      expect(objects).toBe(52);
      if (bits?.minishard_bits === 0) expect(tasks.length).toBe(4);
    },
  );
});

test("bucketsOfShard holds the bucket of every id of the shard", () => {
  for (const [shard_bits, minishard_bits, bucketBits] of [
    [2, 0, 3],
    [3, 1, 3],
    [4, 2, 10],
    [2, 5, 3],
  ]) {
    const spec: ShardingSpec = {
      "@type": "neuroglancer_uint64_sharded_v1",
      hash: "murmurhash3_x86_128",
      preshift_bits: 0,
      shard_bits,
      minishard_bits,
      minishard_index_encoding: "gzip",
      data_encoding: "raw",
    };
    const lists = Array.from({ length: 2 ** shard_bits }, (_, s) =>
      bucketsOfShard(s, spec, bucketBits),
    );
    if (minishard_bits + shard_bits <= bucketBits)
      expect(lists.flat().sort((a, b) => a - b)).toEqual(
        Array.from({ length: 2 ** bucketBits }, (_, b) => b),
      );
    for (let id = 1; id < 3000; id += 7) {
      const bucket = bucketOf(id, 0, bucketBits);
      expect(lists[shardNumberFor(BigInt(id), spec)]).toContain(bucket);
    }
  }
});

test("fragments of the flat layout older forges wrote (no bucket manifest) still merge", async () => {
  const url = "mem://multires-stage/flat";
  await segmentation(url);
  await runAll(createMeshingTasks(url, { shape: [32, 32, 32], format: "multires" }));
  const dir = (await MeshLayer.open(url)).storage;
  for await (const key of dir.list("fragments/", { recursive: true })) {
    const name = key.slice(key.lastIndexOf("/") + 1);
    if (/^\d+:0:/.test(name)) await dir.put(name, (await dir.get(key))!, { compress: false });
    await dir.delete(key);
  }
  const results = await runAll(createMultiresMeshMergeTasks(url, { sharded: true }));
  expect(results.reduce<number>((n, r) => n + (r as { objects: number }).objects, 0)).toBe(52);
});

test("convert --sharded sizes shards from the legacy meshes' bytes, not only their count", async () => {
  const url = "mem://multires-stage/convert-bytes";
  await segmentation(url);
  await runAll(createMeshingTasks(url, { shape: [32, 32, 32] }));
  await runAll(createMeshManifestTasks(url));
  const bitsFor = async (shardBytes?: number) => {
    await createMultiresMeshMergeTasks(url, {
      convertFrom: "mesh",
      meshDir: "multires",
      sharded: true,
      shardBytes,
    });
    return (await MultiresMeshLayer.open(url, { meshDir: "multires" })).info.sharding!.shard_bits;
  };
  // 52 objects alone make one shard; 52 objects of a few KiB each in 4 KiB shards need more.
  expect(await bitsFor()).toBe(0);
  expect(await bitsFor(4096)).toBeGreaterThanOrEqual(4);
});
