/**
 * Multiresolution meshes: the whole pipeline against the legacy one, and the
 * merge's peak memory. Each mode is its own process, so peak RSS
 * (`process.resourceUsage().maxRSS`, worker threads included) is that of one
 * configuration.
 *
 *   npx tsx bench/multires-mesh.ts pipeline [n=256] [labels=300] [rounds=3]
 *       an n^3 uint32 Voronoi layer (file://, 4x4x40 nm, 64^3 chunks),
 *       meshed in 128^3 blocks (simplification 100, max error 40 nm), then
 *       (legacy) manifests, or (multires) forge --multires + merge --sharded;
 *       the two pipelines alternate `rounds` times; medians, their ratio and
 *       the faces stored at each lod
 *   npx tsx bench/multires-mesh.ts make DIR [objects=10000] [faces=10000]
 *       a segmentation layer (info only) and the forge fragments of `objects`
 *       closed objects of about `faces` triangles, written straight as files
 *   npx tsx bench/multires-mesh.ts merge DIR [tasks=1] [shardBytes=268435456]
 *       the first `tasks` sharded merge tasks over those fragments (shards
 *       sized to `shardBytes`), run here: objects, seconds, peak RSS
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { encodeLegacyMesh, type Mesh, MeshLayer, MultiresMeshLayer } from "../packages/mesh/src";
import { closePool, createInfo, fromTyped, Volume } from "../packages/precomputed/src";
import { forEachLimit, openStorage } from "../packages/storage/src";
import {
  createMeshingTasks,
  createMeshManifestTasks,
  createMultiresMeshMergeTasks,
  executeTask,
  voronoiSegmentation,
} from "../packages/tasks/src";

async function runAll(tasks: Iterable<unknown>, parallel = 2): Promise<unknown[]> {
  const out: unknown[] = [];
  await forEachLimit(tasks, parallel, async (t) => {
    out.push(await executeTask(JSON.parse(JSON.stringify(t))));
  });
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function pipeline(n: number, labels: number, rounds: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ngpipe-multires-bench-"));
  try {
    const url = `file://${dir}/seg`;
    await Volume.fromArray(
      url,
      fromTyped(voronoiSegmentation([n, n, n], { seeds: labels, seed: 12345 }), [n, n, n]),
      {
        type: "segmentation",
        encoding: "compressed_segmentation",
        chunkSize: [64, 64, 64],
        resolution: [4, 4, 40],
      },
    );
    const shape: [number, number, number] = [128, 128, 128];
    const times = { legacy: [] as number[], multires: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      for (const kind of ["legacy", "multires"] as const) {
        const meshDir = `${kind}${r}`;
        const t = performance.now();
        await runAll(
          await createMeshingTasks(url, {
            shape,
            meshDir,
            format: kind === "multires" ? "multires" : undefined,
          }),
        );
        if (kind === "legacy") await runAll(await createMeshManifestTasks(url, { meshDir }));
        else {
          const merged = await runAll(
            await createMultiresMeshMergeTasks(url, { meshDir, sharded: true }),
          );
          const objects = merged.reduce<number>(
            (n, m) => n + (m as { objects: number }).objects,
            0,
          );
          console.log(`round ${r} multires: ${objects} objects merged`);
        }
        const s = (performance.now() - t) / 1000;
        times[kind].push(s);
        console.log(`round ${r} ${kind}: ${s.toFixed(2)} s (load ${loadavg()[0].toFixed(2)})`);
      }
    }
    const l = median(times.legacy);
    const m = median(times.multires);
    console.log(
      `median legacy ${l.toFixed(2)} s, multires sharded ${m.toFixed(2)} s, ratio ${(m / l).toFixed(2)}`,
    );
    // Faces stored at each lod, over every object.
    const meshDir = `multires${rounds - 1}`;
    const meshes = await MultiresMeshLayer.open(url, { meshDir });
    const legacy = await MeshLayer.open(url, { meshDir });
    const ids = [...(await legacy.listFragments("fragments/", { recursive: true })).keys()];
    const perLod: number[] = [];
    for (const id of ids) {
      const man = await meshes.manifest(id);
      for (let lod = 0; lod < man.lods.length; lod++)
        perLod[lod] = (perLod[lod] ?? 0) + (await meshes.get(id, lod)).faces.length / 3;
    }
    console.log(`${ids.length} objects; faces per lod: ${perLod.join(", ")}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await closePool();
  }
}

/** A closed, bumpy UV sphere of about `faces` triangles around `c` (nm). */
function blob(faces: number, c: [number, number, number], r: number, seed: number): Mesh {
  const rings = Math.max(3, Math.round(Math.sqrt(faces / 2)));
  const segs = rings;
  const vertices: number[] = [];
  const tris: number[] = [];
  vertices.push(c[0], c[1], c[2] + r);
  for (let i = 1; i < rings; i++) {
    const th = (Math.PI * i) / rings;
    for (let j = 0; j < segs; j++) {
      const ph = (2 * Math.PI * j) / segs;
      const rr = r * (1 + 0.15 * Math.sin(3 * th + seed) * Math.cos(2 * ph + seed));
      vertices.push(
        c[0] + rr * Math.sin(th) * Math.cos(ph),
        c[1] + rr * Math.sin(th) * Math.sin(ph),
        c[2] + rr * Math.cos(th),
      );
    }
  }
  vertices.push(c[0], c[1], c[2] - r);
  const bottom = vertices.length / 3 - 1;
  const at = (i: number, j: number) => 1 + (i - 1) * segs + (j % segs);
  for (let j = 0; j < segs; j++) tris.push(0, at(1, j), at(1, j + 1));
  for (let i = 1; i < rings - 1; i++)
    for (let j = 0; j < segs; j++) {
      tris.push(at(i, j), at(i + 1, j), at(i + 1, j + 1));
      tris.push(at(i, j), at(i + 1, j + 1), at(i, j + 1));
    }
  for (let j = 0; j < segs; j++) tris.push(bottom, at(rings - 1, j + 1), at(rings - 1, j));
  return { vertices: new Float32Array(vertices), faces: new Uint32Array(tris) };
}

