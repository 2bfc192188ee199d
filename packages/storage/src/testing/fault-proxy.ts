/**
 * An HTTP proxy on loopback that forwards to an S3-compatible server (moto)
 * and injects faults on the way: 503 answers, dropped connections, corrupted
 * download bodies, 403 for given keys. Point an S3 backend's `endpoint` at
 * {@link FaultProxy.endpoint}; requests are path-style (`/bucket/key`).
 *
 * ```ts
 * const proxy = await FaultProxy.start(moto.endpoint);
 * proxy.faults.setPlan({ unavailable: 0.1, drop: 0.05, corrupt: 0.05 });
 * ```
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { corruptBytes, FaultInjector } from "./faults";

/** One request seen by the proxy, for assertions in tests. */
export interface ProxyRequestRecord {
  method: string;
  /** Object key inside the bucket (undefined for bucket-level requests). */
  key?: string;
  /** Status answered; 0 for a dropped connection. */
  status: number;
}

function s3Error(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

/** The fault-injecting proxy. Start with {@link FaultProxy.start}. */
export class FaultProxy {
  /** Fault injection; set a plan with `proxy.faults.setPlan({...})`. */
  readonly faults = new FaultInjector();
  /** Every request received since start (or the last `clearRequests`). */
  readonly requests: ProxyRequestRecord[] = [];
  private readonly server: Server;
  private readonly target: URL;
  private port = 0;

  private constructor(target: string) {
    this.target = new URL(target);
    this.server = createServer((req, res) => this.handle(req, res));
  }

  /** Start on 127.0.0.1 in front of `target` (e.g. moto's endpoint). */
  static async start(target: string): Promise<FaultProxy> {
    const p = new FaultProxy(target);
    await new Promise<void>((resolve, reject) => {
      p.server.once("error", reject);
      p.server.listen(0, "127.0.0.1", () => resolve());
    });
    p.port = (p.server.address() as AddressInfo).port;
    return p;
  }

  /** The endpoint to give the S3 backend. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stop listening and close kept-alive connections. */
  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Forget the request log. */
  clearRequests(): void {
    this.requests.length = 0;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const latency = this.faults.latencyMs;
    if (latency > 0) setTimeout(() => this.answer(req, res), latency);
    else this.answer(req, res);
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://proxy");
    const parts = url.pathname.split("/").slice(1);
    const key =
      parts.length > 1 && parts[1] !== ""
        ? decodeURIComponent(parts.slice(1).join("/"))
        : undefined;
    const method = req.method ?? "GET";
    const record: ProxyRequestRecord = { method, key, status: 0 };
    this.requests.push(record);
    res.on("finish", () => {
      record.status = res.statusCode;
    });
    const download = method === "GET" && key !== undefined;
    const fault = this.faults.draw(key, download);
    if (fault === "drop") {
      req.socket.destroy();
      return;
    }
    if (fault === "unavailable" || fault === "forbidden") {
      req.resume();
      req.on("end", () => {
        const forbidden = fault === "forbidden";
        const body = forbidden
          ? s3Error("AccessDenied", "Access Denied")
          : s3Error("ServiceUnavailable", "Please reduce your request rate.");
        res.writeHead(forbidden ? 403 : 503, {
          "Content-Type": "application/xml",
          "Content-Length": Buffer.byteLength(body),
        });
        res.end(body);
      });
      return;
    }
    const upstream = httpRequest(
      {
        host: this.target.hostname,
        port: this.target.port,
        method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        if (fault !== "corrupt" || (up.statusCode ?? 0) >= 300) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        up.on("data", (b: Buffer) => chunks.push(b));
        up.on("end", () => {
          res.writeHead(up.statusCode ?? 200, up.headers);
          res.end(corruptBytes(Buffer.concat(chunks)));
        });
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  }
}
