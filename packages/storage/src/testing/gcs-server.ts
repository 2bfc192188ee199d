/**
 * An in-memory Google Cloud Storage JSON API server on loopback, for tests of
 * {@link GcsBackend} through the real `@google-cloud/storage` client. It
 * speaks the subset of the API the backend uses, the way GCS answers it:
 *
 * - `GET /storage/v1/b/:b/o/:o` (metadata) and `?alt=media` (bytes, `Range` → 206,
 *   stored `Content-Encoding` returned as is when the request accepts gzip;
 *   decompressive transcoding of gzip objects otherwise, as GCS does);
 * - `POST /upload/storage/v1/b/:b/o?uploadType=media|multipart|resumable`, and
 *   `PUT` of resumable session chunks (`Content-Range`, 308 while incomplete);
 * - `GET /storage/v1/b/:b/o?prefix&delimiter&pageToken&maxResults` (list);
 * - `DELETE /storage/v1/b/:b/o/:o`;
 * - `POST .../o/:src/rewriteTo/b/:db/o/:dst` and `copyTo` (server-side copy);
 * - preconditions `ifGenerationMatch` (0 = must not exist) → 412, and
 *   `md5Hash` in upload metadata checked against the bytes → 400.
 *
 * Buckets spring into existence on first use. Faults are injected through
 * {@link GcsLoopbackServer.faults} (see {@link FaultPlan}).
 *
 * ```ts
 * const server = await GcsLoopbackServer.start();
 * const storage = openStorage("gs://bucket/prefix", { endpoint: server.endpoint });
 * server.faults.setPlan({ unavailable: 0.1, seed: 7 });
 * await server.stop();
 * ```
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { corruptBytes, FaultInjector } from "./faults";

/** One stored object of the loopback server. */
export interface GcsStoredObject {
  data: Uint8Array;
  generation: number;
  metageneration: number;
  contentType: string;
  contentEncoding?: string;
  cacheControl?: string;
  /** Base64 MD5 of `data`, as GCS reports it. */
  md5Hash: string;
  updated: Date;
}

/** One request the server answered (or dropped), for assertions in tests. */
export interface GcsRequestRecord {
  method: string;
  /** What the request did: media, metadata, upload, resumable, list, delete, copy. */
  kind: string;
  bucket?: string;
  /** Object name inside the bucket, where the request concerns one. */
  key?: string;
  /** HTTP status answered; 0 for a dropped connection. */
  status: number;
}

interface ResumableSession {
  bucket: string;
  name: string;
  meta: Record<string, unknown>;
  contentType: string;
  ifGenerationMatch?: string;
  chunks: Buffer[];
  received: number;
  done?: GcsStoredObject;
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason = "invalid",
  ) {
    super(message);
  }
}

function md5Base64(data: Uint8Array): string {
  return createHash("md5").update(data).digest("base64");
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (b: Buffer) => parts.push(b));
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", reject);
  });
}

/** Split a `multipart/related` body into its parts (headers lower-cased, raw body). */
function parseMultipart(
  body: Buffer,
  contentType: string,
): { headers: Record<string, string>; body: Buffer }[] {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!m) throw new HttpFailure(400, "multipart upload without a boundary");
  const delimiter = Buffer.from(`--${m[1] ?? m[2]}`);
  const parts: { headers: Record<string, string>; body: Buffer }[] = [];
  let pos = body.indexOf(delimiter);
  while (pos >= 0) {
    let start = pos + delimiter.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break; // closing "--"
    if (body[start] === 0x0d && body[start + 1] === 0x0a) start += 2;
    const next = body.indexOf(delimiter, start);
    if (next < 0) throw new HttpFailure(400, "multipart upload without a closing boundary");
    // The part ends with CRLF before the next delimiter.
    const end = body[next - 2] === 0x0d && body[next - 1] === 0x0a ? next - 2 : next;
    const part = body.subarray(start, end);
    const split = part.indexOf("\r\n\r\n");
    const head = split >= 0 ? part.subarray(0, split).toString("latin1") : "";
    const headers: Record<string, string> = {};
    for (const line of head.split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon > 0)
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, body: split >= 0 ? part.subarray(split + 4) : part });
    pos = next;
  }
  return parts;
}

