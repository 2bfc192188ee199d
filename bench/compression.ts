/**
 * gzip and deflate, node:zlib against fflate, for the byte sizes chunks and
 * stored objects have (4 KiB .. 4 MiB) and the levels ngpipe uses (6: chunk
 * writes and `Storage.put`'s default; 1: `--compress-level 1`), both ways,
 * on the main thread and inside a worker thread (where the pool codes chunks).
 *
 *   npx tsx bench/compression.ts            # 2 data kinds x 4 sizes, 7 rounds
 *   npx tsx bench/compression.ts --rounds 15 --only image
 *
 * Data: "image" is raw uint8 of an EM-like image (compresses to ~70%),
 * "seg" the compressed_segmentation bytes of a uint32 Voronoi segmentation
 * (compresses to ~30%). Each round runs every implementation once on the
 * same input, alternating, and the table reports the median time of each as
 * MB/s of uncompressed bytes and the ratio fflate / zlib (> 1: fflate faster).
 * Also the async zlib call (libuv thread pool) the storage layer makes on the
 * event loop, as a latency per call.
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import * as zlib from "node:zlib";
import { encodeCompressedSegmentation } from "@ngpipe/precomputed";
import { emLikeImage, voronoiSegmentation } from "@ngpipe/tasks";
import * as fflate from "fflate";

const SIZES = [4 << 10, 64 << 10, 1 << 20, 4 << 20];

interface Row {
  where: string;
  kind: string;
  size: number;
  op: string;
  zlib: number;
  fflate: number;
  ratio: number;
  zlibAsync?: number;
}

function inputs(only: string | undefined): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const shape: [number, number, number] = [256, 256, 64];
  const seg = voronoiSegmentation(shape, { seeds: 300, seed: 3 });
  if (only === undefined || only === "image") out.set("image", emLikeImage(seg, shape));
  if (only === undefined || only === "seg") {
    // Several 64^3 chunks' worth of encoded segmentation, concatenated.
    const parts: Uint8Array[] = [];
    let n = 0;
    for (let k = 0; n < (4 << 20) + 1; k++) {
      const s = voronoiSegmentation([64, 64, 64], { seeds: 60, seed: 11 + k });
      for (let i = 0; i < s.length; i++) s[i] += k * 1000;
      const enc = encodeCompressedSegmentation(s, [64, 64, 64, 1], [8, 8, 8], "uint32");
      parts.push(enc);
      n += enc.byteLength;
    }
    const all = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.byteLength;
    }
    out.set("seg", all);
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Median seconds of `fn` over `rounds`, alternating with the others of the same group. */
function timeGroup(fns: (() => unknown)[], rounds: number, size: number): number[] {
  // Enough repetitions per round for ~20 ms of work on small inputs.
  const reps = Math.max(1, Math.round((8 << 20) / size));
  const times: number[][] = fns.map(() => []);
  for (const fn of fns) for (let i = 0; i < Math.min(reps, 4); i++) fn();
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, j) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < reps; i++) fn();
      times[j].push(Number(process.hrtime.bigint() - t0) / 1e9 / reps);
    });
  }
  return times.map(median);
}

async function asyncLatency(
  fn: () => Promise<unknown>,
  rounds: number,
  size: number,
): Promise<number> {
  const reps = Math.max(1, Math.round((8 << 20) / size));
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9 / reps);
  }
  return median(times);
}

