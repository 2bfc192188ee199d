/**
 * `ngpipe view`: a static HTTP server for file:// layers that Neuroglancer
 * reads directly: CORS on every answer, HEAD, byte ranges (206/416), objects
 * stored CloudFiles-style as `key.gz` / `key.br` served under their logical
 * name with the matching Content-Encoding, 404 for missing chunks, and no
 * path outside the served root (traversal attempts and symlinks that lead
 * out are refused).
 */
import { createReadStream } from "node:fs";
import { readdir, readFile, realpath, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { PassThrough, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createBrotliDecompress, createGunzip } from "node:zlib";

/** Options of {@link startViewServer}. */
export interface ViewServerOptions {
  /** Default 0 (any free port). */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1 (loopback only). */
  host?: string;
}

/** A running view server. */
export interface ViewServer {
  /** `http://host:port` */
  url: string;
  /** The port listened on (useful with port 0). */
  port: number;
  /** The underlying Node server. */
  server: Server;
  /** Stop listening and drop open connections. */
  close(): Promise<void>;
}

interface Encoding {
  suffix: string;
  name: string;
  /** A stream that decodes the stored bytes. */
  decoder: () => Transform;
}

const ENCODINGS: readonly Encoding[] = [
  { suffix: ".gz", name: "gzip", decoder: () => createGunzip() },
  { suffix: ".br", name: "br", decoder: () => createBrotliDecompress() },
];

const FORBIDDEN = "forbidden: path leaves the served directory\n";

function contentType(path: string): string {
  if (path.endsWith(`${sep}info`) || path.endsWith(".json")) return "application/json";
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

/**
 * Parses a single-range `Range` header (`bytes=a-b`, `bytes=a-` or
 * `bytes=-n`) against an object of `size` bytes. Returns the inclusive byte
 * range, `null` when the range is unsatisfiable (answer 416), or `undefined`
 * when the header is not one we serve (multiple ranges, other units, a
 * malformed or reversed range): the header is then ignored and the whole
 * object sent, as RFC 9110 allows.
 */
export function parseRange(
  header: string,
  size: number,
): { start: number; end: number } | null | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return null;
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  if (m[2] !== "" && Number(m[2]) < start) return undefined;
  if (start >= size) return null;
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  return { start, end };
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Maps a request path (percent-encoded, optionally with a query) to a path
 * under `root`, or `null` when it is malformed or would leave the root: `..`
 * segments that climb above it (encoded or not), backslashes and NUL bytes are
 * refused. Absolute paths are taken relative to the root. Symlinks are not
 * resolved here; the server checks the real path of what it serves.
 */
export function resolveInside(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split("?")[0]);
  } catch {
    return null;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return null;
  const full = resolve(root, `.${decoded.startsWith("/") ? decoded : `/${decoded}`}`);
  return isInside(root, full) ? full : null;
}

type Found =
  | { kind: "file"; file: string; size: number; encoding?: Encoding }
  | { kind: "dir"; dir: string }
  | { kind: "outside" }
  | { kind: "missing" };

/** What `full` (or `full.gz` / `full.br`) is, judged by its real path. */
async function locate(root: string, full: string): Promise<Found> {
  const candidates: Array<[string, Encoding | undefined]> = [
    [full, undefined],
    ...ENCODINGS.map((e): [string, Encoding] => [full + e.suffix, e]),
  ];
  for (const [path, encoding] of candidates) {
    const real = await realpath(path).catch(() => null);
    if (real === null) continue;
    // A symlink (or a symlinked parent) must not lead out of the root.
    if (!isInside(root, real)) return { kind: "outside" };
    const st = await stat(real).catch(() => null);
    if (st?.isFile()) return { kind: "file", file: real, size: st.size, encoding };
    if (st?.isDirectory() && encoding === undefined) return { kind: "dir", dir: real };
  }
  return { kind: "missing" };
}

function accepts(header: string | string[] | undefined, encoding: string): boolean {
  const value = Array.isArray(header) ? header.join(",") : (header ?? "");
  return value.split(",").some((part) => {
    const [name, ...params] = part.trim().split(";");
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return (name.trim() === encoding || name.trim() === "*") && (!q || Number(q.slice(2)) > 0);
  });
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
    const headers: Record<string, string> = {
      "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
      "Access-Control-Max-Age": "86400",
    };
    // Chrome's Private Network Access preflight, sent when a public https
    // viewer (e.g. the Neuroglancer demo) reads from this loopback server.
    if (req.headers["access-control-request-private-network"] === "true")
      headers["Access-Control-Allow-Private-Network"] = "true";
    res.writeHead(204, headers);
    res.end();
    return;
  }
  if (req.method !== "GET" && !head) {
    res.setHeader("Allow", "GET, HEAD, OPTIONS");
    return send(res, 405, "method not allowed\n", head);
  }
  const urlPath = req.url ?? "/";
  const full = resolveInside(root, urlPath);
  if (full === null) return send(res, 403, FORBIDDEN, head);
  const found = await locate(root, full);
  if (found.kind === "outside") return send(res, 403, FORBIDDEN, head);
  if (found.kind === "missing") return send(res, 404, "not found\n", head);
  if (found.kind === "file") return serveFile(found.file, found.size, found.encoding, req, res);
  const path = urlPath.split("?")[0];
  if (!path.endsWith("/")) {
    // Relative links in an index.html resolve against the directory only with the slash.
    // A relative Location keeps the redirect on this server whatever the path looks like.
    res.writeHead(301, { Location: `${path.split("/").pop()}/`, "Content-Length": 0 });
    res.end();
    return;
  }
  const index = await locate(root, join(found.dir, "index.html"));
  if (index.kind === "file") return serveFile(index.file, index.size, index.encoding, req, res);
  const names = (await readdir(found.dir)).sort();
  return send(res, 200, `${names.join("\n")}\n`, head);
}

