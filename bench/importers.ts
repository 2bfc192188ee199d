/**
 * Importer throughput: a BigArray and a HyperSquare dataset made once into
 * DIR, then ingested into file:// precomputed layers (or only read, with
 * `read`) with WORKERS tasks (block reads) at once and a worker pool of
 * WORKERS threads. Prints MB/s of decoded source voxels (source bytes / wall
 * seconds).
 *
 *   npx tsx bench/importers.ts make DIR
 *   npx tsx bench/importers.ts bigarray DIR WORKERS [read]
 *       512x512x128 uint8 image, BigArrays.jl chunks 128x128x64, Blosc (lz4, byte
 *       shuffle); layer: raw + gzip level 1, chunks 64^3, tasks 256x256x64
 *   npx tsx bench/importers.ts hypersquare DIR WORKERS [read]
 *       2x2x1 Eyewire-like cubes of 256^3 with overlap 32 (uint16 Voronoi segmentation
 *       as .lzma made by Python's lzma -6, greyscale JPEG slices); both layers of
 *       `image hypersquare` (jpeg image, raw segmentation), one task per cube
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { closePool, configurePool, encodeJpeg } from "../packages/precomputed/src";
import {
  type BlockBox,
  createIngestTasks,
  createTaskContext,
  executeTask,
  openSource,
  type SourceSpec,
  voronoiSegmentation,
} from "../packages/tasks/src";
import { createHyperSquareTasks } from "../packages/tasks/src/ingest/hypersquare-stage";
import type { TaskPayload } from "../packages/tasks/src/runtime/define";

/** Untimed: start the pool's threads and load the kernels in each, reading `workers` blocks at once. */
async function warmUp(spec: SourceSpec, workers: number): Promise<void> {
  const src = await openSource(spec);
  const box: BlockBox = { min: [0, 0, 0], max: [64, 64, 64] };
  await Promise.all(Array.from({ length: workers }, () => src.readBlock(box)));
  await src.close();
}

async function runConcurrently(tasks: TaskPayload[], workers: number): Promise<void> {
  const ctx = createTaskContext();
  const queue = [...tasks];
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let t = queue.shift(); t; t = queue.shift()) await executeTask(t, ctx);
    }),
  );
}

async function collect(tasks: Iterable<unknown> | AsyncIterable<unknown>): Promise<TaskPayload[]> {
  const out: TaskPayload[] = [];
  for await (const t of tasks) out.push(t as TaskPayload);
  return out;
}

async function makeBigArray(dir: string): Promise<void> {
  const Blosc = (await import("numcodecs/blosc")).default;
  const codec = Blosc.fromConfig({ id: "blosc", cname: "lz4", clevel: 5, shuffle: 1 });
  const size = BIGARRAY_SIZE;
  const cs = [128, 128, 64];
  const src = join(dir, "bigarray");
  mkdirSync(src, { recursive: true });
  writeFileSync(
    join(src, "config.json"),
    JSON.stringify({ dataType: "UInt8", chunkSize: cs, coding: "blosclz" }),
  );
  let seed = 1;
  for (let z0 = 0; z0 < size[2]; z0 += cs[2])
    for (let y0 = 0; y0 < size[1]; y0 += cs[1])
      for (let x0 = 0; x0 < size[0]; x0 += cs[0]) {
        const chunk = new Uint8Array(cs[0] * cs[1] * cs[2]);
        // EM-like: smooth structure plus noise.
        for (let i = 0; i < chunk.length; i++) {
          seed = (seed * 1103515245 + 12345) >>> 0;
          const x = i % cs[0];
          const y = Math.floor(i / cs[0]) % cs[1];
          chunk[i] =
            (128 + 60 * Math.sin((x0 + x) / 9) * Math.cos((y0 + y) / 13) + (seed >>> 27)) & 0xff;
        }
        const key = `${x0 + 1}:${x0 + cs[0]}_${y0 + 1}:${y0 + cs[1]}_${z0 + 1}:${z0 + cs[2]}`;
        writeFileSync(join(src, key), await codec.encode(chunk));
      }
}

const BIGARRAY_SIZE = [512, 512, 128];

async function bigarray(dir: string, workers: number, readOnly: boolean): Promise<number> {
  const size = BIGARRAY_SIZE;
  const src = join(dir, "bigarray");
  if (readOnly) return readAll({ url: src, format: "bigarray" }, [256, 256, 64], workers);
  rmSync(join(dir, "out"), { recursive: true, force: true });
  await warmUp({ url: src, format: "bigarray" }, workers);
  const tasks = await collect(
    await createIngestTasks(
      { url: src, format: "bigarray" },
      pathToFileURL(join(dir, "out")).href,
      {
        chunkSize: [64, 64, 64],
        taskShape: [256, 256, 64],
        compressLevel: 1,
      },
    ),
  );
  const t0 = performance.now();
  await runConcurrently(tasks, workers);
  const seconds = (performance.now() - t0) / 1000;
  return (size[0] * size[1] * size[2]) / 1e6 / seconds;
}

const CUBE = 256;