/** The in-memory GCS JSON API server. Start with {@link GcsLoopbackServer.start}. */
export class GcsLoopbackServer {
  /** Fault injection; set a plan with `server.faults.setPlan({...})`. */
  readonly faults = new FaultInjector();
  /** Every request answered since start (or the last `clearRequests`). */
  readonly requests: GcsRequestRecord[] = [];
  private readonly buckets = new Map<string, Map<string, GcsStoredObject>>();
  private readonly sessions = new Map<string, ResumableSession>();
  private nextGeneration = 1_700_000_000_000_000;
  private readonly server: Server;
  private port = 0;

  private constructor() {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        if (!res.headersSent) this.sendError(res, 500, String(err), "backendError");
        else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 30_000;
  }

  /** Start on 127.0.0.1, port chosen by the system. */
  static async start(): Promise<GcsLoopbackServer> {
    const s = new GcsLoopbackServer();
    await new Promise<void>((resolve, reject) => {
      s.server.once("error", reject);
      s.server.listen(0, "127.0.0.1", () => resolve());
    });
    s.port = (s.server.address() as AddressInfo).port;
    return s;
  }

  /** The `apiEndpoint` to give the client (`StorageOptions.endpoint`). */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stop listening and close idle keep-alive connections. */
  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** The stored object, for assertions (undefined when missing). */
  getObject(bucket: string, name: string): GcsStoredObject | undefined {
    return this.buckets.get(bucket)?.get(name);
  }

  /** Store an object directly, bypassing the API (to seed a test). */
  putObject(
    bucket: string,
    name: string,
    data: Uint8Array,
    meta: { contentType?: string; contentEncoding?: string } = {},
  ): GcsStoredObject {
    const obj: GcsStoredObject = {
      data: new Uint8Array(data),
      generation: this.nextGeneration++,
      metageneration: 1,
      contentType: meta.contentType ?? "application/octet-stream",
      contentEncoding: meta.contentEncoding,
      md5Hash: md5Base64(data),
      updated: new Date(),
    };
    this.bucket(bucket).set(name, obj);
    return obj;
  }

  /** Forget the request log. */
  clearRequests(): void {
    this.requests.length = 0;
  }

  private bucket(name: string): Map<string, GcsStoredObject> {
    let b = this.buckets.get(name);
    if (!b) this.buckets.set(name, (b = new Map()));
    return b;
  }

  private resource(bucket: string, name: string, o: GcsStoredObject): Record<string, unknown> {
    return {
      kind: "storage#object",
      id: `${bucket}/${name}/${o.generation}`,
      selfLink: `${this.endpoint}/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`,
      name,
      bucket,
      generation: String(o.generation),
      metageneration: String(o.metageneration),
      contentType: o.contentType,
      ...(o.contentEncoding ? { contentEncoding: o.contentEncoding } : {}),
      ...(o.cacheControl ? { cacheControl: o.cacheControl } : {}),
      size: String(o.data.length),
      md5Hash: o.md5Hash,
      storageClass: "STANDARD",
      timeCreated: o.updated.toISOString(),
      updated: o.updated.toISOString(),
      etag: `C${o.generation}`,
    };
  }