async function measure(where: string, only: string | undefined, rounds: number): Promise<Row[]> {
  const rows: Row[] = [];
  const gzipAsync = (b: Uint8Array, o: zlib.ZlibOptions) =>
    new Promise<Buffer>((res, rej) => zlib.gzip(b, o, (e, r) => (e ? rej(e) : res(r))));
  const gunzipAsync = (b: Uint8Array, o: zlib.ZlibOptions) =>
    new Promise<Buffer>((res, rej) => zlib.gunzip(b, o, (e, r) => (e ? rej(e) : res(r))));
  for (const [kind, all] of inputs(only)) {
    for (const size of SIZES) {
      const data = all.subarray(0, size).slice();
      const mb = size / 1e6;
      for (const level of [6, 1] as const) {
        const [z, f] = timeGroup(
          [() => zlib.gzipSync(data, { level }), () => fflate.gzipSync(data, { level })],
          rounds,
          size,
        );
        const za =
          where === "main"
            ? await asyncLatency(() => gzipAsync(data, { level }), rounds, size)
            : undefined;
        rows.push({
          where,
          kind,
          size,
          op: `gzip ${level}`,
          zlib: mb / z,
          fflate: mb / f,
          ratio: z / f,
          zlibAsync: za === undefined ? undefined : mb / za,
        });
      }
      const gz = zlib.gzipSync(data, { level: 6 });
      const [z, f] = timeGroup(
        [
          () => zlib.gunzipSync(gz, size > 32768 ? { chunkSize: 256 * 1024 } : {}),
          () => fflate.gunzipSync(gz),
          () => fflate.gunzipSync(gz, { out: new Uint8Array(size) }),
        ],
        rounds,
        size,
      ).slice(0, 2);
      const za =
        where === "main"
          ? await asyncLatency(
              () => gunzipAsync(gz, size > 32768 ? { chunkSize: 256 * 1024 } : {}),
              rounds,
              size,
            )
          : undefined;
      rows.push({
        where,
        kind,
        size,
        op: "gunzip",
        zlib: mb / z,
        fflate: mb / f,
        ratio: z / f,
        zlibAsync: za === undefined ? undefined : mb / za,
      });
      const [dz, df] = timeGroup(
        [() => zlib.deflateSync(data, { level: 6 }), () => fflate.zlibSync(data, { level: 6 })],
        rounds,
        size,
      );
      rows.push({
        where,
        kind,
        size,
        op: "deflate 6 (png)",
        zlib: mb / dz,
        fflate: mb / df,
        ratio: dz / df,
      });
      const zd = zlib.deflateSync(data, { level: 6 });
      const [iz, ifl] = timeGroup(
        [() => zlib.inflateSync(zd), () => fflate.unzlibSync(zd)],
        rounds,
        size,
      );
      rows.push({
        where,
        kind,
        size,
        op: "inflate (png)",
        zlib: mb / iz,
        fflate: mb / ifl,
        ratio: iz / ifl,
      });
    }
  }
  return rows;
}

function fmt(n: number | undefined): string {
  return n === undefined ? "-" : n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

async function main(): Promise<void> {
  if (!isMainThread) {
    const { only, rounds } = workerData as { only?: string; rounds: number };
    parentPort!.postMessage(await measure("worker", only, rounds));
    return;
  }
  const argv = process.argv.slice(2);
  let rounds = 7;
  let only: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--rounds") rounds = Number(argv[++i]);
    else if (argv[i] === "--only") only = argv[++i];
  }
  const rows = await measure("main", only, rounds);
  const inWorker = await new Promise<Row[]>((resolve, reject) => {
    // tsx's hook is installed in the worker the way the kernel pool's worker does it.
    const w = new Worker(
      `require("tsx/cjs/api").register(); require(${JSON.stringify(__filename)});`,
      { eval: true, workerData: { only, rounds } },
    );
    w.once("message", resolve);
    w.once("error", reject);
  });
  rows.push(...inWorker);
  console.log(
    `# ${["npx tsx bench/compression.ts", ...argv].join(" ")}  (load ${(await import("node:os"))
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")})`,
  );
  console.log(
    "| thread | data | size | op | zlib sync MB/s | fflate MB/s | fflate/zlib | zlib async MB/s (one call at a time) |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const size = r.size >= 1 << 20 ? `${r.size >> 20} MiB` : `${r.size >> 10} KiB`;
    console.log(
      `| ${r.where} | ${r.kind} | ${size} | ${r.op} | ${fmt(r.zlib)} | ${fmt(r.fflate)} | ${r.ratio.toFixed(2)} | ${fmt(r.zlibAsync)} |`,
    );
  }
}

void main();