async function makeHyperSquare(dir: string): Promise<void> {
  const cube = CUBE;
  const overlap = 32;
  const step = cube - overlap;
  const src = join(dir, "cubes");
  for (let k = 0; k < 1; k++)
    for (let j = 0; j < 2; j++)
      for (let i = 0; i < 2; i++) {
        const name = String(100 + i + 2 * j + 4 * k);
        const c = join(src, name);
        mkdirSync(join(c, "jpg"), { recursive: true });
        const ids = voronoiSegmentation([cube, cube, cube], {
          seeds: 1500,
          seed: 7 + i + 2 * j + 4 * k,
        });
        const seg = Uint16Array.from(ids);
        writeFileSync(join(c, "seg.raw"), seg);
        const py = spawnSync("python3", [
          "-c",
          `import lzma,sys; d=open(sys.argv[1],'rb').read(); open(sys.argv[2],'wb').write(lzma.compress(d, format=lzma.FORMAT_ALONE, preset=6))`,
          join(c, "seg.raw"),
          join(c, "segmentation.lzma"),
        ]);
        if (py.status !== 0) throw new Error(String(py.stderr));
        rmSync(join(c, "seg.raw"));
        const plane = new Uint8Array(cube * cube);
        for (let z = 0; z < cube; z++) {
          for (let p = 0; p < plane.length; p++)
            plane[p] = (seg[z * cube * cube + p] * 37 + z) & 0xff;
          writeFileSync(join(c, "jpg", `${z}.jpg`), encodeJpeg(plane, [cube, cube, 1, 1], 90));
        }
        const origin = [i * step - overlap / 2, j * step - overlap / 2, k * step - overlap / 2];
        writeFileSync(
          join(c, "metadata.json"),
          JSON.stringify({
            chunk_voxel_dimensions: [cube, cube, cube],
            voxel_resolution: [16, 16, 23],
            physical_offset_min: origin.map((o, a) => o * [16, 16, 23][a]),
            physical_offset_max: origin.map((o, a) => (o + cube) * [16, 16, 23][a]),
            image_type: "UInt8",
            segment_id_type: "UInt16",
            affinity_type: "Float32",
          }),
        );
      }
}

async function hypersquare(dir: string, workers: number, readOnly: boolean): Promise<number> {
  const n = CUBE ** 3;
  const src = join(dir, "cubes");
  if (readOnly) {
    const seg = await readAll(
      { url: src, format: "hypersquare", dataset: "segmentation" },
      [224, 224, 224],
      workers,
    );
    const img = await readAll(
      { url: src, format: "hypersquare", dataset: "image" },
      [224, 224, 224],
      workers,
    );
    // MB/s over both volumes: total bytes / total seconds.
    const bytes = 4 * 224 ** 3;
    return (3 * bytes) / 1e6 / ((2 * bytes) / 1e6 / seg + bytes / 1e6 / img);
  }
  rmSync(join(dir, "out"), { recursive: true, force: true });
  await warmUp({ url: src, format: "hypersquare", dataset: "segmentation" }, workers);
  const phases = await createHyperSquareTasks(src, pathToFileURL(join(dir, "out")).href);
  const t0 = performance.now();
  for (const phase of phases) await runConcurrently(await collect(await phase.tasks()), workers);
  const seconds = (performance.now() - t0) / 1000;
  // Source bytes: every cube's decoded segmentation (uint16) and image (uint8).
  return (4 * n * 3) / 1e6 / seconds;
}

/** Read the whole source in blocks of `block`, `workers` blocks at once: MB/s of decoded voxels. */
async function readAll(spec: SourceSpec, block: number[], workers: number): Promise<number> {
  const src = await openSource(spec);
  const boxes: BlockBox[] = [];
  for (let z = 0; z < src.shape[2]; z += block[2])
    for (let y = 0; y < src.shape[1]; y += block[1])
      for (let x = 0; x < src.shape[0]; x += block[0])
        boxes.push({
          min: [x, y, z],
          max: [
            Math.min(x + block[0], src.shape[0]),
            Math.min(y + block[1], src.shape[1]),
            Math.min(z + block[2], src.shape[2]),
          ],
        });
  // Warm-up, untimed: starts the pool's threads and loads the kernels in each.
  await Promise.all(Array.from({ length: workers }, () => src.readBlock(boxes[0])));
  let bytes = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let b = boxes.shift(); b; b = boxes.shift()) {
        // Not `bytes += await ...`: that reads `bytes` before the await and
        // loses what the other readers add meanwhile.
        const n = (await src.readBlock(b)).data.byteLength;
        bytes += n;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  await src.close();
  return bytes / 1e6 / seconds;
}

async function main(): Promise<void> {
  const [cmd, dir, w, mode] = process.argv.slice(2);
  if (cmd === "make") {
    await makeBigArray(dir);
    await makeHyperSquare(dir);
    return;
  }
  const workers = Number(w ?? 1);
  const readOnly = mode === "read";
  configurePool({ threads: workers });
  try {
    const mbps =
      cmd === "hypersquare"
        ? await hypersquare(dir, workers, readOnly)
        : await bigarray(dir, workers, readOnly);
    console.log(
      `${cmd} ${readOnly ? "read" : "ingest"} workers=${workers}: ${mbps.toFixed(1)} MB/s of decoded source voxels`,
    );
  } finally {
    await closePool();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
