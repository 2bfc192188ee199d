/**
 * ngpipe's kernels against the native anchors in ../shared/anchors, as a
 * ratio measured in one run (see ../shared/anchors/README.md): `rounds`
 * times, for each op in turn, the native binary runs `reps` timed calls on
 * the input file, then ngpipe runs `reps` timed calls of its kernel on the
 * same bytes in this process. The ratio is median(ngpipe) / median(native) over all calls; below
 * 1.0 ngpipe is faster.
 *
 * Ops (512x512x128 inputs, one call over the whole volume, as the anchors do):
 *   cseg enc_u32 / enc_u64   encodeCompressedSegmentation, 8x8x8 blocks
 *   cseg dec_u32 / dec_u64   decodeCompressedSegmentation into a fresh array
 *   cseg dec_u32_slab / _u64_slab the same into a fresh SharedArrayBuffer
 *                            passed as `into` (the path before large outputs
 *                            were decoded in shared WebAssembly memory; only
 *                            when named)
 *   cseg dec_u32_ab / _u64_ab the same into an ordinary ArrayBuffer allocated
 *                            in the call (the old allocation; only when named)
 *   cseg dec_u32_js / _u64_js the JavaScript decoder alone, without the
 *                            WebAssembly path (only when named)
 *   tinybrain avg_u8         downsampleAverage 2x2x1, 4 mips
 *
 * Outputs are compared as well: ngpipe's encoding must have the sha256 the
 * native encoder prints (and is passed back as --expect), its decoding must
 * equal the original volume, and its mips are written as tinybrain's ref
 * files so the native run checks them.
 *
 * Inputs: a Voronoi segmentation of 2000 cells with thin zero boundaries
 * (uint32, and uint64 with nonzero labels + 2^40) and the EM-like uint8 image
 * derived from it, made by @ngpipe/tasks' synthetic generators into
 * `--dir` (default $TMPDIR/ngpipe-anchor-inputs) unless already there.
 *
 * Run: npx tsx bench/native-ratio.ts [--rounds 5] [--reps 3] [--dir D] [op ...]
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  decodeCompressedSegmentation,
  decodeCompressedSegmentationJs,
} from "../packages/precomputed/src/codecs/compressed_segmentation_decode";
import { encodeCompressedSegmentation } from "../packages/precomputed/src/codecs/compressed_segmentation_encode";
import { freshWords } from "../packages/precomputed/src/codecs/fresh_words";
import { downsampleAverage } from "../packages/precomputed/src/downsample/downsample";
import { emLikeImage, voronoiSegmentation } from "../packages/tasks/src/synthetic";

const SHAPE = [512, 512, 128] as const;
const ANCHORS = resolve(__dirname, "../../shared/anchors");
const BLOCK = [8, 8, 8] as const;

const { values, positionals } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    reps: { type: "string", default: "3" },
    dir: { type: "string", default: join(tmpdir(), "ngpipe-anchor-inputs") },
  },
  allowPositionals: true,
});
const rounds = Number(values.rounds);
const reps = Number(values.reps);
const dir = values.dir as string;
const files = {
  u8: join(dir, "img_u8_512x512x128.bin"),
  u32: join(dir, "seg_u32_512x512x128.bin"),
  u64: join(dir, "seg_u64_512x512x128.bin"),
};

function makeInputs(): void {
  if (Object.values(files).every((f) => existsSync(f))) return;
  mkdirSync(dir, { recursive: true });
  const labels = voronoiSegmentation(SHAPE, { seeds: 2000, seed: 1 });
  writeFileSync(files.u32, labels);
  const words = new Uint32Array(2 * labels.length);
  for (let i = 0; i < labels.length; i++) {
    words[2 * i] = labels[i];
    words[2 * i + 1] = labels[i] === 0 ? 0 : 256;
  }
  writeFileSync(files.u64, words);
  writeFileSync(files.u8, emLikeImage(labels, SHAPE));
}

/** A file's bytes in a fresh, 8-byte aligned buffer. */
function load(path: string): Uint8Array {
  const b = readFileSync(path);
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}

