import { join } from "node:path";
import { fromTyped, Volume } from "@ngpipe/precomputed";
import { evaluateSegmentation, watershed } from "@ngpipe/segmentation";
import { voronoiAffinities, voronoiSegmentation } from "@ngpipe/tasks";
import { cliTestbed } from "./capture.testutil";

const cli = cliTestbed("ngpipe-cli-seg-");
const { ngpipe } = cli;

const SIZE = [48, 40, 16] as const;
const aff = voronoiAffinities(voronoiSegmentation(SIZE, { seeds: 20, seed: 9 }), SIZE);

async function read(url: string): Promise<Uint32Array> {
  const vol = await Volume.open(url);
  return (await vol.read(vol.bounds)).data as Uint32Array;
}

test("ngpipe seg watershed then seg agglomerate, blockwise, from file:// layers", async () => {
  const a = `file://${join(cli.tmp, "aff")}`;
  await Volume.fromArray(a, fromTyped(aff, [...SIZE, 3]), { chunkSize: [8, 8, 8] });
  const ws = `file://${join(cli.tmp, "ws")}`;
  const wsArgs = [
    "--absolute",
    "--low",
    "0.05",
    "--high",
    "0.99",
    "--merge",
    "30:0.3",
    "--dust",
    "10",
  ];
  expect(await ngpipe("seg", "watershed", a, ws, "--shape", "24,24,8", ...wsArgs, "-p", "2")).toBe(
    0,
  );
  expect(cli.err).not.toMatch(/error/i);
  const whole = watershed(aff, SIZE, {
    relative: false,
    low: 0.05,
    high: 0.99,
    merge: [[30, 0.3]],
    dust: 10,
  }).labels;
  const supervoxels = await read(ws);
  expect(evaluateSegmentation(supervoxels, whole).adaptedRandError).toBeLessThanOrEqual(0.01);

  const dest = `file://${join(cli.tmp, "agg")}`;
  expect(await ngpipe("seg", "agglomerate", ws, a, dest, "--threshold", "0.5")).toBe(0);
  const agglomerated = await read(dest);
  expect(new Set(agglomerated).size).toBeLessThan(new Set(supervoxels).size);
});

test("bad options are usage errors naming the option", async () => {
  const a = `file://${join(cli.tmp, "aff")}`;
  expect(
    await ngpipe("seg", "watershed", a, `file://${join(cli.tmp, "x")}`, "--merge", "800"),
  ).toBe(2);
  expect(cli.err).toMatch(/--merge takes size:threshold pairs/);
  expect(await ngpipe("seg", "watershed", a, `file://${join(cli.tmp, "x")}`, "--low", "1.5")).toBe(
    2,
  );
  expect(cli.err).toMatch(/--low must be in \[0, 1\]/);
  expect(await ngpipe("seg", "agglomerate", a, a, `file://${join(cli.tmp, "y")}`)).toBe(2);
  expect(cli.err).toMatch(/--threshold is required/);
});
