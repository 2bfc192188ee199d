/**
 * How the CLI turns what a user types into what the packages read: paths
 * with odd characters, relative sources, dataset options, options checked
 * before anything is written, and exit codes after dead tasks.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromTyped, Volume } from "@ngpipe/precomputed";
import { openQueue } from "@ngpipe/queue";
import { openStorage } from "@ngpipe/storage";
import { toSourcePath, toUrl } from "./args";
import { cliTestbed } from "./capture.testutil";
import { pipelineSteps } from "./commands/pipeline";

const cli = cliTestbed("ngpipe-inputs-");
const { ngpipe } = cli;

beforeAll(() => {});

/** A C-order uint8 .npy of shape (z, y, x) whose voxel (x, y, z) holds x + 2y + 3z. */
function writeNpy(file: string, [x, y, z]: [number, number, number]): Uint8Array {
  const data = new Uint8Array(x * y * z);
  for (let k = 0; k < z; k++)
    for (let j = 0; j < y; j++)
      for (let i = 0; i < x; i++) data[i + x * (j + y * k)] = i + 2 * j + 3 * k;
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${z}, ${y}, ${x}), }`;
  header += `${" ".repeat((64 - ((10 + header.length + 1) % 64)) % 64)}\n`;
  const pre = Buffer.alloc(10);
  pre.write("\x93NUMPY", 0, "latin1");
  pre[6] = 1;
  pre.writeUInt16LE(header.length, 8);
  writeFileSync(file, Buffer.concat([pre, Buffer.from(header, "latin1"), data]));
  return data;
}

describe("paths", () => {
  test("toUrl keeps spaces, %, # and ? as they are, and storage writes to that very path", async () => {
    const dir = join(cli.tmp, "odd name %20 #1 ?x");
    const url = toUrl(dir);
    expect(url).toBe(`file://${dir}`);
    await openStorage(url).put("k", new Uint8Array([1]));
    expect(readdirSync(dir)).toEqual(["k"]);
  });

  test("toUrl and toSourcePath resolve relative paths against the cwd", () => {
    expect(toUrl("a b/layer", "/data/x")).toBe("file:///data/x/a b/layer");
    expect(toUrl("gs://bucket/a b")).toBe("gs://bucket/a b");
    expect(toUrl("precomputed://a b/layer", "/data/x")).toBe("file:///data/x/a b/layer");
    expect(toUrl("precomputed://gs://bucket/seg")).toBe("gs://bucket/seg");
    expect(toSourcePath("raw.h5#/main", "/data/x")).toBe("/data/x/raw.h5#/main");
    expect(toSourcePath("file://vol.zarr", "/data/x")).toBe("/data/x/vol.zarr");
    expect(toSourcePath("s3://b/vol.zarr#/0", "/data/x")).toBe("s3://b/vol.zarr#/0");
  });

  test("toSourcePath leaves the rest of a path with a # as it is", () => {
    expect(toSourcePath("run #2/c.npy", "/data/my x")).toBe("/data/my x/run #2/c.npy");
    expect(toSourcePath("raw.h5#/a/../b", "/data")).toBe("/data/raw.h5#/a/../b");
  });

  test("image create reads a source and writes a layer in directories with spaces, % and #", async () => {
    const src = join(cli.tmp, "my data %41", "c.npy");
    mkdirSync(join(cli.tmp, "my data %41"), { recursive: true });
    const data = writeNpy(src, [20, 12, 6]);
    const layer = join(cli.tmp, "out dir #1", "layer 2");
    expect(await ngpipe("image", "create", src, layer, "--chunk-size", "8,8,4")).toBe(0);
    expect(existsSync(join(layer, "info"))).toBe(true);
    expect(existsSync(join(cli.tmp, "out%20dir%20%231"))).toBe(false);
    const vol = await Volume.open(`file://${layer}`);
    const a = await vol.read(vol.bounds);
    expect(Array.from(a.data as Uint8Array)).toEqual(Array.from(data));
  });

  test("image create --format npy reads a source in a directory with a #", async () => {
    mkdirSync(join(cli.tmp, "run #2"), { recursive: true });
    const data = writeNpy(join(cli.tmp, "run #2", "c.npy"), [8, 8, 4]);
    const layer = join(cli.tmp, "from-hash");
    const args = ["image", "create", join(cli.tmp, "run #2", "c.npy"), layer, "--format", "npy"];
    expect(await ngpipe(...args, "--chunk-size", "8,8,4")).toBe(0);
    const vol = await Volume.open(toUrl(layer));
    expect(Array.from((await vol.read(vol.bounds)).data as Uint8Array)).toEqual(Array.from(data));
  });
});