async function make(dir: string, objects: number, faces: number): Promise<void> {
  const url = `file://${dir}/seg`;
  const side = Math.ceil(Math.cbrt(objects));
  const size = side * 64;
  const storage = openStorage(url);
  const info = createInfo({
    type: "segmentation",
    dataType: "uint32",
    encoding: "raw",
    resolution: [8, 8, 8],
    size: [size, size, size],
    chunkSize: [64, 64, 64],
  });
  await storage.put("info", JSON.stringify({ ...info, mesh: "mesh" }));
  await storage.put(
    "mesh/info",
    JSON.stringify({
      "@type": "neuroglancer_multilod_draco",
      vertex_quantization_bits: 10,
      transform: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
      lod_scale_multiplier: 1,
      mip: 0,
    }),
  );
  const mesh = storage.child("mesh");
  const ids = Array.from({ length: objects }, (_, i) => i + 1);
  await forEachLimit(ids, 16, async (id) => {
    const i = id - 1;
    const c: [number, number, number] = [
      ((i % side) * 64 + 32) * 8,
      ((Math.floor(i / side) % side) * 64 + 32) * 8,
      (Math.floor(i / side / side) * 64 + 32) * 8,
    ];
    const bytes = gzipSync(encodeLegacyMesh(blob(faces, c, 200, id)));
    const block = `${c[0] / 8 - 32}-${c[0] / 8 + 32}_${c[1] / 8 - 32}-${c[1] / 8 + 32}_${c[2] / 8 - 32}-${c[2] / 8 + 32}`;
    await mesh.put(`${id}:0:${block}`, bytes, { compress: false });
  });
  console.log(
    `${objects} objects of ${blob(faces, [0, 0, 0], 1, 0).faces.length / 3} faces in ${url}`,
  );
}

async function merge(dir: string, count: number, shardBytes: number): Promise<void> {
  const url = `file://${dir}/seg`;
  const tasks = [...(await createMultiresMeshMergeTasks(url, { sharded: true, shardBytes }))];
  const t = performance.now();
  let objects = 0;
  for (const task of tasks.slice(0, count)) {
    const r = (await executeTask(JSON.parse(JSON.stringify(task)))) as { objects: number };
    objects += r.objects;
  }
  const s = (performance.now() - t) / 1000;
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(
    `${tasks.length} shard tasks; ran ${Math.min(count, tasks.length)}: ${objects} objects in ${s.toFixed(1)} s, peak RSS ${rss.toFixed(0)} MiB (load ${loadavg()[0].toFixed(2)})`,
  );
  await closePool();
}

async function main(): Promise<void> {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === "pipeline")
    await pipeline(Number(rest[0] ?? 256), Number(rest[1] ?? 300), Number(rest[2] ?? 3));
  else if (mode === "make") await make(rest[0], Number(rest[1] ?? 10000), Number(rest[2] ?? 10000));
  else if (mode === "merge") await merge(rest[0], Number(rest[1] ?? 1), Number(rest[2] ?? 2 ** 28));
  else console.log("usage: multires-mesh.ts pipeline|make|merge ...");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
