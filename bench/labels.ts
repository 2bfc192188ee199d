/**
 * Label kernels against their native anchors (../shared/anchors), as ratios
 * measured in one run: each round runs the native binary (which times its own
 * repetitions on the input file) and then ngpipe's kernel the same number of
 * times on the same bytes; the figure is median(ngpipe) / median(native) over
 * all repetitions. Single thread.
 *
 *   connectedComponents (26) vs cc3d: 256^3 uint32 Voronoi (300 cells) and
 *     512x512x128 uint32 Voronoi (2000 cells); the sha256 of both outputs is
 *     compared too.
 *   renumber / remap vs fastremap: 512x512x128 uint64 Voronoi (2000 cells,
 *     ids above 2^32). renumber: copy + renumber + refit to uint16 (ngpipe's
 *     renumber always returns a new array in the smallest type); remap: a full
 *     table, uint64 output.
 *
 * Like the native harnesses, which free the previous repetition's output
 * before starting the clock, each timed call here starts after the previous
 * result has been dropped and collected (`gc()` outside the timed region),
 * and after one turn of the event loop, as a task loop awaits between calls:
 * that turn runs the FinalizationRegistry callbacks that tell the shared
 * output budget a collected WebAssembly output memory is gone (fresh_words.ts
 * in @ngpipe/precomputed). `--collect-inside` leaves the collection to V8,
 * inside the timed calls.
 *
 * Inputs are made with ngpipe's own generator (voronoiSegmentation).
 * `remap-inplace` (only when named) times remap with `inPlace` on a copy of
 * the input made outside the timed call, against the same native op.
 *
 * Run: npx tsx bench/labels.ts [rounds] [ccl|renumber|remap|remap-inplace ...] [--collect-inside] (default: all but remap-inplace)
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { connectedComponents, countVoxels, remap, renumber } from "../packages/segmentation/src";
import { voronoiSegmentation } from "../packages/tasks/src/synthetic";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const collectInside = process.argv.includes("--collect-inside");
const rounds = Number(args[0] ?? 3);
const only = args.slice(1);
setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;
const idle = new Int32Array(new SharedArrayBuffer(4));
const wanted = (what: string) => only.length === 0 || only.includes(what);
const anchors = resolve(__dirname, "../../shared/anchors");
const dir = join(tmpdir(), "ngpipe-bench-labels");
mkdirSync(dir, { recursive: true });

interface NativeRun {
  times_ms: number[];
  sha256?: string;
  components?: number;
}

function native(bin: string, args: string[]): NativeRun {
  const r = spawnSync(join(anchors, bin), args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(" ")} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() as string);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function input(name: string, make: () => ArrayBufferView): { file: string; data: ArrayBufferView } {
  const file = join(dir, name);
  const data = make();
  if (!existsSync(file))
    writeFileSync(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return { file, data };
}

async function time(
  reps: number,
  f: (input: unknown) => unknown,
  prepare?: () => unknown,
): Promise<{ times: number[]; last: unknown }> {
  const times: number[] = [];
  let last: unknown;
  for (let i = 0; i < reps; i++) {
    if (!collectInside) {
      // The native harnesses free the previous output before their clock starts.
      last = undefined;
      collect();
      // gc() leaves the sweeping to V8's background threads; let them finish
      // rather than run beside the timed call.
      Atomics.wait(idle, 0, 0, 50);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const input = prepare?.();
    const t = process.hrtime.bigint();
    last = f(input);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return { times, last };
}

async function compare(
  what: string,
  nativeRun: (round: number) => NativeRun,
  ours: (input: unknown) => unknown,
  hashOurs?: (out: unknown) => string,
  prepare?: () => unknown,
): Promise<void> {
  const n: number[] = [];
  const o: number[] = [];
  let nativeHash: string | undefined;
  let ourHash: string | undefined;
  const load: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const nr = nativeRun(r);
    n.push(...nr.times_ms);
    nativeHash = nr.sha256;
    const t = await time(nr.times_ms.length, ours, prepare);
    o.push(...t.times);
    if (hashOurs) ourHash = hashOurs(t.last);
    load.push(loadavg()[0]);
  }
  const same = hashOurs
    ? nativeHash === ourHash
      ? "sha256 equal"
      : `sha256 DIFFER ${nativeHash} vs ${ourHash}`
    : "";
  console.log(
    `${what}: native median ${median(n).toFixed(1)} ms, ngpipe median ${median(o).toFixed(1)} ms, ratio ${(median(o) / median(n)).toFixed(2)}x ${same} (load ${Math.min(...load).toFixed(1)}-${Math.max(...load).toFixed(1)})`,
  );
}

const sha = (out: unknown) =>
  createHash("sha256")
    .update((out as { labels: Uint32Array }).labels)
    .digest("hex");

async function main(): Promise<void> {
  console.log(
    `bench/labels.ts: ${rounds} rounds, inputs in ${dir}, previous output collected ${collectInside ? "inside" : "outside"} the timed calls`,
  );
  for (const [shape, seeds] of wanted("ccl")
    ? ([
        [[256, 256, 256], 300],
        [[512, 512, 128], 2000],
      ] as const)
    : []) {
    const { file, data } = input(`seg_u32_${shape.join("x")}_${seeds}.bin`, () =>
      voronoiSegmentation(shape, { seeds }),
    );
    await compare(
      `connectedComponents 26 ${shape.join("x")} uint32 (${seeds} cells) vs cc3d`,
      () => native("cc3d", ["--in", file, "--shape", shape.join(",")]),
      () => connectedComponents(data as Uint32Array, shape, { connectivity: 26 }),
      sha,
    );
  }

  const seg = voronoiSegmentation([512, 512, 128], { seeds: 2000 });
  const { file: f64, data: d64 } = input("seg_u64_512x512x128.bin", () => {
    // Ids above 2^32 with both words nonzero: id * (2^33 + 1).
    const a = new BigUint64Array(seg.length);
    const w = new Uint32Array(a.buffer);
    for (let i = 0; i < seg.length; i++) {
      w[2 * i] = seg[i];
      w[2 * i + 1] = seg[i] * 2;
    }
    return a;
  });
  const labels64 = d64 as BigUint64Array;
  if (wanted("renumber"))
    await compare(
      "renumber 512x512x128 uint64 -> uint16 vs fastremap renumber",
      () => native("fastremap", ["renumber", "--in", f64]),
      () => renumber(labels64),
    );
  // A full table: every id to a new uint64 value.
  const { ids } = countVoxels(labels64);
  const to = new BigUint64Array(ids.length);
  for (let k = 0; k < ids.length; k++) to[k] = BigInt(k) * 3n + (1n << 40n);
  if (wanted("remap"))
    await compare(
      "remap 512x512x128 uint64 (full table, uint64 out) vs fastremap remap",
      () => native("fastremap", ["remap", "--in", f64]),
      () => remap(labels64, { from: ids, to }),
    );
  // In place (a fresh copy of the input made outside the timed call): not like
  // for like, the native op copies; it shows what skipping the new array saves.
  if (only.includes("remap-inplace"))
    await compare(
      "remap 512x512x128 uint64 IN PLACE vs fastremap remap (which copies: not like for like)",
      () => native("fastremap", ["remap", "--in", f64]),
      (copy) => remap(copy as BigUint64Array, { from: ids, to }, { inPlace: true }),
      undefined,
      () => labels64.slice(),
    );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
