import { existsSync } from "node:fs";
import { join } from "node:path";
import { Bbox, Volume, zeros } from "@ngpipe/precomputed";
import { parseCompress } from "./args";
import { cliTestbed } from "./capture.testutil";
import { parseBackground } from "./commands/stages";
import { UsageError } from "./errors";

const cli = cliTestbed("ngpipe-stage-options-");
const { ngpipe } = cli;

beforeAll(() => {});

let n = 0;
/** A 32x32x16 uint8 image in 16x16x8 chunks: all 5 from z = 8 on, x + y below. */
async function imageLayer(): Promise<string> {
  const a = zeros("uint8", [32, 32, 16]);
  for (let z = 0; z < 16; z++)
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) a.set(x, y, z, 0, z >= 8 ? 5 : x + y);
  const url = `file://${join(cli.tmp, `src${n++}`)}`;
  await Volume.fromArray(url, a, { chunkSize: [16, 16, 8], resolution: [4, 4, 40] });
  return url;
}
const destUrl = () => `file://${join(cli.tmp, `dest${n++}`)}`;

test("ngpipe info takes a layer URL with Neuroglancer's precomputed:// prefix", async () => {
  const url = await imageLayer();
  expect(await ngpipe("info", `precomputed://${url}`)).toBe(0);
  expect(cli.out).toMatch(/4_4_40\s+32x32x16/);
});

describe("image xfer", () => {
  test("--num-mips, --factor and --method shape the downsamples made at the destination", async () => {
    const src = await imageLayer();
    const dest = destUrl();
    const args = ["--num-mips", "1", "--factor", "2,2,2", "--method", "max"];
    expect(await ngpipe("image", "xfer", src, dest, ...args)).toBe(0);
    const m1 = await Volume.open(dest, { mip: 1 });
    expect(m1.resolution).toEqual([8, 8, 80]);
    // max of x + y over the 2x2x2 block at mip-1 voxel (3, 2, 0): x = 7, y = 5.
    expect((await m1.read(new Bbox([3, 2, 0], [4, 3, 1]))).get(0, 0, 0, 0)).toBe(12);
  });

  test("makes no downsamples without --num-mips, and refuses downsample options then", async () => {
    const src = await imageLayer();
    const dest = destUrl();
    expect(await ngpipe("image", "xfer", src, dest)).toBe(0);
    expect((await Volume.open(dest)).mipCount).toBe(1);
    const other = destUrl();
    expect(await ngpipe("image", "xfer", src, other, "--method", "max")).not.toBe(0);
    expect(cli.err).toMatch(/--method shapes the downsamples.*--num-mips/);
    expect(existsSync(other.slice("file://".length))).toBe(false);
  });

  test("--compress sets the transport compression of the chunks written", async () => {
    const src = await imageLayer();
    for (const [how, stored] of [
      ["br", "br"],
      ["none", undefined],
    ] as const) {
      const dest = destUrl();
      expect(await ngpipe("image", "xfer", src, dest, "--compress", how)).toBe(0);
      const vol = await Volume.open(dest);
      const got = await vol.storage.getRaw(`${vol.scale.key}/0-16_0-16_0-8`);
      expect(got?.info.contentEncoding).toBe(stored);
    }
  });

  test("--skip-background --background <v> leaves cli.out chunks that are all v", async () => {
    const src = await imageLayer();
    const dest = destUrl();
    const args = ["--skip-background", "--background", "5"];
    expect(await ngpipe("image", "xfer", src, dest, ...args)).toBe(0);
    const present = await (await Volume.open(dest)).exists(new Bbox([0, 0, 0], [32, 32, 16]));
    expect(present.get("16-32_16-32_8-16")).toBe(false);
    expect(present.get("0-16_0-16_0-8")).toBe(true);
  });

  test("--memory sets the memory target, and so the task shape", async () => {
    const src = await imageLayer();
    expect(await ngpipe("image", "xfer", src, destUrl())).toBe(0);
    expect(cli.err).toMatch(/ran 2 transfer task/);
    cli.clear();
    expect(await ngpipe("image", "xfer", src, destUrl(), "--memory", "3000")).toBe(0);
    expect(cli.err).toMatch(/ran 8 transfer task/);
  });

  test("--sparse is accepted with --num-mips (mode of nonzero voxels)", async () => {
    const src = await imageLayer();
    const dest = destUrl();
    const args = ["--num-mips", "1", "--method", "mode", "--sparse"];
    expect(await ngpipe("image", "xfer", src, dest, ...args)).toBe(0);
    expect((await Volume.open(dest)).mipCount).toBe(2);
  });

  for (const [args, message] of [
    [["--compress", "zstd"], /--compress must be one of gzip, br, none; got "zstd"/],
    [["--memory", "lots"], /bad byte count "lots"/],
    [["--memory", "0"], /--memory must be more than 0 bytes/],
    [["--num-mips", "1", "--factor", "2,2"], /--factor must be three numbers/],
    [["--num-mips", "1", "--method", "median"], /--method must be one of/],
    [["--skip-background", "--background", "300"], /from 0 to 255 for a uint8 layer; got "300"/],
    [["--background", "3"], /give --skip-background too/],
  ] as const) {
    test(`${args.join(" ")} is a usage error and writes nothing`, async () => {
      const src = await imageLayer();
      const dest = destUrl();
      const code = await ngpipe("image", "xfer", src, dest, ...args);
      expect(code).not.toBe(0);
      expect(cli.err).toMatch(message);
      expect(existsSync(dest.slice("file://".length))).toBe(false);
    });
  }
});

describe("image downsample", () => {
  test("--compress, --skip-background and --background reach the new scale", async () => {
    const url = await imageLayer();
    const args = ["--num-mips", "1", "--factor", "2,2,1", "--compress", "br"];
    expect(
      await ngpipe("image", "downsample", url, ...args, "--skip-background", "--background", "5"),
    ).toBe(0);
    const m1 = await Volume.open(url, { mip: 1 });
    const got = await m1.storage.getRaw(`${m1.scale.key}/0-16_0-16_0-8`);
    expect(got?.info.contentEncoding).toBe("br");
    expect((await m1.exists(m1.bounds)).get("0-16_0-16_8-16")).toBe(false);
  });

  test("a bad --compress or --background is a usage error before any scale is added", async () => {
    const url = await imageLayer();
    expect(await ngpipe("image", "downsample", url, "--compress", "lz4")).not.toBe(0);
    expect(cli.err).toMatch(/--compress must be one of/);
    expect(
      await ngpipe("image", "downsample", url, "--skip-background", "--background", "-1"),
    ).not.toBe(0);
    expect(cli.err).toMatch(/--background must be a whole number from 0 to 255/);
    expect((await Volume.open(url)).mipCount).toBe(1);
  });
});

test("parseBackground keeps uint64 values beyond 2^53 exact, and takes fractions for floats", () => {
  expect(parseBackground("18446744073709551615", "uint64")).toBe("18446744073709551615");
  expect(parseBackground("7", "uint64")).toBe(7);
  expect(parseBackground("-0.5", "float32")).toBe(-0.5);
  expect(() => parseBackground("1.5", "uint16")).toThrow(UsageError);
  expect(() => parseBackground("18446744073709551616", "uint64")).toThrow(UsageError);
  expect(parseCompress(undefined)).toBeUndefined();
});
