/**
 * The seed's reconstruction path as one `ngpipe pipeline` spec, on the
 * piriform affinity map (../shared/data/piriform.aff.h5, 200x200x5 voxels,
 * 3 channels): ingest the affinities -> watershed (in 2x2x1 blocks with
 * 16 voxels of context, Watershed.jl's relative thresholds computed once
 * for the whole layer) -> agglomerate (mean affinity, region graph and
 * remap table kept in storage) -> mesh -> manifest. Every step goes through
 * an fq:// queue drained by two workers in this process.
 *
 *   npx tsx examples/piriform-pipeline.ts [out-dir] [piriform.aff.h5]
 *
 * then look at the result:
 *
 *   npm run ngpipe -- view out-dir
 *
 * The same from a shell: write the spec this script prints and run
 * `ngpipe pipeline spec.json --workers 2`.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { main } from "@ngpipe/cli";
import { closePool } from "@ngpipe/precomputed";

/** Where the piriform map is, relative to the repository root. */
export const PIRIFORM = resolve(__dirname, "../../shared/data/piriform.aff.h5");

/** The layers the pipeline writes under its directory. */
export interface PiriformLayers {
  affinities: string;
  supervoxels: string;
  segmentation: string;
}

/** The pipeline spec (JSON) for `dir`: the layers as file:// URLs, the queue an fq:// directory. */
export function piriformSpec(dir: string, h5 = PIRIFORM): { spec: object; layers: PiriformLayers } {
  const url = (name: string) => pathToFileURL(join(dir, name)).href;
  const layers = {
    affinities: url("affinities"),
    supervoxels: url("supervoxels"),
    segmentation: url("segmentation"),
  };
  const spec = {
    queue: `fq://${join(dir, "queue")}`,
    steps: [
      {
        stage: "ingest",
        source: `${h5}#/main`,
        layer: layers.affinities,
        options: { resolution: [8, 8, 40], chunkSize: [50, 50, 5], layerType: "image" },
      },
      {
        stage: "watershed",
        src: layers.affinities,
        dest: layers.supervoxels,
        options: { shape: [100, 100, 5], context: 16 },
      },
      {
        stage: "agglomerate",
        src: layers.supervoxels,
        dest: layers.segmentation,
        options: { affinities: layers.affinities, threshold: 0.5 },
      },
      { stage: "mesh", layer: layers.segmentation, options: { shape: [100, 100, 5] } },
      { stage: "manifest", layer: layers.segmentation },
    ],
  };
  return { spec, layers };
}

/** Writes the spec to `dir/pipeline.json` and runs it; resolves to the layers. */
export async function runPiriformPipeline(dir: string, h5 = PIRIFORM): Promise<PiriformLayers> {
  const { spec, layers } = piriformSpec(dir, h5);
  const file = join(dir, "pipeline.json");
  await writeFile(file, JSON.stringify(spec, null, 2));
  const code = await main(["node", "ngpipe", "--quiet", "pipeline", file, "--workers", "2"]);
  if (code !== 0) throw new Error(`ngpipe pipeline ${file} exited with ${code}`);
  return layers;
}

async function cli(): Promise<void> {
  const dir = resolve(process.argv[2] ?? (await mkdtemp(join(tmpdir(), "ngpipe-piriform-"))));
  const layers = await runPiriformPipeline(dir, process.argv[3] ?? PIRIFORM);
  console.log(`supervoxels:  ${layers.supervoxels}`);
  console.log(`segmentation: ${layers.segmentation} (meshed)`);
  console.log(`look at them: npm run ngpipe -- view ${dir}`);
  await closePool();
}

if (require.main === module) cli();
