/**
 * Sorted runs of basin-graph edges in storage, and their k-way merge in
 * pages: the external sort that lets the watershed stage's merge task walk
 * a dataset's basin graph by decreasing affinity while holding only a few
 * pages of it.
 *
 * An edge is a 24-byte little-endian record: weight (f64, a float32
 * value), first (f64, where the whole volume's scan first met the pair, as
 * `3 * voxel index + direction`), a and b (u32 basin ids, a < b). A run is
 * a sequence of objects ("segments") of records in one order; readers fetch
 * it `page` records at a time with byte-range reads, one page ahead.
 *
 * Two orders: "weight" (decreasing weight, then increasing first: the order
 * Watershed.jl's merge walks, total because no two pairs share a first
 * face) and "pair" (increasing (a, b), in which the copies of an edge that
 * several blocks saw come together and are joined).
 */
import type { Storage } from "@ngpipe/storage";
import { WatershedStageError } from "./watershed-common";

/** Bytes of one edge record. */
export const EDGE_BYTES = 24;

/** The two orders runs are sorted in. */
export type EdgeOrder = "weight" | "pair";

/** One stored object of a run. */
export interface Segment {
  /** Key under the scratch storage. */
  key: string;
  /** Edge records it holds. */
  count: number;
}

/** A sorted run: its segments, in order. */
export type Run = Segment[];

/** How much of the graph the merge may hold: records per page read, and runs merged at once. */
export interface MergeLimits {
  /** Records fetched per read of a run. */
  page: number;
  /** Runs merged at once; more are merged in levels first. Also sizes buffers: `page * fanIn` records. */
  fanIn: number;
}

/** The most edge records held at once, counted as pages arrive and buffers fill. */
export class EdgeMeter {
  /** Records held now. */
  held = 0;
  /** The most held at once so far. */
  peak = 0;
  /** `n` more records held. */
  add(n: number): void {
    this.held += n;
    if (this.held > this.peak) this.peak = this.held;
  }
  /** `n` records let go. */
  sub(n: number): void {
    this.held -= n;
  }
}

/** Edges as parallel arrays. */
export interface EdgeArrays {
  /** The smaller basin id of each pair. */
  a: Uint32Array;
  /** The larger one. */
  b: Uint32Array;
  /** Largest affinity between the two (a float32 value). */
  weight: Float64Array;
  /** Where the whole volume's scan first met the pair: `3 * voxel index + direction`. */
  first: Float64Array;
}

/** `idx` (edge indices) sorted in place in `order`. */
export function sortEdges(e: EdgeArrays, idx: Int32Array, order: EdgeOrder): Int32Array {
  const { a, b, weight, first } = e;
  if (order === "weight") idx.sort((i, j) => weight[j] - weight[i] || first[i] - first[j]);
  else idx.sort((i, j) => a[i] - a[j] || b[i] - b[j]);
  return idx;
}

/** The records of edges `idx`, in that order. */
export function packEdges(e: EdgeArrays, idx: Int32Array): Uint8Array {
  const n = idx.length;
  const f64 = new Float64Array(3 * n);
  const u32 = new Uint32Array(f64.buffer);
  for (let r = 0; r < n; r++) {
    const k = idx[r];
    f64[3 * r] = e.weight[k];
    f64[3 * r + 1] = e.first[k];
    u32[6 * r + 4] = e.a[k];
    u32[6 * r + 5] = e.b[k];
  }
  return new Uint8Array(f64.buffer);
}

/** A run read page by page, the next page fetched while this one is used. */
class RunReader {
  f64: Float64Array<ArrayBufferLike> = new Float64Array(0);
  u32: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
  /** Current record and the end of the current page. */
  pos = 0;
  end = 0;
  private seg = 0;
  private at = 0;
  private ahead: Promise<Uint8Array | null> | null = null;
  private aheadCount = 0;

  constructor(
    private readonly store: Storage,
    private readonly run: Run,
    private readonly page: number,
    private readonly meter: EdgeMeter,
    private readonly signal?: AbortSignal,
  ) {}

  /** Starts reading the next page, if any. */
  private fetchNext(): void {
    while (this.seg < this.run.length && this.at >= this.run[this.seg].count) {
      this.seg++;
      this.at = 0;
    }
    if (this.seg >= this.run.length) {
      this.ahead = null;
      return;
    }
    const { key, count } = this.run[this.seg];
    const n = Math.min(this.page, count - this.at);
    const range = { start: this.at * EDGE_BYTES, end: (this.at + n) * EDGE_BYTES };
    this.at += n;
    this.aheadCount = n;
    this.meter.add(n);
    const store = this.store;
    this.ahead = store.get(key, { range, signal: this.signal }).then((bytes) => {
      if (!bytes || bytes.length !== n * EDGE_BYTES)
        throw new WatershedStageError(
          `${store.url}/${key} is missing or shorter than its ${count} edge records: run the watershed stage's phases in order`,
        );
      return bytes;
    });
    // A failed prefetch is reported when the page is used.
    this.ahead.catch(() => undefined);
  }

