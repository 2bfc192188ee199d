/**
 * The layers the Neuroglancer end-to-end test serves, written with ngpipe's
 * own packages: a uint8 EM-like image (raw, gzip chunks) and a uint32 Voronoi
 * segmentation (compressed_segmentation) with legacy meshes, each with a
 * second mip downsampled 2x2x1.
 */
import {
  encodeLegacyManifest,
  encodeLegacyMesh,
  legacyFragmentName,
  marchingCubes,
} from "@ngpipe/mesh";
import { NdArray, Volume } from "@ngpipe/precomputed";
import { openStorage } from "@ngpipe/storage";
import { downsampleAverage, downsampleMode, emLikeImage, voronoiSegmentation } from "@ngpipe/tasks";

/** Size of mip 0 in voxels. */
export const SHAPE: [number, number, number] = [128, 128, 32];
/** Chunk size of every mip. */
export const CHUNK: [number, number, number] = [64, 64, 16];
/** Voxel size of mip 0 in nm. */
export const RESOLUTION: [number, number, number] = [8, 8, 8];

/** What {@link writeLayers} wrote. */
export interface WrittenLayers {
  /** Segment ids with a mesh (and a manifest `mesh/<id>:0`). */
  meshed: number[];
  /** Fragment keys under the mesh directory, per segment. */
  fragments: Map<number, string>;
  /** Chunk names (`<scale key>/<chunk>`) per layer. */
  chunks: { image: string[]; segmentation: string[] };
}

async function withMip1(vol: Volume, level: Uint8Array | Uint32Array): Promise<string[]> {
  vol.addScale([2, 2, 1], { chunkSize: CHUNK });
  await vol.commitInfo();
  const mip1 = vol.withMip(1);
  await mip1.write(mip1.bounds, NdArray.from(level, [SHAPE[0] / 2, SHAPE[1] / 2, SHAPE[2]]));
  const names: string[] = [];
  for (const v of [vol, mip1])
    for (const c of v.bounds.chunks(v.chunkSize, v.scale.voxelOffset, v.bounds))
      names.push(v.chunkKey(c));
  return names;
}

/** Writes `dir/image` and `dir/segmentation` (with `mesh/`) as file:// layers. */
export async function writeLayers(dir: string, meshCount = 3): Promise<WrittenLayers> {
  const labels = voronoiSegmentation(SHAPE, { seeds: 12, seed: 3 });
  const pixels = emLikeImage(labels, SHAPE);
  const common = { chunkSize: CHUNK, resolution: RESOLUTION, workers: false };

  const image = await Volume.fromArray(`file://${dir}/image`, NdArray.from(pixels, SHAPE), {
    ...common,
    type: "image",
  });
  const imageChunks = await withMip1(image, downsampleAverage(pixels, SHAPE, [2, 2, 1], 1)[0]);

  const seg = await Volume.fromArray(`file://${dir}/segmentation`, NdArray.from(labels, SHAPE), {
    ...common,
    type: "segmentation",
    encoding: "compressed_segmentation",
    mesh: "mesh",
  });
  const segChunks = await withMip1(seg, downsampleMode(labels, SHAPE, [2, 2, 1], 1)[0]);

  // One fragment per segment over the whole volume, closed at the dataset faces.
  const surfaces = marchingCubes(labels, SHAPE, { resolution: RESOLUTION, close: true });
  const meshed = (surfaces.labels as number[]).slice(0, meshCount);
  const meshes = surfaces.meshes();
  const store = openStorage(`file://${dir}/segmentation/mesh`);
  await store.put("info", JSON.stringify({ "@type": "neuroglancer_legacy_mesh" }), {
    contentType: "application/json",
  });
  const fragments = new Map<number, string>();
  const whole = { minpt: [0, 0, 0] as [number, number, number], maxpt: SHAPE };
  for (const id of meshed) {
    const name = legacyFragmentName(id, whole);
    // Igneous uploads fragments gzipped: on disk `<name>.gz`, served as `<name>`.
    await store.put(name, encodeLegacyMesh(meshes.get(id)!), { compress: "gzip" });
    await store.put(`${id}:0`, encodeLegacyManifest([name]), { contentType: "application/json" });
    fragments.set(id, name);
  }
  return { meshed, fragments, chunks: { image: imageChunks, segmentation: segChunks } };
}
