import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MeshDecodeError, MeshLayer, meshArea, meshTopology, meshVolume } from "@ngpipe/mesh";
import { closePool, NdArray, Volume } from "@ngpipe/precomputed";
import { executeTask } from "../runtime/define";
import { smallLabels } from "./mesh-block";
import { createMeshingTasks, createMeshManifestTasks, manifestPrefixes } from "./stages";

const FIB25 = join(__dirname, "../../../../../shared/data/fib25-64x64x64-uint64.raw");
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "ngpipe-mesh-"));
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await closePool();
});

async function runAll(tasks: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const t of tasks) {
    await executeTask(JSON.parse(JSON.stringify(t)));
    n++;
  }
  return n;
}

function fib25(): NdArray {
  const bytes = readFileSync(FIB25);
  return NdArray.from(
    new BigUint64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)),
    [64, 64, 64],
  );
}

test("FIB-25 meshes end to end: every manifest lists exactly the fragments written, and fused meshes are closed", async () => {
  const url = `file://${join(tmp, "fib25")}`;
  const labels = fib25();
  await Volume.fromArray(url, labels, {
    encoding: "compressed_segmentation",
    chunkSize: [32, 32, 32],
    resolution: [8, 8, 8],
  });
  const meshed = await runAll(
    createMeshingTasks(url, { shape: [32, 32, 32], simplification: 10, maxError: 8 }),
  );
  expect(meshed).toBe(8);
  expect(await runAll(createMeshManifestTasks(url))).toBe(1);

  const vol = await Volume.open(url);
  expect(vol.info.mesh).toBe("mesh");
  const meshes = await MeshLayer.open(url);
  expect((await meshes.info())?.["@type"]).toBe("neuroglancer_legacy_mesh");

  const written = new Map<string, string[]>();
  for await (const key of meshes.storage.list("")) {
    const m = /^(\d+):0:(.+)$/.exec(key);
    if (m) written.set(m[1], [...(written.get(m[1]) ?? []), key]);
  }
  const ids = (await vol.unique(vol.bounds)) as bigint[];
  const nonzero = ids.filter((i) => i !== 0n).map(String);
  expect([...written.keys()].sort()).toEqual([...nonzero].sort());
  for (const [id, keys] of written) {
    expect(await meshes.manifest(BigInt(id))).toEqual(keys.sort());
  }
  // The dataset edges are closed and interior block faces meet exactly, so
  // every segment's fused mesh is watertight and consistently oriented.
  for (const id of nonzero.slice(0, 12)) {
    const mesh = await meshes.get(BigInt(id));
    const topo = meshTopology(mesh);
    expect(topo.watertight).toBe(true);
    expect(topo.consistentlyOriented).toBe(true);
    expect(meshVolume(mesh)).toBeGreaterThan(0);
  }
});

test("one block or eight blocks with overlap give the same surface", async () => {
  const url = `mem://mesh-stage/blocks`;
  const labels = fib25();
  await Volume.fromArray(url, labels, {
    encoding: "raw",
    chunkSize: [64, 64, 64],
    resolution: [8, 8, 8],
  });
  await runAll(createMeshingTasks(url, { shape: [64, 64, 64], simplification: 0, meshDir: "one" }));
  await runAll(createMeshManifestTasks(url, { meshDir: "one" }));
  await runAll(
    createMeshingTasks(url, { shape: [32, 32, 32], simplification: 0, meshDir: "eight" }),
  );
  await runAll(createMeshManifestTasks(url, { meshDir: "eight", magnitude: 2 }));
  const one = await MeshLayer.open(url, { meshDir: "one" });
  const eight = await MeshLayer.open(url, { meshDir: "eight" });
  for (const id of [534n, 150303n]) {
    const a = await one.get(id);
    const b = await eight.get(id);
    expect(meshTopology(b).watertight).toBe(true);
    expect(Math.abs(meshArea(a) - meshArea(b)) / meshArea(a)).toBeLessThan(1e-6);
    expect(Math.abs(meshVolume(a) - meshVolume(b)) / meshVolume(a)).toBeLessThan(1e-6);
  }
});

test("dust labels are not meshed", async () => {
  const labels = new Uint32Array(16 * 16 * 16);
  for (let i = 0; i < labels.length; i++) labels[i] = i < 2000 ? 1 : 2;
  labels[3000] = 3;
  expect(smallLabels(labels, 5)).toEqual(["3"]);
  const url = "mem://mesh-stage/dust";
  await Volume.fromArray(url, NdArray.from(labels, [16, 16, 16]), { type: "segmentation" });
  await runAll(createMeshingTasks(url, { shape: [16, 16, 16], dust: 5 }));
  await runAll(createMeshManifestTasks(url));
  const meshes = await MeshLayer.open(url);
  expect(await meshes.manifest(1)).not.toBeNull();
  expect(await meshes.manifest(3)).toBeNull();
});

test("a corrupt fragment is a MeshDecodeError naming it", async () => {
  const url = "mem://mesh-stage/corrupt";
  const labels = new Uint32Array(8 * 8 * 8).fill(7);
  await Volume.fromArray(url, NdArray.from(labels, [8, 8, 8]), { type: "segmentation" });
  await runAll(createMeshingTasks(url, { shape: [8, 8, 8] }));
  await runAll(createMeshManifestTasks(url));
  const meshes = await MeshLayer.open(url);
  const [name] = (await meshes.manifest(7))!;
  await meshes.storage.put(name, new Uint8Array([255, 255, 0, 0, 1]));
  const err = await meshes.get(7).catch((e) => e);
  expect(err).toBeInstanceOf(MeshDecodeError);
  expect((err as Error).message).toContain(name);
});

test("manifest prefixes split ids into disjoint groups covering every id", () => {
  const prefixes = manifestPrefixes(3);
  for (const id of [1, 9, 10, 99, 100, 101, 999, 1000, 123456, 2 ** 53 + 7]) {
    const key = `${id}:0:0-1_0-1_0-1`;
    expect(prefixes.filter((p) => key.startsWith(p)).length).toBe(1);
  }
});