function sha256(...parts: ArrayBufferView[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return h.digest("hex");
}

interface NativeResult {
  times_ms: number[];
  check: string;
  sha256?: string | string[];
}

function native(binary: string, args: string[]): NativeResult {
  const r = spawnSync(join(ANCHORS, binary), [...args, "--reps", String(reps), "--warmup", "1"], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`${binary} ${args.join(" ")}: ${r.stderr || r.error}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() as string) as NativeResult;
}

/**
 * A full garbage collection, run between timed calls so that one call's
 * output (up to 256 MiB, garbage once timed) is not collected inside the
 * next call's time: the native binaries free their outputs outside their
 * timers too. Array buffers are swept during the collection, not by a
 * background thread that would unmap the old output while the next call
 * faults its new one in (the two contend for the process's memory map).
 */
setFlagsFromString("--expose-gc");
setFlagsFromString("--no-concurrent-array-buffer-sweeping");
const collect = runInNewContext("gc") as () => void;

/** Wall-clock times of `reps` calls; their CPU times (user + system) are added to `cpu`. */
function timed(fn: () => unknown, cpu: number[]): number[] {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    collect();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e3);
  }
  return times;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** One op: how to run each side, and how to check ngpipe's output. */
interface Op {
  name: string;
  binary: string;
  args: string[];
  run: () => unknown;
  /** Checks ngpipe's output (throws on a difference); may prepare the native check. */
  check: (nativeFirst: NativeResult) => string;
  /** Runs only when named on the command line (a comparison, not a target). */
  onlyWhenNamed?: boolean;
}

function csegOps(): Op[] {
  const ops: Op[] = [];
  const shape = [SHAPE[0], SHAPE[1], SHAPE[2], 1] as const;
  for (const dtype of ["uint32", "uint64"] as const) {
    const tag = dtype === "uint32" ? "u32" : "u64";
    const file = files[tag];
    const raw = load(file);
    const words = new Uint32Array(raw.buffer);
    const encPath = join(dir, `enc_${tag}.cseg`);
    const encoded = encodeCompressedSegmentation(words, shape, BLOCK, dtype);
    writeFileSync(encPath, encoded);
    const encSha = sha256(encoded);
    ops.push({
      name: `enc_${tag}`,
      binary: "cseg",
      args: [`enc_${tag}`, "--in", file, "--shape", SHAPE.join(","), "--expect", encSha],
      run: () => encodeCompressedSegmentation(words, shape, BLOCK, dtype),
      check: (n) => {
        if (n.sha256 !== encSha || n.check !== "ok")
          throw new Error(`enc_${tag}: native sha256 ${n.sha256} (${n.check}), ngpipe ${encSha}`);
        return `byte-identical (sha256 ${encSha.slice(0, 12)}…)`;
      },
    });
    ops.push({
      name: `dec_${tag}`,
      binary: "cseg",
      args: [`dec_${tag}`, "--enc", encPath, "--orig", file, "--shape", SHAPE.join(",")],
      run: () => decodeCompressedSegmentation(encoded, shape, BLOCK, dtype),
      check: (n) => {
        const back = decodeCompressedSegmentation(encoded, shape, BLOCK, dtype);
        if (sha256(back) !== sha256(raw) || n.check !== "ok")
          throw new Error(`dec_${tag}: decoded volume differs (native check ${n.check})`);
        return "ngpipe and native both equal the original";
      },
    });
    // The JavaScript decoder alone (the decoder before its WebAssembly path):
    // only when named, to compare the two in one run.
    ops.push({
      name: `dec_${tag}_js`,
      binary: "cseg",
      args: [`dec_${tag}`, "--enc", encPath, "--orig", file, "--shape", SHAPE.join(",")],
      run: () => decodeCompressedSegmentationJs(encoded, shape, BLOCK, dtype),
      check: (n) => {
        const back = decodeCompressedSegmentationJs(encoded, shape, BLOCK, dtype);
        if (sha256(back) !== sha256(raw) || n.check !== "ok")
          throw new Error(`dec_${tag}_js: decoded volume differs (native check ${n.check})`);
        return "ngpipe and native both equal the original";
      },
      onlyWhenNamed: true,
    });
    // The same decode into a fresh SharedArrayBuffer (freshWords) passed as
    // `into`: the slab-and-copy path that large fresh outputs took before
    // they were decoded straight into a shared WebAssembly memory. Only when
    // named, to compare the two in one run.
    const slab = () =>
      decodeCompressedSegmentation(
        encoded,
        shape,
        BLOCK,
        dtype,
        undefined,
        freshWords(words.length),
      );
    ops.push({
      name: `dec_${tag}_slab`,
      binary: "cseg",
      args: [`dec_${tag}`, "--enc", encPath, "--orig", file, "--shape", SHAPE.join(",")],
      run: slab,
      check: (n) => {
        if (sha256(slab()) !== sha256(raw) || n.check !== "ok")
          throw new Error(`dec_${tag}_slab: decoded volume differs (native check ${n.check})`);
        return "ngpipe and native both equal the original";
      },
      onlyWhenNamed: true,
    });
    // The same decode into an ordinary ArrayBuffer allocated inside the call
    // (what decodeCompressedSegmentation did before its large outputs went on
    // a SharedArrayBuffer): only when named, to compare the two in one run.
    ops.push({
      name: `dec_${tag}_ab`,
      binary: "cseg",
      args: [`dec_${tag}`, "--enc", encPath, "--orig", file, "--shape", SHAPE.join(",")],
      run: () => {
        const b = Buffer.allocUnsafeSlow(raw.length);
        return decodeCompressedSegmentation(
          encoded,
          shape,
          BLOCK,
          dtype,
          undefined,
          new Uint32Array(b.buffer, b.byteOffset, words.length),
        );
      },
      check: (n) => {
        if (n.check !== "ok") throw new Error(`dec_${tag}_ab: native check ${n.check}`);
        return "native equals the original";
      },
      onlyWhenNamed: true,
    });
  }
  return ops;
}

function avgOp(): Op {
  const image = load(files.u8);
  const mips = downsampleAverage(image, SHAPE, [2, 2, 1], 4);
  mips.forEach((m, i) => {
    writeFileSync(join(dir, `ref_avg_u8_mip${i + 1}.bin`), m);
  });
  return {
    name: "avg_u8",
    binary: "tinybrain",
    args: ["avg_u8", "--dir", dir],
    run: () => downsampleAverage(image, SHAPE, [2, 2, 1], 4),
    check: (n) => {
      const ours = mips.map((m) => sha256(m));
      if (n.check !== "ok" || JSON.stringify(ours) !== JSON.stringify(n.sha256))
        throw new Error(`avg_u8: mips differ from tinybrain's (${n.check})`);
      return "all 4 mips byte-identical to tinybrain's";
    },
  };
}