test("a pipeline's relative ingest source is made absolute against the cwd of the command", async () => {
  const dir = join(cli.tmp, "pipe-rel");
  mkdirSync(join(dir, "src"), { recursive: true });
  writeNpy(join(dir, "src", "c.npy"), [16, 16, 4]);
  const cwd = process.cwd();
  process.chdir(dir);
  let payload: { params: { source: unknown } };
  try {
    const [step] = pipelineSteps({
      steps: [
        { stage: "ingest", source: "src/c.npy", layer: "img", options: { chunkSize: [8, 8, 4] } },
      ],
    });
    const tasks = (await step.tasks()) as Iterable<{ params: { source: unknown } }>;
    payload = [...tasks][0];
  } finally {
    process.chdir(cwd);
  }
  const source = payload.params.source;
  expect(typeof source === "string" ? source : (source as { url: string }).url).toBe(
    join(dir, "src", "c.npy"),
  );
  expect(existsSync(join(dir, "img", "info"))).toBe(true);
});

test("image create --dataset picks the array inside a Zarr group", async () => {
  const root = join(cli.tmp, "g.zarr");
  mkdirSync(join(root, "sub"), { recursive: true });
  writeFileSync(join(root, ".zgroup"), JSON.stringify({ zarr_format: 2 }));
  writeFileSync(
    join(root, "sub", ".zarray"),
    JSON.stringify({
      zarr_format: 2,
      shape: [4, 6, 8],
      chunks: [4, 6, 8],
      dtype: "|u1",
      compressor: null,
      fill_value: 0,
      order: "C",
      filters: null,
    }),
  );
  const bytes = new Uint8Array(4 * 6 * 8).map((_, i) => i);
  writeFileSync(join(root, "sub", "0.0.0"), bytes);
  const layer = join(cli.tmp, "zarr-layer");
  expect(
    await ngpipe("image", "create", root, layer, "--dataset", "sub", "--chunk-size", "8,6,4"),
  ).toBe(0);
  const vol = await Volume.open(toUrl(layer));
  expect(vol.scale.size).toEqual([8, 6, 4]);
  expect(Array.from((await vol.read(vol.bounds)).data as Uint8Array)).toEqual(Array.from(bytes));
});

