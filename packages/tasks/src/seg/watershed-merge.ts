/**
 * The watershed stage's last phases, after the blocks' basins have been
 * numbered across the dataset (the scratch layer `basins`):
 *
 *  - graph: each block's share of the basin graph (the largest affinity
 *    between two adjacent basins and where the scan first met them) and its
 *    basins' voxel counts (`graph/<b>`);
 *  - merge: one task joins the shares into the dataset's basin graph and
 *    runs Watershed.jl's size-dependent merge and dust over it, which gives
 *    each basin its final region (`regions`);
 *  - write: each block's basins mapped to their regions, written to dest.
 *
 * The merge needs the whole basin graph at once: its memory grows with the
 * number of basins and edges (about 40 bytes per edge, 12 per basin), not
 * with the volume.
 */
import { Bbox, fromTyped, Volume } from "@ngpipe/precomputed";
import { z } from "zod";
import { packRecord, unpackRecord } from "../labels/records";
import { labelsKernels } from "../labels-kernel-module";
import { defineTask } from "../runtime";
import type { BasinGraphPart } from "./basin-graph";
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
    const part = await ctx.runKernel<BasinGraphPart>(
      labelsKernels(),
      "basinGraphBlock",
      [labels, aff, box.size(), start, box.min.map((n, a) => n - grid.bounds.min[a]), grid.size],
      { transfer: [labels.buffer as ArrayBuffer, aff.buffer as ArrayBuffer], signal: ctx.signal },
    );
    await ctx
      .storage(p.scratch)
      .put(`graph/${linear(block, grid.blocks)}`, packRecord({}, { ...part }), {
        signal: ctx.signal,
      });
    return { edges: part.a.length, basins: part.ids.length };
  },
});

/** Phase: the dataset's basin graph merged into regions (one task). */
export const watershedMergeTask = defineTask({
  name: "ws-merge",
  params: commonParams.extend({
    merge: z.array(z.tuple([z.number(), z.number()])),
    dust: z.number(),
  }),
  async run(p, ctx): Promise<{ basins: number; regions: number; edges: number }> {
    const { grid } = await openAffinities(ctx, p);
    const store = ctx.storage(p.scratch);
    const { total } = await getJson<{ total: number }>(store, "number/offsets.json", ctx.signal);
    const parts: BasinGraphPart[] = [];
    for (const block of positions(grid.blocks)) {
      const key = `graph/${linear(block, grid.blocks)}`;
      const { arrays } = unpackRecord(
        await getObject(store, key, ctx.signal),
        `${store.url}/${key}`,
      );
      parts.push(arrays as unknown as BasinGraphPart);
    }
    const r = await ctx.runKernel<{ finalOf: Uint32Array; regions: number; edges: number }>(
      labelsKernels(),
      "mergeBasinParts",
      [parts, total, p.merge, p.dust],
      { signal: ctx.signal },
    );
    await store.put("regions", packRecord({ regions: r.regions }, { finalOf: r.finalOf }), {
      signal: ctx.signal,
    });
    return { basins: total, regions: r.regions, edges: r.edges };
  },
});

/** Phase: a block's basins written to dest as their regions. */
export const watershedWriteTask = defineTask({
  name: "ws-write",
  params: commonParams.extend({ dest: z.string().min(1) }),
  async run(p, ctx): Promise<{ voxels: number }> {
    const { core } = await openAffinities(ctx, p);
    const store = ctx.storage(p.scratch);
    const { arrays } = unpackRecord(
      await getObject(store, "regions", ctx.signal),
      `${store.url}/regions`,
    );
    const table = Float64Array.from(arrays.finalOf as Uint32Array);
    const basins = await Volume.open(basinLayer(p.scratch), {
      storage: ctx.storage(basinLayer(p.scratch)),
    });
    const labels = (await basins.read(core, { signal: ctx.signal })).data as Uint32Array;
    const dest = await Volume.open(p.dest, { mip: 0, storage: ctx.storage(p.dest) });
    const wide = dest.dataType === "uint64";
    const words = await ctx.runKernel<Uint32Array>(
      labelsKernels(),
      "applyFinalIds",
      [labels, table, wide],
      { transfer: [labels.buffer as ArrayBuffer, table.buffer as ArrayBuffer], signal: ctx.signal },
    );
    // Typed arrays of this realm over the worker's buffer.
    const out = wide ? new BigUint64Array(words.buffer) : new Uint32Array(words.buffer);
    await dest.write(core, fromTyped(out, core.size()), { signal: ctx.signal });
    return { voxels: core.volume() };
  },
});
