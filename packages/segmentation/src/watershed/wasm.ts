/**
 * The WebAssembly watershed (assembly/watershed.ts): the same steps as the
 * JavaScript kernel (basins.ts, merge.ts), run over arrays in the module's
 * linear memory. The affinities are never copied whole: each pass streams
 * them in one z slice (or chunk) at a time, so the memory beyond the input
 * is the graph byte and the label per voxel (5 bytes), the labels returned
 * (4 bytes) and whatever the plateau search's queue and the region graph
 * touch.
 */
import { freshWords } from "../../../precomputed/src/codecs/fresh_words";
import { releaseArena, wasmArena } from "../wasm/watershed.wasm";
import type { Shape3 } from "./affinities";
import { orientForest, type SpanningTree } from "./merge";
import { locateRanks, thresholdRank, thresholdsFromRanks, valueAtRank } from "./rank-counts";
import type { WatershedThresholds } from "./thresholds";

/** The module's exports this driver calls. */
interface WatershedExports {
  setup(
    x: number,
    y: number,
    z: number,
    sag: number,
    labels: number,
    queue: number,
    sizes: number,
    row: number,
    heap: number,
  ): void;
  heapTop(): number;
  histBegin(): number;
  histTop(src: number, count: number): void;
  histTopEnd(): void;
  bitsMin(): number;
  bitsMax(): number;
  histLow(src: number, count: number, slots: number, low: number): void;
  histLowFew(
    src: number,
    count: number,
    slots: number,
    low: number,
    w0: number,
    w1: number,
    w2: number,
    w3: number,
  ): void;
  allocZeroed(bytes: number): number;
  checkBegin(): void;
  checkBits(src: number, count: number): void;
  ascentBegin(low: number, high: number): void;
  ascentSlice(z: number, c0: number, c1: number, c2: number, c2next: number): void;
  plateauSeeds(from: number, to: number): void;
  plateauSearch(budget: number): number;
  basinRows(from: number, to: number): void;
  basinIds(): number;
  graphBegin(expected: number, basins: number): void;
  numberSlice(z: number, c0: number, c1: number, c2: number, basins: number): void;
  graphEnd(): void;
  graphEdges(): number;
  sortBegin(): void;
  sortKeys(from: number, to: number): void;
  sortOffsets(): void;
  sortLow(from: number, to: number): void;
  sortHigh(from: number, to: number): void;
  mergeBegin(count: number): void;
  mergePass(size: number, weight: number, from: number, to: number): void;
  mergeEnd(dust: number): number;
  regionSizesPointer(): number;
  relabel(from: number, to: number): void;
  forestBegin(regions: number): void;
  forestEdges(from: number, to: number): number;
  treePointer(which: number): number;
}

/** What the WebAssembly kernel computes: the parts of the watershed result after the thresholds. */
export interface WasmWatershed {
  labels: Uint32Array;
  /** Voxels per region, id - 1. */
  sizes: Float64Array;
  regions: number;
  basins: number;
  mst: SpanningTree;
}

/** Largest memory the kernel lays out (the 4 GiB of a 32-bit memory, less room for the graph). */
const MEMORY_LIMIT = 3 * 2 ** 30;

/** Memory above which the arena is dropped after a call, so that a worker does not keep it. */
const KEEP_LIMIT = 256 * 2 ** 20;

/** Voxels per call in the loops over the volume (see {@link run}). */
const VOXEL_PIECE = 1 << 18;

/** Edges per call in the loops over the region graph. */
const EDGE_PIECE = 1 << 16;

/** Values per chunk when the thresholds stream the affinities. */
const CHUNK = 1 << 18;

const align = (v: number) => Math.ceil(v / 16) * 16;

let phaseSink: ((phase: string) => void) | undefined;

/**
 * Has `sink` called with each step's name as the step ends (undefined
 * stops), so that bench/watershed.ts --phases can time the steps.
 */
export function onWatershedPhase(sink: ((phase: string) => void) | undefined): void {
  phaseSink = sink;
}

const phase = (name: string) => phaseSink?.(name);

/** A layout of the volume's arrays in the arena, and the module set up for it. */
interface Session {
  ex: WatershedExports;
  memory: { readonly buffer: ArrayBuffer };
  n: number;
  sxy: number;
  labels: number;
  sizes: number;
  slab: number[];
  reserved: number;
}

