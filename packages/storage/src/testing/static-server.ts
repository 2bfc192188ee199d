/**
 * A minimal static file server on loopback for http(s):// tests: GET and HEAD
 * of files under a root directory, single byte ranges (206/416), ETag and
 * Last-Modified, 404 for anything else. No Content-Encoding is ever added, so
 * `key.gz` files travel as stored bytes, as from a plain web server.
 */

import { promises as fsp } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";

/** Optional hook: return an HTTP status to answer a request with instead of serving it. */
export type StaticServerIntercept = (req: IncomingMessage) => number | undefined;

/** A running static server; `url` is its root (`http://127.0.0.1:<port>`). */
export class StaticFileServer {
  /** Requests served, for tests that count them. */
  requests = 0;
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** Serves `root` on 127.0.0.1 at a free port. */
  static async start(root: string, intercept?: StaticServerIntercept): Promise<StaticFileServer> {
    const abs = path.resolve(root);
    let self: StaticFileServer | undefined;
    const server = createServer((req, res) => {
      if (self) self.requests++;
      handle(abs, req, res, intercept).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    self = new StaticFileServer(server, `http://127.0.0.1:${port}`);
    return self;
  }

  /** Stops listening and closes idle keep-alive connections. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function handle(
  root: string,
  req: IncomingMessage,
  res: ServerResponse,
  intercept?: StaticServerIntercept,
): Promise<void> {
  const status = intercept?.(req);
  if (status !== undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD" });
    res.end();
    return;
  }
  const urlPath = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
  const file = path.resolve(root, `.${urlPath}`);
  if (file !== root && !file.startsWith(root + path.sep)) {
    res.writeHead(404);
    res.end();
    return;
  }
  const st = await fsp.stat(file).catch(() => undefined);
  if (st === undefined || !st.isFile()) {
    res.writeHead(404);
    res.end();
    return;
  }
  const size = st.size;
  const headers: Record<string, string | number> = {
    "content-type": "application/octet-stream",
    etag: `"${st.mtimeMs.toString(36)}-${size.toString(36)}"`,
    "last-modified": st.mtime.toUTCString(),
    "accept-ranges": "bytes",
  };
  let start = 0;
  let end = size; // exclusive
  let code = 200;
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? "");
  if (range !== null && (range[1] !== "" || range[2] !== "")) {
    if (range[1] === "") {
      start = Math.max(0, size - Number(range[2]));
    } else {
      start = Number(range[1]);
      end = range[2] === "" ? size : Math.min(size, Number(range[2]) + 1);
    }
    if (start >= size || end <= start) {
      res.writeHead(416, { "content-range": `bytes */${size}` });
      res.end();
      return;
    }
    code = 206;
    headers["content-range"] = `bytes ${start}-${end - 1}/${size}`;
  }
  headers["content-length"] = end - start;
  res.writeHead(code, headers);
  if (req.method === "HEAD" || end === start) {
    res.end();
    return;
  }
  const fh = await fsp.open(file, "r");
  try {
    const buf = Buffer.allocUnsafe(end - start);
    let off = 0;
    while (off < buf.length) {
      const { bytesRead } = await fh.read(buf, off, buf.length - off, start + off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    res.end(buf.subarray(0, off));
  } finally {
    await fh.close();
  }
}