async function sendBytes(
  source: string | Buffer | { file: string; encoding: Encoding },
  size: number,
  headers: Record<string, string | number>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const head = req.method === "HEAD";
  headers["Accept-Ranges"] = "bytes";
  const range = req.headers.range ? parseRange(req.headers.range, size) : undefined;
  if (range === null) {
    res.writeHead(416, { ...headers, "Content-Range": `bytes */${size}`, "Content-Length": 0 });
    res.end();
    return;
  }
  if (range) {
    headers["Content-Range"] = `bytes ${range.start}-${range.end}/${size}`;
    headers["Content-Length"] = range.end - range.start + 1;
    res.writeHead(206, headers);
  } else {
    headers["Content-Length"] = size;
    res.writeHead(200, headers);
  }
  if (head) return void res.end();
  if (source instanceof Uint8Array) {
    res.end(range ? source.subarray(range.start, range.end + 1) : source);
    return;
  }
  if (typeof source !== "string") {
    const whole = { start: 0, end: size - 1 };
    const { start, end } = range ?? whole;
    await pipeline(
      createReadStream(source.file),
      source.encoding.decoder(),
      slice(start, end),
      res,
    ).catch(() => res.destroy());
    return;
  }
  // A file removed between stat and read ends the response instead of the process.
  await pipeline(createReadStream(source, range ?? {}), res).catch(() => res.destroy());
}

