/**
 * The watershed stage's merge task on a large basin graph: the streamed
 * merge (`mergeBasinRuns`, edges read from sorted runs on file:// a page at
 * a time) against holding the whole graph in memory as the task did before
 * (every block's edges read, joined by pair, then `mergeBasinGraph`).
 *
 * The graph: a lattice of n^3 basins (default n = 128, 2.1 M basins), each
 * joined to 6 forward neighbours (+x, +y, +z, +x+y, +x+z, +y+z: about
 * 12.5 M edges), weights in 256 levels (many ties), sizes 1..2000 voxels,
 * cut into blocks of 16^3 basins (512 blocks, so the streamed merge merges
 * one level of runs first). As the graph phase files them: an edge with a
 * basin inside its block is the block's own; an edge between two blocks is
 * shared and stored in both (the other copy with a lower weight and a later
 * first face); other edges on a block's shell are shared, once. Merge
 * (800, 0.3), dust 600.
 *
 * Each way runs in a fresh Node process and reports its wall time and peak
 * resident set size (getrusage's maxrss); both must give the same regions.
 *
 * Run: npx tsx bench/ws-merge.ts [n]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { mergeBasinGraph } from "../packages/segmentation/src/index";
import { openStorage, type Storage } from "../packages/storage/src/index";
import { EdgeMeter, packEdges, type Run, sortEdges } from "../packages/tasks/src/seg/edge-runs";
import { DEFAULT_MERGE_LIMITS, mergeBasinRuns } from "../packages/tasks/src/seg/watershed-merge";
import { mulberry32 } from "../packages/tasks/src/synthetic";

const MERGE: Array<[number, number]> = [[800, Math.fround(0.3)]];
const DUST = 600;
const BLOCK = 16;

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");

interface Manifest {
  basins: number;
  own: Run[];
  shared: Run[];
  edges: number;
  records: number;
}

/** Growable edge arrays of one run. */
class List {
  a: number[] = [];
  b: number[] = [];
  weight: number[] = [];
  first: number[] = [];
  push(a: number, b: number, w: number, f: number): void {
    this.a.push(a);
    this.b.push(b);
    this.weight.push(w);
    this.first.push(f);
  }
  arrays() {
    return {
      a: Uint32Array.from(this.a),
      b: Uint32Array.from(this.b),
      weight: Float64Array.from(this.weight),
      first: Float64Array.from(this.first),
    };
  }
}

async function generate(store: Storage, n: number): Promise<Manifest> {
  const rand = mulberry32(7);
  const basins = n * n * n;
  const sizes = new Float64Array(basins + 1);
  for (let id = 1; id <= basins; id++) sizes[id] = 1 + Math.floor(rand() * 2000);
  await store.put("sizes", new Uint8Array(sizes.buffer));
  const nb = n / BLOCK;
  const id = (x: number, y: number, z: number) => 1 + x + n * (y + n * z);
  const blockOf = (x: number, y: number, z: number) =>
    Math.floor(x / BLOCK) + nb * (Math.floor(y / BLOCK) + nb * Math.floor(z / BLOCK));
  const shell = (x: number, y: number, z: number) =>
    [x, y, z].some((v) => v % BLOCK === 0 || v % BLOCK === BLOCK - 1);
  const own: Run[] = [];
  const shared: Run[] = [];
  let edges = 0;
  let records = 0;
  const steps = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
    [1, 1, 0],
    [1, 0, 1],
    [0, 1, 1],
  ];
  // One block slab of z at a time, so the generator holds two slabs' lists
  // (an edge between slabs is stored in both).
  const sharedLists = new Map<number, List>();
  for (let bz = 0; bz < nb; bz++) {
    const ownLists = new Map<number, List>();
    const list = (m: Map<number, List>, b: number) => {
      let l = m.get(b);
      if (!l) m.set(b, (l = new List()));
      return l;
    };
    for (let z = bz * BLOCK; z < (bz + 1) * BLOCK; z++)
      for (let y = 0; y < n; y++)
        for (let x = 0; x < n; x++) {
          const u = id(x, y, z);
          steps.forEach(([dx, dy, dz], d) => {
            const [X, Y, Z] = [x + dx, y + dy, z + dz];
            if (X >= n || Y >= n || Z >= n) return;
            const v = id(X, Y, Z);
            const w = Math.fround(Math.floor(rand() * 256) / 255);
            const f = 6 * u + d;
            const bu = blockOf(x, y, z);
            const bv = blockOf(X, Y, Z);
            edges++;
            if (bu !== bv) {
              // Seen from both blocks: the lower copy met later.
              list(sharedLists, bv).push(u, v, w, f);
              list(sharedLists, bu).push(u, v, Math.fround(w / 2), f + 6 * basins);
              records += 2;
            } else if (!shell(x, y, z) || !shell(X, Y, Z)) {
              list(ownLists, bu).push(u, v, w, f);
              records++;
            } else {
              list(sharedLists, bu).push(u, v, w, f);
              records++;
            }
          });
        }
    for (const [m, order, out] of [
      [ownLists, "weight", own],
      [sharedLists, "pair", shared],
    ] as const) {
      const kind = order === "weight" ? "own" : "shared";
      const slab = [...m.keys()].filter((b) => Math.floor(b / (nb * nb)) === bz);
      for (const b of slab.sort((p, q) => p - q)) {
        const e = (m.get(b) as List).arrays();
        m.delete(b);
        const idx = Int32Array.from(e.a, (_, k) => k);
        const key = `edges/${b}/${kind}`;
        await store.put(key, packEdges(e, sortEdges(e, idx, order)));
        out.push([{ key, count: e.a.length }]);
      }
    }
  }
  return { basins, own, shared, edges, records };
}

