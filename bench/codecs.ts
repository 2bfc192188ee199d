/**
 * Chunk codec benchmark, single thread.
 *
 * Data: a 3-D Voronoi segmentation of 2000 seeds over 512x512x128 voxels with
 * thin zero boundaries (voxels whose nearest and second-nearest seeds are
 * within 1 voxel of equidistant), as uint32 ids and as uint64 ids above 2^40;
 * and an EM-like uint8 image derived from it for the image codecs. The volume
 * is cut into 64^3 chunks (as a Volume hands them to the codecs) and every
 * chunk is encoded, then every encoding decoded:
 *
 *   compressed_segmentation (8x8x8 blocks) encode/decode, uint32 and uint64
 *   (decode into a fresh array, as the codec returns, and into a reused buffer;
 *   then both again with the JavaScript decoder alone, without WebAssembly)
 *   raw encode/decode (views, for reference), uint32
 *   jpeg (1 channel, quality 85) and png (1 channel, level 6) on 16 uint8 chunks
 *
 * Throughput is in megavoxels per second: the best and the median wall-clock
 * rates of the runs, and the best rate by process CPU time.
 *
 * Run: npx tsx bench/codecs.ts [runs]
 */
import { compressedSegmentationCodec } from "../packages/precomputed/src/codecs/compressed_segmentation";
import {
  decodeCompressedSegmentation,
  decodeCompressedSegmentationJs,
} from "../packages/precomputed/src/codecs/compressed_segmentation_decode";
import { encodeCompressedSegmentation } from "../packages/precomputed/src/codecs/compressed_segmentation_encode";
import { jpegCodec } from "../packages/precomputed/src/codecs/jpeg";
import { pngCodec } from "../packages/precomputed/src/codecs/png";
import { rawCodec } from "../packages/precomputed/src/codecs/raw";
import type { ChunkShape } from "../packages/precomputed/src/codecs/types";

const runs = Number(process.argv[2] ?? 7);
const SHAPE = [512, 512, 128] as const;
const SEEDS = 2000;
const CHUNK = 64;

/** mulberry32: small deterministic PRNG, floats in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Voronoi labels 1..SEEDS (0 on boundaries). Fast construction: seeds are
 * bucketed in a grid of about one mean spacing; for each 8^3 block of voxels
 * only the seeds that can be nearest or second-nearest somewhere in the block
 * (min distance to the block <= second-smallest max distance) are tested.
 */
function voronoi(): Uint32Array {
  const [sx, sy, sz] = SHAPE;
  const rand = prng(1);
  const px = new Float64Array(SEEDS);
  const py = new Float64Array(SEEDS);
  const pz = new Float64Array(SEEDS);
  for (let i = 0; i < SEEDS; i++) {
    px[i] = rand() * sx;
    py[i] = rand() * sy;
    pz[i] = rand() * sz;
  }
  const spacing = Math.cbrt((sx * sy * sz) / SEEDS);
  const g = [Math.ceil(sx / spacing), Math.ceil(sy / spacing), Math.ceil(sz / spacing)];
  const cells: number[][] = Array.from({ length: g[0] * g[1] * g[2] }, () => []);
  const cellOf = (x: number, y: number, z: number) =>
    Math.min(g[0] - 1, Math.floor(x / spacing)) +
    g[0] *
      (Math.min(g[1] - 1, Math.floor(y / spacing)) +
        g[1] * Math.min(g[2] - 1, Math.floor(z / spacing)));
  for (let i = 0; i < SEEDS; i++) cells[cellOf(px[i], py[i], pz[i])].push(i);
  const out = new Uint32Array(sx * sy * sz);
  const B = 8;
  const near: number[] = [];
  const cand = new Int32Array(SEEDS);
  for (let z0 = 0; z0 < sz; z0 += B)
    for (let y0 = 0; y0 < sy; y0 += B)
      for (let x0 = 0; x0 < sx; x0 += B) {
        // Seeds of the cells around the block.
        near.length = 0;
        const c0 = [x0, y0, z0].map((v) => Math.floor(v / spacing));
        for (let dz = -2; dz <= 2; dz++)
          for (let dy = -2; dy <= 2; dy++)
            for (let dx = -2; dx <= 2; dx++) {
              const cx = c0[0] + dx;
              const cy = c0[1] + dy;
              const cz = c0[2] + dz;
              if (cx < 0 || cy < 0 || cz < 0 || cx >= g[0] || cy >= g[1] || cz >= g[2]) continue;
              for (const s of cells[cx + g[0] * (cy + g[1] * cz)]) near.push(s);
            }
        // Prune to the seeds that can matter inside the block.
        const lo = [x0 + 0.5, y0 + 0.5, z0 + 0.5];
        const hi = [x0 + B - 0.5, y0 + B - 0.5, z0 + B - 0.5];
        let max1 = Number.POSITIVE_INFINITY;
        let max2 = Number.POSITIVE_INFINITY;
        for (const s of near) {
          const p = [px[s], py[s], pz[s]];
          let d = 0;
          for (let k = 0; k < 3; k++) {
            const e = Math.max(Math.abs(p[k] - lo[k]), Math.abs(p[k] - hi[k]));
            d += e * e;
          }
          if (d < max1) {
            max2 = max1;
            max1 = d;
          } else if (d < max2) max2 = d;
        }
        let nc = 0;
        for (const s of near) {
          const p = [px[s], py[s], pz[s]];
          let d = 0;
          for (let k = 0; k < 3; k++) {
            const e = p[k] < lo[k] ? lo[k] - p[k] : p[k] > hi[k] ? p[k] - hi[k] : 0;
            d += e * e;
          }
          if (d <= max2) cand[nc++] = s;
        }
        for (let z = z0; z < z0 + B; z++)
          for (let y = y0; y < y0 + B; y++)
            for (let x = x0; x < x0 + B; x++) {
              let best = Number.POSITIVE_INFINITY;
              let second = Number.POSITIVE_INFINITY;
              let id = 0;
              for (let k = 0; k < nc; k++) {
                const s = cand[k];
                const ex = px[s] - x - 0.5;
                const ey = py[s] - y - 0.5;
                const ez = pz[s] - z - 0.5;
                const d = ex * ex + ey * ey + ez * ez;
                if (d < best) {
                  second = best;
                  best = d;
                  id = s + 1;
                } else if (d < second) second = d;
              }
              out[x + sx * (y + sy * z)] = Math.sqrt(second) - Math.sqrt(best) < 1 ? 0 : id;
            }
      }
  return out;
}