  private sendJson(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "Content-Type": "application/json; charset=UTF-8",
      "Content-Length": Buffer.byteLength(text),
    });
    res.end(text);
  }

  private sendError(res: ServerResponse, status: number, message: string, reason: string): void {
    this.sendJson(res, status, {
      error: { code: status, message, errors: [{ message, domain: "global", reason }] },
    });
  }

  private checkGeneration(
    current: GcsStoredObject | undefined,
    ifGenerationMatch: string | null | undefined,
  ): void {
    if (ifGenerationMatch === null || ifGenerationMatch === undefined) return;
    const want = Number(ifGenerationMatch);
    const have = current ? current.generation : 0;
    if (want !== have) {
      throw new HttpFailure(
        412,
        "At least one of the pre-conditions you specified did not hold.",
        "conditionNotMet",
      );
    }
  }

  private store(
    bucket: string,
    name: string,
    data: Uint8Array,
    meta: Record<string, unknown>,
    contentType: string,
    ifGenerationMatch: string | null | undefined,
  ): GcsStoredObject {
    if (!name) throw new HttpFailure(400, "Required: object name", "required");
    const md5Hash = md5Base64(data);
    if (typeof meta.md5Hash === "string" && meta.md5Hash !== md5Hash) {
      throw new HttpFailure(
        400,
        `Provided MD5 hash "${meta.md5Hash}" doesn't match calculated MD5 hash "${md5Hash}".`,
        "invalid",
      );
    }
    const objects = this.bucket(bucket);
    this.checkGeneration(objects.get(name), ifGenerationMatch);
    const obj: GcsStoredObject = {
      data,
      generation: this.nextGeneration++,
      metageneration: 1,
      contentType: (meta.contentType as string | undefined) ?? contentType,
      contentEncoding: meta.contentEncoding as string | undefined,
      cacheControl: meta.cacheControl as string | undefined,
      md5Hash,
      updated: new Date(),
    };
    objects.set(name, obj);
    return obj;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://loopback");
    const method = req.method ?? "GET";
    const segs = url.pathname.split("/").slice(1).map(decodeURIComponent);
    const record: GcsRequestRecord = { method, kind: "unknown", status: 0 };
    this.requests.push(record);
    res.on("finish", () => {
      record.status = res.statusCode;
    });

    // Route: work out what the request is before faults, so a forbidden key applies.
    let route: () => Promise<void> | void;
    let download = false;
    const q = url.searchParams;
    const isUpload = segs[0] === "upload";
    const base = isUpload || segs[0] === "download" ? segs.slice(1) : segs;
    if (base[0] !== "storage" || base[1] !== "v1" || base[2] !== "b" || base[4] !== "o") {
      route = () => this.sendError(res, 404, `Not Found: ${url.pathname}`, "notFound");
    } else {
      const bucket = base[3];
      record.bucket = bucket;
      if (isUpload && method === "PUT" && q.get("upload_id")) {
        const session = this.sessions.get(q.get("upload_id") ?? "");
        record.kind = "resumable";
        record.key = session?.name;
        route = async () => this.resumablePut(req, res, session, await readBody(req));
      } else if (isUpload && method === "POST") {
        const type = q.get("uploadType") ?? "media";
        record.kind = type === "resumable" ? "resumable" : "upload";
        record.key = q.get("name") ?? undefined;
        route = async () => this.upload(req, res, bucket, type, q, await readBody(req));
      } else if (base.length === 5) {
        record.kind = "list";
        route = () => this.list(res, bucket, q);
      } else if (base.length === 11 && (base[6] === "rewriteTo" || base[6] === "copyTo")) {
        record.kind = "copy";
        record.key = base[5];
        route = async () => {
          await readBody(req);
          this.copy(res, bucket, base[5], base[8], base[10], q, base[6] === "rewriteTo");
        };
      } else if (base.length === 6 && method === "DELETE") {
        record.kind = "delete";
        record.key = base[5];
        route = () => this.remove(res, bucket, base[5], q);
      } else if (base.length === 6 && method === "GET") {
        download = q.get("alt") === "media";
        record.kind = download ? "media" : "metadata";
        record.key = base[5];
        route = () =>
          download ? this.media(req, res, bucket, base[5], q) : this.metadata(res, bucket, base[5]);
      } else {
        route = () => this.sendError(res, 405, `${method} ${url.pathname}`, "invalid");
      }
    }

    const latency = this.faults.latencyMs;
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    const fault = this.faults.draw(record.key, download);
    if (fault === "drop") {
      req.socket.destroy();
      return;
    }
    if (fault === "forbidden" || fault === "unavailable") {
      await readBody(req);
      if (fault === "forbidden") {
        this.sendError(res, 403, "caller does not have storage.objects access", "forbidden");
      } else {
        this.sendError(res, 503, "Service Unavailable (injected)", "backendError");
      }
      return;
    }
    if (fault === "corrupt") this.corruptNext.add(res);
    try {
      await route();
    } catch (err) {
      if (err instanceof HttpFailure) this.sendError(res, err.status, err.message, err.reason);
      else throw err;
    }
  }

  private readonly corruptNext = new WeakSet<ServerResponse>();

  private metadata(res: ServerResponse, bucket: string, name: string): void {
    const o = this.bucket(bucket).get(name);
    if (!o) throw new HttpFailure(404, `No such object: ${bucket}/${name}`, "notFound");
    this.sendJson(res, 200, this.resource(bucket, name, o));
  }

  private media(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    name: string,
    q: URLSearchParams,
  ): void {
    const o = this.bucket(bucket).get(name);
    if (!o) throw new HttpFailure(404, `No such object: ${bucket}/${name}`, "notFound");
    this.checkGeneration(o, q.get("ifGenerationMatch"));
    const acceptsGzip = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
    const headers: Record<string, string | number> = {
      "Content-Type": o.contentType,
      "x-goog-generation": String(o.generation),
      "x-goog-metageneration": String(o.metageneration),
      "x-goog-hash": `md5=${o.md5Hash}`,
      "x-goog-stored-content-encoding": o.contentEncoding ?? "identity",
      "x-goog-stored-content-length": String(o.data.length),
      ETag: `"${Buffer.from(o.md5Hash, "base64").toString("hex")}"`,
      "Last-Modified": o.updated.toUTCString(),
    };
    if (o.cacheControl) headers["Cache-Control"] = o.cacheControl;
    let body = o.data;
    let status = 200;
    if (o.contentEncoding === "gzip" && !acceptsGzip) {
      // Decompressive transcoding: GCS serves gzip objects decompressed to
      // clients that do not accept gzip, and ignores Range then.
      body = gunzipSync(o.data);
      headers["Warning"] = "214 UploadServer gunzipped";
    } else {
      if (o.contentEncoding) headers["Content-Encoding"] = o.contentEncoding;
      const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ""));
      if (range) {
        const size = o.data.length;
        let start: number;
        let end: number;
        if (range[1] === "") {
          start = Math.max(0, size - Number(range[2]));
          end = size - 1;
        } else {
          start = Number(range[1]);
          end = range[2] === "" ? size - 1 : Math.min(Number(range[2]), size - 1);
        }
        if (start >= size && size > 0) {
          headers["Content-Range"] = `bytes */${size}`;
          throw new HttpFailure(
            416,
            "Requested range not satisfiable",
            "requestedRangeNotSatisfiable",
          );
        }
        body = o.data.subarray(start, end + 1);
        status = 206;
        headers["Content-Range"] = `bytes ${start}-${end}/${size}`;
      }
    }
    if (this.corruptNext.has(res) && body.length > 0) body = corruptBytes(body);
    headers["Content-Length"] = body.length;
    res.writeHead(status, headers);
    res.end(body);
  }

  private async upload(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    type: string,
    q: URLSearchParams,
    body: Buffer,
  ): Promise<void> {
    const headerType = String(req.headers["content-type"] ?? "application/octet-stream");
    if (type === "media") {
      const meta: Record<string, unknown> = {};
      if (q.get("contentEncoding")) meta.contentEncoding = q.get("contentEncoding");
      const o = this.store(
        bucket,
        q.get("name") ?? "",
        new Uint8Array(body),
        meta,
        headerType,
        q.get("ifGenerationMatch"),
      );
      this.sendJson(res, 200, this.resource(bucket, q.get("name") ?? "", o));
      return;
    }
    if (type === "multipart") {
      const parts = parseMultipart(body, headerType);
      if (parts.length !== 2) throw new HttpFailure(400, "multipart upload needs 2 parts");
      const meta = JSON.parse(parts[0].body.toString("utf8")) as Record<string, unknown>;
      const name = (meta.name as string | undefined) ?? q.get("name") ?? "";
      const o = this.store(
        bucket,
        name,
        new Uint8Array(parts[1].body),
        meta,
        parts[1].headers["content-type"] ?? "application/octet-stream",
        q.get("ifGenerationMatch"),
      );
      this.sendJson(res, 200, this.resource(bucket, name, o));
      return;
    }
    if (type === "resumable") {
      const meta = body.length
        ? (JSON.parse(body.toString("utf8")) as Record<string, unknown>)
        : {};
      const name = q.get("name") ?? (meta.name as string | undefined) ?? "";
      if (!name) throw new HttpFailure(400, "Required: object name", "required");
      this.checkGeneration(this.bucket(bucket).get(name), q.get("ifGenerationMatch"));
      const id = randomUUID();
      this.sessions.set(id, {
        bucket,
        name,
        meta,
        contentType: String(req.headers["x-upload-content-type"] ?? "application/octet-stream"),
        ifGenerationMatch: q.get("ifGenerationMatch") ?? undefined,
        chunks: [],
        received: 0,
      });
      const location = `${this.endpoint}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&upload_id=${id}`;
      res.writeHead(200, { Location: location, "Content-Length": 0 });
      res.end();
      return;
    }
    throw new HttpFailure(400, `unknown uploadType ${type}`);
  }

  private resumablePut(
    _req: IncomingMessage,
    res: ServerResponse,
    session: ResumableSession | undefined,
    body: Buffer,
  ): void {
    if (!session) throw new HttpFailure(404, "No such upload session", "notFound");
    const incomplete = () => {
      const headers: Record<string, string | number> = { "Content-Length": 0 };
      if (session.received > 0) headers.Range = `bytes=0-${session.received - 1}`;
      res.writeHead(308, headers);
      res.end();
    };
    if (session.done) {
      this.sendJson(res, 200, this.resource(session.bucket, session.name, session.done));
      return;
    }
    const cr = String(_req.headers["content-range"] ?? "");
    const status = /^bytes \*\/(\d+|\*)$/.exec(cr);
    if (status) {
      if (status[1] !== "*" && Number(status[1]) === session.received) {
        this.finish(res, session);
      } else incomplete();
      return;
    }
    const m = /^bytes (\d+)-(\d+|\*)\/(\d+|\*)$/.exec(cr);
    if (!m) throw new HttpFailure(400, `bad Content-Range "${cr}"`);
    const start = Number(m[1]);
    if (start > session.received) {
      throw new HttpFailure(400, `chunk starts at ${start}, ${session.received} bytes received`);
    }
    const skip = session.received - start;
    if (skip < body.length) {
      session.chunks.push(body.subarray(skip));
      session.received += body.length - skip;
    }
    if (m[3] !== "*" && session.received >= Number(m[3])) this.finish(res, session);
    else incomplete();
  }

  private finish(res: ServerResponse, session: ResumableSession): void {
    const o = this.store(
      session.bucket,
      session.name,
      new Uint8Array(Buffer.concat(session.chunks)),
      session.meta,
      session.contentType,
      session.ifGenerationMatch,
    );
    session.done = o;
    session.chunks = [];
    this.sendJson(res, 200, this.resource(session.bucket, session.name, o));
  }

  private list(res: ServerResponse, bucket: string, q: URLSearchParams): void {
    const prefix = q.get("prefix") ?? "";
    const delimiter = q.get("delimiter") ?? "";
    const maxResults = Math.max(1, Math.min(1000, Number(q.get("maxResults") ?? 1000)));
    const after = q.get("pageToken")
      ? Buffer.from(q.get("pageToken") ?? "", "base64url").toString("utf8")
      : undefined;
    const objects = this.bucket(bucket);
    const entries: { name: string; prefix: boolean }[] = [];
    const seenPrefixes = new Set<string>();
    for (const name of [...objects.keys()].sort()) {
      if (!name.startsWith(prefix)) continue;
      const cut = delimiter ? name.indexOf(delimiter, prefix.length) : -1;
      if (cut >= 0) {
        const p = name.slice(0, cut + delimiter.length);
        if (!seenPrefixes.has(p)) {
          seenPrefixes.add(p);
          entries.push({ name: p, prefix: true });
        }
      } else entries.push({ name, prefix: false });
    }
    const start = after === undefined ? 0 : entries.findIndex((e) => e.name > after);
    const page = start < 0 ? [] : entries.slice(start, start + maxResults);
    const more = start >= 0 && start + maxResults < entries.length;
    const out: Record<string, unknown> = { kind: "storage#objects" };
    const items = page.filter((e) => !e.prefix);
    const prefixes = page.filter((e) => e.prefix);
    if (items.length) {
      out.items = items.map((e) => this.resource(bucket, e.name, objects.get(e.name)!));
    }
    if (prefixes.length) out.prefixes = prefixes.map((e) => e.name);
    if (more) out.nextPageToken = Buffer.from(page[page.length - 1].name).toString("base64url");
    this.sendJson(res, 200, out);
  }

  private remove(res: ServerResponse, bucket: string, name: string, q: URLSearchParams): void {
    const objects = this.bucket(bucket);
    const o = objects.get(name);
    if (!o) throw new HttpFailure(404, `No such object: ${bucket}/${name}`, "notFound");
    this.checkGeneration(o, q.get("ifGenerationMatch"));
    objects.delete(name);
    res.writeHead(204);
    res.end();
  }

  private copy(
    res: ServerResponse,
    bucket: string,
    name: string,
    dstBucket: string,
    dstName: string,
    q: URLSearchParams,
    rewrite: boolean,
  ): void {
    const o = this.bucket(bucket).get(name);
    if (!o) throw new HttpFailure(404, `No such object: ${bucket}/${name}`, "notFound");
    const copied = this.store(
      dstBucket,
      dstName,
      o.data,
      { contentEncoding: o.contentEncoding, cacheControl: o.cacheControl },
      o.contentType,
      q.get("ifGenerationMatch"),
    );
    const resource = this.resource(dstBucket, dstName, copied);
    if (!rewrite) {
      this.sendJson(res, 200, resource);
      return;
    }
    const size = String(o.data.length);
    this.sendJson(res, 200, {
      kind: "storage#rewriteResponse",
      totalBytesRewritten: size,
      objectSize: size,
      done: true,
      resource,
    });
  }
}
