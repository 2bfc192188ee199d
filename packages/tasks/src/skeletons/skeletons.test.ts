import {
  closePool,
  type EncodedSkeleton,
  fromTyped,
  SkeletonLayer,
  shardingSpec,
  shardNumberFor,
  splitU64,
  Volume,
} from "@ngpipe/precomputed";
import { skeletonStats } from "@ngpipe/segmentation";
import { treeCount } from "../../../segmentation/src/skeleton/forest.testutil";
import { StageInputError } from "../stages/checks";
import { LayerMismatchError } from "../stages/common";
import { runAll, snapshotStorage, tempDir } from "../stages/testing";
import { createSkeletonTasks } from "./forge";
import { bucketOf, SkeletonFragmentsError } from "./fragments";
import { createSkeletonMergeTasks, SkeletonShardingError } from "./merge";

afterAll(() => closePool());

const SHAPE: [number, number, number] = [60, 30, 24];
const RES: [number, number, number] = [4, 4, 8];

/** Distance (nm) from voxel (x, y, z) to the segment from voxel a to voxel b. */
function toSegment(x: number, y: number, z: number, a: number[], b: number[]): number {
  const p = [x, y, z].map((v, i) => v * RES[i]);
  const u = a.map((v, i) => v * RES[i]);
  const d = b.map((v, i) => v * RES[i] - u[i]);
  const t = Math.max(
    0,
    Math.min(
      1,
      d.reduce((s, di, i) => s + di * (p[i] - u[i]), 0) / d.reduce((s, di) => s + di * di, 0),
    ),
  );
  return Math.hypot(...p.map((v, i) => v - u[i] - t * d[i]));
}

/**
 * Object 1: a tube along x through the whole volume. Object 2: a T of
 * capsules (round ends, so each end has one farthest point), a bar along x
 * with a stem along y, crossing the x block faces at 20 and 40.
 */
function labels(): Uint32Array {
  const [sx, sy, sz] = SHAPE;
  const out = new Uint32Array(sx * sy * sz);
  for (let z = 0; z < sz; z++)
    for (let y = 0; y < sy; y++)
      for (let x = 0; x < sx; x++) {
        const i = x + sx * (y + sy * z);
        if ((y - 7) ** 2 + ((z - 6) * 2) ** 2 <= 16) out[i] = 1;
        else if (
          toSegment(x, y, z, [8, 22, 16], [52, 22, 16]) <= 13 ||
          toSegment(x, y, z, [30, 22, 16], [30, 13, 16]) <= 13
        )
          out[i] = 2;
      }
  return out;
}

const FORGE = { teasar: { scale: 1.5, const: 8 }, dust: 0 };
const MERGE = { dustThreshold: 0, tickThreshold: 12 };

async function layer(url: string): Promise<Uint32Array> {
  const l = labels();
  await Volume.fromArray(url, fromTyped(l.slice(), SHAPE), {
    encoding: "raw",
    chunkSize: [20, 30, 24],
    resolution: RES,
  });
  return l;
}

async function forgeAndMerge(
  url: string,
  dir: string,
  shape: [number, number, number],
  sharded = false,
): Promise<SkeletonLayer> {
  await runAll(await createSkeletonTasks(url, { ...FORGE, shape, skeletonDir: dir }));
  await runAll(await createSkeletonMergeTasks(url, { ...MERGE, skeletonDir: dir, sharded }));
  return SkeletonLayer.open(`${url}/${dir}`);
}

/**
 * Largest distance from a vertex of `a` to the nearest vertex of `b`, in
 * voxels along the worst axis (1: a 26-neighbour).
 */
function farthest(a: EncodedSkeleton, b: EncodedSkeleton): number {
  let worst = 0;
  for (let i = 0; i < a.vertices.length; i += 3) {
    let best = Infinity;
    for (let j = 0; j < b.vertices.length; j += 3) {
      const d = Math.max(
        ...[0, 1, 2].map((k) => Math.abs(a.vertices[i + k] - b.vertices[j + k]) / RES[k]),
      );
      if (d < best) best = d;
    }
    worst = Math.max(worst, best);
  }
  return worst;
}

