/**
 * The quickstart: with nothing set up, make a small realistic dataset (an
 * EM-like image and its segmentation), ingest both into precomputed layers
 * on file://, downsample them, mesh the segmentation and merge the meshes
 * into sharded multiresolution (Draco, levels of detail) meshes, skeletonize
 * it and merge the skeletons across blocks — every stage through a real
 * fq:// queue and the worker loop — then print a
 * summary and the command to look at the result in Neuroglancer.
 */
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { MeshLayer, MultiresMeshLayer } from "@ngpipe/mesh";
import { SkeletonLayer } from "@ngpipe/precomputed";
import {
  createDownsampleTasks,
  createIngestTasks,
  createMeshingTasks,
  createMultiresMeshMergeTasks,
  createSkeletonMergeTasks,
  createSkeletonTasks,
  emLikeImage,
  voronoiSegmentation,
} from "@ngpipe/tasks";
import { describeLayer } from "./commands/info";
import { UsageError } from "./errors";
import { type PipelineStep, runPipeline, type StepResult } from "./pipeline";

/** Options of {@link quickstart}. */
export interface QuickstartOptions {
  /** Dataset size [x, y, z]. Default [256, 256, 128]. */
  size?: [number, number, number];
  /** Workers in this process. Default 2. */
  workers?: number;
  quiet?: boolean;
  /** Where to print the summary. Default stdout. */
  out?: NodeJS.WritableStream;
}