function open(dims: Shape3): Session | undefined {
  const [sx, sy, sz] = dims;
  const n = sx * sy * sz;
  const sxy = sx * sy;
  // sag, labels, queue (then the basins' provisional labels: label 0, at
  // most one per voxel, and the slot for the next), basin sizes (a basin has
  // at least two voxels), four slices of affinities, the row of `low` values.
  const sag = 0;
  const labels = align(n);
  const queue = labels + align(4 * n);
  const sizes = queue + align(4 * (n + 2));
  const slab0 = sizes + align(4 * (Math.floor(n / 2) + 1));
  const slabBytes = align(4 * Math.max(sxy, CHUNK));
  const row = slab0 + 4 * slabBytes;
  const heap = row + align(4 * sx);
  if (heap > MEMORY_LIMIT) return undefined;
  const arena = wasmArena();
  const base = arena.reserve(heap + (1 << 20));
  const ex = arena.exports as unknown as WatershedExports;
  ex.setup(
    sx,
    sy,
    sz,
    base + sag,
    base + labels,
    base + queue,
    base + sizes,
    base + row,
    base + heap,
  );
  return {
    ex,
    memory: arena.memory,
    n,
    sxy,
    labels: base + labels,
    sizes: base + sizes,
    slab: [0, 1, 2, 3].map((k) => base + slab0 + k * slabBytes),
    reserved: heap,
  };
}

/** Copies `count` values of `src` from `from` into the arena at `to`. */
function copyIn(s: Session, to: number, src: Float32Array, from: number, count: number): void {
  new Float32Array(s.memory.buffer, to, count).set(src.subarray(from, from + count));
}

/**
 * Relative thresholds as {@link relativeThresholds} computes them, counted
 * in the module; undefined when the affinities hold negative values, -0 or
 * NaN (the JavaScript kernel handles those).
 */
function wasmThresholds(
  s: Session,
  aff: Float32Array,
  fractions: WatershedThresholds,
): WatershedThresholds | undefined {
  const { ex } = s;
  const chunked = (each: (ptr: number, count: number) => void) => {
    for (let i = 0; i < aff.length; i += CHUNK) {
      const count = Math.min(CHUNK, aff.length - i);
      copyIn(s, s.slab[0], aff, i, count);
      each(s.slab[0], count);
    }
  };
  const topPtr = ex.histBegin();
  chunked((p, c) => ex.histTop(p, c));
  ex.histTopEnd();
  const max = ex.bitsMax() >>> 0;
  if (max > 0x7f800000) return undefined;
  const top = Float64Array.from(new Uint32Array(s.memory.buffer, topPtr, 65536));
  const total = aff.length;
  const all = [fractions.low, fractions.high, ...fractions.merge.map(([, t]) => t)];
  const at = locateRanks(
    top,
    all.map((p) => thresholdRank(total, p)),
  );
  const buckets = [...new Set(at.filter((r) => r.bucket >= 0).map((r) => r.bucket))];
  let low = new Float64Array(0);
  if (buckets.length > 0) {
    const slots = ex.allocZeroed(4 * 65536);
    const slot = new Int32Array(s.memory.buffer, slots, 65536).fill(-1);
    buckets.forEach((t, j) => {
      slot[t] = j;
    });
    const counts = ex.allocZeroed(4 * 65536 * buckets.length);
    if (buckets.length <= 4) {
      const w = [0, 1, 2, 3].map((j) => buckets[j] ?? -1);
      chunked((p, c) => ex.histLowFew(p, c, slots, counts, w[0], w[1], w[2], w[3]));
    } else {
      chunked((p, c) => ex.histLow(p, c, slots, counts));
    }
    low = Float64Array.from(new Uint32Array(s.memory.buffer, counts, 65536 * buckets.length));
  }
  const values = thresholdsFromRanks(total, ex.bitsMin() >>> 0, max, all, (i) =>
    valueAtRank(low, buckets.indexOf(at[i].bucket), at[i]),
  );
  return {
    low: values[0],
    high: values[1],
    merge: fractions.merge.map(([size], i) => [size, values[2 + i]]),
  };
}

function bitsOf(v: number): number {
  return new Int32Array(Float32Array.of(v).buffer)[0];
}

/**
 * The watershed in WebAssembly. `thresholds` are absolute, or, with
 * `relative`, fractions turned into thresholds here (`check` then validates
 * them before any further work). Returns undefined, having done nothing
 * visible, when the input needs the JavaScript kernel: affinities with a
 * sign bit or NaN, or a volume too large for a 32-bit memory.
 */
export function watershedWasm(
  aff: Float32Array,
  dims: Shape3,
  thresholds: WatershedThresholds,
  relative: boolean,
  dust: number,
  check: (t: WatershedThresholds) => void,
): { result: WasmWatershed; thresholds: WatershedThresholds } | undefined {
  const s = open(dims);
  if (!s) return undefined;
  try {
    return run(s, aff, dims, thresholds, relative, dust, check);
  } finally {
    if (s.reserved > KEEP_LIMIT) releaseArena();
  }
}

