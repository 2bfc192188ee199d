/**
 * Fill an SQS queue with the tasks of one pipeline stage for a layer; the
 * workers (`ngpipe execute sqs://<queue>`, see Dockerfile and
 * deployment.yaml beside this file) run them. The built-in stages are the
 * ones a stock `ngpipe execute` worker knows:
 *
 *   npx tsx examples/cluster/enqueue.ts gs://bucket/seg sqs://my-jobs --stage downsample --mips 3
 *   npx tsx examples/cluster/enqueue.ts gs://bucket/seg sqs://my-jobs --stage mesh
 *   npx ngpipe queue wait sqs://my-jobs          # (or `npm run ngpipe -- queue wait ...`)
 *   npx tsx examples/cluster/enqueue.ts gs://bucket/seg sqs://my-jobs --stage manifest
 *
 * `--endpoint http://127.0.0.1:5000` points the SQS client at moto or
 * LocalStack. The queue is created when missing. Credentials come from the
 * AWS chain (environment, ~/.aws, instance role) for SQS, and from
 * ~/.cloudvolume/secrets for the layer's bucket.
 */
import { parseArgs } from "node:util";
import { closePool } from "@ngpipe/precomputed";
import { openQueue, type TaskInput } from "@ngpipe/queue";
import {
  createDownsampleTasks,
  createMeshingTasks,
  createMeshManifestTasks,
  type TaskPayload,
} from "@ngpipe/tasks";

/** The stages this script can enqueue. */
export type Stage = "downsample" | "mesh" | "manifest";

/** Options of {@link enqueue}. */
export interface EnqueueOptions {
  /** Layer URL (gs://, s3://, file:// on a shared disk, ...). */
  layer: string;
  /** Queue URL: `sqs://name` or `https://sqs.<region>.amazonaws.com/<account>/<name>`. */
  queue: string;
  stage: Stage;
  /** downsample: mips to add (default: as many as the memory target allows). */
  mips?: number;
  /** mesh: block shape in voxels (default 448^3, like Igneous). */
  shape?: [number, number, number];
  /** SQS endpoint (moto, LocalStack). */
  endpoint?: string;
  /** Where to print. Default stderr. */
  out?: NodeJS.WritableStream;
}

async function tasksFor(
  o: EnqueueOptions,
): Promise<Iterable<TaskPayload> | AsyncIterable<TaskPayload>> {
  switch (o.stage) {
    case "downsample":
      // Adds the new scales to the info now; the tasks fill them in.
      return createDownsampleTasks(o.layer, { mips: o.mips });
    case "mesh":
      return createMeshingTasks(o.layer, { shape: o.shape });
    case "manifest":
      return createMeshManifestTasks(o.layer);
    default:
      throw new Error(`unknown stage "${o.stage}" (downsample, mesh or manifest)`);
  }
}

/** Create the tasks of one stage and insert them into the queue; returns how many. */
export async function enqueue(o: EnqueueOptions): Promise<number> {
  const out = o.out ?? process.stderr;
  const queue = await openQueue(o.queue, { create: true, endpoint: o.endpoint });
  try {
    // Tasks stream from the creation function into the queue: a million
    // tasks never sit in memory at once.
    const n = await queue.insert((await tasksFor(o)) as Iterable<TaskInput>, {
      onProgress: (k) => {
        if (k % 1000 === 0) out.write(`${k} tasks inserted\n`);
      },
    });
    out.write(`inserted ${n} ${o.stage} tasks for ${o.layer} into ${queue.url}\n`);
    return n;
  } finally {
    await queue.close();
  }
}

if (require.main === module) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      stage: { type: "string", default: "downsample" },
      mips: { type: "string" },
      shape: { type: "string" },
      endpoint: { type: "string" },
    },
  });
  const [layer, queue] = positionals;
  if (!layer || !queue) {
    console.error(
      "usage: npx tsx examples/cluster/enqueue.ts <layer> <queue> [--stage downsample|mesh|manifest] [--mips N] [--shape x,y,z] [--endpoint URL]",
    );
    process.exit(2);
  }
  enqueue({
    layer,
    queue,
    stage: values.stage as Stage,
    mips: values.mips === undefined ? undefined : Number(values.mips),
    shape: values.shape?.split(",").map(Number) as [number, number, number] | undefined,
    endpoint: values.endpoint,
  })
    .catch((err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    })
    .finally(closePool);
}