  /** Drops the page and the page ahead. */
  release(): void {
    this.meter.sub(this.end + (this.ahead === null ? 0 : this.aheadCount));
    this.end = 0;
    this.ahead = null;
  }

  /** Moves to the next page; false at the end of the run. */
  async fill(): Promise<boolean> {
    this.meter.sub(this.end);
    this.end = 0;
    if (this.ahead === null && this.seg === 0 && this.at === 0) this.fetchNext();
    const pending = this.ahead;
    if (pending === null) return false;
    const n = this.aheadCount;
    let bytes = (await pending) as Uint8Array;
    // Float64 views need 8-byte alignment.
    if (bytes.byteOffset % 8 !== 0) bytes = bytes.slice();
    this.f64 = new Float64Array(bytes.buffer, bytes.byteOffset, 3 * n);
    this.u32 = new Uint32Array(bytes.buffer, bytes.byteOffset, 6 * n);
    this.pos = 0;
    this.end = n;
    this.fetchNext();
    return true;
  }
}

/** Receives merged records in order. */
interface Sink {
  push(weight: number, first: number, a: number, b: number): void;
  /** Set when the sink wants {@link flush} before the next push. */
  full: boolean;
  flush(): Promise<void>;
}

/** Whether record i of reader x comes before record j of reader y. */
function before(order: EdgeOrder, x: RunReader, y: RunReader): boolean {
  const i = x.pos;
  const j = y.pos;
  if (order === "weight") {
    const wi = x.f64[3 * i];
    const wj = y.f64[3 * j];
    return wi > wj || (wi === wj && x.f64[3 * i + 1] < y.f64[3 * j + 1]);
  }
  const ai = x.u32[6 * i + 4];
  const aj = y.u32[6 * j + 4];
  return ai < aj || (ai === aj && x.u32[6 * i + 5] < y.u32[6 * j + 5]);
}

/**
 * Merges at most `fanIn` runs in `order` into `sink`, a min-heap of readers
 * by their current record; stops early when `sink.push` sets `stop`.
 */
async function mergeInto(
  store: Storage,
  runs: Run[],
  order: EdgeOrder,
  sink: Sink & { stop?: boolean },
  limits: MergeLimits,
  meter: EdgeMeter,
  signal?: AbortSignal,
): Promise<void> {
  const heap: RunReader[] = [];
  const readers = runs.map((r) => new RunReader(store, r, limits.page, meter, signal));
  const loaded = await Promise.all(readers.map((r) => r.fill()));
  readers.forEach((r, i) => {
    if (loaded[i]) heap.push(r);
  });
  const down = (from: number): void => {
    const n = heap.length;
    const x = heap[from];
    let i = from;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && before(order, heap[c + 1], heap[c])) c++;
      if (!before(order, heap[c], x)) break;
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = x;
  };
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
  try {
    while (heap.length > 0) {
      const r = heap[0];
      const p = r.pos;
      sink.push(r.f64[3 * p], r.f64[3 * p + 1], r.u32[6 * p + 4], r.u32[6 * p + 5]);
      if (sink.stop) return;
      if (sink.full) await sink.flush();
      r.pos++;
      if (r.pos === r.end && !(await r.fill())) {
        const last = heap.pop() as RunReader;
        if (heap.length === 0) break;
        heap[0] = last;
      }
      down(0);
    }
  } finally {
    // Pages of an early stop, and prefetches, are no longer held.
    for (const r of readers) r.release();
  }
  await sink.flush();
}

/**
 * Joins the copies of an edge that arrive together in "pair" order (the
 * largest weight, the earliest first) before passing it on.
 */
class JoinCopies implements Sink {
  full = false;
  private has = false;
  private w = 0;
  private f = 0;
  private a = 0;
  private b = 0;
  /** Distinct edges passed on. */
  edges = 0;

  constructor(private readonly next: Sink) {}

  push(weight: number, first: number, a: number, b: number): void {
    if (this.has && a === this.a && b === this.b) {
      if (weight > this.w) this.w = weight;
      if (first < this.f) this.f = first;
      return;
    }
    this.emit();
    this.has = true;
    this.w = weight;
    this.f = first;
    this.a = a;
    this.b = b;
  }

  private emit(): void {
    if (!this.has) return;
    this.next.push(this.w, this.f, this.a, this.b);
    this.edges++;
    this.full = this.next.full;
  }

  async flush(): Promise<void> {
    if (this.next.full) await this.next.flush();
    this.full = false;
  }

