/**
 * `Storage.getMany` of many small objects on file:// against a bare
 * `fs.readFile` pool with the same number in flight (32), both reading the
 * same files, alternating rounds; median of each, ratio ngpipe / bare
 * (1.0 = as fast as the bare loop), by wall time and by this process's CPU
 * time (steadier on a loaded machine).
 *
 *   npx tsx bench/getmany.ts                 # 4,000 x 4 KiB, 9 rounds
 *   npx tsx bench/getmany.ts --objects 10000 --rounds 15
 *   npx tsx bench/getmany.ts --set plain --only getmany --rounds 20
 *
 * `--set` (plain | gzip) and `--only` (promises | callback | getmany) run
 * one set or one loop alone, for `perf` and `strace` runs that must see one
 * loop's threads and system calls (subtract a `--rounds 0` run for the
 * setup); ratios need all three loops.
 *
 * Two sets: "plain" objects stored under their keys, and "gzip" objects
 * stored as `key.gz` (what CloudVolume and ngpipe write for compressed
 * chunks on file://). For gzip the bare loop reads `key.gz` by its real
 * name and gunzips it with the same zlib call, so the difference is what
 * finding the stored name costs.
 *
 * A second bare loop uses the callback `fs.readFile` (open, stat, reads and
 * close in native code, no FileHandle or promise per step; what ngpipe's
 * file backend reads with) and, for gzip, the synchronous gunzip ngpipe
 * uses for objects this small: the fastest plain loop, so getMany's ratio to
 * it is the cost of getMany's own machinery.
 *
 * Like getMany, which returns every object it read, each bare loop keeps
 * what it reads (one Map per round) until the round ends, and every timed
 * section starts after a full collection (outside the timer) with V8's
 * sweeper given 50 ms to finish, so that no section pays for the garbage
 * of the one before. (Until the fifth session the bare loops dropped each
 * object as soon as it was read: 4,000 objects kept to the end of a round
 * survive into the old generation and cost a mark-compact a round, which
 * getMany paid and they did not.)
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs";
import * as fsp from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { gunzip, gunzipSync } from "node:zlib";
import { openStorage } from "@ngpipe/storage";

const gunzipAsync = promisify(gunzip);

setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;
const idle = new Int32Array(new SharedArrayBuffer(4));

/** The callback `fs.readFile` behind one promise per file. */
function readFast(path: string): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    readFile(path, (err, data) => (err ? reject(err) : resolve(data))),
  );
}