/** Cuts the volume into 64^3 chunks, x fastest inside each. */
function chunks<T extends Uint32Array | Uint8Array>(vol: T, make: (n: number) => T): T[] {
  const [sx, sy, sz] = SHAPE;
  const out: T[] = [];
  for (let z0 = 0; z0 < sz; z0 += CHUNK)
    for (let y0 = 0; y0 < sy; y0 += CHUNK)
      for (let x0 = 0; x0 < sx; x0 += CHUNK) {
        const c = make(CHUNK ** 3);
        let o = 0;
        for (let z = z0; z < z0 + CHUNK; z++)
          for (let y = y0; y < y0 + CHUNK; y++) {
            const from = x0 + sx * (y + sy * z);
            c.set(vol.subarray(from, from + CHUNK) as never, o);
            o += CHUNK;
          }
        out.push(c);
      }
  return out;
}

/**
 * Runs `fn` once to warm up, then `runs` times. Prints the best and median
 * wall-clock rates, and the best rate by process CPU time (user + system):
 * on a loaded machine the CPU-time rate is the better estimate of what a
 * quiet machine would give (it still counts V8's GC helper threads).
 */
function bench(name: string, voxels: number, fn: () => unknown): void {
  fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e3);
  }
  wall.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const rate = (ms: number) => (voxels / 1e6 / (ms / 1e3)).toFixed(1).padStart(7);
  const med = wall[wall.length >> 1];
  console.log(
    `${name.padEnd(28)} wall best ${rate(wall[0])}  median ${rate(med)}   cpu best ${rate(cpu[0])}  Mvox/s`,
  );
}

