/**
 * End to end: a compresso segmentation layer written by ngpipe (uint64 ids
 * above 2^40, two mips) with segment properties (labels, tags, voxel
 * counts) opens in the real Neuroglancer viewer: every visible chunk
 * decodes without an error, and the segment list shows the labels.
 *
 * The bundle is @janelia-flyem/neuroglancer's, which decodes compresso but
 * not crackle, so crackle is not rendered here (its decoder is checked
 * against the reference's files in packages/precomputed).
 *
 * Skipped (with the reason printed) when chromium or the viewer bundle is
 * missing; under CI=true that is a failure instead.
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findLayers, neuroglancerState, startViewServer, type ViewServer } from "@ngpipe/cli";
import {
  downsampleMode,
  fromTyped,
  segmentPropertiesFromCsv,
  Volume,
  withNumberProperty,
  writeSegmentProperties,
} from "@ngpipe/precomputed";
import { voronoiSegmentation } from "@ngpipe/tasks";
import { type Browser, chromium } from "playwright-core";
import { REPO, viewerEnvironment } from "./bundle";
import { CHROMIUM_ARGS, closeSession, type LayerProbe, probeLayers, recordRequests } from "./page";

const SHAPE: [number, number, number] = [128, 128, 32];
const CHUNK: [number, number, number] = [64, 64, 16];
const SETTLE_TIMEOUT_MS = 60_000;
const QUIET_MS = 1_500;
const SCREENSHOT = join(REPO, ".tmp", "e2e", "compresso.png");
/** Ids are Voronoi cells 1..12 plus this, so every one needs the high word. */
const OFFSET = 2n ** 40n;

const { chromium: chromiumPath, viewerDir, missing, e2e } = viewerEnvironment("compresso");

/** Writes `dir/labels`: compresso, two mips, with segment properties. Returns each id's text in the segment list. */
async function writeLayer(dir: string): Promise<Map<string, string>> {
  const cells = voronoiSegmentation(SHAPE, { seeds: 12, seed: 3 });
  const ids = new BigUint64Array(cells.length);
  for (let i = 0; i < cells.length; i++) ids[i] = cells[i] === 0 ? 0n : OFFSET + BigInt(cells[i]);
  const vol = await Volume.fromArray(`file://${dir}/labels`, fromTyped(ids, SHAPE), {
    chunkSize: CHUNK,
    resolution: [8, 8, 8],
    type: "segmentation",
    encoding: "compresso",
    workers: false,
  });
  vol.addScale([2, 2, 1], { chunkSize: CHUNK });
  await vol.commitInfo();
  const mip1 = vol.withMip(1);
  const level = downsampleMode(ids, SHAPE, [2, 2, 1], 1)[0];
  await mip1.write(
    mip1.bounds,
    fromTyped(level as BigUint64Array, [SHAPE[0] / 2, SHAPE[1] / 2, SHAPE[2]]),
  );

  const counts = new Map<bigint, number>();
  for (const v of ids) if (v !== 0n) counts.set(v, (counts.get(v) ?? 0) + 1);
  const labels = new Map<string, string>();
  const rows = ["id,label,tags"];
  for (const id of [...counts.keys()].sort((a, b) => (a < b ? -1 : 1))) {
    const label = `cell-${id - OFFSET}`;
    const tag = id % 2n ? "odd" : "even";
    // Neuroglancer shows a segment's label followed by its tags.
    labels.set(id.toString(), `${label} #${tag}`);
    rows.push(`${id},${label},${tag}`);
  }
  const props = withNumberProperty(
    segmentPropertiesFromCsv(rows.join("\n"), "cells.csv"),
    "voxel_count",
    [...counts.keys()].map(String),
    [...counts.values()],
  );
  await writeSegmentProperties(vol.storage, props);
  return labels;
}

