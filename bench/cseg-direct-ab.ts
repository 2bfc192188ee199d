/**
 * compressed_segmentation decode of the 512x512x128 anchor inputs (made by
 * `bench/native-ratio.ts`, run it once first), in one process, alternating
 * the two paths a large fresh output can take:
 *   direct  decodeCompressedSegmentation without `into`: decoded straight
 *           into the shared WebAssembly memory the output lives in
 *   slab    the same into a fresh SharedArrayBuffer passed as `into`: slabs
 *           decoded in the thread's module memory and copied out (the path
 *           such outputs took before)
 * A full collection that frees array buffers runs before each timed call, as
 * in native-ratio.ts. Each call's wall time is split with the main thread's
 * /proc/thread-self/schedstat into CPU time, time runnable but waiting for a
 * core (the machine's load) and the rest (blocked: locks, I/O, page-table
 * contention), so a path that waits on something other than the load shows
 * even on a busy machine. Medians over the rounds. Linux only.
 *
 * Run: npx tsx bench/cseg-direct-ab.ts [--rounds 20] [--dir D] [u64|u32 ...]
 */
import { readFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { decodeCompressedSegmentation } from "../packages/precomputed/src/codecs/compressed_segmentation_decode";
import { freshWords } from "../packages/precomputed/src/codecs/fresh_words";

const { values, positionals } = parseArgs({
  options: {
    rounds: { type: "string", default: "20" },
    dir: { type: "string", default: join(tmpdir(), "ngpipe-anchor-inputs") },
  },
  allowPositionals: true,
});
const rounds = Number(values.rounds);
const tags = positionals.length ? positionals : ["u64", "u32"];

setFlagsFromString("--expose-gc");
setFlagsFromString("--no-concurrent-array-buffer-sweeping");
const collect = runInNewContext("gc") as () => void;

/** This thread's [CPU ns, runqueue wait ns]. */
function sched(): [number, number] {
  const [cpu, wait] = readFileSync("/proc/thread-self/schedstat", "utf8").trim().split(" ");
  return [Number(cpu), Number(wait)];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

console.log(
  `# npx tsx bench/cseg-direct-ab.ts --rounds ${rounds} ${tags.join(" ")}  (load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")})`,
);
const shape = [512, 512, 128, 1] as const;
for (const tag of tags) {
  const enc = new Uint8Array(readFileSync(join(values.dir as string, `enc_${tag}.cseg`)));
  const dtype = tag === "u64" ? "uint64" : "uint32";
  const words = 512 * 512 * 128 * (tag === "u64" ? 2 : 1);
  const paths: [string, () => unknown][] = [
    ["direct", () => decodeCompressedSegmentation(enc, shape, [8, 8, 8], dtype)],
    [
      "slab",
      () =>
        decodeCompressedSegmentation(enc, shape, [8, 8, 8], dtype, undefined, freshWords(words)),
    ],
  ];
  const times = paths.map(() => ({
    wall: [] as number[],
    cpu: [] as number[],
    queue: [] as number[],
    other: [] as number[],
  }));
  for (const [, run] of paths) run();
  for (let r = 0; r < rounds; r++)
    paths.forEach(([, run], i) => {
      collect();
      const [c0, q0] = sched();
      const t0 = performance.now();
      run();
      const wall = performance.now() - t0;
      const [c1, q1] = sched();
      const cpu = (c1 - c0) / 1e6;
      const queue = (q1 - q0) / 1e6;
      times[i].wall.push(wall);
      times[i].cpu.push(cpu);
      times[i].queue.push(queue);
      times[i].other.push(wall - cpu - queue);
    });
  paths.forEach(([name], i) => {
    const t = times[i];
    console.log(
      `dec_${tag} ${name.padEnd(7)} wall ${median(t.wall).toFixed(1)} ms = CPU ${median(t.cpu).toFixed(1)}` +
        ` + waiting for a core ${median(t.queue).toFixed(1)} + other ${median(t.other).toFixed(1)} (medians)`,
    );
  });
}
console.log(
  `# load after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