async function handPool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let objects = 4000;
  let rounds = 9;
  let onlySet: string | undefined;
  let onlyLoop: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--objects") objects = Number(argv[++i]);
    else if (argv[i] === "--rounds") rounds = Number(argv[++i]);
    else if (argv[i] === "--set") onlySet = argv[++i];
    else if (argv[i] === "--only") onlyLoop = argv[++i];
  }
  const runs = (loop: string) => onlyLoop === undefined || onlyLoop === loop;
  const root = await fsp.mkdtemp(join(tmpdir(), "ngpipe-getmany-"));
  const storage = openStorage(`file://${root}`);
  const keys = Array.from(
    { length: objects },
    (_, i) => `1_1_1/${i * 64}-${i * 64 + 64}_0-64_0-64`,
  );
  // Half-compressible bytes, like image chunks.
  const data = () => {
    const b = randomBytes(4096);
    for (let i = 0; i < b.length; i += 2) b[i] = 0;
    return b;
  };
  await storage.putMany(keys.map((key) => ({ key, data: data() })));
  const gzKeys = keys.map((k) => `gz/${k}`);
  await storage.putMany(gzKeys.map((key) => ({ key, data: data(), compress: "gzip" as const })));

  const rows: string[] = [];
  type Bare = (key: string, out: Map<string, Uint8Array>) => Promise<void>;
  const sets: [string, string[], Bare, Bare][] = [
    [
      "plain",
      keys,
      async (key, out) => {
        out.set(key, await fsp.readFile(join(root, key)));
      },
      async (key, out) => {
        out.set(key, await readFast(join(root, key)));
      },
    ],
    [
      "gzip",
      gzKeys,
      async (key, out) => {
        out.set(key, await gunzipAsync(await fsp.readFile(join(root, `${key}.gz`))));
      },
      async (key, out) => {
        out.set(key, gunzipSync(await readFast(join(root, `${key}.gz`))));
      },
    ],
  ];
  for (const [set, list, bare, fast] of sets) {
    if (onlySet !== undefined && set !== onlySet) continue;
    const ours: number[] = [];
    const base: number[] = [];
    const quick: number[] = [];
    const oursCpu: number[] = [];
    const baseCpu: number[] = [];
    const quickCpu: number[] = [];
    const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;
    const timed = async (
      fn: () => Promise<unknown>,
      wall: number[],
      cpu: number[],
      keep: boolean,
    ) => {
      collect();
      Atomics.wait(idle, 0, 0, 50);
      const t = performance.now();
      const c = process.cpuUsage();
      await fn();
      if (!keep) return;
      wall.push(performance.now() - t);
      cpu.push(cpuMs(process.cpuUsage(c)));
    };
    for (let r = 0; r < rounds + 1; r++) {
      const keep = r > 0;
      if (runs("promises"))
        await timed(
          () => {
            const got = new Map<string, Uint8Array>();
            return handPool(list, 32, (k) => bare(k, got));
          },
          base,
          baseCpu,
          keep,
        );
      if (runs("callback"))
        await timed(
          () => {
            const got = new Map<string, Uint8Array>();
            return handPool(list, 32, (k) => fast(k, got));
          },
          quick,
          quickCpu,
          keep,
        );
      if (runs("getmany"))
        await timed(
          async () => {
            const res = await storage.getMany(list, { concurrency: 32 });
            for (const x of res)
              if (!x.ok || x.value === null) throw new Error(`get ${x.key} failed`);
          },
          ours,
          oursCpu,
          keep,
        );
    }
    if (rounds === 0) continue;
    if (onlyLoop !== undefined) {
      const [wall, cpu] =
        onlyLoop === "promises"
          ? [base, baseCpu]
          : onlyLoop === "callback"
            ? [quick, quickCpu]
            : [ours, oursCpu];
      console.log(
        `${set} ${onlyLoop}: ${((objects / median(wall)) * 1000).toFixed(0)} obj/s, ${median(cpu).toFixed(0)} ms CPU a round`,
      );
      continue;
    }
    const [mb, mq, mn] = [median(base), median(quick), median(ours)];
    const [cb, cq, cn] = [median(baseCpu), median(quickCpu), median(oursCpu)];
    const rate = (ms: number) => ((objects / ms) * 1000).toFixed(0);
    rows.push(
      `| ${set} | ${objects} x 4 KiB | ${rate(mb)} | ${rate(mq)} | ${rate(mn)} | ${(mb / mn).toFixed(2)} | ${(mq / mn).toFixed(2)} | ${cb.toFixed(0)} / ${cq.toFixed(0)} / ${cn.toFixed(0)} | ${(cb / cn).toFixed(2)} | ${(cq / cn).toFixed(2)} |`,
    );
  }
  if (onlyLoop !== undefined || rounds === 0) {
    await fsp.rm(root, { recursive: true, force: true });
    return;
  }
  console.log(
    `# ${["npx tsx bench/getmany.ts", ...argv].join(" ")}  (load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")})`,
  );
  console.log(
    "| set | objects | bare fs.promises.readFile obj/s | bare callback readFile obj/s | getMany obj/s | " +
      "getMany / promises (throughput, wall) | getMany / callback (throughput, wall) | " +
      "CPU ms promises / callback / getMany | getMany / promises (CPU) | getMany / callback (CPU) |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(r);
  await fsp.rm(root, { recursive: true, force: true });
}

void main();