function run(
  s: Session,
  aff: Float32Array,
  dims: Shape3,
  given: WatershedThresholds,
  relative: boolean,
  dust: number,
  check: (t: WatershedThresholds) => void,
): { result: WasmWatershed; thresholds: WatershedThresholds } | undefined {
  const { ex, n, sxy } = s;
  const sz = dims[2];
  let t: WatershedThresholds | undefined = given;
  if (relative) {
    t = wasmThresholds(s, aff, given);
    if (!t) return undefined;
  }
  phase("thresholds");
  check(t);
  ex.checkBegin();
  ex.ascentBegin(bitsOf(t.low), bitsOf(t.high));
  const [c0, c1, c2a, c2b] = s.slab;
  let c2 = c2a;
  let c2next = c2b;
  const channel = (c: number, z: number) => c * n + z * sxy;
  copyIn(s, c2, aff, channel(2, 0), sxy);
  if (!relative) ex.checkBits(c2, sxy);
  for (let z = 0; z < sz; z++) {
    copyIn(s, c0, aff, channel(0, z), sxy);
    copyIn(s, c1, aff, channel(1, z), sxy);
    if (z + 1 < sz) copyIn(s, c2next, aff, channel(2, z + 1), sxy);
    if (!relative) {
      ex.checkBits(c0, sxy);
      ex.checkBits(c1, sxy);
      if (z + 1 < sz) ex.checkBits(c2next, sxy);
    }
    ex.ascentSlice(z, c0, c1, c2, c2next);
    const swap = c2;
    c2 = c2next;
    c2next = swap;
  }
  if (!relative && ex.bitsMax() >>> 0 > 0x7f800000) return undefined;
  phase("ascent");
  // Every loop runs in pieces: V8 compiles a WebAssembly function with its
  // optimising compiler only after some calls, and a call never switches
  // code midway, so one call over the whole volume would run unoptimised.
  const pieces = (count: number, size: number, each: (from: number, to: number) => void) => {
    for (let i = 0; i < count; i += size) each(i, Math.min(count, i + size));
  };
  pieces(n, VOXEL_PIECE, (a, b) => ex.plateauSeeds(a, b));
  while (ex.plateauSearch(VOXEL_PIECE) === 0);
  phase("plateaus");
  const rows = dims[1] * sz;
  pieces(rows, Math.max(1, Math.floor(VOXEL_PIECE / dims[0])), (a, b) => ex.basinRows(a, b));
  const basins = ex.basinIds();
  phase("basins");
  // Numbering and the region graph go together, one z slice at a time.
  ex.graphBegin(Math.min(3 * n, 4 * basins + (1 << 16)), basins);
  for (let z = 0; z < sz; z++) {
    copyIn(s, c0, aff, channel(0, z), sxy);
    copyIn(s, c1, aff, channel(1, z), sxy);
    copyIn(s, c2a, aff, channel(2, z), sxy);
    ex.numberSlice(z, c0, c1, c2a, basins);
  }
  ex.graphEnd();
  phase("numbering+graph");
  const m = ex.graphEdges();
  ex.sortBegin();
  pieces(m, EDGE_PIECE, (a, b) => ex.sortKeys(a, b));
  ex.sortOffsets();
  pieces(m, EDGE_PIECE, (a, b) => ex.sortLow(a, b));
  pieces(m, EDGE_PIECE, (a, b) => ex.sortHigh(a, b));
  phase("sort");
  ex.mergeBegin(basins);
  for (const [size, weight] of t.merge)
    pieces(m, EDGE_PIECE, (a, b) => ex.mergePass(size, weight, a, b));
  const regions = ex.mergeEnd(dust);
  phase("merge");
  pieces(n, VOXEL_PIECE, (a, b) => ex.relabel(a, b));
  phase("relabel");
  ex.forestBegin(regions);
  let trees = 0;
  pieces(m, EDGE_PIECE, (a, b) => {
    trees = ex.forestEdges(a, b);
  });
  phase("forest");
  const buf = s.memory.buffer;
  const sizes = new Float64Array(buf, ex.regionSizesPointer(), regions).slice();
  const w = new Float32Array(buf, ex.treePointer(0), trees).slice();
  const ta = new Uint32Array(buf, ex.treePointer(1), trees).slice();
  const tb = new Uint32Array(buf, ex.treePointer(2), trees).slice();
  // A new array of 64 MiB or more goes on shared memory (see freshWords):
  // an ordinary one that large makes V8 start a collection inside the call.
  const labels = freshWords(n);
  labels.set(new Uint32Array(buf, s.labels, n));
  phase("copy out");
  return {
    result: { labels, sizes, regions, basins, mst: orientForest(w, ta, tb, regions) },
    thresholds: t,
  };
}