function main(): void {
  console.log(
    `# npx tsx bench/codecs.ts ${runs}  (node ${process.version}, ${runs} runs, single thread)`,
  );
  const t0 = performance.now();
  const labels = voronoi();
  let zeros = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 0) zeros++;
  console.log(
    `# Voronoi ${SHAPE.join("x")}, ${SEEDS} seeds, ${((100 * zeros) / labels.length).toFixed(1)}% boundary voxels, built in ${(performance.now() - t0).toFixed(0)} ms`,
  );
  const c32 = chunks(labels, (n) => new Uint32Array(n));
  // uint64 ids above 2^40: low word = a hash of the label, high word = 256 + label % 7.
  const c64 = c32.map((c) => {
    const w = new Uint32Array(2 * c.length);
    for (let i = 0; i < c.length; i++) {
      const l = c[i];
      w[2 * i] = l === 0 ? 0 : Math.imul(l, 0x9e3779b1) >>> 0;
      w[2 * i + 1] = l === 0 ? 0 : 256 + (l % 7);
    }
    return w;
  });
  const total = labels.length;
  const shape: ChunkShape = [CHUNK, CHUNK, CHUNK, 1];
  const block = [8, 8, 8] as const;

  let enc32: Uint8Array[] = [];
  let enc64: Uint8Array[] = [];
  bench("cseg encode uint32", total, () => {
    enc32 = c32.map((c) => encodeCompressedSegmentation(c, shape, block, "uint32"));
  });
  bench("cseg decode uint32", total, () => {
    for (const e of enc32) decodeCompressedSegmentation(e, shape, block, "uint32");
  });
  bench("cseg encode uint64", total, () => {
    enc64 = c64.map((c) => encodeCompressedSegmentation(c, shape, block, "uint64"));
  });
  bench("cseg decode uint64", total, () => {
    for (const e of enc64) decodeCompressedSegmentation(e, shape, block, "uint64");
  });
  // Decoding into a buffer reused across chunks (no page faults of a fresh output).
  const reuse32 = new Uint32Array(CHUNK ** 3);
  const reuse64 = new Uint32Array(2 * CHUNK ** 3);
  bench("cseg decode uint32 (reused)", total, () => {
    for (const e of enc32)
      decodeCompressedSegmentation(e, shape, block, "uint32", undefined, reuse32);
  });
  bench("cseg decode uint64 (reused)", total, () => {
    for (const e of enc64)
      decodeCompressedSegmentation(e, shape, block, "uint64", undefined, reuse64);
  });
  // The JavaScript decoder alone (no WebAssembly path), the same four ways.
  bench("cseg decode uint32 (JS)", total, () => {
    for (const e of enc32) decodeCompressedSegmentationJs(e, shape, block, "uint32");
  });
  bench("cseg decode uint64 (JS)", total, () => {
    for (const e of enc64) decodeCompressedSegmentationJs(e, shape, block, "uint64");
  });
  bench("cseg decode uint32 (JS, reused)", total, () => {
    for (const e of enc32)
      decodeCompressedSegmentationJs(e, shape, block, "uint32", undefined, reuse32);
  });
  bench("cseg decode uint64 (JS, reused)", total, () => {
    for (const e of enc64)
      decodeCompressedSegmentationJs(e, shape, block, "uint64", undefined, reuse64);
  });
  const bytes32 = enc32.reduce((n, e) => n + e.length, 0);
  const bytes64 = enc64.reduce((n, e) => n + e.length, 0);
  console.log(
    `# cseg size: uint32 ${(bytes32 / 2 ** 20).toFixed(2)} MiB (${((100 * bytes32) / (4 * total)).toFixed(2)}% of raw),` +
      ` uint64 ${(bytes64 / 2 ** 20).toFixed(2)} MiB (${((100 * bytes64) / (8 * total)).toFixed(2)}% of raw)`,
  );
  // Sanity: the codec object (with its checks) on a few chunks gives back the data.
  for (let i = 0; i < c64.length; i += 37) {
    const ctx = { dtype: "uint64" as const, shape, blockSize: block };
    const back = compressedSegmentationCodec.decode(enc64[i], ctx) as BigUint64Array;
    const w = new Uint32Array(back.buffer, back.byteOffset, back.length * 2);
    if (!w.every((v, j) => v === c64[i][j])) throw new Error(`round trip failed for chunk ${i}`);
  }

  const ctx32 = { dtype: "uint32" as const, shape };
  let raw32: Uint8Array[] = [];
  bench("raw encode uint32 (view)", total, () => {
    raw32 = c32.map((c) => rawCodec.encode(c, ctx32));
  });
  bench("raw decode uint32 (view)", total, () => {
    for (const r of raw32) rawCodec.decode(r, ctx32);
  });

  // Image codecs: an EM-like uint8 image (dark boundaries, per-cell grey, noise), 16 chunks.
  const rand = prng(7);
  const image = c32.slice(0, 16).map((c) => {
    const img = new Uint8Array(c.length);
    for (let i = 0; i < c.length; i++)
      img[i] = c[i] === 0 ? 40 + 20 * rand() : 120 + ((c[i] * 37) % 80) + 20 * rand();
    return img;
  });
  const imgVoxels = 16 * CHUNK ** 3;
  const ctx8 = { dtype: "uint8" as const, shape };
  for (const [codec, name] of [
    [jpegCodec, "jpeg q85"],
    [pngCodec, "png level 6"],
  ] as const) {
    let enc: Uint8Array[] = [];
    bench(`${name} encode uint8`, imgVoxels, () => {
      enc = image.map((c) => codec.encode(c, ctx8));
    });
    bench(`${name} decode uint8`, imgVoxels, () => {
      for (const e of enc) codec.decode(e, ctx8);
    });
    const size = enc.reduce((n, e) => n + e.length, 0);
    console.log(`# ${name} size: ${((100 * size) / imgVoxels).toFixed(1)}% of raw`);
  }
}

main();
