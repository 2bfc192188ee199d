/**
 * A loopback proxy adding a fixed latency to every request, in its own
 * process (so its CPU is not counted by the benchmark), for s3 benchmarks
 * against moto: moto answers in a few ms; a real S3 round trip is tens of ms.
 *
 *   npx tsx bench/latency-proxy.ts --serve-proxy http://127.0.0.1:PORT 10   # what startLatencyProxy runs
 */
import { spawn } from "node:child_process";
import { FaultProxy } from "@ngpipe/storage/testing";

/** Starts this file as a {@link FaultProxy} adding `latency` ms in front of `target`. */
export async function startLatencyProxy(
  target: string,
  latency: number,
): Promise<{ endpoint: string; stop: () => void }> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, __filename, "--serve-proxy", target, String(latency)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`latency proxy exited (${code})`)));
    child.stdout.once("data", (b: Buffer) => resolve(b.toString().trim()));
  });
  return { endpoint, stop: () => child.kill("SIGTERM") };
}

async function serveProxy(target: string, latency: number) {
  const proxy = await FaultProxy.start(target);
  proxy.faults.setPlan({ latencyMs: latency });
  process.stdout.write(`${proxy.endpoint}\n`);
  process.once("SIGTERM", () => void proxy.stop().then(() => process.exit(0)));
  // Never outlive the benchmark that started it.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && process.exit(0), 1000).unref();
}

if (require.main === module && process.argv[2] === "--serve-proxy") {
  void serveProxy(process.argv[3], Number(process.argv[4]));
}