/** The merge as the task did it before: the whole graph in memory. */
async function inMemory(store: Storage, m: Manifest, sizes: Float64Array): Promise<Uint32Array> {
  const runs = [...m.own, ...m.shared];
  let total = 0;
  for (const r of runs) total += r[0].count;
  const a = new Uint32Array(total);
  const b = new Uint32Array(total);
  const weight = new Float64Array(total);
  const first = new Float64Array(total);
  let at = 0;
  for (const r of runs) {
    const bytes = (await store.get(r[0].key)) as Uint8Array;
    const f64 = new Float64Array(bytes.slice().buffer);
    const u32 = new Uint32Array(f64.buffer);
    for (let k = 0; k < r[0].count; k++, at++) {
      weight[at] = f64[3 * k];
      first[at] = f64[3 * k + 1];
      a[at] = u32[6 * k + 4];
      b[at] = u32[6 * k + 5];
    }
  }
  const order = new Int32Array(total);
  for (let k = 0; k < total; k++) order[k] = k;
  order.sort((i, j) => a[i] - a[j] || b[i] - b[j]);
  const ga = new Uint32Array(total);
  const gb = new Uint32Array(total);
  const gw = new Float64Array(total);
  const gf = new Float64Array(total);
  let e = -1;
  for (let q = 0; q < total; q++) {
    const k = order[q];
    if (e >= 0 && ga[e] === a[k] && gb[e] === b[k]) {
      if (weight[k] > gw[e]) gw[e] = weight[k];
      if (first[k] < gf[e]) gf[e] = first[k];
      continue;
    }
    e++;
    ga[e] = a[k];
    gb[e] = b[k];
    gw[e] = weight[k];
    gf[e] = first[k];
  }
  e++;
  return mergeBasinGraph(
    {
      sizes: sizes.subarray(1),
      a: ga.subarray(0, e),
      b: gb.subarray(0, e),
      weight: gw.subarray(0, e),
      first: gf.subarray(0, e),
    },
    MERGE,
    DUST,
  ).finalOf;
}

function maxOf(regions: ArrayLike<number>): number {
  let m = 0;
  for (let i = 1; i < regions.length; i++) if (regions[i] > m) m = regions[i];
  return m;
}

function checksum(regions: ArrayLike<number>): number {
  let h = 0;
  for (let i = 1; i < regions.length; i++) h = (Math.imul(h, 31) + regions[i]) | 0;
  return h;
}

async function measure(dir: string, way: string): Promise<void> {
  const store = openStorage(pathToFileURL(dir).href);
  const m = JSON.parse(new TextDecoder().decode((await store.get("manifest.json")) as Uint8Array));
  const sizes = new Float64Array(((await store.get("sizes")) as Uint8Array).slice().buffer);
  const t = performance.now();
  let regions: ArrayLike<number>;
  let peakEdges = 0;
  if (way === "memory") regions = await inMemory(store, m, sizes);
  else {
    const meter = new EdgeMeter();
    await mergeBasinRuns(
      { store, prefix: "merge", limits: DEFAULT_MERGE_LIMITS, meter },
      sizes,
      m.own,
      m.shared,
      MERGE,
      DUST,
    );
    regions = sizes;
    peakEdges = meter.peak;
  }
  process.stdout.write(
    JSON.stringify({
      seconds: (performance.now() - t) / 1000,
      peakRss: process.resourceUsage().maxRSS * 1024,
      checksum: checksum(regions),
      regions: maxOf(regions),
      peakEdges,
    }),
  );
}

async function main(): Promise<void> {
  if (process.argv[2] === "--measure") {
    await measure(process.argv[3], process.argv[4]);
    return;
  }
  const n = Number(process.argv[2] ?? 128);
  if (!(n % BLOCK === 0 && n > 0)) throw new Error(`n must be a multiple of ${BLOCK}`);
  const dir = mkdtempSync(path.join(tmpdir(), "ngpipe-ws-merge-"));
  try {
    const store = openStorage(pathToFileURL(dir).href);
    const t = performance.now();
    const m = await generate(store, n);
    await store.put("manifest.json", JSON.stringify(m));
    console.log(
      `watershed merge task, ${m.basins} basins, ${m.edges} edges (${m.records} records in ${m.own.length} own and ${m.shared.length} shared runs), ` +
        `generated in ${((performance.now() - t) / 1000).toFixed(1)} s; load average ${load()}`,
    );
    const sums: number[] = [];
    let regions = 0;
    for (const way of ["memory", "stream"]) {
      const r = spawnSync(
        process.execPath,
        ["--require", "tsx/cjs", __filename, "--measure", dir, way],
        { encoding: "utf8", maxBuffer: 1 << 20 },
      );
      if (r.status !== 0) throw new Error(`measuring run failed: ${r.stderr}`);
      const x = JSON.parse(r.stdout);
      sums.push(x.checksum);
      regions = x.regions;
      console.log(
        `${way === "memory" ? "whole graph in memory (before)" : "streamed from runs (page 16384, fanIn 64)"}: ` +
          `${x.seconds.toFixed(1)} s, peak RSS ${(x.peakRss / 2 ** 20).toFixed(0)} MiB` +
          `${way === "stream" ? `, at most ${x.peakEdges} edge records held` : ""} (load ${load()})`,
      );
    }
    if (sums[0] !== sums[1]) throw new Error("the two merges gave different regions");
    console.log(`same ${regions} regions both ways`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
