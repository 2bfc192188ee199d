/**
 * Storage throughput: putMany/getMany of many small and fewer large objects
 * on file:// and s3:// (a moto server started here), each measured against
 * (a) a naive sequential loop and (b) a hand-written Promise pool of the same
 * concurrency, both over the same fs / AWS SDK calls the backend makes.
 *
 *   npx tsx bench/storage.ts                   # 10,000 x 4 KiB and 1,000 x 1 MiB, file and s3, 2 rounds
 *   npx tsx bench/storage.ts --small 2000 --large 200 --rounds 3 --latency 20 --only s3
 *
 * s3 requests go through a loopback proxy that adds `--latency` ms (default 10)
 * to each, standing in for a real network round trip (moto itself answers in
 * a few ms and serialises requests, which would hide what concurrency buys).
 * The sequential loop runs on at most `--seq-max` objects (default 1000).
 *
 * Each round runs (b), ngpipe, (a) on fresh keys; the table keeps the best
 * round of each, and the CPU time this process spent per object, which a
 * busy machine disturbs less than wall time.
 *
 * Goal: ngpipe within 10% of (b), far ahead of (a).
 */
import { createHash, randomBytes } from "node:crypto";
import * as fsp from "node:fs/promises";
import { Agent as HttpAgent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { openStorage, type Storage } from "@ngpipe/storage";
import { motoInstalled, startMoto } from "../test/support/moto";
import { startLatencyProxy } from "./latency-proxy";

interface Args {
  small: number;
  large: number;
  rounds: number;
  /** Round trip added to every s3 request by a proxy in front of moto, ms. */
  latency: number;
  /** The sequential loop runs on at most this many objects (its rate is per object). */
  seqMax: number;
  only: Set<string>;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    small: 10_000,
    large: 1_000,
    rounds: 2,
    latency: 10,
    seqMax: 1000,
    only: new Set(["file", "s3"]),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--small") args.small = Number(argv[++i]);
    else if (a === "--large") args.large = Number(argv[++i]);
    else if (a === "--rounds") args.rounds = Number(argv[++i]);
    else if (a === "--latency") args.latency = Number(argv[++i]);
    else if (a === "--seq-max") args.seqMax = Number(argv[++i]);
    else if (a === "--only") args.only = new Set(argv[++i].split(","));
  }
  return args;
}

/** Runs `fn` over the keys: a sequential loop or a pool. */
type Runner = (items: string[], fn: (key: string) => Promise<void>) => Promise<void>;

/** What one implementation does for one backend. */
interface Impl {
  put(keys: string[], data: Uint8Array): Promise<void>;
  get(keys: string[]): Promise<number>;
}

function totalBytes(objects: Map<string, Uint8Array>): number {
  let n = 0;
  for (const v of objects.values()) n += v.length;
  return n;
}

/** A worker pool over an array, the way one would write it by hand. */
async function handPool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

async function sequential<T>(items: T[], fn: (item: T) => Promise<void>) {
  for (const item of items) await fn(item);
}

function ngpipeImpl(storage: Storage, concurrency: number): Impl {
  return {
    async put(keys, data) {
      const res = await storage.putMany(
        keys.map((key) => ({ key, data })),
        { concurrency },
      );
      const bad = res.find((r) => !r.ok);
      if (bad && !bad.ok) throw bad.error;
    },
    async get(keys) {
      const res = await storage.getMany(keys, { concurrency });
      let bytes = 0;
      for (const r of res) {
        if (!r.ok) throw r.error;
        bytes += r.value?.length ?? 0;
      }
      return bytes;
    },
  };
}

/** The fs calls of the file backend: write a temporary file, rename; readFile. */
function fsImpl(root: string, run: Runner): Impl {
  let n = 0;
  return {
    async put(keys, data) {
      await run(keys, async (key) => {
        const p = join(root, key);
        const tmp = `${p}.tmp-${process.pid}-${n++}`;
        await fsp.writeFile(tmp, data);
        await fsp.rename(tmp, p);
      });
    },
    async get(keys) {
      // Keep every result, as getMany does: a caller reads objects to use them.
      const out = new Map<string, Uint8Array>();
      await run(keys, async (key) => {
        out.set(key, await fsp.readFile(join(root, key)));
      });
      return totalBytes(out);
    },
  };
}

