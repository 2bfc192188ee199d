/**
 * `ngpipe view`: a static HTTP server for file:// layers that Neuroglancer
 * reads directly: CORS on every answer, HEAD, byte ranges (206/416), objects
 * stored CloudFiles-style as `key.gz` / `key.br` served under their logical
 * name with the matching Content-Encoding, 404 for missing chunks, and no
 * path outside the served root (traversal attempts are refused).
 */
import { createReadStream } from "node:fs";
import { readdir, readFile, realpath, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative, resolve, sep } from "node:path";

/** Options of {@link startViewServer}. */
export interface ViewServerOptions {
  /** Default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

/** A running view server. */
export interface ViewServer {
  /** `http://host:port` */
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

const ENCODINGS: ReadonlyArray<[suffix: string, encoding: string]> = [
  [".gz", "gzip"],
  [".br", "br"],
];

function contentType(path: string): string {
  if (path.endsWith("/info") || path === "info" || path.endsWith(".json"))
    return "application/json";
  if (path.endsWith(".html")) return "text/html; charset=utf-8";
  if (path.endsWith(".js")) return "text/javascript";
  if (path.endsWith(".css")) return "text/css";
  if (path.endsWith(".wasm")) return "application/wasm";
  return "application/octet-stream";
}

function send(res: ServerResponse, status: number, body: string, head: boolean): void {
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(head ? undefined : body);
}

/** Parse a single `bytes=a-b` / `bytes=a-` / `bytes=-n` range against `size`; null = unsatisfiable. */
export function parseRange(
  header: string,
  size: number,
): { start: number; end: number } | null | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined; // not a form we serve: ignore, send all
  let start: number;
  let end: number;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0) return null;
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return null;
  return { start, end };
}

/** Map a request path to a file under `root`, or null when it would leave the root. */
export function resolveInside(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split("?")[0]);
  } catch {
    return null;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return null;
  const full = resolve(root, `.${decoded.startsWith("/") ? decoded : `/${decoded}`}`);
  const rel = relative(root, full);
  if (rel.startsWith("..") || resolve(root, rel) !== full) return null;
  return full;
}

async function statFile(path: string) {
  const st = await stat(path).catch(() => null);
  return st?.isFile() ? st : null;
}

async function handle(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.setHeader("Access-Control-Allow-Origin", "*");
  res.setHeader("Access-Control-Allow-Headers", "Range, Content-Type");
  res.setHeader(
    "Access-Control-Expose-Headers",
    "Content-Length, Content-Range, Content-Encoding, Accept-Ranges",
  );
  const head = req.method === "HEAD";
  if (req.method === "OPTIONS") {
    res.writeHead(204, { "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS" });
    res.end();
    return;
  }
  if (req.method !== "GET" && !head) return send(res, 405, "method not allowed\n", false);
  const full = resolveInside(root, req.url ?? "/");
  if (full === null) return send(res, 403, "forbidden: path leaves the served directory\n", head);
  // A symlink must not lead out of the root either.
  const real = await realpath(full).catch(() => null);
  if (real !== null && real !== root && !real.startsWith(root + sep)) {
    return send(res, 403, "forbidden: path leaves the served directory\n", head);
  }
  const dir = await stat(full).catch(() => null);
  if (dir?.isDirectory()) {
    const index = await statFile(join(full, "index.html"));
    if (index) return serveFile(join(full, "index.html"), index.size, undefined, req, res, head);
    const names = (await readdir(full)).sort();
    return send(res, 200, `${names.join("\n")}\n`, head);
  }
  const plain = await statFile(full);
  if (plain) return serveFile(full, plain.size, undefined, req, res, head);
  for (const [suffix, encoding] of ENCODINGS) {
    const st = await statFile(full + suffix);
    if (st) return serveFile(full + suffix, st.size, encoding, req, res, head, full);
  }
  return send(res, 404, "not found\n", head);
}

function serveFile(
  file: string,
  size: number,
  encoding: string | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  head: boolean,
  logical = file,
): void {
  const headers: Record<string, string | number> = {
    "Content-Type": contentType(logical),
    "Cache-Control": "no-cache",
  };
  if (encoding) {
    // Ranges of a compressed object are meaningless: always send it whole.
    headers["Content-Encoding"] = encoding;
  } else {
    headers["Accept-Ranges"] = "bytes";
  }
  const rangeHeader = req.headers.range;
  if (rangeHeader && !encoding) {
    const range = parseRange(rangeHeader, size);
    if (range === null) {
      res.writeHead(416, { ...headers, "Content-Range": `bytes */${size}` });
      res.end();
      return;
    }
    if (range) {
      res.writeHead(206, {
        ...headers,
        "Content-Range": `bytes ${range.start}-${range.end}/${size}`,
        "Content-Length": range.end - range.start + 1,
      });
      if (head) return void res.end();
      createReadStream(file, range).pipe(res);
      return;
    }
  }
  res.writeHead(200, { ...headers, "Content-Length": size });
  if (head) return void res.end();
  createReadStream(file).pipe(res);
}

/** Serve `root` over HTTP. */
export async function startViewServer(
  root: string,
  options: ViewServerOptions = {},
): Promise<ViewServer> {
  const base = await realpath(resolve(root));
  const server = createServer((req, res) => {
    handle(base, req, res).catch((e) => {
      if (!res.headersSent) send(res, 500, `error: ${(e as Error).message}\n`, false);
      else res.destroy();
    });
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(options.port ?? 0, host, () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** A layer found under the served root. */
export interface FoundLayer {
  /** Path relative to the root ("" for the root itself). */
  path: string;
  name: string;
  type: "image" | "segmentation";
}

/** Layers (directories with an `info` holding `scales`) at the root or one or two levels down. */
export async function findLayers(root: string, depth = 2): Promise<FoundLayer[]> {
  const out: FoundLayer[] = [];
  const visit = async (dir: string, rel: string, left: number) => {
    const info = await readFile(join(dir, "info"), "utf8").catch(() => null);
    if (info !== null) {
      try {
        const j = JSON.parse(info);
        if (Array.isArray(j.scales)) {
          out.push({
            path: rel,
            name: rel === "" ? (dir.split(sep).pop() ?? "layer") : rel.split("/").pop()!,
            type: j.type === "segmentation" ? "segmentation" : "image",
          });
          return;
        }
      } catch {
        // not a precomputed info; keep looking below
      }
    }
    if (left === 0) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory() && !e.name.startsWith(".")) {
        await visit(join(dir, e.name), rel ? `${rel}/${e.name}` : e.name, left - 1);
      }
    }
  };
  await visit(resolve(root), "", depth);
  return out;
}

/** The Neuroglancer state showing `layers` served at `baseUrl`. */
export function neuroglancerState(baseUrl: string, layers: FoundLayer[]): object {
  return {
    layers: layers.map((l) => ({
      type: l.type,
      source: `precomputed://${baseUrl}${l.path ? `/${l.path}` : ""}`,
      name: l.name,
    })),
    layout: "4panel",
  };
}

/** A Neuroglancer URL (on `viewer`) with the layers in its state. */
export function neuroglancerUrl(
  baseUrl: string,
  layers: FoundLayer[],
  viewer = "https://neuroglancer-demo.appspot.com/",
): string {
  return `${viewer}#!${encodeURIComponent(JSON.stringify(neuroglancerState(baseUrl, layers)))}`;
}
