import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromTyped, Volume } from "@ngpipe/precomputed";
import { connectedComponents } from "@ngpipe/segmentation";
import { voronoiSegmentation } from "@ngpipe/tasks";
import { cliTestbed } from "./capture.testutil";

const cli = cliTestbed("ngpipe-cli-labels-");
const { ngpipe } = cli;

const SIZE = [48, 40, 20] as const;

async function seg(name: string): Promise<{ url: string; labels: Uint32Array }> {
  const labels = voronoiSegmentation(SIZE, { seeds: 30, seed: 4 });
  // Split one id in two places so components and ids differ.
  labels.fill(7, 0, 200);
  const url = `file://${join(cli.tmp, name)}`;
  await Volume.fromArray(url, fromTyped(labels, SIZE), { chunkSize: [16, 8, 10] });
  return { url, labels };
}

test("ngpipe image ccl equals connectedComponents on the whole layer", async () => {
  const { url, labels } = await seg("ccl-src");
  const dest = `file://${join(cli.tmp, "ccl-dest")}`;
  const code = await ngpipe(
    "image",
    "ccl",
    url,
    dest,
    "--connectivity",
    "18",
    "--shape",
    "16,16,10",
    "-p",
    "2",
  );
  expect(cli.err).not.toMatch(/error/i);
  expect(code).toBe(0);
  const vol = await Volume.open(dest);
  const got = (await vol.read(vol.bounds)).data as Uint32Array;
  expect(
    Buffer.from(got.buffer).equals(
      Buffer.from(connectedComponents(labels, SIZE, { connectivity: 18 }).labels.buffer),
    ),
  ).toBe(true);
});

test("the ccl stage runs through ngpipe pipeline, one phase after another", async () => {
  const { url, labels } = await seg("pipe-src");
  const dest = join(cli.tmp, "pipe-dest");
  const spec = join(cli.tmp, "spec.json");
  writeFileSync(
    spec,
    JSON.stringify({
      queue: `fq://${join(cli.tmp, "queue")}`,
      steps: [
        { stage: "ccl", src: url, dest, options: { connectivity: 6, shape: [16, 8, 10], mips: 1 } },
      ],
    }),
  );
  expect(await ngpipe("pipeline", spec, "--workers", "2")).toBe(0);
  expect(cli.err).toMatch(/1\. ccl: ccl reduce level 0/);
  const vol = await Volume.open(`file://${dest}`);
  expect(vol.mipCount).toBe(2);
  const got = (await vol.read(vol.bounds)).data as Uint32Array;
  expect(
    Buffer.from(got.buffer).equals(
      Buffer.from(connectedComponents(labels, SIZE, { connectivity: 6 }).labels.buffer),
    ),
  ).toBe(true);
});

test("a bad --connectivity is a usage error (exit 2) before anything is written", async () => {
  const { url } = await seg("bad-src");
  expect(
    await ngpipe("image", "ccl", url, `file://${join(cli.tmp, "bad-dest")}`, "--connectivity", "8"),
  ).toBe(2);
  expect(cli.err).toMatch(/--connectivity must be 6, 18 or 26/);
});
