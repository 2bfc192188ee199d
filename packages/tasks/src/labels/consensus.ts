/**
 * The seed's HyperSquare consensus remap (HyperSquareConsensusTask): an
 * Eyewire consensus, a JSON object `{volume_id: {cell_id: [segment ids]}}`,
 * applied to a segmentation imported from HyperSquare cubes. In the region
 * of each cube (one Eyewire volume), a segment listed under a cell becomes
 * that cell id; any other non-zero segment s becomes `(volume_id << 16) | s`,
 * so that segments of different volumes stay apart; 0 stays 0. A volume
 * missing from the consensus has only such segments.
 *
 * ```ts
 * const phases = await createConsensusTasks("gs://lab/e2198/segmentation", "gs://lab/e2198/consensus", {
 *   map: "gs://lab/consensus.json",
 *   hypersquare: "gs://lab/e2198-cubes",
 * });
 * ```
 */
import {
  Bbox,
  fromTyped,
  type InfoJSON,
  readInfo,
  type TypedArray,
  writeInfo,
} from "@ngpipe/precomputed";
import { openStorage } from "@ngpipe/storage";
import { z } from "zod";
import { openHyperSquare } from "../ingest/sources/hypersquare";
import type { Vec3 as MutableVec3 } from "../ingest/sources/types";
import { labelsKernels } from "../labels-kernel-module";
import type { TaskPhase } from "../registry/stage";
import { defineTask } from "../runtime";
import {
  bboxOf,
  bboxSchema,
  type CreateOptionsBase,
  LayerMismatchError,
  openLayer,
  storageFor,
} from "../stages/common";
import { createDownsampleTasks } from "../stages/downsample";
import { fileLocation } from "./map-file";

/** A consensus file that is not `{volume_id: {cell_id: [segment ids]}}`, or a cube without a volume id. */
export class ConsensusMapError extends Error {
  override name = "ConsensusMapError";
}

/** A parsed consensus: volume id -> (segment id -> cell id). */
export type Consensus = Map<number, Map<number, number>>;

/** Segment ids of one volume: 16 bits (the volume id takes the bits above). */
const SEGMENT_IDS = 1 << 16;

function wholeNumber(text: string | number, max: number): number | undefined {
  const n = typeof text === "number" ? text : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  return Number.isInteger(n) && n >= 0 && n <= max ? n : undefined;
}

/** Parse and check a consensus file's bytes; `url` names it in errors. */
export function parseConsensus(bytes: Uint8Array, url: string): Consensus {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new ConsensusMapError(`${url}: not JSON (${(e as Error).message})`, { cause: e });
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new ConsensusMapError(`${url}: expected {volume_id: {cell_id: [segment ids]}}`);
  }
  const out: Consensus = new Map();
  for (const [vol, cells] of Object.entries(json)) {
    const v = wholeNumber(vol, 0xffff);
    if (v === undefined) {
      throw new ConsensusMapError(`${url}: volume id "${vol}" is not a whole number below 65536`);
    }
    if (cells === null || typeof cells !== "object" || Array.isArray(cells)) {
      throw new ConsensusMapError(
        `${url}: volume ${vol} is not an object {cell_id: [segment ids]}`,
      );
    }
    const segs = new Map<number, number>();
    for (const [cell, list] of Object.entries(cells as Record<string, unknown>)) {
      const c = wholeNumber(cell, 2 ** 32 - 1);
      if (c === undefined) {
        throw new ConsensusMapError(`${url}: cell id "${cell}" of volume ${vol} is not a uint32`);
      }
      if (!Array.isArray(list)) {
        throw new ConsensusMapError(
          `${url}: cell ${cell} of volume ${vol} has no list of segment ids`,
        );
      }
      for (const s of list) {
        const id = wholeNumber(s as number, SEGMENT_IDS - 1);
        if (id === undefined) {
          throw new ConsensusMapError(
            `${url}: segment ${JSON.stringify(s)} of cell ${cell}, volume ${vol} is not a whole number below 65536`,
          );
        }
        segs.set(id, c);
      }
    }
    out.set(v, segs);
  }
  return out;
}

/**
 * The dense remap table of one volume (index = segment id, 0..65535): cell
 * ids for the listed segments, `volumeId * 65536 + s` for the others, 0 for 0.
 */
export function consensusTable(consensus: Consensus, volumeId: number): Float64Array {
  const table = new Float64Array(SEGMENT_IDS);
  const base = volumeId * SEGMENT_IDS;
  for (let s = 1; s < SEGMENT_IDS; s++) table[s] = base + s;
  for (const [s, cell] of consensus.get(volumeId) ?? []) table[s] = cell;
  return table;
}

const consensusCache = new Map<string, Promise<Consensus>>();

async function loadConsensus(url: string, signal?: AbortSignal): Promise<Consensus> {
  let p = consensusCache.get(url);
  if (!p) {
    const { dir, key } = fileLocation(url);
    p = openStorage(dir)
      .get(key, { signal })
      .then((bytes) => {
        if (bytes === null) throw new ConsensusMapError(`${url}: no such file`);
        return parseConsensus(bytes, url);
      });
    consensusCache.clear();
    consensusCache.set(url, p);
    p.catch(() => consensusCache.delete(url));
  }
  return p;
}

