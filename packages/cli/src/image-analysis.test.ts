import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromTyped, Volume } from "@ngpipe/precomputed";
import { readLuminanceLevels } from "@ngpipe/tasks";
import {
  type ArrayMeta,
  imageCases,
  loadArray,
} from "../../precomputed/src/image/fixtures.testutil";
import { cliTestbed } from "./capture.testutil";

const cli = cliTestbed("ngpipe-cli-image-analysis-");
const { ngpipe } = cli;

const fixture = imageCases[0];
const bytes = (m: ArrayMeta) => loadArray(Uint8Array, m);
const SHAPE = fixture.input.shape as [number, number, number];
const CLIP = fixture.clips.find((k) => k.clip[0] === 0.05 && k.clip[1] === 0.2);

async function stack(name: string): Promise<string> {
  const url = `file://${join(cli.tmp, name)}`;
  await Volume.fromArray(url, fromTyped(bytes(fixture.input), SHAPE), { chunkSize: [16, 16, 4] });
  return url;
}

test("ngpipe image histogram then image contrast give the numpy reference", async () => {
  const src = await stack("cli-src");
  expect(
    await ngpipe("image", "histogram", src, "--coverage", "1", "--patch-size", "16,16", "-p", "2"),
  ).toBe(0);
  const all = await readLuminanceLevels(src);
  expect(all.num_slices).toBe(SHAPE[2]);
  expect(all.coverage_ratio).toBe(1);
  const dest = `file://${join(cli.tmp, "cli-dest")}`;
  expect(
    await ngpipe("image", "contrast", src, dest, "--clip-fraction", "0.05,0.2", "--num-mips", "1"),
  ).toBe(0);
  expect(cli.err).not.toMatch(/error/i);
  const vol = await Volume.open(dest);
  expect(vol.mipCount).toBe(2);
  const got = (await vol.read(vol.bounds)).data as Uint8Array;
  expect(Buffer.from(got).equals(Buffer.from(bytes(CLIP?.output as ArrayMeta)))).toBe(true);
});

test("both stages run through ngpipe pipeline, histogram first", async () => {
  const src = await stack("pipe-src");
  const dest = join(cli.tmp, "pipe-dest");
  const spec = join(cli.tmp, "spec.json");
  writeFileSync(
    spec,
    JSON.stringify({
      queue: `fq://${join(cli.tmp, "queue")}`,
      steps: [
        { stage: "histogram", layer: src, options: { coverage: 1, patchSize: [16, 16] } },
        { stage: "contrast", src, dest, options: { clipFraction: [0.05, 0.2], mips: 0 } },
      ],
    }),
  );
  expect(await ngpipe("pipeline", spec, "--workers", "2")).toBe(0);
  expect(cli.err).toMatch(/histogram: histogram layer/);
  const vol = await Volume.open(`file://${dest}`);
  const got = (await vol.read(vol.bounds)).data as Uint8Array;
  expect(Buffer.from(got).equals(Buffer.from(bytes(CLIP?.output as ArrayMeta)))).toBe(true);
});

test("bad options are usage errors (exit 2) naming the option", async () => {
  const src = await stack("bad-src");
  const dest = `file://${join(cli.tmp, "bad-dest")}`;
  expect(await ngpipe("image", "contrast", src, dest, "--clip-fraction", "0.7,0.5")).toBe(2);
  expect(cli.err).toMatch(/--clip-fraction/);
  expect(await ngpipe("image", "histogram", src, "--coverage", "0")).toBe(2);
  expect(cli.err).toMatch(/--coverage must lie in \(0, 1\]/);
  expect(await ngpipe("image", "histogram", src, "--patch-size", "16")).toBe(2);
  expect(cli.err).toMatch(/--patch-size takes x,y/);
  // Contrast before any histogram: the stage's own error, before anything is written.
  expect(await ngpipe("image", "contrast", src, dest)).not.toBe(0);
  expect(cli.err).toMatch(/run the histogram stage/);
});
