import { Writable } from "node:stream";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { MeshLayer } from "@ngpipe/mesh";
import { closePool, fromTyped, Volume } from "@ngpipe/precomputed";
import { openQueue, poll } from "@ngpipe/queue";
import { createTaskContext, executeTask, voronoiSegmentation } from "@ngpipe/tasks";
import { useMoto } from "../../test/support/moto";
import { enqueue } from "./enqueue";

const moto = useMoto();
const withMoto = moto.available ? describe : describe.skip;
const sink = () =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

afterAll(closePool);

/** What one `ngpipe execute --exit-when-empty sqs://...` container does, in process. */
async function runWorker(queueUrl: string) {
  const queue = await openQueue(queueUrl, { endpoint: moto.endpoint });
  try {
    return await poll(
      queue,
      (task, lease) => executeTask(task, createTaskContext({ signal: lease.signal })),
      {
        concurrency: 2,
        stopWhenEmpty: true,
        leaseSeconds: 60,
        // Short waits: the test queue is drained, no need to long-poll for 20 s.
        waitSeconds: 0,
        backoff: { initialMs: 50, maxMs: 200 },
      },
    );
  } finally {
    await queue.close();
  }
}

withMoto("cluster example: enqueue into SQS, workers drain it (moto)", () => {
  test("downsample, mesh and manifest stages of an s3:// layer run through sqs://", async () => {
    const admin = new S3Client({
      endpoint: moto.endpoint,
      forcePathStyle: true,
      region: "us-east-1",
    });
    await admin.send(new CreateBucketCommand({ Bucket: "lab" }));
    admin.destroy();
    // The endpoint rides in the layer URL, so workers need no extra options.
    const layer = `s3://${moto.endpoint}/lab/seg`;
    const size: [number, number, number] = [64, 64, 32];
    const labels = voronoiSegmentation(size, { seeds: 12, seed: 5 });
    await Volume.fromArray(layer, fromTyped(labels, size), {
      chunkSize: [32, 32, 32],
      encoding: "compressed_segmentation",
    });
    const queue = "sqs://ngpipe-example-jobs";
    const common = { layer, queue, endpoint: moto.endpoint, out: sink() };

    expect(await enqueue({ ...common, stage: "downsample", mips: 1 })).toBeGreaterThan(0);
    const ds = await runWorker(queue);
    expect(ds).toMatchObject({ failed: 0, dead: 0, stoppedBy: "empty" });
    expect(ds.succeeded).toBeGreaterThan(0);

    // Mip 1 (2x2x1 mode pooling): every voxel is one of the labels of its 2x2 block.
    const mip1 = await Volume.open(layer, { mip: 1 });
    expect(mip1.bounds.size()).toEqual([32, 32, 32]);
    const down = await mip1.read(mip1.bounds);
    let notInBlock = 0;
    for (let z = 0; z < 32; z++)
      for (let y = 0; y < 32; y++)
        for (let x = 0; x < 32; x++) {
          const block = [0, 1, 2, 3].map(
            (k) => labels[2 * x + (k & 1) + 64 * (2 * y + (k >> 1) + 64 * z)],
          );
          if (!block.includes(down.get(x, y, z, 0) as number)) notInBlock++;
        }
    expect(notInBlock).toBe(0);

    const meshTasks = await enqueue({ ...common, stage: "mesh", shape: [32, 32, 32] });
    expect(meshTasks).toBe(4);
    expect((await runWorker(queue)).succeeded).toBe(4);
    expect(await enqueue({ ...common, stage: "manifest" })).toBe(1);
    expect((await runWorker(queue)).succeeded).toBe(1);

    // Every label of the segmentation got a manifest naming at least one fragment.
    const meshes = await MeshLayer.open(layer);
    const ids = [...new Set(labels)].filter((id) => id !== 0);
    for (const id of ids) expect((await meshes.manifest(id))?.length).toBeGreaterThan(0);
    expect((await meshes.get(ids[0])).vertices.length).toBeGreaterThan(0);
  });
});
