/**
 * A whole transfer between s3:// layers (moto) through a proxy that answers
 * 10% of requests with 503 and drops 10% of connections: the destination's
 * objects are byte-identical (keys, bytes, Content-Encoding) to a clean run
 * through the same proxy. The transfer re-chunks and downsamples, so every
 * request kind (list, head, get, put, conditional put) meets faults.
 * NGPIPE_FAULT_REPORT=1 prints requests, injected faults and retries.
 */
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { closePool, NdArray, Volume } from "@ngpipe/precomputed";
import { openStorage, type StorageOptions } from "@ngpipe/storage";
import { FaultProxy } from "@ngpipe/storage/testing";
import { useMoto } from "../../../../test/support/moto";
import { createTaskContext } from "../runtime";
import { runAll } from "./testing";
import { createTransferTasks } from "./transfer";

const moto = useMoto();
const withMoto = moto.available ? describe : describe.skip;

/** Every object under `url` (read straight from moto): `key:encoding` -> stored bytes. */
async function objects(url: string): Promise<Map<string, Buffer>> {
  const s = openStorage(url, { endpoint: moto.endpoint });
  const out = new Map<string, Buffer>();
  for await (const key of s.list("", { recursive: true })) {
    const raw = await s.getRaw(key);
    if (raw) out.set(`${key}:${raw.info.contentEncoding ?? ""}`, Buffer.from(raw.data));
  }
  await s.backend.close?.();
  return out;
}

withMoto("image xfer between s3:// layers under injected faults", () => {
  let proxy: FaultProxy;
  const src = "s3://xfer-faults/src/img";

  beforeAll(async () => {
    const admin = new S3Client({
      endpoint: moto.endpoint,
      forcePathStyle: true,
      region: "us-east-1",
    });
    await admin.send(new CreateBucketCommand({ Bucket: "xfer-faults" }));
    admin.destroy();
    const a = NdArray.zeros("uint8", [128, 128, 32, 1]);
    for (let i = 0; i < a.data.length; i++) (a.data as Uint8Array)[i] = (i * 2654435761) >>> 24;
    await Volume.fromArray(src, a, {
      chunkSize: [32, 32, 32],
      storageOptions: { endpoint: moto.endpoint },
    });
    proxy = await FaultProxy.start(moto.endpoint);
  });
  afterAll(async () => {
    await proxy?.stop();
    await closePool();
  });

  /** Transfer `src` to `dest` through the proxy (re-chunked, one mip); requests made. */
  async function transfer(dest: string): Promise<number> {
    const storageOptions: StorageOptions = {
      endpoint: proxy.endpoint,
      retries: 12,
      retryBaseMs: 1,
      retryMaxMs: 20,
    };
    proxy.clearRequests();
    const tasks = await createTransferTasks(src, dest, {
      storageOptions,
      chunkSize: [32, 32, 16],
      mips: 1,
    });
    await runAll(tasks, createTaskContext({ storageOptions }));
    return proxy.requests.length;
  }

  test("20% of requests failing (503s, dropped connections) change no byte of the output", async () => {
    proxy.faults.setPlan({});
    const cleanRequests = await transfer("s3://xfer-faults/clean/img");
    proxy.faults.setPlan({ unavailable: 0.1, drop: 0.1, seed: 19 });
    const faultyRequests = await transfer("s3://xfer-faults/faulty/img");
    const { unavailable, drop } = proxy.faults.counts;
    proxy.faults.setPlan({});
    const clean = await objects("s3://xfer-faults/clean/img");
    const faulty = await objects("s3://xfer-faults/faulty/img");
    expect(clean.size).toBeGreaterThan(30);
    expect([...faulty.keys()]).toEqual([...clean.keys()]);
    for (const [k, v] of clean) expect(faulty.get(k)?.equals(v)).toBe(true);
    expect(unavailable).toBeGreaterThan(0);
    expect(drop).toBeGreaterThan(0);
    if (process.env.NGPIPE_FAULT_REPORT)
      process.stderr.write(
        `clean run: ${cleanRequests} requests; faulty run: ${faultyRequests} requests, ` +
          `${unavailable} 503s and ${drop} dropped connections injected, ` +
          `${faultyRequests - cleanRequests} retries; ${clean.size} objects identical\n`,
      );
  });
});
