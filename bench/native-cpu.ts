/**
 * CPU time per call of ngpipe's kernels and of the native anchors, on the
 * inputs `bench/native-ratio.ts` makes (run it once first): the steadier
 * companion of that script's wall-clock ratio on a shared, loaded machine,
 * where wall time mostly measures how the scheduler shares the two cores.
 *
 * Native: `/usr/bin/time` around the binary with `--reps 1` and with
 * `--reps N + 1`, no warm-up; the difference divided by N is the CPU time
 * of one call (user and system), the input reading cancelling out. ngpipe:
 * `process.cpuUsage()` around each of N calls in this process (all its
 * threads), after a warm-up call and a full collection, as native-ratio.ts
 * times them; the median. System time is mostly page faults of fresh outputs,
 * whose count per call (minor faults) is printed for both sides.
 *
 * Run: npx tsx bench/native-cpu.ts [--reps 20] [--dir D] [op ...]
 *   ops: dec_u32 dec_u64 avg_u8 (default all), dec_u32_slab dec_u64_slab
 *   (only when named: see native-ratio.ts)
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { decodeCompressedSegmentation } from "../packages/precomputed/src/codecs/compressed_segmentation_decode";
import { freshWords } from "../packages/precomputed/src/codecs/fresh_words";
import { downsampleAverage } from "../packages/precomputed/src/downsample/downsample";

const ANCHORS = resolve(__dirname, "../../shared/anchors");
const { values, positionals } = parseArgs({
  options: {
    reps: { type: "string", default: "20" },
    dir: { type: "string", default: join(tmpdir(), "ngpipe-anchor-inputs") },
  },
  allowPositionals: true,
});
const reps = Number(values.reps);
const dir = values.dir as string;

setFlagsFromString("--expose-gc");
setFlagsFromString("--no-concurrent-array-buffer-sweeping");
const collect = runInNewContext("gc") as () => void;

function load(path: string): Uint8Array {
  const b = readFileSync(path);
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}

/** User and system CPU ms and minor page faults of one run of a native binary. */
function nativeCpu(binary: string, args: string[]): [number, number, number] {
  const r = spawnSync("/usr/bin/time", ["-f", "%U %S %R", join(ANCHORS, binary), ...args], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`${binary} ${args.join(" ")}: ${r.stderr || r.error}`);
  const [u, s, f] = r.stderr.trim().split("\n").pop()!.split(" ").map(Number);
  return [u * 1e3, s * 1e3, f];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

interface Op {
  name: string;
  binary: string;
  args: string[];
  run: () => unknown;
  onlyWhenNamed?: boolean;
}

const shape = [512, 512, 128, 1] as const;
const seg = (tag: string) => [
  `dec_${tag}`,
  "--enc",
  join(dir, `enc_${tag}.cseg`),
  "--orig",
  join(dir, `seg_${tag}_512x512x128.bin`),
  "--shape",
  "512,512,128",
];
const all: Op[] = [
  ...(["u32", "u64"] as const).flatMap((tag) => {
    const enc = load(join(dir, `enc_${tag}.cseg`));
    const dtype = tag === "u32" ? ("uint32" as const) : ("uint64" as const);
    const words = 512 * 512 * 128 * (tag === "u32" ? 1 : 2);
    return [
      {
        name: `dec_${tag}`,
        binary: "cseg",
        args: seg(tag),
        run: () => decodeCompressedSegmentation(enc, shape, [8, 8, 8], dtype),
      },
      // Into a fresh SharedArrayBuffer passed as `into` (the slab-and-copy
      // path large fresh outputs took before): only when named.
      {
        name: `dec_${tag}_slab`,
        binary: "cseg",
        args: seg(tag),
        run: () =>
          decodeCompressedSegmentation(enc, shape, [8, 8, 8], dtype, undefined, freshWords(words)),
        onlyWhenNamed: true,
      },
    ];
  }),
  (() => {
    const image = load(join(dir, "img_u8_512x512x128.bin"));
    return {
      name: "avg_u8",
      binary: "tinybrain",
      args: ["avg_u8", "--dir", dir],
      run: () => downsampleAverage(image, [512, 512, 128], [2, 2, 1], 4),
    };
  })(),
];
const ops = positionals.length
  ? all.filter((o) => positionals.includes(o.name))
  : all.filter((o) => !o.onlyWhenNamed);
const load0 = loadavg().map((l) => l.toFixed(2));
console.log(
  `# npx tsx bench/native-cpu.ts --reps ${reps} ${positionals.join(" ")}`.trim() +
    `  (load ${load0.join(" ")})`,
);
for (const op of ops) {
  const [u1, s1, f1] = nativeCpu(op.binary, [...op.args, "--reps", "1", "--warmup", "0"]);
  const [un, sn, fn] = nativeCpu(op.binary, [
    ...op.args,
    "--reps",
    String(reps + 1),
    "--warmup",
    "0",
  ]);
  const nu = (un - u1) / reps;
  const ns = (sn - s1) / reps;
  op.run();
  const user: number[] = [];
  const system: number[] = [];
  const faults: number[] = [];
  for (let i = 0; i < reps; i++) {
    collect();
    const c0 = process.cpuUsage();
    const f0 = process.resourceUsage().minorPageFault;
    op.run();
    const c = process.cpuUsage(c0);
    faults.push(process.resourceUsage().minorPageFault - f0);
    user.push(c.user / 1e3);
    system.push(c.system / 1e3);
  }
  const ou = median(user);
  const os = median(system);
  console.log(
    `${`${op.binary} ${op.name}`.padEnd(20)} native ${nu.toFixed(1)} + ${ns.toFixed(1)} ms` +
      `  ngpipe ${ou.toFixed(1)} + ${os.toFixed(1)} ms (user + system)` +
      `  CPU ratio ${((ou + os) / (nu + ns)).toFixed(2)}` +
      `  minor faults a call: native ${Math.round((fn - f1) / reps)}, ngpipe ${median(faults)}`,
  );
}
console.log(
  `# load after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
