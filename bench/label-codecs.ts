/**
 * compresso and crackle codec benchmark, single thread.
 *
 * compresso: a Voronoi segmentation (voronoiSegmentation of @ngpipe/tasks,
 * 256x256x128 voxels, 600 seeds, 1-voxel zero boundaries) cut into 64^3
 * chunks as uint32 and as uint64 ids above 2^40, encoded and decoded by
 * ngpipe; the same streams decoded by the reference C++ decoder compiled to
 * WebAssembly that Neuroglancer runs (from @janelia-flyem/neuroglancer, see
 * test/support/compresso-reference.ts), alternating with ngpipe's in one
 * run, for the ratio median(ngpipe) / median(reference).
 *
 * crackle: the crackle files of ../shared/data/crackle (32^3 voxels each;
 * `random.ckl` is 255 labels of noise, the worst case for crack codes),
 * decoded repeatedly.
 *
 * Throughput is megavoxels per second: median and best of the runs by wall
 * time, and the best by process CPU time (the estimate for a quiet machine
 * when others share the cores).
 *
 * Run: npx tsx bench/label-codecs.ts [runs]
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { decodeCompresso } from "../packages/precomputed/src/codecs/compresso_decode";
import { encodeCompresso } from "../packages/precomputed/src/codecs/compresso_encode";
import { decodeCrackle } from "../packages/precomputed/src/codecs/crackle";
import { voronoiSegmentation } from "../packages/tasks/src/synthetic";
import { referenceCompresso } from "../test/support/compresso-reference";

const runs = Number(process.argv[2] ?? 5);
const SHAPE = [256, 256, 128] as const;
const C = 64;

function chunksOf(labels: Uint32Array, wpe: 1 | 2): Uint32Array[] {
  const [sx, sy, sz] = SHAPE;
  const out: Uint32Array[] = [];
  for (let z0 = 0; z0 < sz; z0 += C)
    for (let y0 = 0; y0 < sy; y0 += C)
      for (let x0 = 0; x0 < sx; x0 += C) {
        const chunk = new Uint32Array(C * C * C * wpe);
        for (let z = 0, i = 0; z < C; z++)
          for (let y = 0; y < C; y++)
            for (let x = 0; x < C; x++, i++) {
              const v = labels[x0 + x + sx * (y0 + y + sy * (z0 + z))];
              if (wpe === 1) chunk[i] = v;
              else {
                chunk[2 * i] = v;
                chunk[2 * i + 1] = v ? 256 : 0;
              }
            }
        out.push(chunk);
      }
  return out;
}

function stats(rates: number[], cpu: number[]): string {
  const s = [...rates].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)].toFixed(1)} Mvox/s, best ${s[s.length - 1].toFixed(1)}; best by CPU time ${Math.max(...cpu).toFixed(1)}`;
}

/** Runs `fn`, pushing its wall-clock and CPU-time rates for `voxels`. */
function timed(voxels: number, wall: number[], cpu: number[], fn: () => void): void {
  const t = performance.now();
  const c = process.cpuUsage();
  fn();
  const used = process.cpuUsage(c);
  wall.push(voxels / 1e3 / (performance.now() - t));
  cpu.push(voxels / (used.user + used.system));
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const reference = await referenceCompresso();
  const labels = voronoiSegmentation(SHAPE, { seeds: 600, seed: 7 });
  const voxels = SHAPE[0] * SHAPE[1] * SHAPE[2];
  for (const width of [4, 8] as const) {
    const wpe = width === 8 ? 2 : 1;
    const chunks = chunksOf(labels, wpe);
    const [enc, encCpu, dec, decCpu, ref, refCpu]: number[][] = [[], [], [], [], [], []];
    let streams: Uint8Array[] = [];
    for (let r = 0; r < runs; r++) {
      timed(voxels, enc, encCpu, () => {
        streams = chunks.map((words) => encodeCompresso({ words, wpe }, width, [C, C, C]));
      });
      timed(voxels, dec, decCpu, () => {
        for (const s of streams) decodeCompresso(s, width, [C, C, C]);
      });
      if ("decode" in reference)
        timed(voxels, ref, refCpu, () => {
          for (const s of streams) reference.decode(s, C * C * C * width);
        });
    }
    const bytes = streams.reduce((n, s) => n + s.length, 0);
    console.log(
      `compresso uint${8 * width}, ${chunks.length} chunks of ${C}^3, ${(bytes / 1024).toFixed(0)} KiB encoded:`,
    );
    console.log(`  encode ${stats(enc, encCpu)}`);
    console.log(`  decode ${stats(dec, decCpu)}`);
    if (ref.length)
      console.log(
        `  reference wasm decode ${stats(ref, refCpu)}; median ngpipe time / median reference time ${(median(ref) / median(dec)).toFixed(2)}`,
      );
    else if ("missing" in reference)
      console.log(`  reference decoder missing: ${reference.missing}`);
  }
  const dir = resolve(__dirname, "../../shared/data/crackle");
  for (const [name, width] of [
    ["random", 1],
    ["ones_pins", 1],
    ["ones8", 8],
  ] as const) {
    const bytes = new Uint8Array(readFileSync(resolve(dir, `${name}.ckl`)));
    const reps = 200;
    const rates: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r < runs; r++)
      timed(reps * 32 ** 3, rates, cpu, () => {
        for (let i = 0; i < reps; i++) decodeCrackle(bytes, width, [32, 32, 32]);
      });
    console.log(`crackle decode ${name}.ckl (32^3, ${bytes.length} bytes): ${stats(rates, cpu)}`);
  }
}

main();
