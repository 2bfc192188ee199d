/**
 * Transfers that take longer than `timeoutMs` as a whole while every single
 * request is quick: multipart/resumable uploads and slowly streamed downloads
 * of s3:// and gs:// must succeed; a stalled request must still time out.
 */
import { randomBytes } from "node:crypto";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { useMoto } from "../../../test/support/moto";
import { TransientError } from "./errors";
import { openStorage } from "./open";
import { FaultProxy } from "./testing/fault-proxy";
import { GcsLoopbackServer } from "./testing/gcs-server";

/**
 * A proxy that passes requests on as they are and sends response bodies of
 * GETs slowly: `chunk` bytes every `everyMs`, or, with `stallAfter`, stops
 * sending after that many bytes (the connection stays open).
 */
class TrickleProxy {
  constructor(
    private readonly server: Server,
    private readonly target: URL,
    readonly pace: { chunk: number; everyMs: number; stallAfter?: number },
  ) {}

  static async start(
    target: string,
    pace: { chunk: number; everyMs: number; stallAfter?: number },
  ): Promise<TrickleProxy> {
    const server = createServer();
    const proxy = new TrickleProxy(server, new URL(target), pace);
    server.on("request", (req, res) => {
      const up = request(
        {
          host: proxy.target.hostname,
          port: proxy.target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: proxy.target.host },
        },
        async (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          if (req.method !== "GET") return void answer.pipe(res);
          const parts: Buffer[] = [];
          for await (const b of answer) parts.push(b as Buffer);
          const body = Buffer.concat(parts);
          const { chunk, everyMs, stallAfter } = proxy.pace;
          for (let at = 0; at < body.length; at += chunk) {
            if (stallAfter !== undefined && at >= stallAfter) return;
            if (res.destroyed) return;
            res.write(body.subarray(at, at + chunk));
            await new Promise((r) => setTimeout(r, everyMs));
          }
          res.end();
        },
      );
      up.on("error", () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe("gs:// transfers longer than timeoutMs", () => {
  let server: GcsLoopbackServer;
  beforeAll(async () => {
    server = await GcsLoopbackServer.start();
  });
  afterAll(() => server.stop());
  afterEach(() => server.faults.setPlan({}));

  test("a resumable upload of many quick chunks succeeds", async () => {
    // 5 requests (session + 4 chunks of 256 KiB) of >= 200 ms each: a
    // second in all, against a 500 ms timeout.
    server.faults.setPlan({ latencyMs: 200 });
    const s = openStorage("gs://bkt/long", {
      endpoint: server.endpoint,
      credentials: {},
      timeoutMs: 500,
      retries: 1,
      retryBaseMs: 1,
      multipartThreshold: 256 * 1024,
    });
    const data = randomBytes(1024 * 1024);
    await s.put("big", data);
    server.faults.setPlan({});
    expect(Buffer.from((await s.get("big"))!)).toEqual(data);
    expect(server.requests.filter((r) => r.kind === "resumable").length).toBeGreaterThanOrEqual(4);
  });

  test("a download streamed slowly but steadily succeeds", async () => {
    const data = randomBytes(1024 * 1024);
    server.putObject("bkt", "slow/blob", data);
    // 16 pieces 60 ms apart: about a second, against a 400 ms timeout.
    const proxy = await TrickleProxy.start(server.endpoint, { chunk: 64 * 1024, everyMs: 60 });
    try {
      const s = openStorage("gs://bkt/slow", {
        endpoint: proxy.endpoint,
        credentials: {},
        timeoutMs: 400,
        retries: 1,
        retryBaseMs: 1,
      });
      expect(Buffer.from((await s.get("blob"))!)).toEqual(data);
    } finally {
      await proxy.stop();
    }
  });

  test("a download whose body stalls fails with TransientError", async () => {
    server.putObject("bkt", "stall/blob", randomBytes(512 * 1024));
    const proxy = await TrickleProxy.start(server.endpoint, {
      chunk: 64 * 1024,
      everyMs: 1,
      stallAfter: 128 * 1024,
    });
    try {
      const s = openStorage("gs://bkt/stall", {
        endpoint: proxy.endpoint,
        credentials: {},
        timeoutMs: 300,
        retries: 0,
      });
      await expect(s.get("blob")).rejects.toThrow(TransientError);
    } finally {
      await proxy.stop();
    }
  });
});

const moto = useMoto();
const maybe = moto.available ? describe : describe.skip;

maybe("s3:// transfers longer than timeoutMs", () => {
  beforeAll(async () => {
    const admin = new S3Client({
      endpoint: moto.endpoint,
      forcePathStyle: true,
      region: "us-east-1",
    });
    await admin.send(new CreateBucketCommand({ Bucket: "long" }));
    admin.destroy();
  });

  test("a multipart upload of quick requests succeeds", async () => {
    // Create, two rounds of 4 parallel 5 MiB parts, complete: four rounds of
    // >= 2 s, over eight seconds in all, against a 6 s timeout per request
    // (the headroom keeps a loaded machine's slow moto from failing a part).
    const proxy = await FaultProxy.start(moto.endpoint);
    proxy.faults.setPlan({ latencyMs: 2000 });
    const s = openStorage(`s3://${proxy.endpoint}/long/mp`, {
      timeoutMs: 6000,
      retries: 1,
      retryBaseMs: 1,
      multipartThreshold: 5 * 1024 * 1024,
    });
    try {
      const data = randomBytes(30 * 1024 * 1024);
      await s.put("big", data);
      proxy.faults.setPlan({});
      expect(Buffer.from((await s.get("big"))!).equals(data)).toBe(true);
    } finally {
      await s.close();
      await proxy.stop();
    }
  }, 90_000);

  test("a download streamed slowly but steadily succeeds", async () => {
    const data = randomBytes(1024 * 1024);
    await openStorage(`s3://${moto.endpoint}/long/slow`).put("blob", data);
    const proxy = await TrickleProxy.start(moto.endpoint, { chunk: 64 * 1024, everyMs: 60 });
    const s = openStorage(`s3://${proxy.endpoint}/long/slow`, {
      timeoutMs: 400,
      retries: 1,
      retryBaseMs: 1,
    });
    try {
      expect(Buffer.from((await s.get("blob"))!).equals(data)).toBe(true);
    } finally {
      await s.close();
      await proxy.stop();
    }
  });

  test("a download whose body stalls fails with TransientError", async () => {
    await openStorage(`s3://${moto.endpoint}/long/stall`).put("blob", randomBytes(512 * 1024));
    const proxy = await TrickleProxy.start(moto.endpoint, {
      chunk: 64 * 1024,
      everyMs: 1,
      stallAfter: 128 * 1024,
    });
    const s = openStorage(`s3://${proxy.endpoint}/long/stall`, { timeoutMs: 300, retries: 0 });
    try {
      await expect(s.get("blob")).rejects.toThrow(TransientError);
    } finally {
      await s.close();
      await proxy.stop();
    }
  });
});
