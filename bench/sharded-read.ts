/**
 * Volume.read of one box from a sharded scale against the same box from the
 * same data unsharded: file:// and s3:// (moto behind a loopback proxy that
 * adds `--latency` ms per request, as bench/storage.ts does). Alternating
 * rounds, median of each, ratio sharded / unsharded (target <= 1.2).
 *
 *   npx tsx bench/sharded-read.ts                      # 512^3 uint8 raw+gzip, 64^3 chunks, file and s3
 *   npx tsx bench/sharded-read.ts --size 256 --rounds 5 --only file
 *
 * The sharding spec is computeImageShardingSpec's for the scale (Igneous'
 * defaults: a 3.5 GB uncompressed target, so the box is one shard file with
 * many minishards); data_encoding gzip, like the unsharded chunks' `.gz`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import {
  Bbox,
  closePool,
  computeImageShardingSpec,
  createInfo,
  NdArray,
  Volume,
} from "@ngpipe/precomputed";
import { motoInstalled, startMoto } from "../test/support/moto";
import { startLatencyProxy } from "./latency-proxy";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const N = Number(arg("size", "512"));
const ROUNDS = Number(arg("rounds", "5"));
const LATENCY = Number(arg("latency", "10"));
const ONLY = new Set(arg("only", "file,s3").split(","));
const CHUNK = 64;

function makeArray(): NdArray {
  const a = NdArray.zeros("uint8", [N, N, N, 1]);
  const d = a.data as Uint8Array;
  let seed = 12345;
  for (let z = 0, i = 0; z < N; z++)
    for (let y = 0; y < N; y++)
      for (let x = 0; x < N; x++, i++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        d[i] = ((x >> 3) * 3 + (y >> 3) * 5 + (z >> 2) * 7 + (seed >>> 28)) & 255;
      }
  return a;
}

async function makeLayers(base: string, opts: { endpoint?: string }, array: NdArray) {
  const storageOptions = opts.endpoint ? { endpoint: opts.endpoint } : undefined;
  const common = {
    type: "image" as const,
    dataType: "uint8" as const,
    numChannels: 1,
    resolution: [4, 4, 40] as [number, number, number],
    voxelOffset: [0, 0, 0] as [number, number, number],
    size: [N, N, N] as [number, number, number],
    chunkSize: [CHUNK, CHUNK, CHUNK] as [number, number, number],
    encoding: "raw",
  };
  const sharding = computeImageShardingSpec({
    size: [N, N, N],
    chunkSize: [CHUNK, CHUNK, CHUNK],
    bytesPerVoxel: 1,
    encoding: "raw",
  });
  const plain = await Volume.create(`${base}/unsharded`, createInfo(common), { storageOptions });
  await plain.write(plain.bounds, array);
  const sharded = await Volume.create(`${base}/sharded`, createInfo({ ...common, sharding }), {
    storageOptions,
  });
  await sharded.write(sharded.bounds, array);
  return { sharding };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function compare(where: string, base: string, endpoint?: string): Promise<string> {
  const storageOptions = endpoint ? { endpoint } : undefined;
  const box = new Bbox([0, 0, 0], [N, N, N]);
  const times: Record<string, number[]> = { unsharded: [], sharded: [] };
  for (let r = 0; r <= ROUNDS; r++) {
    for (const name of ["unsharded", "sharded"]) {
      // A fresh Volume each round: no cached shard indexes from the last one.
      const vol = await Volume.open(`${base}/${name}`, { storageOptions });
      const t = performance.now();
      await vol.read(box);
      if (r > 0) times[name].push(performance.now() - t);
    }
  }
  const u = median(times.unsharded);
  const s = median(times.sharded);
  const mvox = N ** 3 / 1e6;
  return `| ${where} | ${N}^3 uint8 raw gzip, ${CHUNK}^3 chunks | ${(mvox / (u / 1000)).toFixed(1)} | ${(mvox / (s / 1000)).toFixed(1)} | ${(s / u).toFixed(2)} |`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const array = makeArray();
  const rows: string[] = [];
  let spec = "";
  if (ONLY.has("file")) {
    const dir = mkdtempSync(join(tmpdir(), "ngpipe-sharded-read-"));
    try {
      const base = pathToFileURL(dir).href;
      spec = JSON.stringify((await makeLayers(base, {}, array)).sharding);
      rows.push(await compare("file", base));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (ONLY.has("s3") && motoInstalled()) {
    process.env.AWS_ACCESS_KEY_ID ??= "testing";
    process.env.AWS_SECRET_ACCESS_KEY ??= "testing";
    const moto = await startMoto();
    const proxy = await startLatencyProxy(moto.endpoint, LATENCY);
    try {
      const client = new S3Client({
        endpoint: moto.endpoint,
        forcePathStyle: true,
        region: "us-east-1",
      });
      await client.send(new CreateBucketCommand({ Bucket: "bench" }));
      await makeLayers("s3://bench/layer", { endpoint: moto.endpoint }, array);
      rows.push(await compare(`s3 (moto + ${LATENCY} ms)`, "s3://bench/layer", proxy.endpoint));
    } finally {
      proxy.stop();
      await moto.stop();
    }
  }
  await closePool();
  console.log(
    `# ${["npx tsx bench/sharded-read.ts", ...argv].join(" ")}  (median of ${ROUNDS}; load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")})`,
  );
  if (spec) console.log(`# sharding: ${spec}`);
  console.log("| storage | box | unsharded Mvox/s | sharded Mvox/s | sharded / unsharded time |");
  console.log("|---|---|---|---|---|");
  for (const r of rows) console.log(r);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
