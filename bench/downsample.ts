/**
 * Downsampling kernels benchmark, single thread, on a 512x512x128 volume:
 *
 *   average uint8   2x2x1, 4 mips (EM-like image)
 *   mode    uint32  2x2x1, 4 mips (Voronoi segmentation; and random labels)
 *   mode    uint64  2x2x1, 4 mips (same labels + 2^40, so high words are nonzero)
 *   mode    uint64  2x2x2, 2 mips (Voronoi)
 *
 * Throughput is input voxels / time of one call (all mips), in Mvox/s: the
 * best and median wall-clock times, the best process CPU time (user +
 * system; a steadier estimate on a busy machine), and the minor page faults
 * per call (first touches of freshly mapped output memory, a large share of
 * the time of the mode kernels).
 *
 * Run: npx tsx bench/downsample.ts [runs]
 */

import { downsampleAverage, downsampleMode } from "@ngpipe/precomputed";
import { emLikeImage, voronoiSegmentation } from "../packages/tasks/src/synthetic";

const shape = [512, 512, 128] as const;
const voxels = shape[0] * shape[1] * shape[2];
const runs = Number(process.argv[2] ?? 9);

function bench(name: string, fn: () => unknown): void {
  fn(); // warm-up (compiles the kernels)
  const wall: number[] = [];
  const cpu: number[] = [];
  const f0 = process.resourceUsage().minorPageFault;
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e3);
  }
  const faults = (process.resourceUsage().minorPageFault - f0) / runs;
  wall.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const rate = (ms: number) => (voxels / 1e6 / (ms / 1e3)).toFixed(0).padStart(6);
  console.log(
    `${name.padEnd(40)} wall best ${rate(wall[0])}  median ${rate(wall[wall.length >> 1])}` +
      `   cpu best ${rate(cpu[0])}  Mvox/s   (best ${wall[0].toFixed(1)} ms wall,` +
      ` ${cpu[0].toFixed(1)} ms cpu; ${faults.toFixed(0)} page faults/call)`,
  );
}

console.log(`# npx tsx bench/downsample.ts ${runs}  (node ${process.version}, ${runs} runs)`);
console.log(`# volume ${shape.join("x")} = ${(voxels / 1e6).toFixed(1)} Mvox\n`);

const seg = voronoiSegmentation(shape, { seeds: 2000, seed: 3 });
const image = emLikeImage(seg, shape);

const random32 = new Uint32Array(voxels);
let s = 12345;
for (let i = 0; i < voxels; i++) {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  random32[i] = s >>> 30; // 4 labels: many ties, unpredictable branches
}

function to64(labels: Uint32Array): BigUint64Array {
  const out = new BigUint64Array(labels.length);
  const w = new Uint32Array(out.buffer);
  for (let i = 0; i < labels.length; i++) {
    w[2 * i] = labels[i];
    w[2 * i + 1] = labels[i] === 0 ? 0 : 256; // label + 2^40
  }
  return out;
}
const seg64 = to64(seg);
const random64 = to64(random32);

bench("average uint8 2x2x1 x4 mips", () => downsampleAverage(image, shape, [2, 2, 1], 4));
bench("mode uint32 2x2x1 x4 (voronoi)", () => downsampleMode(seg, shape, [2, 2, 1], 4));
bench("mode uint32 2x2x1 x4 (random 4 labels)", () =>
  downsampleMode(random32, shape, [2, 2, 1], 4),
);
bench("mode uint64 2x2x1 x4 (voronoi)", () => downsampleMode(seg64, shape, [2, 2, 1], 4));
bench("mode uint64 2x2x1 x4 (random 4 labels)", () =>
  downsampleMode(random64, shape, [2, 2, 1], 4),
);
bench("mode uint64 2x2x2 x2 (voronoi)", () => downsampleMode(seg64, shape, [2, 2, 2], 2));

/**
 * The floor any kernel returning fresh arrays pays: allocating the outputs of
 * 4 mips of 2x2x1 and writing one word per 4 KiB page (page faults + zeroing).
 */
function freshOutputs(bytesPerVoxel: number): void {
  for (let k = 1; k <= 4; k++) {
    const a = new Uint32Array(((voxels / 4 ** k) * bytesPerVoxel) / 4);
    for (let i = 0; i < a.length; i += 1024) a[i] = 1;
  }
}
bench("(fresh outputs only, uint8 x4 mips)", () => freshOutputs(1));
bench("(fresh outputs only, uint32 x4 mips)", () => freshOutputs(4));
bench("(fresh outputs only, uint64 x4 mips)", () => freshOutputs(8));
