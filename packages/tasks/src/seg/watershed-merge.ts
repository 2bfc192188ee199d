/**
 * The watershed stage's last phases, after the blocks' basins have been
 * numbered across the dataset (the scratch layer `basins`):
 *
 *  - graph: each block's share of the basin graph (the largest affinity
 *    between two adjacent basins and where the scan first met them) as two
 *    sorted edge runs, and its basins' voxel counts (`graph/<b>`,
 *    `edges/<b>/own`, `edges/<b>/shared`);
 *  - merge: one task walks the dataset's basin graph by decreasing affinity,
 *    merging the blocks' runs from storage a page at a time (edge-runs.ts),
 *    and runs Watershed.jl's size-dependent merge and dust, which gives each
 *    basin its final region; it writes each block's table of them
 *    (`regions/<b>`);
 *  - write: each block's basins mapped to their regions, written to dest.
 *
 * The merge task holds 12 bytes per basin of the dataset (its size and its
 * union-find parent) and at most `3 * page * fanIn` edge records of 24
 * bytes: its memory grows with the number of basins, not with the number of
 * edges or the volume.
 */
import { Bbox, fromTyped, Volume } from "@ngpipe/precomputed";
import type { Storage } from "@ngpipe/storage";
import { z } from "zod";
import { packRecord, unpackRecord } from "../labels/records";
import { labelsKernels } from "../labels-kernel-module";
import { defineTask } from "../runtime";
import type { BasinGraphPart } from "./basin-graph";
import {
  EdgeMeter,
  joinSharedEdges,
  type MergeContext,
  type MergeLimits,
  type Run,
  reduceWeightRuns,
  walkEdges,
} from "./edge-runs";
import {
  basinLayer,
  commonParams,
  getJson,
  getObject,
  linear,
  openAffinities,
  positions,
  type V3,
} from "./watershed-common";

/** Default page and fan-in of the merge: 64 runs of 16 Ki records, about 75 MB of edges at most. */
export const DEFAULT_MERGE_LIMITS: MergeLimits = { page: 16384, fanIn: 64 };

/**
 * Reads the records `keys` in order, 16 at once, handing each to `use` in
 * order (and waiting for what `use` starts before reading more).
 */
async function eachRecord(
  store: Storage,
  keys: string[],
  use: (
    arrays: Record<string, Uint32Array | Float64Array>,
    header: Record<string, number>,
    key: string,
  ) => Promise<unknown> | undefined,
  signal?: AbortSignal,
): Promise<void> {
  const batch = 16;
  for (let i = 0; i < keys.length; i += batch) {
    const part = keys.slice(i, i + batch);
    const bytes = await Promise.all(part.map((k) => getObject(store, k, signal)));
    const pending = bytes.map((b, j) => {
      const r = unpackRecord<Record<string, number>>(b, `${store.url}/${part[j]}`);
      return use(r.arrays, r.header, part[j]);
    });
    await Promise.all(pending);
  }
}

/** Phase: a block's share of the basin graph. */
export const watershedGraphTask = defineTask({
  name: "ws-graph",
  params: commonParams,
  async run(p, ctx): Promise<{ edges: number; basins: number }> {
    const { vol, grid, core } = await openAffinities(ctx, p);
    const block = p.block as V3;
    const start = block.map((n) => (n > 0 ? 1 : 0)) as V3;
    const box = new Bbox(core.min.map((n, a) => n - start[a]) as V3, core.max as V3);
    const basins = await Volume.open(basinLayer(p.scratch), {
      storage: ctx.storage(basinLayer(p.scratch)),
    });
    const labels = (await basins.read(box, { signal: ctx.signal })).data as Uint32Array;
    const aff = (await vol.read(box, { signal: ctx.signal })).data as Float32Array | Uint8Array;
    const high = block.map((n, a) => n < grid.blocks[a] - 1);
    const part = await ctx.runKernel<BasinGraphPart>(
      labelsKernels(),
      "basinGraphBlock",
      [
        labels,
        aff,
        box.size(),
        start,
        high,
        box.min.map((n, a) => n - grid.bounds.min[a]),
        grid.size,
      ],
      { transfer: [labels.buffer as ArrayBuffer, aff.buffer as ArrayBuffer], signal: ctx.signal },
    );
    const store = ctx.storage(p.scratch);
    const b = linear(block, grid.blocks);
    // Runs first: the record that names them is what the merge reads.
    if (part.ownCount > 0) await store.put(`edges/${b}/own`, part.own, { signal: ctx.signal });
    if (part.sharedCount > 0)
      await store.put(`edges/${b}/shared`, part.shared, { signal: ctx.signal });
    await store.put(
      `graph/${b}`,
      packRecord(
        { own: part.ownCount, shared: part.sharedCount },
        { ids: part.ids, counts: part.counts },
      ),
      { signal: ctx.signal },
    );
    return { edges: part.ownCount + part.sharedCount, basins: part.ids.length };
  },
});

/**
 * Watershed.jl's merge and dust over a basin graph stored as sorted runs:
 * `size[id]` holds each basin's voxel count (index 0 unused) and is turned
 * into each basin's region (1..regions by smallest basin id, 0 for dust).
 * `own` runs are in "weight" order, edges in one run only; `shared` runs in
 * "pair" order, an edge possibly in several. Holds `size`, a parent per
 * basin, and the edge pages `c.limits` allow. Returns the number of
 * regions and of distinct shared edges.
 */