function main(): void {
  makeInputs();
  const all = [...csegOps(), avgOp()];
  const ops = positionals.length
    ? all.filter((o) => positionals.includes(o.name))
    : all.filter((o) => !o.onlyWhenNamed);
  console.log(
    `# npx tsx bench/native-ratio.ts --rounds ${rounds} --reps ${reps} ${positionals.join(" ")}`.trim() +
      `  (node ${process.version}, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")})`,
  );
  // Rounds go over every op in turn, so that ops named together (e.g.
  // dec_u64 and dec_u64_ab) are measured in the same stretches of load.
  const runs = ops.map((op) => {
    op.run(); // warm-up: compiles the kernel
    return { op, n: [] as number[], ours: [] as number[], cpu: [] as number[], verdict: "" };
  });
  for (let r = 0; r < rounds; r++) {
    for (const run of runs) {
      const res = native(run.op.binary, run.op.args);
      if (r === 0) run.verdict = run.op.check(res);
      run.n.push(...res.times_ms);
      run.ours.push(...timed(run.op.run, run.cpu));
    }
  }
  for (const { op, n, ours, cpu, verdict } of runs) {
    const mn = median(n);
    const mo = median(ours);
    console.log(
      `${`${op.binary} ${op.name}`.padEnd(20)} native median ${mn.toFixed(1).padStart(7)} ms` +
        `  ngpipe median ${mo.toFixed(1).padStart(7)} ms (CPU ${median(cpu).toFixed(1)} ms)` +
        `  ratio ${(mo / mn).toFixed(2)}  ${verdict}`,
    );
  }
  console.log(
    `# load after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
}

main();
