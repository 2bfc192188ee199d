/**
 * End to end: layers written by ngpipe, served by `ngpipe view`'s server, open
 * in the real Neuroglancer viewer (headless Debian chromium driven by
 * playwright-core) without errors, meshes and skeletons (unsharded and sharded) included.
 *
 * Skipped (with the reason printed) when chromium or the viewer bundle is
 * missing; under CI=true that is a failure instead.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findLayers, neuroglancerState, startViewServer, type ViewServer } from "@ngpipe/cli";
import { closePool } from "@ngpipe/precomputed";
import { type Browser, chromium } from "playwright-core";
import { REPO, viewerEnvironment } from "./bundle";
import { writeLayers } from "./layers";
import {
  CHROMIUM_ARGS,
  type LayerProbe,
  type PageGlobals,
  probeLayers,
  recordRequests,
} from "./page";

const SETTLE_TIMEOUT_MS = 60_000;
const QUIET_MS = 1_500;
const SCREENSHOT = join(REPO, ".tmp", "e2e", "neuroglancer.png");

const { chromium: chromiumPath, viewerDir, missing, e2e } = viewerEnvironment("Neuroglancer");

describe("Neuroglancer end to end", () => {
  let dataDir: string;
  let data: ViewServer | undefined;
  let viewer: ViewServer | undefined;
  let browser: Browser | undefined;

  afterAll(async () => {
    await browser?.close();
    await closePool();
    await data?.close();
    await viewer?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  e2e(
    "an image, a segmentation with meshes and a sharded image written by ngpipe load without errors",
    async () => {
      if (missing) throw new Error(`cannot run the Neuroglancer end-to-end test: ${missing}`);
      dataDir = mkdtempSync(join(tmpdir(), "ngpipe-e2e-"));
      const written = await writeLayers(dataDir);
      expect(written.meshed).toEqual(["1", "2", "3"]);
      // Segments span several meshing blocks: manifests with more than one fragment.
      expect(Math.max(...[...written.fragments.values()].map((f) => f.length))).toBeGreaterThan(1);

      data = await startViewServer(dataDir);
      viewer = await startViewServer(viewerDir as string);
      const log = recordRequests(data.server);
      const { requests } = log;

      const layers = await findLayers(dataDir);
      expect(layers.map((l) => `${l.path}:${l.type}`)).toEqual([
        "image:image",
        "segmentation:segmentation",
        "sharded:image",
      ]);
      expect(written.shards.length).toBeGreaterThan(2);
      for (const k of written.shards) expect(k).toMatch(/^[^/]+\/[0-9a-f]+\.shard$/);
      const state = neuroglancerState(data.url, layers);
      const segmentation = state.layers.find((l) => l.type === "segmentation");
      Object.assign(segmentation!, { segments: written.meshed });
      // The sharded skeletons as a skeleton-only segmentation layer of their own.
      expect(written.skeletons).toEqual(expect.arrayContaining(written.meshed));
      expect(written.skeletonShards.length).toBeGreaterThan(0);
      state.layers.push({
        type: "segmentation",
        source: `precomputed://${data.url}/segmentation/skeletons-sharded`,
        name: "sharded-skeletons",
        segments: written.meshed,
      } as (typeof state.layers)[number]);

      browser = await chromium.launch({
        executablePath: chromiumPath,
        args: CHROMIUM_ARGS,
        timeout: 30_000,
      });
      const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
      const consoleErrors: string[] = [];
      const pageErrors: string[] = [];
      const failed: string[] = [];
      // The viewer bundle has no favicon.ico; the browser's request for it is not the viewer's doing.
      const favicon = `${viewer.url}/favicon.ico`;
      page.on("console", (m) => {
        if (m.type() === "error" && m.location().url !== favicon)
          consoleErrors.push(`${m.text()} (${m.location().url})`);
      });
      page.on("pageerror", (e) => pageErrors.push(e.message));
      // Chunks are fetched and decoded in a web worker, which reports a failed
      // chunk (bad bytes, HTTP error) with console.log("Error retrieving chunk ...").
      const workerErrors: string[] = [];
      page.on("worker", (worker) =>
        worker.on("console", (m) => {
          if (m.type() === "error" || /error/i.test(m.text())) workerErrors.push(m.text());
        }),
      );
      page.on("requestfailed", (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));

      await page.goto(`${viewer.url}/#!${encodeURIComponent(JSON.stringify(state))}`);

      const fragmentPaths = [...written.fragments.values()]
        .flat()
        .map((name) => `/segmentation/mesh/${name}`);
      const answered = (path: string) =>
        requests.some((r) => r.path === path && r.status >= 200 && r.status < 300);
      let probe: LayerProbe[] | null = null;
      const deadline = Date.now() + SETTLE_TIMEOUT_MS;
      for (;;) {
        probe = await page.evaluate(probeLayers);
        const settled =
          probe !== null &&
          probe.length === state.layers.length &&
          probe.every(
            (l) =>
              l.ready &&
              l.sources > 0 &&
              l.loaded === l.sources &&
              l.visibleNeeded > 0 &&
              l.visibleAvailable === l.visibleNeeded,
          ) &&
          fragmentPaths.every(answered) &&
          log.inFlight() === 0 &&
          log.idleMs() > QUIET_MS;
        const broken =
          pageErrors.length + workerErrors.length + consoleErrors.length > 0 ||
          requests.some((r) => r.status >= 400) ||
          probe?.some((l) => l.errors.length > 0);
        if (settled || broken || Date.now() > deadline) break;
        await page.waitForTimeout(250);
      }

      mkdirSync(join(REPO, ".tmp", "e2e"), { recursive: true });
      await page.screenshot({ path: SCREENSHOT });
      // Neuroglancer shows a layer's errors in the "source" tab of its side
      // panel: open it for each layer in turn (through the URL hash, as a user
      // pasting a link would) and read the error messages there.
      const domErrors: string[] = [];
      for (const layer of state.layers) {
        const withPanel = {
          ...state,
          layers: state.layers.map((l) => (l === layer ? { ...l, tab: "source" } : l)),
          selectedLayer: { layer: layer.name, visible: true },
        };
        await page.evaluate(
          (hash) => {
            (globalThis as unknown as PageGlobals).location.hash = hash;
          },
          `#!${encodeURIComponent(JSON.stringify(withPanel))}`,
        );
        // The panel is this layer's once its source URL box shows this layer's source.
        await page.waitForFunction(
          (source) => {
            const { document } = globalThis as unknown as PageGlobals;
            const urls = Array.from(
              document.querySelectorAll(".neuroglancer-layer-data-source-url-input"),
            );
            return (
              urls.some((e) => e.textContent?.replace(/\u200b/g, "") === source) &&
              document.querySelector(
                ".neuroglancer-layer-data-source-subsource, .neuroglancer-message-error",
              ) !== null
            );
          },
          layer.source,
          { timeout: 10_000 },
        );
        const texts = await page.$$eval(".neuroglancer-message-error", (els) =>
          els.map((e) => e.textContent ?? ""),
        );
        domErrors.push(...texts.map((t) => `${layer.name}: ${t}`));
      }
      const layerItems = await page.$$eval(".neuroglancer-layer-item-label", (els) =>
        els.map((e) => e.textContent ?? ""),
      );

      expect(pageErrors).toEqual([]);
      expect(consoleErrors).toEqual([]);
      expect(workerErrors).toEqual([]);
      expect(failed).toEqual([]);
      expect(domErrors).toEqual([]);
      expect(layerItems).toEqual(["image", "segmentation", "sharded", "sharded-skeletons"]);
      expect(probe?.map((l) => ({ name: l.name, errors: l.errors }))).toEqual([
        { name: "image", errors: [] },
        { name: "segmentation", errors: [] },
        { name: "sharded", errors: [] },
        { name: "sharded-skeletons", errors: [] },
      ]);
      expect(probe?.[1].active).toEqual(expect.arrayContaining(["default", "mesh", "skeletons"]));
      for (const l of probe ?? []) {
        expect(l.loaded).toBe(l.sources);
        expect(l.visibleNeeded).toBeGreaterThan(0);
        expect(l.visibleAvailable).toBe(l.visibleNeeded);
      }
      // Every answer of the data server was a success: no missing chunk, info or mesh.
      expect(requests.filter((r) => r.status >= 400)).toEqual([]);
      for (const path of [
        "/image/info",
        "/segmentation/info",
        "/segmentation/mesh/info",
        ...written.meshed.map((id) => `/segmentation/mesh/${id}:0`),
        ...fragmentPaths,
      ])
        expect({ path, answered: answered(path) }).toEqual({ path, answered: true });
      const chunkRequests = (layer: string) =>
        requests.filter(
          (r) => r.path.startsWith(`/${layer}/`) && /\/\d+-\d+_\d+-\d+_\d+-\d+$/.test(r.path),
        );
      expect(chunkRequests("image").length).toBeGreaterThan(0);
      expect(chunkRequests("segmentation").length).toBeGreaterThan(0);
      const written_ = new Set([
        ...written.chunks.image.map((c) => `/image/${c}`),
        ...written.chunks.segmentation.map((c) => `/segmentation/${c}`),
      ]);
      for (const r of [...chunkRequests("image"), ...chunkRequests("segmentation")])
        expect(written_.has(r.path)).toBe(true);
      // The sharded layer is read from its shard files (ranged reads), never as chunk objects.
      const shardRequests = requests.filter((r) => r.path.startsWith("/sharded/"));
      expect(shardRequests.filter((r) => r.path.endsWith(".shard")).length).toBeGreaterThan(0);
      expect(chunkRequests("sharded")).toEqual([]);
      const shardPaths = new Set(written.shards.map((k) => `/sharded/${k}`));
      for (const r of shardRequests)
        if (r.path.endsWith(".shard")) expect(shardPaths.has(r.path)).toBe(true);
      // Skeletons: the unsharded ones of the shown segments by id, the sharded ones from shard files.
      for (const id of written.meshed)
        expect({ id, answered: answered(`/segmentation/skeletons/${id}`) }).toEqual({
          id,
          answered: true,
        });
      const skeletonShardPaths = new Set(
        written.skeletonShards.map((k) => `/segmentation/skeletons-sharded/${k}`),
      );
      const skeletonShardReads = requests.filter((r) => skeletonShardPaths.has(r.path));
      expect(skeletonShardReads.length).toBeGreaterThan(0);
    },
    120_000,
  );
});