/** A C-order .npy of shape (z, y, x) holding x-fastest voxels. */
function npy(descr: string, size: [number, number, number], data: Uint8Array): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${size[2]}, ${size[1]}, ${size[0]}), }`;
  header += `${" ".repeat((64 - ((10 + header.length + 1) % 64)) % 64)}\n`;
  const pre = Buffer.alloc(10);
  pre.write("\x93NUMPY", 0, "latin1");
  pre[6] = 1;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, "latin1"), data]);
}

/** The file that marks a directory as the quickstart's own, so a rerun may empty it. */
export const QUICKSTART_MARKER = ".ngpipe-quickstart";

/**
 * Make `root` an empty directory holding only the marker. Its old contents
 * are deleted only when it is the quickstart's own (it has the marker):
 * `ngpipe quickstart .` must never wipe a user's data.
 */
async function prepareDir(root: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR")
      throw new UsageError(`${root} is a file; the quickstart needs a new or empty directory`);
    if (code !== "ENOENT") throw e;
    names = [];
  }
  if (names.length > 0 && !names.includes(QUICKSTART_MARKER))
    throw new UsageError(
      `${root} is not empty and was not made by the quickstart (no ${QUICKSTART_MARKER} in it, which older quickstarts did not write either); give a new or empty directory, or delete this one yourself`,
    );
  // Empty the directory rather than delete it: it may be the cwd.
  await Promise.all(names.map((n) => rm(join(root, n), { recursive: true, force: true })));
  await mkdir(join(root, "source"), { recursive: true });
  await writeFile(
    join(root, QUICKSTART_MARKER),
    "made by `ngpipe quickstart`, which empties this directory when it runs again here\n",
  );
}

/**
 * Run the quickstart into `dir` (a new or empty directory, or one an earlier
 * quickstart made, which is emptied first); returns the per-step results.
 */
export async function quickstart(dir: string, o: QuickstartOptions = {}): Promise<StepResult[]> {
  const out = o.out ?? process.stdout;
  const say = (s: string) => out.write(`${s}\n`);
  const root = resolve(dir);
  const size = o.size ?? [256, 256, 128];
  await prepareDir(root);

  let t = Date.now();
  // 8x8x40 nm voxels: cells elongated 5x in voxel z look round in space.
  const seg = voronoiSegmentation(size, {
    seeds: Math.round((size[0] * size[1] * size[2]) / 40000),
    seed: 42,
    scale: [1, 1, 5],
    boundary: 1.5,
  });
  const img = emLikeImage(seg, size, 7);
  await writeFile(
    join(root, "source", "segmentation.npy"),
    npy("<u4", size, new Uint8Array(seg.buffer)),
  );
  await writeFile(join(root, "source", "image.npy"), npy("|u1", size, img));
  const genSeconds = (Date.now() - t) / 1000;
  if (!o.quiet)
    say(
      `generated a ${size.join("x")} EM-like image and segmentation in ${genSeconds.toFixed(1)} s`,
    );

  // Not pathToFileURL: storage reads the path after file:// as is, unencoded.
  const url = (name: string) => `file://${join(root, name)}`;
  const image = url("image");
  const segmentation = url("segmentation");
  const queue = `fq://${join(root, "queue")}`;
  const common = {
    resolution: [8, 8, 40] as [number, number, number],
    chunkSize: [64, 64, 32] as [number, number, number],
  };
  const steps: PipelineStep[] = [
    {
      name: "ingest image",
      tasks: () =>
        createIngestTasks(join(root, "source", "image.npy"), image, {
          ...common,
          layerType: "image",
        }),
    },
    {
      name: "ingest segmentation",
      tasks: () =>
        createIngestTasks(join(root, "source", "segmentation.npy"), segmentation, {
          ...common,
          layerType: "segmentation",
        }),
    },
    { name: "downsample image", tasks: () => createDownsampleTasks(image, { mips: 2 }) },
    {
      name: "downsample segmentation",
      tasks: () => createDownsampleTasks(segmentation, { mips: 2 }),
    },
    {
      name: "mesh segmentation",
      tasks: () =>
        createMeshingTasks(segmentation, {
          shape: [128, 128, 64],
          simplification: 10,
          maxError: 40,
          dust: 100,
          format: "multires",
        }),
    },
    {
      name: "mesh multires merge",
      tasks: () => createMultiresMeshMergeTasks(segmentation, { sharded: true }),
    },
    {
      name: "skeletonize segmentation",
      tasks: () =>
        createSkeletonTasks(segmentation, {
          shape: [128, 128, 64],
          teasar: { scale: 4, const: 100 },
          dust: 100,
        }),
    },
    {
      // The cells are a few hundred nm across: keep every piece, prune only tiny ticks.
      name: "merge skeletons",
      tasks: () => createSkeletonMergeTasks(segmentation, { dustThreshold: 0, tickThreshold: 100 }),
    },
  ];
  t = Date.now();
  const results = await runPipeline(steps, { queue, workers: o.workers ?? 2, quiet: o.quiet });
  const total = (Date.now() - t) / 1000 + genSeconds;

  say("\nngpipe quickstart: done\n");
  say(`  ${"step".padEnd(26)} tasks   seconds`);
  say(`  ${"generate data".padEnd(26)} ${"-".padStart(5)} ${genSeconds.toFixed(1).padStart(9)}`);
  for (const r of results)
    say(
      `  ${r.name.padEnd(26)} ${String(r.tasks).padStart(5)} ${r.seconds.toFixed(1).padStart(9)}`,
    );
  say(`  ${"total".padEnd(26)} ${"".padStart(5)} ${total.toFixed(1).padStart(9)}\n`);
  say(await describeLayer(image));
  say(await describeLayer(segmentation));
  const meshes = await MultiresMeshLayer.open(segmentation);
  // Segments meshed: the ids of the forge's fragments (in their hash buckets).
  const forge = await MeshLayer.open(segmentation);
  const segments = (await forge.listFragments("fragments/", { recursive: true })).size;
  let shards = 0;
  for await (const k of meshes.storage.list("")) if (k.endsWith(".shard")) shards++;
  say(
    `  meshes: ${segments} segments, multiresolution in ${shards} shard file${shards === 1 ? "" : "s"}, in ${meshes.url}`,
  );
  const skeletons = await SkeletonLayer.open(`${segmentation}/skeletons`);
  let skeletonized = 0;
  for await (const k of skeletons.storage.list("")) if (/^\d+$/.test(k)) skeletonized++;
  say(`  skeletons: ${skeletonized} segments in ${skeletons.url}\n`);
  say(`queue: ${queue}`);
  say(`look at it in Neuroglancer:\n  npm run ngpipe -- view ${dir}`);
  return results;
}
