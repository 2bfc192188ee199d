/**
 * A/B of `Storage.getMany` on file:// in one process: the bare callback
 * `fs.readFile` loop of `bench/getmany.ts`, another checkout's storage
 * sources ("before") and this one's ("after"), alternated round by round
 * on the same 4,000 x 4 KiB objects (plain and `.gz`), 32 in flight, each
 * timed section after a full collection. On a shared machine the ratio
 * of two runs minutes apart moves by more than a change is worth; taken
 * in one process, before/after is the steadier figure. The main thread's
 * own CPU time (Linux) is shown too: on 2 cores it is the loop's bottleneck
 * once the machine is quiet.
 *
 *   npx tsx bench/getmany-ab.ts --before ../main/packages/storage/src/index.ts --rounds 15
 *   npx tsx bench/getmany-ab.ts --before ... --rounds 7 --cold
 *
 * `--cold` drops the objects' pages from the page cache before every timed
 * section (`posix_fadvise(DONTNEED)` on each file, through python3: only
 * this bench's files, not the machine's cache), so that every read goes to
 * the disk: how many reads are in flight at once decides then, not the CPU.
 */

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFile, readFileSync } from "node:fs";
import * as fsp from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { gunzipSync } from "node:zlib";
import { openStorage } from "@ngpipe/storage";

setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;
const idle = new Int32Array(new SharedArrayBuffer(4));

/** CPU time of the main thread alone, ms (Linux; 0 elsewhere): the thread that hands reads to libuv's pool. */
function mainThreadMs(): number {
  const f = `/proc/self/task/${process.pid}/schedstat`;
  return existsSync(f) ? Number(readFileSync(f, "utf8").split(" ")[0]) / 1e6 : 0;
}

/** python3 code dropping every file under argv[1] from the page cache. */
const EVICT = `
import os, sys
for d, _, names in os.walk(sys.argv[1]):
    for n in names:
        fd = os.open(os.path.join(d, n), os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function readFast(path: string): Promise<Buffer> {
  return new Promise((ok, fail) => readFile(path, (e, d) => (e ? fail(e) : ok(d))));
}

async function handPool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let before = "";
  let rounds = 15;
  let cold = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--before") before = argv[++i];
    else if (argv[i] === "--rounds") rounds = Number(argv[++i]);
    else if (argv[i] === "--cold") cold = true;
  }
  if (before === "") throw new Error("--before <storage sources' index.ts> is required");
  const old = (await import(pathToFileURL(resolve(before)).href)) as {
    openStorage: typeof openStorage;
  };
  const root = await fsp.mkdtemp(join(tmpdir(), "ngpipe-getmany-ab-"));
  const after = openStorage(`file://${root}`);
  const beforeStorage = old.openStorage(`file://${root}`);
  const keys = Array.from({ length: 4000 }, (_, i) => `1_1_1/${i * 64}-${i * 64 + 64}_0-64_0-64`);
  const data = () => {
    const b = randomBytes(4096);
    for (let i = 0; i < b.length; i += 2) b[i] = 0;
    return b;
  };
  await after.putMany(keys.map((key) => ({ key, data: data() })));
  const gzKeys = keys.map((k) => `gz/${k}`);
  await after.putMany(gzKeys.map((key) => ({ key, data: data(), compress: "gzip" as const })));
  const rows: string[] = [];
  for (const [set, list] of [
    ["plain", keys],
    ["gzip", gzKeys],
  ] as const) {
    const read = (s: typeof after) => async () => {
      for (const r of await s.getMany(list, { concurrency: 32 }))
        if (!r.ok || r.value === null) throw new Error(`get ${r.key} failed`);
    };
    const loops: [string, () => Promise<unknown>][] = [
      [
        "bare",
        () => {
          const got = new Map<string, Uint8Array>();
          return handPool(list, 32, async (k) => {
            const b = await readFast(join(root, set === "gzip" ? `${k}.gz` : k));
            got.set(k, set === "gzip" ? gunzipSync(b) : b);
          });
        },
      ],
      ["before", read(beforeStorage)],
      ["after", read(after)],
    ];
    const wall = new Map<string, number[]>();
    const cpu = new Map<string, number[]>();
    const mainCpu = new Map<string, number[]>();
    for (let r = 0; r <= rounds; r++)
      for (const [name, run] of loops) {
        if (cold) execFileSync("python3", ["-c", EVICT, root]);
        collect();
        Atomics.wait(idle, 0, 0, 50);
        const t = performance.now();
        const c = process.cpuUsage();
        const m0 = mainThreadMs();
        await run();
        const used = process.cpuUsage(c);
        if (r === 0) continue;
        mainCpu.set(name, [...(mainCpu.get(name) ?? []), mainThreadMs() - m0]);
        wall.set(name, [...(wall.get(name) ?? []), performance.now() - t]);
        cpu.set(name, [...(cpu.get(name) ?? []), (used.user + used.system) / 1000]);
      }
    const m = (x: Map<string, number[]>, k: string) => median(x.get(k) as number[]);
    const ratio = (x: Map<string, number[]>, a: string, b: string) =>
      (m(x, a) / m(x, b)).toFixed(2);
    rows.push(
      `| ${set} | ${m(wall, "bare").toFixed(0)} / ${m(wall, "before").toFixed(0)} / ${m(wall, "after").toFixed(0)} | ${ratio(wall, "bare", "before")} | ${ratio(wall, "bare", "after")} | ${ratio(cpu, "bare", "before")} | ${ratio(cpu, "bare", "after")} | ${ratio(wall, "before", "after")} | ${ratio(cpu, "before", "after")} | ${m(mainCpu, "bare").toFixed(0)} / ${m(mainCpu, "before").toFixed(0)} / ${m(mainCpu, "after").toFixed(0)} |`,
    );
  }
  console.log(
    `# ${["npx tsx bench/getmany-ab.ts", ...argv].join(" ")}  (load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")})`,
  );
  console.log(
    "| set | wall ms bare / before / after | before / bare (throughput, wall) | after / bare (wall) | before / bare (CPU) | after / bare (CPU) | after / before (speed, wall) | after / before (CPU) | main thread CPU ms bare / before / after |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(r);
  await fsp.rm(root, { recursive: true, force: true });
}

void main();