/** The SDK calls of the S3 backend (PutObject with Content-MD5, GetObject). */
function s3Impl(client: S3Client, bucket: string, prefix: string, run: Runner): Impl {
  return {
    async put(keys, data) {
      await run(keys, async (key) => {
        // Per object, as the backend does: real objects differ.
        const md5 = createHash("md5").update(data).digest("base64");
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: `${prefix}/${key}`,
            Body: data,
            ContentMD5: md5,
          }),
        );
      });
    },
    async get(keys) {
      const out = new Map<string, Uint8Array>();
      await run(keys, async (key) => {
        const res = await client.send(
          new GetObjectCommand({ Bucket: bucket, Key: `${prefix}/${key}` }),
        );
        out.set(key, await res.Body!.transformToByteArray());
      });
      return totalBytes(out);
    },
  };
}

interface Row {
  backend: string;
  set: string;
  impl: string;
  op: string;
  objects: number;
  bytes: number;
  seconds: number;
  /** CPU time of this process (user + system), µs. */
  cpuUs: number;
}

const rows: Row[] = [];

async function measure(
  backend: string,
  set: string,
  impl: string,
  keys: string[],
  data: Uint8Array,
  it: Impl,
): Promise<void> {
  const timed = async (op: string, fn: () => Promise<number>) => {
    const cpu = process.cpuUsage();
    const t = performance.now();
    const bytes = await fn();
    const seconds = (performance.now() - t) / 1000;
    const used = process.cpuUsage(cpu);
    const r: Row = {
      backend,
      set,
      impl,
      op,
      objects: keys.length,
      bytes,
      seconds,
      cpuUs: used.user + used.system,
    };
    rows.push(r);
    console.log(
      `${backend.padEnd(4)} ${set.padEnd(14)} ${impl.padEnd(10)} ${op}  ${(r.objects / seconds).toFixed(0).padStart(7)} obj/s  ${(bytes / seconds / 1e6).toFixed(1).padStart(7)} MB/s  ${(r.cpuUs / r.objects).toFixed(0).padStart(6)} µs CPU/obj  (${seconds.toFixed(2)} s)`,
    );
  };
  await timed("put", async () => {
    await it.put(keys, data);
    return keys.length * data.length;
  });
  await timed("get", async () => {
    const got = await it.get(keys);
    if (got !== keys.length * data.length)
      throw new Error(`${impl} ${backend} ${set}: read ${got} bytes`);
    return got;
  });
}

/** Implementations in the order they run in each round (ngpipe never first or last). */
const IMPLS = ["pool", "ngpipe", "sequential"] as const;

function datasets(args: Args) {
  return [
    { name: `${args.small} x 4 KiB`, keys: args.small, data: randomBytes(4096) },
    { name: `${args.large} x 1 MiB`, keys: args.large, data: randomBytes(1024 * 1024) },
  ].filter((d) => d.keys > 0);
}

function keyList(n: number): string[] {
  // Two levels like a precomputed layer: mip/chunk-name.
  return Array.from({ length: n }, (_, i) => `1/${i}_${(i * 7) % 1000}_0`);
}

async function warmUp(root: string, concurrency: number) {
  const keys = keyList(500);
  const data = randomBytes(4096);
  await fsp.mkdir(join(root, "1"), { recursive: true });
  const it = ngpipeImpl(openStorage(`file://${root}`, { concurrency }), concurrency);
  await it.put(keys, data);
  await it.get(keys);
  const pool = fsImpl(root, (i, f) => handPool(i, concurrency, f));
  await pool.put(keys, data);
  await pool.get(keys);
  await fsp.rm(root, { recursive: true, force: true });
}

