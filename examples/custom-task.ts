/**
 * Your own pipeline stage, run the way the built-in ones are: define a task
 * with `defineTask` and a zod schema, tile a layer into one task per block,
 * insert the tasks into a queue, run a worker loop (`poll` + `executeTask`)
 * until the queue is drained, then combine what the tasks wrote.
 *
 * The task computes the intensity histogram of one block of a uint8 image
 * and writes it as JSON next to the layer (`histograms/<block>.json`).
 * Writing results to storage — not returning them — is what makes it work
 * the same with one process or a thousand workers: any worker may run any
 * task, and running a task twice writes the same bytes.
 *
 *   npx tsx examples/custom-task.ts               # synthetic image, fq:// queue in a temp dir
 *   npx tsx examples/custom-task.ts file:///data/img fq:///scratch/histq
 *
 * A worker started elsewhere must import this file before it executes tasks
 * (the definition registers the task by name); `ngpipe execute` only knows the
 * built-in tasks.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Bbox, closePool, fromTyped, type Vec3, Volume } from "@ngpipe/precomputed";
import { openQueue, type PollSummary, poll } from "@ngpipe/queue";
import {
  createTaskContext,
  defineTask,
  emLikeImage,
  executeTask,
  type TaskSet,
  taskSet,
  voronoiSegmentation,
} from "@ngpipe/tasks";
import { z } from "zod";

/**
 * Params of one histogram task: the image URL, one block of it as a chunk
 * name (`x0-x1_y0-y1_z0-z1`, voxels of `mip`), and the mip. Params travel as
 * JSON, so keep them to strings, numbers and arrays.
 */
const histogramParams = z.object({
  image: z.string(),
  block: z.string().regex(/^\d+-\d+_\d+-\d+_\d+-\d+$/),
  mip: z.number().int().nonnegative().default(0),
});

/** The validated params of {@link histogramTask}. */
export type HistogramParams = z.output<typeof histogramParams>;

/** Key, relative to the image layer, of the histogram of one block. */
export function histogramKey(block: Bbox, mip = 0): string {
  return `histograms/${mip}/${block.toChunkName()}.json`;
}

/**
 * The task: a 256-bin histogram of one block of a uint8 image. Registered
 * under the name "example-histogram" as soon as this module is imported.
 */
export const histogramTask = defineTask({
  name: "example-histogram",
  params: histogramParams,
  async run({ image, block: name, mip }, ctx) {
    // ctx.storage(url) is opened once per process and shared by its tasks.
    const vol = await Volume.open(image, { mip, storage: ctx.storage(image), fillMissing: true });
    if (vol.dataType !== "uint8") {
      throw new TypeError(`example-histogram needs a uint8 image, ${image} is ${vol.dataType}`);
    }
    const block = Bbox.parseChunkName(name);
    const cut = await vol.read(block, { signal: ctx.signal });
    const counts = new Array<number>(256).fill(0);
    const data = cut.data as Uint8Array;
    for (let i = 0; i < data.length; i++) counts[data[i]]++;
    await vol.storage.put(
      histogramKey(block, mip),
      JSON.stringify({ block: block.toJSON(), counts }),
      {
        contentType: "application/json",
        signal: ctx.signal,
      },
    );
    ctx.progress(data.length, data.length);
    return data.length;
  },
});

/** One histogram task per `shape` block of the image (clipped to its bounds). */
export async function createHistogramTasks(
  image: string,
  shape: Vec3 = [64, 64, 64],
  mip = 0,
): Promise<TaskSet<HistogramParams>> {
  const vol = await Volume.open(image, { mip });
  return taskSet(vol.bounds, shape, {}, (block) =>
    histogramTask.payload({ image, block: block.toChunkName(), mip }),
  );
}

/** Sum the per-block histograms the tasks wrote. */
export async function mergeHistograms(image: string, mip = 0): Promise<number[]> {
  const vol = await Volume.open(image, { mip });
  const total = new Array<number>(256).fill(0);
  for await (const key of vol.storage.list(`histograms/${mip}/`)) {
    const bytes = await vol.storage.get(key);
    const { counts } = JSON.parse(new TextDecoder().decode(bytes!)) as { counts: number[] };
    for (let v = 0; v < 256; v++) total[v] += counts[v];
  }
  return total;
}

/** Options of {@link main}. */
export interface CustomTaskOptions {
  /** uint8 image layer URL. Default: a synthetic image in a temporary directory. */
  image?: string;
  /** Queue URL. Default: an fq:// queue in a temporary directory. */
  queue?: string;
  /** Block shape of one task. Default [64, 64, 64]. */
  shape?: Vec3;
  /** Tasks run at once by the worker loop. Default 2. */
  concurrency?: number;
  /** Where to print. Default stdout. */
  out?: NodeJS.WritableStream;
}

/** Create, enqueue and run the histogram tasks; print and return the result. */
export async function main(options: CustomTaskOptions = {}) {
  const out = options.out ?? process.stdout;
  let { image, queue: queueUrl } = options;
  if (!image || !queueUrl) {
    const dir = await mkdtemp(join(tmpdir(), "ngpipe-custom-task-"));
    if (!image) {
      const size: [number, number, number] = [128, 128, 64];
      const labels = voronoiSegmentation(size, { seeds: 30, seed: 11 });
      image = pathToFileURL(join(dir, "image")).href;
      await Volume.fromArray(image, fromTyped(emLikeImage(labels, size, 2), size), {
        type: "image",
        chunkSize: [64, 64, 32],
        resolution: [8, 8, 40],
      });
      out.write(`made a synthetic image at ${image}\n`);
    }
    queueUrl ??= `fq://${join(dir, "queue")}`;
  }

  // 1. Create tasks lazily and insert them; the queue streams the iterable.
  const tasks = await createHistogramTasks(image, options.shape);
  const queue = await openQueue(queueUrl, { create: true });
  const inserted = await queue.insert(tasks);
  out.write(`inserted ${inserted} tasks into ${queue.url}\n`);

  // 2. The worker loop, as `ngpipe execute --exit-when-empty` runs it. A
  //    failing task is retried (up to maxAttempts), then dead-lettered.
  const summary: PollSummary = await poll(
    queue,
    (task, lease) => executeTask(task, createTaskContext({ signal: lease.signal })),
    { concurrency: options.concurrency ?? 2, stopWhenEmpty: true, leaseSeconds: 60 },
  );
  out.write(
    `worker: ${summary.succeeded} succeeded, ${summary.failed} failed, ${summary.dead} dead (stopped: ${summary.stoppedBy})\n`,
  );
  await queue.close();

  // 3. Combine the results the tasks wrote.
  const histogram = await mergeHistograms(image);
  const voxels = histogram.reduce((a, b) => a + b, 0);
  const mean = histogram.reduce((a, n, v) => a + n * v, 0) / voxels;
  out.write(`\n${voxels} voxels, mean intensity ${mean.toFixed(2)}\n`);
  const bins = 16;
  const binned = Array.from({ length: bins }, (_, b) =>
    histogram.slice(b * 16, b * 16 + 16).reduce((a, n) => a + n, 0),
  );
  const peak = Math.max(...binned);
  binned.forEach((n, b) => {
    const bar = "#".repeat(Math.round((n / peak) * 40));
    out.write(`${String(b * 16).padStart(3)}-${String(b * 16 + 15).padStart(3)} ${bar}\n`);
  });
  return { inserted, summary, histogram };
}

if (require.main === module) {
  const [image, queue] = process.argv.slice(2);
  main({ image, queue })
    .catch((err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    })
    .finally(closePool);
}
