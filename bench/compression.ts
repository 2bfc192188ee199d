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
import { loadavg } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { encodeCompressedSegmentation } from "@ngpipe/precomputed";
import { emLikeImage, voronoiSegmentation } from "@ngpipe/tasks";

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

// The timing loops are plain JavaScript so that a worker thread runs the same code.
const { measure } = require("./compression-measure.cjs") as {
  measure(where: string, inputs: [string, Uint8Array][], rounds: number): Promise<Row[]>;
};

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

function fmt(n: number | undefined): string {
  return n === undefined ? "-" : n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let rounds = 7;
  let only: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--rounds") rounds = Number(argv[++i]);
    else if (argv[i] === "--only") only = argv[++i];
  }
  const data = [...inputs(only)];
  const rows = await measure("main", data, rounds);
  const inWorker = await new Promise<Row[]>((resolve, reject) => {
    const w = new Worker(join(__dirname, "compression-measure.cjs"), {
      workerData: { compressionBench: true, inputs: data, rounds },
    });
    w.once("message", (m) => {
      resolve(m);
      void w.terminate();
    });
    w.once("error", reject);
  });
  rows.push(...inWorker);
  console.log(
    `# ${["npx tsx bench/compression.ts", ...argv].join(" ")}  (load ${loadavg()
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
