/**
 * `Storage.getMany` of many small objects on file:// against a bare
 * `fs.readFile` pool with the same number in flight (32), both reading the
 * same files, alternating rounds; median of each, ratio ngpipe / bare
 * (1.0 = as fast as the bare loop), by wall time and by this process's CPU
 * time (steadier on a loaded machine).
 *
 *   npx tsx bench/getmany.ts                 # 4,000 x 4 KiB, 9 rounds
 *   npx tsx bench/getmany.ts --objects 10000 --rounds 15
 *
 * Two sets: "plain" objects stored under their keys, and "gzip" objects
 * stored as `key.gz` (what CloudVolume and ngpipe write for compressed
 * chunks on file://). For gzip the bare loop reads `key.gz` by its real
 * name and gunzips it with the same zlib call, so the difference is what
 * finding the stored name costs.
 */
import { randomBytes } from "node:crypto";
import * as fsp from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { openStorage } from "@ngpipe/storage";

const gunzipAsync = promisify(gunzip);

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
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--objects") objects = Number(argv[++i]);
    else if (argv[i] === "--rounds") rounds = Number(argv[++i]);
  }
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
  for (const [set, list, bare] of [
    [
      "plain",
      keys,
      async (key: string, out: Map<string, Uint8Array>) => {
        out.set(key, await fsp.readFile(join(root, key)));
      },
    ],
    [
      "gzip",
      gzKeys,
      async (key: string, out: Map<string, Uint8Array>) => {
        out.set(key, await gunzipAsync(await fsp.readFile(join(root, `${key}.gz`))));
      },
    ],
  ] as const) {
    const ours: number[] = [];
    const base: number[] = [];
    const oursCpu: number[] = [];
    const baseCpu: number[] = [];
    const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;
    for (let r = 0; r < rounds + 1; r++) {
      let t = performance.now();
      let cpu = process.cpuUsage();
      const out = new Map<string, Uint8Array>();
      await handPool(list as string[], 32, (k) => bare(k, out));
      const tb = performance.now() - t;
      const cb = cpuMs(process.cpuUsage(cpu));
      t = performance.now();
      cpu = process.cpuUsage();
      const res = await storage.getMany(list, { concurrency: 32 });
      const tn = performance.now() - t;
      const cn = cpuMs(process.cpuUsage(cpu));
      for (const x of res) if (!x.ok || x.value === null) throw new Error(`get ${x.key} failed`);
      if (r > 0) {
        base.push(tb);
        ours.push(tn);
        baseCpu.push(cb);
        oursCpu.push(cn);
      }
    }
    const mb = median(base);
    const mn = median(ours);
    const cb = median(baseCpu);
    const cn = median(oursCpu);
    rows.push(
      `| ${set} | ${objects} x 4 KiB | ${((objects / mb) * 1000).toFixed(0)} | ${((objects / mn) * 1000).toFixed(0)} | ${(mb / mn).toFixed(2)} | ${cb.toFixed(0)} / ${cn.toFixed(0)} | ${(cb / cn).toFixed(2)} |`,
    );
  }
  console.log(
    `# ${["npx tsx bench/getmany.ts", ...argv].join(" ")}  (load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")})`,
  );
  console.log(
    "| set | objects | bare readFile pool obj/s | getMany obj/s | getMany / bare (wall) | CPU ms bare / getMany | getMany / bare (CPU) |",
  );
  console.log("|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(r);
  await fsp.rm(root, { recursive: true, force: true });
}

void main();