function expectInsideAndCovered(l: Uint32Array, id: number, s: EncodedSkeleton): void {
  const [sx, sy, sz] = SHAPE;
  const radius = s.attributes?.radius as Float32Array;
  const n = s.vertices.length / 3;
  const vox: number[][] = [];
  for (let v = 0; v < n; v++) {
    const p = [0, 1, 2].map((a) => Math.round(s.vertices[3 * v + a] / RES[a]));
    expect(l[p[0] + sx * (p[1] + sy * p[2])]).toBe(id);
    vox.push(p);
  }
  let uncovered = 0;
  for (let z = 0; z < sz; z++)
    for (let y = 0; y < sy; y++)
      for (let x = 0; x < sx; x++) {
        if (l[x + sx * (y + sy * z)] !== id) continue;
        const covered = vox.some(
          (p, v) =>
            Math.hypot((x - p[0]) * RES[0], (y - p[1]) * RES[1], (z - p[2]) * RES[2]) <=
            FORGE.teasar.scale * radius[v] + FORGE.teasar.const,
        );
        if (!covered) uncovered++;
      }
  expect(uncovered).toBe(0);
}

test("skeletons merged from three blocks match the single-block skeletons: same topology, vertices within one voxel", async () => {
  const url = "mem://skel-stage/match";
  const l = await layer(url);
  const whole = await forgeAndMerge(url, "whole", [60, 30, 24]);
  const blocks = await forgeAndMerge(url, "blocks", [20, 30, 24]);
  for (const id of [1, 2]) {
    const a = (await whole.get(id)) as EncodedSkeleton;
    const b = (await blocks.get(id)) as EncodedSkeleton;
    expect(treeCount(a)).toBe(1);
    expect(treeCount(b)).toBe(1);
    const sa = skeletonStats(a);
    const sb = skeletonStats(b);
    expect({ id, branch: sb.branchPoints, end: sb.endPoints }).toEqual({
      id,
      branch: sa.branchPoints,
      end: sa.endPoints,
    });
    expect(farthest(a, b)).toBeLessThanOrEqual(1);
    expect(farthest(b, a)).toBeLessThanOrEqual(1);
    expectInsideAndCovered(l, id, b);
  }
  // The T has one branch point and three ends; the tube none and two.
  expect(skeletonStats((await blocks.get(2)) as EncodedSkeleton)).toMatchObject({
    branchPoints: 1,
    endPoints: 3,
  });
  expect(skeletonStats((await blocks.get(1)) as EncodedSkeleton)).toMatchObject({
    branchPoints: 0,
    endPoints: 2,
  });
  const vol = await Volume.open(url);
  expect(vol.info.skeletons).toBe("blocks");
  expect(blocks.info.vertex_attributes).toEqual([
    { id: "radius", data_type: "float32", num_components: 1 },
  ]);
});

test("sharded skeletons hold the same skeletons as unsharded ones, in shard files", async () => {
  const url = "mem://skel-stage/sharded";
  await layer(url);
  const plain = await forgeAndMerge(url, "plain", [20, 30, 24]);
  const sharded = await forgeAndMerge(url, "sharded", [20, 30, 24], true);
  expect(sharded.sharded).toBe(true);
  expect(plain.sharded).toBe(false);
  for (const id of [1, 2]) expect(await sharded.get(id)).toEqual(await plain.get(id));
  const keys: string[] = [];
  for await (const k of sharded.storage.list("")) keys.push(k);
  expect(keys.filter((k) => k.endsWith(".shard")).length).toBeGreaterThan(0);
  expect(keys).not.toContain("1");
});

test("a sharded merge with more shards than buckets spreads the objects over shard files", async () => {
  const url = "mem://skel-stage/shards";
  await layer(url);
  await runAll(
    await createSkeletonTasks(url, { ...FORGE, shape: [20, 30, 24], skeletonDir: "s", buckets: 8 }),
  );
  const spec = shardingSpec({ shard_bits: 2, minishard_bits: 1, hash: "murmurhash3_x86_128" });
  const tasks = await createSkeletonMergeTasks(url, { ...MERGE, skeletonDir: "s", sharding: spec });
  expect(tasks.count).toBe(4);
  await runAll(tasks);
  const layer2 = await SkeletonLayer.open(`${url}/s`);
  expect(layer2.info.sharding).toEqual(spec);
  const [one, two] = await layer2.getMany([1, 2]);
  expect(treeCount(one as EncodedSkeleton)).toBe(1);
  expect(treeCount(two as EncodedSkeleton)).toBe(1);
});

