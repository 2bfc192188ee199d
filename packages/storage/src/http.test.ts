import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { NotSupportedError, PermissionDeniedError, TransientError } from "./errors";
import { openStorage } from "./open";
import { ZSTD_FIXTURE } from "./testing/conformance";
import { StaticFileServer } from "./testing/static-server";

let dir: string;
let server: StaticFileServer;
let answer: Map<string, number[]>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ngpipe-httpb-"));
  await writeFile(path.join(dir, "ok"), "fine");
  await writeFile(path.join(dir, "flaky"), "eventually");
  await writeFile(path.join(dir, "with space #1"), "encoded");
  // Planned status codes per path, consumed one per request.
  server = await StaticFileServer.start(dir, (req) => answer.get(req.url ?? "")?.shift());
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  answer = new Map();
  server.requests = 0;
});

const fast = { retries: 4, retryBaseMs: 1, retryMaxMs: 2 };

test("403 is a PermissionDeniedError at once, naming the key and URL", async () => {
  answer.set("/ok", [403, 403, 403]);
  const s = openStorage(server.url, fast);
  const err = await s.get("ok").catch((e) => e);
  expect(err).toBeInstanceOf(PermissionDeniedError);
  expect(err.key).toBe("ok");
  expect(err.message).toContain(`${server.url}/ok`);
  expect(server.requests).toBe(1);
});

test("503 and 429 are retried until the object comes", async () => {
  answer.set("/flaky", [503, 429, 500]);
  const s = openStorage(server.url, fast);
  expect(new TextDecoder().decode((await s.get("flaky"))!)).toBe("eventually");
  expect(server.requests).toBe(4);
});

test("persistent 503 ends in a TransientError after the retries", async () => {
  answer.set("/flaky", Array(10).fill(503));
  const s = openStorage(server.url, { ...fast, retries: 2 });
  const err = await s.get("flaky").catch((e) => e);
  expect(err).toBeInstanceOf(TransientError);
  expect(err.status).toBe(503);
  expect(server.requests).toBe(3);
});

test("keys are percent-encoded per segment", async () => {
  const s = openStorage(server.url);
  expect(new TextDecoder().decode((await s.get("with space #1"))!)).toBe("encoded");
});

test("head reports size and an ETag version", async () => {
  const info = await openStorage(server.url).head("ok");
  expect(info!.size).toBe(4);
  expect(info!.version).toMatch(/^".+"$/);
});

test("listing is refused with a NotSupportedError", async () => {
  const s = openStorage(server.url);
  const it = s.list("", { recursive: true });
  await expect(it.next()).rejects.toBeInstanceOf(NotSupportedError);
});

test("a refused connection is transient and ends as TransientError", async () => {
  const closed = await StaticFileServer.start(dir);
  const url = closed.url;
  await closed.close();
  const err = await openStorage(url, { retries: 1, retryBaseMs: 1 })
    .get("ok")
    .catch((e) => e);
  expect(err).toBeInstanceOf(TransientError);
  expect(err.message).toContain(url);
});

describe("servers that send Content-Encoding", () => {
  let encServer: Server;
  let base: string;
  const plain = "served with a content-encoding ".repeat(20);

  beforeAll(async () => {
    encServer = createServer((req, res) => {
      if (req.url === "/gz") {
        res.writeHead(200, { "content-encoding": "gzip" });
        res.end(gzipSync(plain));
      } else if (req.url === "/zstd") {
        res.writeHead(200, { "content-encoding": "zstd" });
        res.end(ZSTD_FIXTURE.compressed);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => encServer.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(encServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    encServer.closeAllConnections();
    await new Promise((r) => encServer.close(r));
  });

  test("gzip transport encoding is undone once (by fetch), not twice", async () => {
    expect(new TextDecoder().decode((await openStorage(base).get("gz"))!)).toBe(plain);
  });

  test("a zstd-encoded response is decompressed by the storage", async () => {
    const s = openStorage(base);
    expect(Array.from((await s.get("zstd"))!)).toEqual(Array.from(ZSTD_FIXTURE.plain));
    expect((await s.getRaw("zstd"))!.info.contentEncoding).toBe("zstd");
  });
});