describe("Neuroglancer end to end: compresso and segment properties", () => {
  let dataDir: string;
  let data: ViewServer | undefined;
  let viewer: ViewServer | undefined;
  let browser: Browser | undefined;

  afterAll(() => closeSession({ browser, data, viewer, dataDir }));

  e2e(
    "a compresso segmentation with segment properties loads without errors and lists its labels",
    async () => {
      if (missing) throw new Error(`cannot run the compresso end-to-end test: ${missing}`);
      dataDir = mkdtempSync(join(tmpdir(), "ngpipe-e2e-compresso-"));
      const labels = await writeLayer(dataDir);
      data = await startViewServer(dataDir);
      viewer = await startViewServer(viewerDir as string);
      const log = recordRequests(data.server);
      const { requests } = log;

      const layers = await findLayers(dataDir);
      expect(layers.map((l) => `${l.path}:${l.type}`)).toEqual(["labels:segmentation"]);
      const state = neuroglancerState(data.url, layers);
      // The layer's side panel on its segments tab, which lists segments by their properties.
      Object.assign(state.layers[0], { tab: "segments" });
      Object.assign(state, { selectedLayer: { layer: state.layers[0].name, visible: true } });

      browser = await chromium.launch({
        executablePath: chromiumPath,
        args: CHROMIUM_ARGS,
        timeout: 30_000,
      });
      const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
      const errors: string[] = [];
      const favicon = `${viewer.url}/favicon.ico`;
      page.on("console", (m) => {
        if (m.type() === "error" && m.location().url !== favicon)
          errors.push(`console: ${m.text()}`);
      });
      page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
      // A chunk that fails to decode is reported by the chunk worker's console.
      page.on("worker", (worker) =>
        worker.on("console", (m) => {
          if (m.type() === "error" || /error/i.test(m.text())) errors.push(`worker: ${m.text()}`);
        }),
      );
      page.on("requestfailed", (r) =>
        errors.push(`request: ${r.url()}: ${r.failure()?.errorText}`),
      );
      await page.goto(`${viewer.url}/#!${encodeURIComponent(JSON.stringify(state))}`);

      let probe: LayerProbe[] | null = null;
      let names: string[] = [];
      const deadline = Date.now() + SETTLE_TIMEOUT_MS;
      for (;;) {
        probe = await page.evaluate(probeLayers);
        // The list's entries (its header row, "label", is one of these too).
        names = (
          await page.$$eval(".neuroglancer-segment-list-entry-name", (els) =>
            els.map((e) => e.textContent ?? ""),
          )
        ).filter((t) => t.startsWith("cell-"));
        const l = probe?.[0];
        const settled =
          l?.ready === true &&
          l.loaded === l.sources &&
          l.visibleNeeded > 0 &&
          l.visibleAvailable === l.visibleNeeded &&
          names.length >= labels.size &&
          log.inFlight() === 0 &&
          log.idleMs() > QUIET_MS;
        const broken =
          errors.length > 0 || requests.some((r) => r.status >= 400) || (l?.errors.length ?? 0) > 0;
        if (settled || broken || Date.now() > deadline) break;
        await page.waitForTimeout(250);
      }
      mkdirSync(join(REPO, ".tmp", "e2e"), { recursive: true });
      await page.screenshot({ path: SCREENSHOT });

      expect(errors).toEqual([]);
      expect(requests.filter((r) => r.status >= 400)).toEqual([]);
      expect(probe?.map((l) => ({ name: l.name, errors: l.errors }))).toEqual([
        { name: "labels", errors: [] },
      ]);
      const l = probe?.[0] as LayerProbe;
      expect(l.active).toEqual(expect.arrayContaining(["default", "properties"]));
      expect(l.visibleNeeded).toBeGreaterThan(0);
      expect(l.visibleAvailable).toBe(l.visibleNeeded);
      expect(
        requests.some((r) => r.path === "/labels/segment_properties/info" && r.status === 200),
      ).toBe(true);
      const chunks = requests.filter((r) =>
        /^\/labels\/[^/]+\/\d+-\d+_\d+-\d+_\d+-\d+$/.test(r.path),
      );
      expect(chunks.length).toBeGreaterThan(0);
      // The segment list shows every segment by its label and tags from the properties.
      expect(new Set(names)).toEqual(new Set(labels.values()));
    },
    120_000,
  );
});
