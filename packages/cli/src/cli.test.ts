import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { MeshLayer, MultiresMeshLayer } from "@ngpipe/mesh";
import { fromTyped, MissingChunkError, Volume } from "@ngpipe/precomputed";
import { openQueue } from "@ngpipe/queue";
import { detectFormat, voronoiSegmentation } from "@ngpipe/tasks";
import { cliTestbed } from "./capture.testutil";
import { cliMessage, main } from "./program";

const cli = cliTestbed("ngpipe-cli-");
const { ngpipe } = cli;

beforeAll(() => {});

async function segLayer(name: string): Promise<string> {
  const url = `file://${join(cli.tmp, name)}`;
  const labels = voronoiSegmentation([48, 48, 24], { seeds: 12, seed: 4 });
  await Volume.fromArray(url, fromTyped(labels, [48, 48, 24]), {
    type: "segmentation",
    encoding: "compressed_segmentation",
    chunkSize: [16, 16, 8],
    resolution: [8, 8, 40],
  });
  return url;
}

test("a user error exits non-zero with one line naming the problem, and no stack unless --verbose", async () => {
  expect(await ngpipe("info", join(cli.tmp, "missing"))).not.toBe(0);
  expect(cli.err.trim().split("\n")).toHaveLength(1);
  expect(cli.err).toContain("missing/info");
  cli.clear();
  expect(await ngpipe("image", "downsample", join(cli.tmp, "x"), "--factor", "2,2")).not.toBe(0);
  expect(cli.err).toMatch(/--factor must be three numbers/);
  cli.clear();
  expect(await main(["node", "ngpipe", "--verbose", "info", join(cli.tmp, "missing")])).not.toBe(0);
  expect(cli.err).toMatch(/\n\s+at /);
});

test("library hints in error messages become command-line hints", async () => {
  const q = Object.assign(
    new Error("SQS queue jobs does not exist (sqs://jobs); create it, or open with {create: true}"),
    { name: "QueueNotFoundError" },
  );
  expect(cliMessage(q)).toBe(
    "SQS queue jobs does not exist (sqs://jobs); stage commands given --queue create it when they insert tasks",
  );
  const m = new MissingChunkError("1_1_1/0-8_0-8_0-8", "mem://x");
  expect(cliMessage(m)).toMatch(/; pass --fill-missing \(where the command has it\)/);
  const unknown = await detectFormat(join(cli.tmp, "what.xyz")).catch((e) => e);
  expect(cliMessage(unknown)).toMatch(/; pass --format hdf5\|zarr\|npy\|images$/);
  const other = new Error("something else");
  expect(cliMessage(other)).toBe("something else");
});

test("info summarises scales and chunk counts", async () => {
  const url = await segLayer("info");
  expect(await ngpipe("info", url)).toBe(0);
  expect(cli.out).toContain("segmentation");
  expect(cli.out).toMatch(/8_8_40\s+48x48x24/);
  expect(cli.out).toMatch(/compressed_segmentation 8x8x8\s+27/);
});

test("stage commands run locally: downsample, mesh forge and mesh merge", async () => {
  const url = await segLayer("local");
  expect(await ngpipe("image", "downsample", url, "--num-mips", "1", "-p", "2")).toBe(0);
  expect((await Volume.open(url)).mipCount).toBe(2);
  expect(await ngpipe("mesh", "forge", url, "--shape", "24,24,24", "--simplification", "0")).toBe(
    0,
  );
  expect(await ngpipe("mesh", "merge", url)).toBe(0);
  const vol = await Volume.open(url);
  const ids = (await vol.unique(vol.bounds)) as number[];
  const meshes = await MeshLayer.open(url);
  expect(await meshes.manifest(ids[1])).not.toBeNull();
});

test("mesh forge --multires, merge --multires --sharded and convert write multiresolution meshes", async () => {
  const url = await segLayer("multires");
  expect(
    await ngpipe("mesh", "forge", url, "--shape", "24,24,24", "--multires", "--buckets", "4"),
  ).toBe(0);
  const forge = await (await MeshLayer.open(url)).storage.getJson("fragments/manifest.json");
  expect(forge).toMatchObject({ bucketBits: 2 });
  expect(
    await ngpipe("mesh", "merge", url, "--multires", "--sharded", "--cell-shape", "8,8,2"),
  ).toBe(0);
  const vol = await Volume.open(url);
  const ids = ((await vol.unique(vol.bounds)) as number[]).filter((i) => i !== 0);
  const sharded = await MultiresMeshLayer.open(url);
  expect(sharded.info.sharding).toBeDefined();
  expect((await sharded.manifest(ids[0])).lods.length).toBeGreaterThan(1);
  expect((await sharded.get(ids[0])).faces.length).toBeGreaterThan(0);

  const legacy = await segLayer("multires-convert");
  expect(await ngpipe("mesh", "forge", legacy, "--shape", "24,24,24")).toBe(0);
  expect(await ngpipe("mesh", "merge", legacy)).toBe(0);
  expect(await ngpipe("mesh", "convert", legacy, "--dir", "multires", "--bits", "16")).toBe(0);
  const converted = await MultiresMeshLayer.open(legacy);
  expect(converted.url.endsWith("/multires")).toBe(true);
  expect(converted.bits).toBe(16);
  expect((await converted.get(ids[0])).faces.length).toBeGreaterThan(0);
});