  /** Passes on the last edge and flushes. */
  async close(): Promise<void> {
    this.emit();
    this.has = false;
    await this.next.flush();
  }
}

/**
 * Writes the records it receives `size` at a time: as segments of one run
 * when they come in order, or, with `sort`, each batch sorted in "weight"
 * order as a run of its own.
 */
class RunWriter implements Sink {
  full = false;
  private e: EdgeArrays;
  private idx: Int32Array;
  private n = 0;
  readonly runs: Run[] = [];

  constructor(
    private readonly c: MergeContext,
    private readonly prefix: string,
    private readonly size: number,
    private readonly sort: boolean,
  ) {
    this.e = {
      a: new Uint32Array(size),
      b: new Uint32Array(size),
      weight: new Float64Array(size),
      first: new Float64Array(size),
    };
    this.idx = new Int32Array(size);
  }

  push(weight: number, first: number, a: number, b: number): void {
    const r = this.n++;
    this.c.meter.add(1);
    this.e.weight[r] = weight;
    this.e.first[r] = first;
    this.e.a[r] = a;
    this.e.b[r] = b;
    this.full = this.n === this.size;
  }

  async flush(): Promise<void> {
    const n = this.n;
    if (n === 0) return;
    const idx = this.idx.subarray(0, n);
    for (let k = 0; k < n; k++) idx[k] = k;
    if (this.sort) sortEdges(this.e, idx, "weight");
    let run = this.runs[this.runs.length - 1];
    if (this.sort || !run) this.runs.push((run = []));
    const key = `${this.prefix}/${this.sort ? this.runs.length - 1 : run.length}`;
    await this.c.store.put(key, packEdges(this.e, idx), { signal: this.c.signal });
    run.push({ key, count: n });
    this.c.meter.sub(n);
    this.n = 0;
    this.full = false;
  }
}

/** Where the merge keeps its intermediate runs, and what it may hold. */
export interface MergeContext {
  store: Storage;
  /** Key prefix of the intermediate runs. */
  prefix: string;
  limits: MergeLimits;
  meter: EdgeMeter;
  signal?: AbortSignal;
}

/**
 * Merges runs in groups of `fanIn`, level by level, until at most `fanIn`
 * are left (copies of an edge joined on the way in "pair" order).
 */
async function reduceRuns(c: MergeContext, runs: Run[], order: EdgeOrder, tag: string) {
  const { fanIn, page } = c.limits;
  for (let level = 1; runs.length > fanIn; level++) {
    const next: Run[] = [];
    for (let g = 0; g * fanIn < runs.length; g++) {
      const writer = new RunWriter(c, `${c.prefix}/${tag}${level}/${g}`, page * fanIn, false);
      const group = runs.slice(g * fanIn, (g + 1) * fanIn);
      if (order === "pair") {
        const join = new JoinCopies(writer);
        await mergeInto(c.store, group, order, join, c.limits, c.meter, c.signal);
        await join.close();
      } else await mergeInto(c.store, group, order, writer, c.limits, c.meter, c.signal);
      next.push(writer.runs[0] ?? []);
    }
    runs = next;
  }
  return runs;
}

/**
 * The blocks' runs of shared edges (each in "pair" order, an edge possibly
 * in several) joined into distinct edges and sorted into runs in "weight"
 * order; also how many distinct edges there were.
 */
export async function joinSharedEdges(
  c: MergeContext,
  runs: Run[],
): Promise<{ runs: Run[]; edges: number }> {
  const few = await reduceRuns(c, runs, "pair", "pairs");
  const sorter = new RunWriter(c, `${c.prefix}/joined`, c.limits.page * c.limits.fanIn, true);
  const join = new JoinCopies(sorter);
  await mergeInto(c.store, few, "pair", join, c.limits, c.meter, c.signal);
  await join.close();
  return { runs: sorter.runs, edges: join.edges };
}

/** Runs in "weight" order merged down to at most `fanIn` runs. */
export function reduceWeightRuns(c: MergeContext, runs: Run[]): Promise<Run[]> {
  return reduceRuns(c, runs, "weight", "weights");
}

/**
 * Calls `visit(weight, a, b)` for the edges of at most `fanIn` runs in
 * "weight" order until it returns false.
 */
export async function walkEdges(
  c: MergeContext,
  runs: Run[],
  visit: (weight: number, a: number, b: number) => boolean,
): Promise<void> {
  if (runs.length > c.limits.fanIn)
    throw new WatershedStageError(
      `walkEdges got ${runs.length} runs, more than fanIn ${c.limits.fanIn}`,
    );
  const sink = {
    full: false,
    stop: false,
    push(weight: number, _first: number, a: number, b: number) {
      if (!visit(weight, a, b)) this.stop = true;
    },
    async flush() {},
  };
  await mergeInto(c.store, runs, "weight", sink, c.limits, c.meter, c.signal);
}