/** Params of {@link consensusTask}. */
export const consensusParams = z.object({
  src: z.string().min(1),
  dest: z.string().min(1),
  /** URL of the consensus JSON. */
  map: z.string().min(1),
  /** The Eyewire volume of this region. */
  volumeId: z.number().int().min(0).max(0xffff),
  bbox: bboxSchema,
});

/** Remap one cube's region of `src` by the consensus of its volume into `dest`. */
export const consensusTask = defineTask({
  name: "hypersquare-consensus",
  params: consensusParams,
  async run(p, ctx): Promise<{ voxels: number }> {
    const src = await openLayer(ctx, p.src, 0);
    const dest = await openLayer(ctx, p.dest, 0);
    const box = bboxOf(p.bbox).intersect(src.bounds);
    if (box.empty()) return { voxels: 0 };
    const table = consensusTable(await loadConsensus(p.map, ctx.signal), p.volumeId);
    const cut = await src.read(box, { signal: ctx.signal });
    const out = await ctx.runKernel<TypedArray>(
      labelsKernels(),
      "remap",
      [
        cut.data,
        table,
        { dataType: dest.dataType, context: `${p.src} ${box} (volume ${p.volumeId})` },
      ],
      {
        transfer: [cut.data.buffer as ArrayBuffer, table.buffer as ArrayBuffer],
        signal: ctx.signal,
      },
    );
    await dest.write(box, fromTyped(out, cut.shape), { signal: ctx.signal });
    return { voxels: box.volume() };
  },
});

/** Options of {@link createConsensusTasks}. */
export interface ConsensusTaskOptions extends CreateOptionsBase {
  /** URL of the consensus JSON `{volume_id: {cell_id: [segment ids]}}`. */
  map: string;
  /** The HyperSquare dataset the segmentation came from: its cubes are the volumes' regions. */
  hypersquare: string;
  /** Overlap of the cubes, as given to the import (default: from the cube origins). */
  overlap?: MutableVec3;
  /**
   * Volume id of each cube, by cube directory name. Default: the cube's
   * metadata.json `volume_id`, else the directory name when it is a number.
   */
  volumes?: Record<string, number>;
  /** Data type of dest: "uint32" (default; volume and segment ids fill it) or "uint64". */
  dataType?: "uint32" | "uint64";
  /** Downsampled scales written afterwards (mode pooling). Default 0. */
  mips?: number;
}

/**
 * The consensus remap as phases: one task per cube (after writing dest's
 * info: src's geometry, compressed_segmentation), then the downsamples.
 * The consensus file and every cube's volume id are checked first.
 */
export async function createConsensusTasks(
  src: string,
  dest: string,
  o: ConsensusTaskOptions,
): Promise<TaskPhase[]> {
  const info = await readInfo(storageFor(src, o));
  if (!info.data_type.startsWith("uint"))
    throw new LayerMismatchError(
      `consensus reads unsigned segment ids; ${src} holds ${info.data_type}`,
    );
  await loadConsensus(o.map);
  const hs = await openHyperSquare(o.hypersquare, { dataset: "segmentation", overlap: o.overlap });
  const regions = hs.cubes.map((cube) => {
    const named =
      o.volumes?.[cube.name] ?? cube.metadata.volume_id ?? wholeNumber(cube.name, 0xffff);
    const id = typeof named === "number" ? wholeNumber(named, 0xffff) : undefined;
    if (id === undefined) {
      throw new ConsensusMapError(
        `${o.hypersquare}/${cube.name}: no volume id for this cube (give volumes {"${cube.name}": id}, a metadata.json volume_id, or a numeric cube name)`,
      );
    }
    return { id, box: new Bbox(cube.keep.min, cube.keep.max) };
  });
  await hs.close();
  const dataType = o.dataType ?? "uint32";
  const scale = structuredClone(info.scales[0]);
  delete scale.sharding;
  scale.encoding = "compressed_segmentation";
  scale.compressed_segmentation_block_size = [8, 8, 8];
  const destInfo: InfoJSON = {
    ...structuredClone(info),
    type: "segmentation",
    data_type: dataType,
    scales: [scale],
  };
  const phases: TaskPhase[] = [
    {
      name: "consensus",
      tasks: async () => {
        await writeInfo(storageFor(dest, o), destInfo);
        return regions.map((r) =>
          consensusTask.payload({
            src,
            dest,
            map: o.map,
            volumeId: r.id,
            bbox: r.box.toChunkName(),
          }),
        );
      },
    },
  ];
  if ((o.mips ?? 0) > 0)
    phases.push({
      name: "consensus downsample",
      tasks: () =>
        createDownsampleTasks(dest, {
          mips: o.mips,
          method: "mode",
          storage: o.storage,
          storageOptions: o.storageOptions,
        }),
    });
  return phases;
}
