/**
 * Starts moto's server (`python3 -m moto.server`) on a free loopback port for
 * a test file, and stops it afterwards. Where moto is not installed the
 * tests that need it are skipped with a printed reason — except under
 * CI=true, where a missing server is a failure.
 *
 * ```ts
 * const moto = useMoto();            // at the top of a test file
 * const maybe = moto.available ? describe : describe.skip;
 * maybe("s3", () => { test("...", () => { moto.endpoint ... }) });
 * ```
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";

/** Whether `python3 -m moto.server` can run here (checked once, synchronously). */
export function motoInstalled(): boolean {
  const r = spawnSync("python3", ["-c", "import moto.server"], { stdio: "ignore" });
  return r.status === 0;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface MotoServer {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/** Start a moto server and wait until it answers. */
export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    "python3",
    ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)],
    {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" },
    },
  );
  let stderr = "";
  child.stderr?.on("data", (b) => {
    stderr = (stderr + b.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`moto.server exited early (${child.exitCode}): ${stderr}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      await res.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`moto.server did not answer on ${endpoint} within 30 s: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    endpoint,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 3000).unref();
      }),
  };
}

export interface MotoHandle {
  /** False when moto is missing and we are not under CI (tests should skip). */
  readonly available: boolean;
  /** The endpoint URL; valid inside tests once beforeAll has run. */
  readonly endpoint: string;
}

/**
 * Jest helper: starts moto in beforeAll and stops it in afterAll. Call at the
 * top level of a test file. Credentials for the AWS SDK are set to dummies.
 */
export function useMoto(): MotoHandle {
  const installed = motoInstalled();
  if (!installed) {
    if (process.env.CI === "true") {
      throw new Error("moto is required under CI=true: python3 -m moto.server is not available");
    }
    console.warn("skipping moto-backed tests: python3 -m moto.server is not installed");
  }
  process.env.AWS_ACCESS_KEY_ID ??= "testing";
  process.env.AWS_SECRET_ACCESS_KEY ??= "testing";
  process.env.AWS_REGION ??= "us-east-1";
  let server: MotoServer | undefined;
  const handle = {
    available: installed,
    get endpoint(): string {
      if (!server) throw new Error("moto is not running (use the endpoint inside a test)");
      return server.endpoint;
    },
  };
  if (installed) {
    beforeAll(async () => {
      server = await startMoto();
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
    });
  }
  return handle;
}
