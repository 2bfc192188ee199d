/**
 * Fault injection end to end: Storage (retries, compression, batches) over the
 * gs:// and s3:// backends, with a share of 503s, dropped connections and
 * corrupted downloads injected by the loopback GCS server and by a proxy in
 * front of moto. Batches must still deliver every object's exact bytes; a
 * permanent 403 must fail at once.
 */
import { randomBytes } from "node:crypto";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { useMoto } from "../../../test/support/moto";
import { PermissionDeniedError } from "./errors";
import { openStorage } from "./open";
import type { Storage } from "./storage";
import { FaultProxy } from "./testing/fault-proxy";
import { GcsLoopbackServer } from "./testing/gcs-server";
import type { StorageOptions } from "./types";

const N = 300;
const FAST_RETRIES: StorageOptions = {
  retries: 10,
  retryBaseMs: 1,
  retryMaxMs: 20,
  concurrency: 32,
};
const PLAN = { unavailable: 0.08, drop: 0.04, corrupt: 0.06, seed: 42 };

function makeItems(prefix: string) {
  return Array.from({ length: N }, (_, i) => ({
    key: `${prefix}/obj-${i}`,
    // Every other object gzip-compressed, so Content-Encoding rides along too.
    data: i % 2 ? randomBytes(256 + ((i * 37) % 2048)) : Buffer.from(`text ${i} `.repeat(50)),
    compress: i % 2 === 0,
  }));
}

async function roundTripUnderFaults(storage: Storage, prefix: string): Promise<void> {
  const items = makeItems(prefix);
  const put = await storage.putMany(items);
  expect(put.filter((r) => !r.ok).map((r) => (r.ok ? "" : String(r.error)))).toEqual([]);
  const got = await storage.getMany(items.map((i) => i.key));
  expect(got.filter((r) => !r.ok).map((r) => (r.ok ? "" : String(r.error)))).toEqual([]);
  for (let i = 0; i < N; i++) {
    const r = got[i];
    expect(r.key).toBe(items[i].key);
    if (!r.ok) continue;
    expect(r.value).not.toBeNull();
    expect(Buffer.from(r.value!).equals(items[i].data)).toBe(true);
  }
}

describe("gs:// under injected faults", () => {
  let server: GcsLoopbackServer;
  let storage: Storage;

  beforeAll(async () => {
    server = await GcsLoopbackServer.start();
    storage = openStorage("gs://faulty/root", { ...FAST_RETRIES, endpoint: server.endpoint });
  });

  afterAll(async () => {
    await server.stop();
  });

  test("putMany/getMany of a few hundred objects deliver exact bytes through 503s, drops and corruption", async () => {
    server.faults.setPlan(PLAN);
    await roundTripUnderFaults(storage, "batch");
    const { unavailable, drop, corrupt } = server.faults.counts;
    expect(unavailable).toBeGreaterThan(0);
    expect(drop).toBeGreaterThan(0);
    expect(corrupt).toBeGreaterThan(0);
  });

  test("resumable uploads restart from scratch after a fault and store exact bytes", async () => {
    server.faults.setPlan(PLAN);
    const big = openStorage("gs://faulty/big", {
      ...FAST_RETRIES,
      endpoint: server.endpoint,
      multipartThreshold: 256 * 1024,
    });
    const items = Array.from({ length: 6 }, (_, i) => ({
      key: `r${i}`,
      data: randomBytes(600_000 + i),
    }));
    const put = await big.putMany(items);
    expect(put.filter((r) => !r.ok)).toEqual([]);
    server.faults.setPlan({});
    for (const { key, data } of items) {
      expect(Buffer.from(server.getObject("faulty", `big/${key}`)!.data).equals(data)).toBe(true);
    }
  });

  test("a permanent 403 fails fast: asked once, error names URL and key", async () => {
    server.faults.setPlan({});
    await storage.put("secret/k", "x");
    server.faults.setPlan({ forbidden: ["root/secret/k"] });
    server.clearRequests();
    const err = await storage.get("secret/k").catch((e) => e);
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err.message).toContain("gs://faulty/root");
    expect(err.message).toContain("secret/k");
    expect(server.requests.filter((r) => r.key === "root/secret/k").length).toBe(1);
  });
});

const moto = useMoto();
const maybe = moto.available ? describe : describe.skip;

maybe("s3:// under injected faults (proxy in front of moto)", () => {
  let proxy: FaultProxy;
  let storage: Storage;

  beforeAll(async () => {
    const admin = new S3Client({
      endpoint: moto.endpoint,
      forcePathStyle: true,
      region: "us-east-1",
    });
    await admin.send(new CreateBucketCommand({ Bucket: "faulty" }));
    admin.destroy();
    proxy = await FaultProxy.start(moto.endpoint);
    storage = openStorage("s3://faulty/root", { ...FAST_RETRIES, endpoint: proxy.endpoint });
  });

  afterAll(async () => {
    await storage?.backend.close?.();
    await proxy?.stop();
  });

  test("putMany/getMany of a few hundred objects deliver exact bytes through 503s, drops and corruption", async () => {
    proxy.faults.setPlan(PLAN);
    await roundTripUnderFaults(storage, "batch");
    const { unavailable, drop, corrupt } = proxy.faults.counts;
    expect(unavailable).toBeGreaterThan(0);
    expect(drop).toBeGreaterThan(0);
    expect(corrupt).toBeGreaterThan(0);
  });

  test("multipart uploads restart from scratch after a fault and store exact bytes", async () => {
    proxy.faults.setPlan(PLAN);
    const big = openStorage("s3://faulty/big", {
      ...FAST_RETRIES,
      endpoint: proxy.endpoint,
      multipartThreshold: 5 * 1024 * 1024,
    });
    const items = Array.from({ length: 2 }, (_, i) => ({
      key: `m${i}`,
      data: randomBytes(6 * 1024 * 1024 + i),
    }));
    const put = await big.putMany(items);
    expect(put.filter((r) => !r.ok)).toEqual([]);
    proxy.faults.setPlan({});
    const got = await big.getMany(items.map((i) => i.key));
    for (let i = 0; i < items.length; i++) {
      const r = got[i];
      expect(r.ok && Buffer.from(r.value!).equals(items[i].data)).toBe(true);
    }
    await big.backend.close?.();
  });

  test("a permanent 403 fails fast: asked once, error names URL and key", async () => {
    proxy.faults.setPlan({});
    await storage.put("secret/k", "x");
    proxy.faults.setPlan({ forbidden: ["root/secret/k"] });
    proxy.clearRequests();
    const err = await storage.get("secret/k").catch((e) => e);
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err.message).toContain("s3://faulty/root");
    expect(err.message).toContain("secret/k");
    expect(proxy.requests.filter((r) => r.key === "root/secret/k").length).toBe(1);
  });
});
