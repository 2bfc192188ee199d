/**
 * The layers the Neuroglancer end-to-end test serves, written with ngpipe's
 * own packages: a uint8 EM-like image (raw, gzip chunks) and a uint32 Voronoi
 * segmentation (compressed_segmentation) with legacy meshes made by the Mesh
 * and MeshManifest stages and skeletons made by the skeleton forge and merge
 * (unsharded, and sharded in a second directory), each layer with a second
 * mip downsampled 2x2x1; and a sharded copy of the image written by the sharded transfer and
 * downsample stages.
 */
import { MeshLayer, MultiresMeshLayer } from "@ngpipe/mesh";
import {
  downsampleAverage,
  downsampleMode,
  fromTyped,
  ShardReader,
  Volume,
} from "@ngpipe/precomputed";
import {
  createDownsampleTasks,
  createMeshingTasks,
  createMeshManifestTasks,
  createMultiresMeshMergeTasks,
  createSkeletonMergeTasks,
  createSkeletonTasks,
  createTransferTasks,
  emLikeImage,
  executeTask,
  voronoiSegmentation,
} from "@ngpipe/tasks";

/** Size of mip 0 in voxels. */
export const SHAPE: [number, number, number] = [128, 128, 32];
/** Chunk size of every mip. */
export const CHUNK: [number, number, number] = [64, 64, 16];
/** Voxel size of mip 0 in nm. */
export const RESOLUTION: [number, number, number] = [8, 8, 8];
/** Meshing block: four blocks, so a segment's manifest lists several fragments. */
const MESH_BLOCK: [number, number, number] = [64, 64, 32];

/** What {@link writeLayers} wrote. */
export interface WrittenLayers {
  /** Segment ids with a mesh manifest `mesh/<id>:0`. */
  meshed: string[];
  /** Fragment names (keys under `mesh/`) of each meshed segment. */
  fragments: Map<string, string[]>;
  /** Chunk keys (`<scale key>/<chunk name>`) of every mip, per layer. */
  chunks: { image: string[]; segmentation: string[] };
  /** Shard file keys (`<scale key>/<hex>.shard`) of the sharded layer, both mips. */
  shards: string[];
  /** Segment ids with an unsharded skeleton `segmentation/skeletons/<id>`. */
  skeletons: string[];
  /** Shard file keys under `segmentation/skeletons-sharded/`. */
  skeletonShards: string[];
}

async function addMip1(vol: Volume, level: Uint8Array | Uint32Array): Promise<string[]> {
  vol.addScale([2, 2, 1], { chunkSize: CHUNK });
  await vol.commitInfo();
  const mip1 = vol.withMip(1);
  await mip1.write(mip1.bounds, fromTyped(level, [SHAPE[0] / 2, SHAPE[1] / 2, SHAPE[2]]));
  const keys: string[] = [];
  for (const v of [vol, mip1])
    for (const c of v.bounds.chunks(v.chunkSize, v.scale.voxelOffset, v.bounds))
      keys.push(v.chunkKey(c));
  return keys;
}

async function runAll(tasks: Promise<Iterable<unknown>>): Promise<void> {
  for (const task of await tasks) await executeTask(JSON.parse(JSON.stringify(task)));
}

/**
 * Writes `dir/image` and `dir/segmentation` (with `mesh/`) as file:// layers;
 * segments `meshLabels` are meshed.
 */
