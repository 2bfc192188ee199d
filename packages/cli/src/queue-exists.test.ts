/**
 * Stage commands with `--queue` check that an SQS queue exists before they
 * write anything (issue 19): a well-formed URL of a missing queue, or of an
 * endpoint where no SQS answers, fails naming the URL with the layer's files
 * untouched; an existing queue gets the tasks.
 */
import { join } from "node:path";
import { Volume, zeros } from "@ngpipe/precomputed";
import { openQueue, type SqsQueue } from "@ngpipe/queue";
import { freePort, useMoto } from "../../../test/support/moto";
import { cliTestbed } from "./capture.testutil";
import { main } from "./program";
import { snapshot } from "./snapshot.testutil";

const cli = cliTestbed("ngpipe-queue-exists-");
const moto = useMoto();
const maybe = moto.available ? test : test.skip;

let layer: string;

beforeAll(async () => {
  layer = join(cli.tmp, "layer");
  const vol = await Volume.create(`file://${layer}`, {
    type: "image",
    data_type: "uint8",
    num_channels: 1,
    scales: [
      {
        key: "1_1_1",
        resolution: [1, 1, 1],
        size: [32, 32, 8],
        voxel_offset: [0, 0, 0],
        chunk_sizes: [[16, 16, 8]],
        encoding: "raw",
      },
    ],
  });
  await vol.write(vol.bounds, zeros("uint8", [32, 32, 8, 1]));
});

const downsample = (queue: string) =>
  main(["node", "ngpipe", "--quiet", "image", "downsample", layer, "--queue", queue]);

maybe("a queue URL of a missing SQS queue fails naming it, nothing written", async () => {
  const url = `${moto.endpoint}/123456789012/no-such-queue`;
  const before = snapshot(cli.tmp);
  expect(await downsample(url)).not.toBe(0);
  expect(cli.err.trimEnd().split("\n")).toHaveLength(1);
  expect(cli.err).toMatch(/QueueNotFoundError/);
  expect(cli.err).toContain(`${url} does not exist`);
  expect(snapshot(cli.tmp)).toEqual(before);
});

maybe("a queue URL where no SQS answers fails naming it, nothing written", async () => {
  const url = `http://127.0.0.1:${await freePort()}/123456789012/jobs`;
  const before = snapshot(cli.tmp);
  expect(await downsample(url)).not.toBe(0);
  expect(cli.err.trimEnd().split("\n")).toHaveLength(1);
  expect(cli.err).toMatch(/QueueNotFoundError/);
  expect(cli.err).toContain(`no SQS queue answers at ${url}`);
  expect(snapshot(cli.tmp)).toEqual(before);
});

maybe("an existing SQS queue gets the tasks", async () => {
  const q = (await openQueue("sqs://exists-check", {
    endpoint: moto.endpoint,
    create: true,
  })) as SqsQueue;
  try {
    expect(await downsample(q.queueUrl)).toBe(0);
    expect(cli.err).toMatch(/inserted [1-9]\d* downsample task\(s\)/);
    expect((await q.status()).enqueued).toBeGreaterThan(0);
  } finally {
    await q.close();
  }
});
