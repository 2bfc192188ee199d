/**
 * Hand loops against ndarray-ops for the array work Volume does between
 * chunks and cutouts: painting decoded chunks into a read buffer, filling
 * missing chunks' boxes with the background, and copying a caller's strided
 * view (a transpose, x striding) into chunk buffers. Each case alternates the
 * two ways on the same arrays, `--rounds` times, and reports the median
 * throughput (MB/s of voxels moved) and median(hand) / median(ops) time.
 *
 *   npx tsx bench/ndarray-ops.ts                 # 256^3 cutout of 64^3 chunks
 *   npx tsx bench/ndarray-ops.ts --size 128 --rounds 5
 *   npx tsx bench/ndarray-ops.ts --dtypes uint64      # one dtype per process
 */

import {
  copyBox,
  type DataType,
  fillBox,
  fromTyped,
  type VoxelArray,
  zeros,
} from "@ngpipe/precomputed";
import ops from "ndarray-ops";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const N = Number(arg("size", "256"));
const C = 64;
const ROUNDS = Number(arg("rounds", "7"));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

// ndarray-ops is typed for number arrays; at run time it moves bigints as well.
type Any = VoxelArray<Uint8Array>;

interface Case {
  name: string;
  dtype: DataType;
  bytes: number;
  hand: () => void;
  ops: () => void;
}

/** Chunks of C^3 painted at unaligned offsets (every chunk overlaps the buffer partly), like Volume.read of an unaligned box. */
function paint(dtype: DataType): Case {
  const out = zeros(dtype, [N, N, N]);
  const chunk = zeros(dtype, [C, C, C]);
  const d = chunk.data as Uint8Array;
  for (let i = 0; i < d.length; i++)
    (d as unknown as number[])[i] = (dtype === "uint64" ? BigInt(i & 255) : i & 255) as number;
  const shift = 17; // the box starts 17 voxels into its first chunk on each axis
  const boxes: { src: number[]; dst: number[]; size: number[] }[] = [];
  for (let z = -shift; z < N; z += C)
    for (let y = -shift; y < N; y += C)
      for (let x = -shift; x < N; x += C) {
        const lo = [Math.max(0, x), Math.max(0, y), Math.max(0, z)];
        const hi = [Math.min(N, x + C), Math.min(N, y + C), Math.min(N, z + C)];
        boxes.push({
          src: [lo[0] - x, lo[1] - y, lo[2] - z],
          dst: lo,
          size: [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]],
        });
      }
  const bpv = (out.data as Uint8Array).BYTES_PER_ELEMENT;
  return {
    name: `paint ${C}^3 chunks into an unaligned ${N}^3 read buffer`,
    dtype,
    bytes: N * N * N * bpv,
    hand: () => {
      for (const b of boxes) copyBox(chunk, b.src, out, b.dst, b.size);
    },
    ops: () => {
      for (const b of boxes) {
        const s = b.size;
        ops.assign(
          (out as Any).lo(b.dst[0], b.dst[1], b.dst[2], 0).hi(s[0], s[1], s[2], 1),
          (chunk as Any).lo(b.src[0], b.src[1], b.src[2], 0).hi(s[0], s[1], s[2], 1),
        );
      }
    },
  };
}

/** Missing chunks' boxes filled with a background value. */
function fill(dtype: DataType): Case {
  const out = zeros(dtype, [N, N, N]);
  const bg = (dtype === "uint64" ? 7n : 7) as number;
  const bpv = (out.data as Uint8Array).BYTES_PER_ELEMENT;
  const shift = 17;
  const boxes: { dst: number[]; size: number[] }[] = [];
  for (let z = -shift; z < N; z += C)
    for (let y = -shift; y < N; y += C)
      for (let x = -shift; x < N; x += C) {
        const lo = [Math.max(0, x), Math.max(0, y), Math.max(0, z)];
        const hi = [Math.min(N, x + C), Math.min(N, y + C), Math.min(N, z + C)];
        boxes.push({ dst: lo, size: [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]] });
      }
  return {
    name: `fill ${C}^3 chunk boxes of a ${N}^3 read buffer`,
    dtype,
    bytes: N * N * N * bpv,
    hand: () => {
      for (const b of boxes) fillBox(out, b.dst, b.size, bg);
    },
    ops: () => {
      for (const b of boxes) {
        const s = b.size;
        ops.assigns((out as Any).lo(b.dst[0], b.dst[1], b.dst[2], 0).hi(s[0], s[1], s[2], 1), bg);
      }
    },
  };
}

/** A caller's transposed view (x strides by N) copied into C^3 chunk buffers, as Volume.write does. */
function strided(dtype: DataType): Case {
  const base = zeros(dtype, [N, N, N]);
  const view = fromTyped(base.data, [N, N, N]).transpose(1, 0, 2, 3);
  const chunk = zeros(dtype, [C, C, C]);
  const bpv = (base.data as Uint8Array).BYTES_PER_ELEMENT;
  return {
    name: `copy a transposed ${N}^3 view (x strides) into ${C}^3 chunks`,
    dtype,
    bytes: N * N * N * bpv,
    hand: () => {
      for (let z = 0; z < N; z += C)
        for (let y = 0; y < N; y += C)
          for (let x = 0; x < N; x += C) copyBox(view, [x, y, z], chunk, [0, 0, 0], [C, C, C]);
    },
    ops: () => {
      for (let z = 0; z < N; z += C)
        for (let y = 0; y < N; y += C)
          for (let x = 0; x < N; x += C)
            ops.assign(chunk as Any, (view as Any).lo(x, y, z, 0).hi(C, C, C, 1));
    },
  };
}

const cases: Case[] = [];
const DTYPES = arg("dtypes", "uint8,uint32,uint64").split(",") as DataType[];
for (const dtype of DTYPES) cases.push(paint(dtype), fill(dtype), strided(dtype));

console.log(`npx tsx bench/ndarray-ops.ts --size ${N} --rounds ${ROUNDS} --dtypes ${DTYPES}`);
console.log("| case | dtype | hand MB/s | ndarray-ops MB/s | hand / ops time |");
console.log("|---|---|---|---|---|");
for (const c of cases) {
  c.hand();
  c.ops(); // warm both (ndarray-ops compiles a function per array type)
  const th: number[] = [];
  const to: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let t = performance.now();
    c.hand();
    th.push(performance.now() - t);
    t = performance.now();
    c.ops();
    to.push(performance.now() - t);
  }
  const mb = c.bytes / 1e6;
  const h = median(th);
  const o = median(to);
  console.log(
    `| ${c.name} | ${c.dtype} | ${((mb / h) * 1000).toFixed(0)} | ${((mb / o) * 1000).toFixed(0)} | ${(h / o).toFixed(2)} |`,
  );
}