test("forge and merge rerun write the same bytes", async () => {
  const tmp = tempDir();
  try {
    const url = tmp.url("seg");
    await layer(url);
    await forgeAndMerge(url, "skeletons", [20, 30, 24], true);
    const first = await snapshotStorage(url);
    await forgeAndMerge(url, "skeletons", [20, 30, 24], true);
    expect(await snapshotStorage(url)).toEqual(first);
  } finally {
    tmp.cleanup();
  }
});

describe("bad input", () => {
  test("an image layer is refused with LayerMismatchError", async () => {
    const url = "mem://skel-stage/image";
    await Volume.fromArray(url, fromTyped(new Uint8Array(8 * 8 * 8), [8, 8, 8]), {
      resolution: [1, 1, 1],
    });
    await expect(createSkeletonTasks(url)).rejects.toThrow(LayerMismatchError);
    await expect(createSkeletonMergeTasks(url)).rejects.toThrow(LayerMismatchError);
  });

  test("anisotropy that is not the layer's resolution is refused, naming both", async () => {
    const url = "mem://skel-stage/aniso";
    await layer(url);
    const err = await createSkeletonTasks(url, { anisotropy: [4, 4, 40] }).catch((e) => e);
    expect(err).toBeInstanceOf(StageInputError);
    expect(err.field).toBe("anisotropy");
    expect(err.message).toMatch(/\[4,4,40\].*\[4,4,8\]/);
  });

  test("a sharding spec the forge's buckets cannot feed is refused before anything is written", async () => {
    const url = "mem://skel-stage/spec";
    await layer(url);
    await runAll(await createSkeletonTasks(url, { ...FORGE, shape: [20, 30, 24], buckets: 2 }));
    const spec = shardingSpec({ shard_bits: 3, minishard_bits: 0, hash: "murmurhash3_x86_128" });
    const err = await createSkeletonMergeTasks(url, { sharding: spec }).catch((e) => e);
    expect(err).toBeInstanceOf(SkeletonShardingError);
    expect(err.field).toBe("sharding.shard_bits");
    const identity = shardingSpec({ shard_bits: 0, minishard_bits: 0, hash: "identity" });
    await expect(createSkeletonMergeTasks(url, { sharding: identity })).rejects.toThrow(
      /murmurhash3_x86_128/,
    );
    // Fragments too large for the memory target in one shard of two buckets.
    await expect(createSkeletonMergeTasks(url, { sharded: true, memory: 10 })).rejects.toThrow(
      SkeletonShardingError,
    );
    expect(await (await Volume.open(url)).info.skeletons).toBeUndefined();
  });

  test("a merge before the forge, or with a block unfinished, names what is missing", async () => {
    const url = "mem://skel-stage/early";
    await layer(url);
    await expect(createSkeletonMergeTasks(url)).rejects.toThrow(SkeletonFragmentsError);
    const tasks = [...(await createSkeletonTasks(url, { ...FORGE, shape: [20, 30, 24] }))];
    await runAll(tasks.slice(0, 2));
    await expect(createSkeletonMergeTasks(url)).rejects.toThrow(/40-60_0-30_0-24/);
  });
});

test("an id's shard is a function of its bucket, as the merge's task groups assume", () => {
  const spec = shardingSpec({ shard_bits: 3, minishard_bits: 2, hash: "murmurhash3_x86_128" });
  for (let k = 0; k < 2000; k++) {
    const id = BigInt(k) * 2654435761n + (BigInt(k % 7) << 40n);
    const [lo, hi] = splitU64(id);
    const bucket = bucketOf(lo, hi, 6);
    expect(shardNumberFor(id, spec)).toBe(Math.floor(bucket / 4) & 7);
  }
});