async function benchFile(args: Args) {
  const concurrency = 16;
  const base = await fsp.mkdtemp(join(tmpdir(), "ngpipe-bench-storage-"));
  try {
    // Warm-up: module loading, JIT, the file system's caches.
    await warmUp(join(base, "warm"), concurrency);
    for (const d of datasets(args)) {
      const keys = keyList(d.keys);
      for (let round = 0; round < args.rounds; round++)
        for (const impl of IMPLS) {
          const root = join(base, `${impl}-${d.keys}-${round}`);
          await fsp.mkdir(join(root, "1"), { recursive: true });
          const it =
            impl === "ngpipe"
              ? ngpipeImpl(openStorage(`file://${root}`, { concurrency }), concurrency)
              : fsImpl(
                  root,
                  impl === "sequential" ? sequential : (i, f) => handPool(i, concurrency, f),
                );
          const n = impl === "sequential" ? Math.min(keys.length, args.seqMax) : keys.length;
          await measure("file", d.name, impl, keys.slice(0, n), d.data, it);
          await fsp.rm(root, { recursive: true, force: true });
        }
    }
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
}

async function benchS3(args: Args) {
  if (!motoInstalled()) {
    console.log("s3: skipped (python3 -m moto.server is not installed)");
    return;
  }
  process.env.AWS_ACCESS_KEY_ID ??= "testing";
  process.env.AWS_SECRET_ACCESS_KEY ??= "testing";
  const moto = await startMoto();
  // Never leave moto running behind an interrupted benchmark.
  const stop = () => void moto.stop().then(() => process.exit(130));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const concurrency = 32;
  // moto answers in a few ms on loopback; a real S3 round trip is tens of ms.
  // The delaying proxy runs in its own process, so its CPU is not counted here.
  const proxy = await startLatencyProxy(moto.endpoint, args.latency);
  const endpoint = proxy.endpoint;
  const client = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: "us-east-1",
    maxAttempts: 1,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: { httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }) },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: "bench" }));
    await ngpipeImpl(openStorage("s3://bench/warm", { endpoint }), concurrency).put(
      keyList(200),
      randomBytes(4096),
    );
    for (const d of datasets(args)) {
      const keys = keyList(d.keys);
      for (let round = 0; round < args.rounds; round++)
        for (const impl of IMPLS) {
          const prefix = `${impl}-${d.keys}-${round}`;
          let storage: Storage | undefined;
          let it: Impl;
          if (impl === "ngpipe") {
            storage = openStorage(`s3://bench/${prefix}`, { endpoint, concurrency });
            it = ngpipeImpl(storage, concurrency);
          } else {
            it = s3Impl(
              client,
              "bench",
              prefix,
              impl === "sequential" ? sequential : (i, f) => handPool(i, concurrency, f),
            );
          }
          const n = impl === "sequential" ? Math.min(keys.length, args.seqMax) : keys.length;
          await measure("s3", d.name, impl, keys.slice(0, n), d.data, it);
          await storage?.backend.close?.();
        }
    }
  } finally {
    client.destroy();
    proxy.stop();
    await moto.stop();
  }
}

function report(args: Args) {
  const best = (backend: string, set: string, op: string, impl: string) => {
    const rs = rows.filter(
      (x) => x.backend === backend && x.set === set && x.op === op && x.impl === impl,
    );
    const r = rs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const cpu = rs.map((x) => x.cpuUs / x.objects).sort((a, b) => a - b)[rs.length >> 1];
    return { rate: r.objects / r.seconds, mbs: r.bytes / r.seconds / 1e6, cpu };
  };
  console.log(
    `\nbest of ${args.rounds} round(s); (a) on at most ${args.seqMax} objects; s3 with ${args.latency} ms added per request; CPU = this process, µs per object (median)`,
  );
  console.log(
    "| backend | objects | op | ngpipe obj/s | ngpipe MB/s | (a) sequential obj/s | (b) pool obj/s | ngpipe / (b) | CPU µs/obj ngpipe / (b) |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  const seen = new Set<string>();
  for (const r of rows) {
    const id = `${r.backend}|${r.set}|${r.op}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const n = best(r.backend, r.set, r.op, "ngpipe");
    const a = best(r.backend, r.set, r.op, "sequential");
    const b = best(r.backend, r.set, r.op, "pool");
    console.log(
      `| ${r.backend} | ${r.set} | ${r.op} | ${n.rate.toFixed(0)} | ${n.mbs.toFixed(1)} | ${a.rate.toFixed(0)} | ${b.rate.toFixed(0)} | ${(n.rate / b.rate).toFixed(2)} | ${n.cpu.toFixed(0)} / ${b.cpu.toFixed(0)} |`,
    );
  }
  const flags = `--small ${args.small} --large ${args.large} --rounds ${args.rounds} --latency ${args.latency} --seq-max ${args.seqMax} --only ${[...args.only].join(",")}`;
  console.log(`\nreproduce: npx tsx bench/storage.ts ${flags}`);
}

async function main() {
  const argv = process.argv.slice(2);
  const args = parseArgs(argv);
  if (args.only.has("file")) await benchFile(args);
  if (args.only.has("s3")) await benchS3(args);
  report(args);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