test("bad multiresolution options are usage errors", async () => {
  const url = await segLayer("multires-bad");
  expect(await ngpipe("mesh", "merge", url, "--multires", "--bits", "12")).not.toBe(0);
  expect(cli.err).toMatch(/--bits must be 10 or 16, got 12/);
  cli.clear();
  expect(await ngpipe("mesh", "forge", url, "--buckets", "4")).not.toBe(0);
  expect(cli.err).toMatch(/--buckets needs --multires/);
  cli.clear();
  expect(await ngpipe("mesh", "forge", url, "--multires", "--buckets", "6")).not.toBe(0);
  expect(cli.err).toMatch(/buckets must be a power of two from 1 to 65536, got 6/);
  cli.clear();
  expect(await ngpipe("mesh", "merge", url, "--sharded")).not.toBe(0);
  expect(cli.err).toMatch(/--sharded needs --multires/);
  cli.clear();
  expect(await ngpipe("mesh", "convert", url, "--from", "m", "--dir", "m")).not.toBe(0);
  expect(cli.err).toMatch(/--from and --dir must differ/);
});

test("--queue inserts tasks, and execute drains the queue and exits", async () => {
  const url = await segLayer("queued");
  const queue = `fq://${join(cli.tmp, "queue")}`;
  expect(await ngpipe("image", "downsample", url, "--num-mips", "1", "--queue", queue)).toBe(0);
  const inserted = Number(/inserted (\d+) downsample task/.exec(cli.err)?.[1]);
  expect(inserted).toBeGreaterThan(0);
  expect((await (await openQueue(queue)).status()).enqueued).toBe(inserted);
  expect((await Volume.open(url)).withMip(1).info.scales.length).toBe(2);
  expect(await ngpipe("execute", queue, "--exit-when-empty", "--lease-seconds", "30")).toBe(0);
  const s = await (await openQueue(queue)).status();
  expect(s.enqueued + s.leased).toBe(0);
  expect(s.completed).toBe(inserted);
  const m1 = (await Volume.open(url, { mip: 1 })).read(
    new (await import("@ngpipe/precomputed")).Bbox([0, 0, 0], [24, 24, 24]),
  );
  await expect(m1).resolves.toBeDefined();
  expect(await ngpipe("queue", "status", queue)).toBe(0);
  expect(cli.out).toContain(`completed: ${inserted}`);
});

test("pipeline runs stages in order through a queue", async () => {
  const url = await segLayer("pipe");
  const spec = join(cli.tmp, "pipeline.json");
  writeFileSync(
    spec,
    JSON.stringify({
      queue: `fq://${join(cli.tmp, "pipe-queue")}`,
      steps: [
        { stage: "downsample", layer: url, options: { mips: 1 } },
        { stage: "mesh", layer: url, options: { shape: [48, 48, 24], simplification: 0 } },
        { stage: "manifest", layer: url },
      ],
    }),
  );
  expect(await ngpipe("pipeline", spec, "--workers", "2")).toBe(0);
  expect(cli.err).toMatch(/3\. manifest: 1 task/);
  const meshes = await MeshLayer.open(url);
  const vol = await Volume.open(url);
  const ids = (await vol.unique(vol.bounds)) as number[];
  expect((await meshes.get(ids[1])).faces.length).toBeGreaterThan(0);
  expect(await ngpipe("pipeline", spec.replace("pipeline.json", "nope.json"))).not.toBe(0);
  expect(cli.err).toContain("cannot read pipeline spec");
});

test("design prints the memory of a task shape and the shape for a budget", async () => {
  expect(await ngpipe("design", "ds-memory", "1024,1024,64", "--num-mips", "3")).toBe(0);
  expect(cli.out).toContain("89128960 bytes");
  expect(await ngpipe("design", "ds-shape", "3.5e9", "--chunk-size", "128,128,64")).toBe(0);
  expect(cli.out).toContain("4096x4096x64, 5 mip(s)");
});

test("--threads sizes the worker pool for the command", async () => {
  const { poolSize } = await import("@ngpipe/precomputed");
  expect(await ngpipe("--threads", "1", "design", "ds-memory", "64,64,64")).toBe(0);
  expect(poolSize()).toBe(1);
  expect(await ngpipe("--threads", "zero", "design", "ds-memory", "64,64,64")).not.toBe(0);
  expect(cli.err).toContain("--threads must be a whole number");
});