export async function mergeBasinRuns(
  c: MergeContext,
  size: Float64Array,
  own: Run[],
  shared: Run[],
  merge: ReadonlyArray<readonly [number, number]>,
  dust: number,
): Promise<{ regions: number; sharedEdges: number }> {
  const total = size.length - 1;
  const joined = await joinSharedEdges(c, shared);
  const runs = await reduceWeightRuns(c, [...own, ...joined.runs]);
  // Union-find whose roots are their sets' smallest ids (which root a
  // union keeps does not change Watershed.jl's result: only sizes and
  // membership decide merges).
  const parent = new Uint32Array(total + 1);
  for (let i = 0; i <= total; i++) parent[i] = i;
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  for (const [sizeTh, weightTh] of merge)
    await walkEdges(c, runs, (weight, a, b) => {
      // Edges come by decreasing weight: none after this one passes either.
      if (!(weight > weightTh)) return false;
      let s1 = find(a);
      let s2 = find(b);
      if (s1 === s2) return true;
      if (size[s1] < sizeTh || size[s2] < sizeTh) {
        if (s2 < s1) [s1, s2] = [s2, s1];
        parent[s2] = s1;
        size[s1] += size[s2];
        size[s2] = 0;
      }
      return true;
    });
  // Regions numbered by smallest basin id, dust to 0; a root comes before
  // its set's other ids, so its region is known when they ask for it.
  let regions = 0;
  for (let id = 1; id <= total; id++) {
    const r = find(id);
    size[id] = r === id ? (size[id] >= dust ? ++regions : 0) : size[r];
  }
  return { regions, sharedEdges: joined.edges };
}

/**
 * Phase: the dataset's basin graph merged into regions (one task), read
 * from the blocks' sorted runs a page at a time: Watershed.jl's merge walks
 * the edges by decreasing weight and needs only each basin's size and
 * set, so only those are held for every basin.
 */
export const watershedMergeTask = defineTask({
  name: "ws-merge",
  params: commonParams.extend({
    merge: z.array(z.tuple([z.number(), z.number()])),
    dust: z.number(),
    /** Edge records per page read (default 16384). */
    page: z.number().int().min(1).optional(),
    /** Runs merged at once (default 64). */
    fanIn: z.number().int().min(2).optional(),
  }),
  async run(
    p,
    ctx,
  ): Promise<{ basins: number; regions: number; edges: number; peakEdges: number }> {
    const { grid } = await openAffinities(ctx, p);
    const store = ctx.storage(p.scratch);
    const { total } = await getJson<{ total: number }>(store, "number/offsets.json", ctx.signal);
    const keys = positions(grid.blocks).map((block) => `graph/${linear(block, grid.blocks)}`);
    // Sizes by basin id; after the merge, each basin's region.
    const size = new Float64Array(total + 1);
    const own: Run[] = [];
    const shared: Run[] = [];
    let ownEdges = 0;
    await eachRecord(
      store,
      keys,
      (arrays, header, key) => {
        const ids = arrays.ids;
        const counts = arrays.counts;
        for (let k = 0; k < ids.length; k++) size[ids[k]] += counts[k];
        const b = key.slice("graph/".length);
        if (header.own > 0) own.push([{ key: `edges/${b}/own`, count: header.own }]);
        if (header.shared > 0) shared.push([{ key: `edges/${b}/shared`, count: header.shared }]);
        ownEdges += header.own;
        return undefined;
      },
      ctx.signal,
    );
    const c: MergeContext = {
      store,
      prefix: "merge",
      limits: {
        page: p.page ?? DEFAULT_MERGE_LIMITS.page,
        fanIn: p.fanIn ?? DEFAULT_MERGE_LIMITS.fanIn,
      },
      meter: new EdgeMeter(),
      signal: ctx.signal,
    };
    const r = await mergeBasinRuns(c, size, own, shared, p.merge, p.dust);
    await eachRecord(
      store,
      keys,
      (arrays, _header, key) => {
        const ids = arrays.ids as Uint32Array;
        const table = Uint32Array.from(ids, (id) => size[id]);
        return store.put(
          `regions/${key.slice("graph/".length)}`,
          packRecord({}, { ids, regions: table }),
          { signal: ctx.signal },
        );
      },
      ctx.signal,
    );
    return {
      basins: total,
      regions: r.regions,
      edges: ownEdges + r.sharedEdges,
      peakEdges: c.meter.peak,
    };
  },
});

/** Phase: a block's basins written to dest as their regions. */
export const watershedWriteTask = defineTask({
  name: "ws-write",
  params: commonParams.extend({ dest: z.string().min(1) }),
  async run(p, ctx): Promise<{ voxels: number }> {
    const { core, grid } = await openAffinities(ctx, p);
    const store = ctx.storage(p.scratch);
    const key = `regions/${linear(p.block as V3, grid.blocks)}`;
    const { arrays } = unpackRecord(await getObject(store, key, ctx.signal), `${store.url}/${key}`);
    const ids = arrays.ids as Uint32Array;
    const regions = arrays.regions as Uint32Array;
    const basins = await Volume.open(basinLayer(p.scratch), {
      storage: ctx.storage(basinLayer(p.scratch)),
    });
    const labels = (await basins.read(core, { signal: ctx.signal })).data as Uint32Array;
    const dest = await Volume.open(p.dest, { mip: 0, storage: ctx.storage(p.dest) });
    const wide = dest.dataType === "uint64";
    const words = await ctx.runKernel<Uint32Array>(
      labelsKernels(),
      "applyRegionTable",
      [labels, ids, regions, wide],
      { transfer: [labels.buffer as ArrayBuffer], signal: ctx.signal },
    );
    // Typed arrays of this realm over the worker's buffer.
    const out = wide ? new BigUint64Array(words.buffer) : new Uint32Array(words.buffer);
    await dest.write(core, fromTyped(out, core.size()), { signal: ctx.signal });
    return { voxels: core.volume() };
  },
});