async function serveFile(
  file: string,
  size: number,
  encoding: Encoding | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const logical = encoding ? file.slice(0, -encoding.suffix.length) : file;
  const headers: Record<string, string | number> = {
    "Content-Type": contentType(logical),
    "Cache-Control": "no-cache",
  };
  if (!encoding) return sendBytes(file, size, headers, req, res);
  headers.Vary = "Accept-Encoding";
  if (accepts(req.headers["accept-encoding"], encoding.name)) {
    // The stored bytes are the encoded body; ranges of an encoded body mean
    // nothing to a client that decodes it, so it always goes whole.
    headers["Content-Encoding"] = encoding.name;
    headers["Content-Length"] = size;
    res.writeHead(200, headers);
    if (req.method === "HEAD") return void res.end();
    await pipeline(createReadStream(file), res).catch(() => res.destroy());
    return;
  }
  // A client that cannot decode it (e.g. no brotli over plain http) gets the
  // decoded bytes, inflated as they are sent: memory stays at the streams'
  // buffers however far a file inflates (a small .gz can inflate to
  // gigabytes). One inflating pass counts the bytes (for Content-Length and
  // ranges), a second sends them.
  let decoded = 0;
  await pipeline(
    createReadStream(file),
    encoding.decoder(),
    async (chunks: AsyncIterable<Buffer>) => {
      for await (const c of chunks) decoded += c.length;
    },
  );
  return sendBytes({ file, encoding }, decoded, headers, req, res);
}

/** The bytes `[start, end]` (inclusive) of a stream, as a stream. */
function slice(start: number, end: number): Transform {
  let at = 0;
  return new PassThrough({
    transform(chunk: Buffer, _enc, done) {
      const from = Math.max(0, start - at);
      const to = Math.min(chunk.length, end + 1 - at);
      at += chunk.length;
      done(null, from < to ? chunk.subarray(from, to) : undefined);
    },
  });
}

/**
 * Serves the directory `root` over HTTP (see the module comment for what is
 * served). Listens on 127.0.0.1 and a free port unless told otherwise.
 *
 * ```ts
 * const server = await startViewServer("/data/layers");
 * console.log(`precomputed://${server.url}/image`);
 * await server.close();
 * ```
 */
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
    server.listen(options.port ?? 0, host, () => {
      server.off("error", fail);
      ok();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
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
  /** Path relative to the root, with `/` separators ("" for the root itself). */
  path: string;
  /** Layer name for Neuroglancer: the directory's name. */
  name: string;
  /** `segmentation` when the info says so, `image` otherwise. */
  type: "image" | "segmentation";
}

/**
 * Layers under `root`: directories whose `info` is JSON with a `scales` list,
 * at the root itself or up to `depth` levels down (hidden directories are
 * skipped; a layer's own subdirectories are not searched). Sorted by path.
 */
export async function findLayers(root: string, depth = 2): Promise<FoundLayer[]> {
  const out: FoundLayer[] = [];
  const visit = async (dir: string, rel: string, left: number) => {
    const info = await readFile(join(dir, "info"), "utf8").catch(() => null);
    if (info !== null) {
      try {
        const j = JSON.parse(info);
        if (Array.isArray(j?.scales)) {
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
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (e.isDirectory() && !e.name.startsWith(".")) {
        await visit(join(dir, e.name), rel ? `${rel}/${e.name}` : e.name, left - 1);
      }
    }
  };
  await visit(resolve(root), "", depth);
  return out;
}

/** A Neuroglancer layer of {@link neuroglancerState}. */
export interface NeuroglancerLayerState {
  type: "image" | "segmentation";
  /** `precomputed://<baseUrl>/<path>` */
  source: string;
  name: string;
}

/** The Neuroglancer state showing `layers` served at `baseUrl`, in a 4-panel layout. */
export function neuroglancerState(
  baseUrl: string,
  layers: readonly FoundLayer[],
): { layers: NeuroglancerLayerState[]; layout: string } {
  return {
    layers: layers.map((l) => ({
      type: l.type,
      source: `precomputed://${baseUrl}${l.path ? `/${l.path}` : ""}`,
      name: l.name,
    })),
    layout: "4panel",
  };
}

/**
 * A Neuroglancer URL on `viewer` (default: the public demo deployment) with
 * the layers in its state: `<viewer>#!<percent-encoded JSON state>`.
 */
export function neuroglancerUrl(
  baseUrl: string,
  layers: readonly FoundLayer[],
  viewer = "https://neuroglancer-demo.appspot.com/",
): string {
  return `${viewer}#!${encodeURIComponent(JSON.stringify(neuroglancerState(baseUrl, layers)))}`;
}