describe("options are checked before anything is written", () => {
  const src = () => {
    const file = join(cli.tmp, "check.npy");
    if (!existsSync(file)) writeNpy(file, [8, 8, 4]);
    return file;
  };

  test.each([
    [["-p", "0"], /--parallel must be a whole number ≥ 1/],
    [["--compress-level", "20"], /--compress-level must be a whole number from 1 to 9/],
    [["--chunk-size", "0,8,8"], /--chunk-size must be three whole numbers ≥ 1/],
    [["--task-shape", "12,8,8", "--chunk-size", "8,8,8"], /--task-shape 12,8,8 must be a multiple/],
    [["--layer-type", "labels"], /--layer-type must be image or segmentation/],
    [["--encoding", "lz4"], /--encoding: unknown chunk encoding "lz4"/],
    [
      ["--format", "tiff"],
      /--format must be one of hdf5, zarr, npy, images, bigarray, hypersquare; got "tiff"/,
    ],
  ])("image create %j: one-line UsageError, no layer", async (args, message) => {
    const layer = join(cli.tmp, `bad-${args.join("")}`);
    expect(await ngpipe("image", "create", src(), layer, ...(args as string[]))).toBe(2);
    expect(cli.err).toMatch(/^ngpipe: UsageError: /);
    expect(cli.err).toMatch(message);
    expect(cli.err.trim().split("\n")).toHaveLength(1);
    expect(existsSync(layer)).toBe(false);
  });

  test("image downsample -p 0 leaves the layer's info as it was", async () => {
    const url = toUrl(join(cli.tmp, "ds-layer"));
    await Volume.fromArray(url, fromTyped(new Uint8Array(16 * 16 * 8), [16, 16, 8]), {
      type: "image",
      chunkSize: [8, 8, 8],
    });
    expect(await ngpipe("image", "downsample", url, "--num-mips", "1", "-p", "0")).toBe(2);
    expect(cli.err).toMatch(/^ngpipe: UsageError: --parallel must be a whole number ≥ 1/);
    expect((await Volume.open(url)).mipCount).toBe(1);
  });

  test("design ds-memory --dtype foo names the data types", async () => {
    expect(await ngpipe("design", "ds-memory", "64,64,64", "--dtype", "foo")).toBe(2);
    expect(cli.err).toMatch(
      /^ngpipe: UsageError: --dtype must be one of uint8, .*float64; got "foo"\n$/,
    );
  });

  test("view --port abc is a UsageError", async () => {
    expect(await ngpipe("view", cli.tmp, "--port", "abc")).toBe(2);
    expect(cli.err).toBe(
      'ngpipe: UsageError: --port must be a whole number from 0 to 65535; got "abc"\n',
    );
  });

  test("mesh forge and mesh merge of an image layer are refused, leaving the layer as it was", async () => {
    const url = toUrl(join(cli.tmp, "image-layer"));
    await Volume.fromArray(url, fromTyped(new Uint8Array(16 * 16 * 8), [16, 16, 8]), {
      type: "image",
      chunkSize: [8, 8, 8],
    });
    const before = readdirSync(join(cli.tmp, "image-layer")).sort();
    for (const cmd of ["forge", "merge"]) {
      cli.clear();
      expect(await ngpipe("mesh", cmd, url)).toBe(2);
      expect(cli.err).toMatch(
        /^ngpipe: UsageError: .*image-layer is an image layer; meshes are made/,
      );
    }
    expect(readdirSync(join(cli.tmp, "image-layer")).sort()).toEqual(before);
  });

  test("mesh forge --simplification abc is a UsageError", async () => {
    expect(await ngpipe("mesh", "forge", join(cli.tmp, "x"), "--simplification", "abc")).toBe(2);
    expect(cli.err).toMatch(/UsageError: --simplification must be a number ≥ 0; got "abc"/);
  });
});

describe("exit codes after dead tasks", () => {
  test("execute --exit-when-empty and queue wait exit 1 naming the dead tasks and where they are", async () => {
    const dir = join(cli.tmp, "dead-queue");
    const queue = `fq://${dir}`;
    await (await openQueue(queue, { create: true })).insert([
      { name: "no-such-task", params: {} },
      { name: "no-such-task", params: { n: 2 } },
    ]);
    expect(await ngpipe("execute", queue, "--exit-when-empty", "--max-attempts", "1")).toBe(1);
    expect(cli.err).toContain(
      `ngpipe: DeadTasksError: 2 task(s) failed for good during this run; they are in ${dir}/dead/ (list them with: ngpipe queue dead ${queue}; retry with: ngpipe queue redrive ${queue})\n`,
    );
    cli.clear();
    expect(await ngpipe("queue", "wait", queue, "--interval", "0.01")).toBe(1);
    expect(cli.err).toBe(
      `ngpipe: DeadTasksError: 2 task(s) of ${queue} failed for good; they are in ${dir}/dead/ (list them with: ngpipe queue dead ${queue}; retry with: ngpipe queue redrive ${queue})\n`,
    );
  });

  test("queue wait exits 0 on a drained queue without dead tasks", async () => {
    const queue = `fq://${join(cli.tmp, "good-queue")}`;
    await openQueue(queue, { create: true });
    expect(await ngpipe("queue", "wait", queue, "--interval", "0.01")).toBe(0);
    expect(cli.err).toBe("");
  });
});