export async function writeLayers(
  dir: string,
  meshLabels: readonly number[] = [1, 2, 3],
): Promise<WrittenLayers> {
  const labels = voronoiSegmentation(SHAPE, { seeds: 12, seed: 3 });
  const pixels = emLikeImage(labels, SHAPE);
  const common = { chunkSize: CHUNK, resolution: RESOLUTION, workers: false };

  const image = await Volume.fromArray(`file://${dir}/image`, fromTyped(pixels, SHAPE), {
    ...common,
    type: "image",
  });
  const imageChunks = await addMip1(image, downsampleAverage(pixels, SHAPE, [2, 2, 1], 1)[0]);

  const segUrl = `file://${dir}/segmentation`;
  const seg = await Volume.fromArray(segUrl, fromTyped(labels, SHAPE), {
    ...common,
    type: "segmentation",
    encoding: "compressed_segmentation",
  });
  const segChunks = await addMip1(seg, downsampleMode(labels, SHAPE, [2, 2, 1], 1)[0]);

  await runAll(
    createMeshingTasks(segUrl, { shape: MESH_BLOCK, labels: [...meshLabels], simplification: 4 }),
  );
  await runAll(createMeshManifestTasks(segUrl));
  const fragments = await (await MeshLayer.open(segUrl)).listFragments();

  // Skeletons of every segment (forged in the meshing blocks, merged across
  // them): sharded into skeletons-sharded, then unsharded into skeletons,
  // which the segmentation's info names.
  const skeletons: string[] = [];
  const skeletonShards: string[] = [];
  for (const [dir, sharded] of [
    ["skeletons-sharded", true],
    ["skeletons", false],
  ] as const) {
    await runAll(
      createSkeletonTasks(segUrl, {
        shape: MESH_BLOCK,
        teasar: { scale: 4, const: 40 },
        dust: 100,
        skeletonDir: dir,
      }),
    );
    await runAll(
      createSkeletonMergeTasks(segUrl, {
        skeletonDir: dir,
        sharded,
        dustThreshold: 0,
        tickThreshold: 50,
      }),
    );
    for await (const k of seg.storage.list(`${dir}/`)) {
      const key = k.slice(dir.length + 1);
      if (sharded && key.endsWith(".shard")) skeletonShards.push(key);
      if (!sharded && /^\d+$/.test(key)) skeletons.push(key);
    }
  }

  // Four chunks per shard: several shard files per mip.
  const shardedUrl = `file://${dir}/sharded`;
  const shardBytes = 4 * CHUNK[0] * CHUNK[1] * CHUNK[2];
  await runAll(
    createTransferTasks(`file://${dir}/image`, shardedUrl, {
      mip: 0,
      sharded: true,
      shardBytes,
      fastPath: false,
    }),
  );
  await runAll(createDownsampleTasks(shardedUrl, { sharded: true, shardBytes }));
  const shards: string[] = [];
  const sharded = await Volume.open(shardedUrl);
  for (let mip = 0; mip < sharded.mipCount; mip++) {
    const key = sharded.withMip(mip).scale.key;
    for await (const k of sharded.storage.list(`${key}/`)) shards.push(k);
  }
  return {
    meshed: [...fragments.keys()].sort(),
    fragments,
    chunks: { image: imageChunks, segmentation: segChunks },
    shards,
    skeletons: skeletons.sort(),
    skeletonShards,
  };
}

/** What {@link writeMultiresLayer} wrote. */
export interface WrittenMultires {
  /** Segment ids with a multiresolution mesh. */
  meshed: string[];
  /** Shard file keys under `multires/mesh/`. */
  shards: string[];
  /** Levels of detail of each segment. */
  lods: Map<string, number>;
  /**
   * Where each lod's fragments lie in the shard files: per segment and lod,
   * the byte range `[start, end)` of the lod's fragment data in `file`.
   */
  lodRanges: Array<{ id: string; lod: number; file: string; start: number; end: number }>;
}

/**
 * Writes `dir/multires`: the Voronoi segmentation again, its every segment
 * meshed (`format: "multires"`) and merged into sharded multiresolution
 * meshes with small octree cells, so that objects span many cells and lods.
 */
export async function writeMultiresLayer(dir: string): Promise<WrittenMultires> {
  const labels = voronoiSegmentation(SHAPE, { seeds: 12, seed: 3 });
  const url = `file://${dir}/multires`;
  await Volume.fromArray(url, fromTyped(labels, SHAPE), {
    chunkSize: CHUNK,
    resolution: RESOLUTION,
    workers: false,
    type: "segmentation",
    encoding: "compressed_segmentation",
  });
  await runAll(createMeshingTasks(url, { shape: MESH_BLOCK, format: "multires" }));
  await runAll(createMultiresMeshMergeTasks(url, { sharded: true, cellShape: [16, 16, 8] }));
  const meshes = await MultiresMeshLayer.open(url);
  const forged = await (await MeshLayer.open(url)).listFragments("fragments/", { recursive: true });
  const meshed = [...forged.keys()].sort((a, b) => Number(a) - Number(b));
  const lods = new Map<string, number>();
  const lodRanges: WrittenMultires["lodRanges"] = [];
  // An object's fragment data lies right before its manifest (the shard
  // entry), lod 0 first.
  const reader = new ShardReader(meshes.storage, meshes.info.sharding!);
  for (const id of meshed) {
    const manifest = await meshes.manifest(id);
    lods.set(id, manifest.lods.length);
    const entry = (await reader.locateChunk(BigInt(id)))!;
    const sizes = manifest.lods.map((l) => l.sizes.reduce((a, b) => a + b, 0));
    let at = entry.start - sizes.reduce((a, b) => a + b, 0);
    sizes.forEach((size, lod) => {
      lodRanges.push({ id, lod, file: entry.key, start: at, end: at + size });
      at += size;
    });
  }
  const shards: string[] = [];
  for await (const k of meshes.storage.list("")) if (k.endsWith(".shard")) shards.push(k);
  return { meshed, shards, lods, lodRanges };
}
