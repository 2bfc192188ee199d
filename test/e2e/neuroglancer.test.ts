/**
 * End to end: layers written by ngpipe, served by `ngpipe view`'s server, open
 * in the real Neuroglancer viewer (headless Debian chromium driven by
 * playwright-core) without errors, meshes and skeletons (unsharded and sharded)
 * included; and a sharded multiresolution mesh layer renders in the 3d view
 * at two zoom levels, Neuroglancer reading only coarse lods (by byte range
 * from the shard file) far out and finer lods close up.
 *
 * Skipped (with the reason printed) when chromium or the viewer bundle is
 * missing; under CI=true that is a failure instead.
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findLayers, neuroglancerState, startViewServer, type ViewServer } from "@ngpipe/cli";
import { type Browser, chromium } from "playwright-core";
import { REPO, viewerEnvironment } from "./bundle";
import { writeLayers, writeMultiresLayer } from "./layers";
import {
  CHROMIUM_ARGS,
  closeSession,
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

  afterAll(() => closeSession({ browser, data, viewer, dataDir }));

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
    // Generous: the browser renders four layers with software WebGL on a shared, busy machine.
    180_000,
  );
});

describe("Neuroglancer end to end, multiresolution meshes", () => {
  let dataDir: string;
  let data: ViewServer | undefined;
  let viewer: ViewServer | undefined;
  let browser: Browser | undefined;

  afterAll(() => closeSession({ browser, data, viewer, dataDir }));

  e2e(
    "a sharded multiresolution mesh layer renders in 3d, zoomed out (coarse lods) and in (finer lods), without errors",
    async () => {
      if (missing) throw new Error(`cannot run the Neuroglancer end-to-end test: ${missing}`);
      dataDir = mkdtempSync(join(tmpdir(), "ngpipe-e2e-multires-"));
      const written = await writeMultiresLayer(dataDir);
      expect(written.meshed.length).toBeGreaterThan(5);
      expect(Math.max(...written.lods.values())).toBeGreaterThan(2);
      data = await startViewServer(dataDir);
      viewer = await startViewServer(viewerDir as string);
      const log = recordRequests(data.server);
      const { requests } = log;
      browser = await chromium.launch({
        executablePath: chromiumPath,
        args: CHROMIUM_ARGS,
        timeout: 30_000,
      });
      const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
      const errors: string[] = [];
      const favicon = `${viewer.url}/favicon.ico`;
      page.on("console", (m) => {
        if (m.type() === "error" && m.location().url !== favicon) errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("worker", (worker) =>
        worker.on("console", (m) => {
          if (m.type() === "error" || /error/i.test(m.text())) errors.push(m.text());
        }),
      );
      // A fetch the viewer cancels (it no longer needs a fragment once the
      // view moves) fails with ERR_ABORTED: that is the viewer's doing.
      page.on("requestfailed", (r) => {
        if (r.failure()?.errorText !== "net::ERR_ABORTED")
          errors.push(`${r.url()}: ${r.failure()?.errorText}`);
      });

      const [layer] = neuroglancerState(data.url, await findLayers(dataDir)).layers;
      // The zoom (projectionScale, in voxels of the global dimensions across
      // the view) only applies with the dimensions and position given.
      const state = (projectionScale: number, segments = written.meshed) => ({
        dimensions: { x: [8e-9, "m"], y: [8e-9, "m"], z: [8e-9, "m"] },
        position: [64, 64, 16],
        layers: [{ ...layer, segments }],
        layout: "3d",
        projectionScale,
      });
      /** Loads the view at a zoom, waits until everything visible is drawn, returns its probe. */
      const view = async (projectionScale: number, name: string): Promise<LayerProbe> => {
        const hash = `#!${encodeURIComponent(JSON.stringify(state(projectionScale)))}`;
        await page.evaluate((h) => {
          (globalThis as unknown as PageGlobals).location.hash = h;
        }, hash);
        const deadline = Date.now() + SETTLE_TIMEOUT_MS;
        for (;;) {
          const probe = await page.evaluate(probeLayers);
          const settled =
            probe?.length === 1 &&
            probe[0].ready &&
            probe[0].loaded === probe[0].sources &&
            probe[0].visibleNeeded > 0 &&
            probe[0].visibleAvailable === probe[0].visibleNeeded &&
            requests.length > 0 &&
            log.inFlight() === 0 &&
            log.idleMs() > QUIET_MS;
          if (settled || errors.length > 0 || probe?.some((l) => l.errors.length > 0)) break;
          if (Date.now() > deadline) break;
          await page.waitForTimeout(250);
        }
        mkdirSync(join(REPO, ".tmp", "e2e"), { recursive: true });
        await page.screenshot({ path: join(REPO, ".tmp", "e2e", `multires-${name}.png`) });
        const probe = await page.evaluate(probeLayers);
        expect(probe?.map((l) => ({ name: l.name, errors: l.errors }))).toEqual([
          { name: "multires", errors: [] },
        ]);
        expect(probe?.[0].active).toEqual(expect.arrayContaining(["default", "mesh"]));
        return probe![0];
      };

      // The viewer starts with no segment shown and waits for its layout:
      // while the 3d panel is being laid out its pixel size is not yet the
      // one the state asks for, and meshes requested then would be any lod.
      const empty = `#!${encodeURIComponent(JSON.stringify(state(8192, [])))}`;
      await page.goto(`${viewer.url}/${empty}`);
      for (const deadline = Date.now() + SETTLE_TIMEOUT_MS; Date.now() < deadline; ) {
        const probe = await page.evaluate(probeLayers);
        if (probe?.[0]?.ready && log.inFlight() === 0 && log.idleMs() > QUIET_MS) break;
        await page.waitForTimeout(250);
      }

      /**
       * The lods whose fragment data the ranged shard reads from request
       * `from` on touched (manifests and shard indexes lie outside them).
       */
      const lodsRead = (from: number): number[] => {
        const lods = new Set<number>();
        for (const r of requests.slice(from)) {
          const m = /^bytes=(\d+)-(\d+)$/.exec(r.range ?? "");
          if (!m || !r.path.endsWith(".shard")) continue;
          const file = r.path.slice(r.path.lastIndexOf("/") + 1);
          const [start, end] = [Number(m[1]), Number(m[2]) + 1];
          for (const l of written.lodRanges)
            if (l.file === file && start < l.end && end > l.start) lods.add(l.lod);
        }
        return [...lods].sort((a, b) => a - b);
      };

      // Far: the whole dataset within a pixel or two. Near: the dataset fills
      // the view. (At a zoom of 8192 voxels across the view Neuroglancer,
      // with its default mesh resolution, still asks for lod 0 of this small
      // layer: the far zoom is 32 times that, the lod it asks for there 8
      // times coarser than lod 0 needs, a margin either way.)
      const far = await view(262_144, "far");
      const farLods = lodsRead(0);
      const nearFrom = requests.length;
      const near = await view(64, "near");
      const nearLods = lodsRead(nearFrom);
      // Neuroglancer picks each octree node's lod from its pixel size: far,
      // only coarse lods are read; near, finer ones. (Near it usually reads
      // lod 0 too, but on a loaded machine it may draw from lods 2-3 before
      // it asks for lod 0, so the test asks only for a finer lod than far.)
      expect(farLods.length).toBeGreaterThan(0);
      expect(farLods[0]).toBeGreaterThan(0);
      expect(nearLods.length).toBeGreaterThan(0);
      expect(nearLods[0]).toBeLessThan(farLods[0]);
      expect(errors).toEqual([]);
      expect(requests.filter((r) => r.status >= 400)).toEqual([]);
      expect(requests.some((r) => r.path === "/multires/mesh/info" && r.status === 200)).toBe(true);
      // Every fragment either view needs is drawn.
      for (const v of [far, near]) {
        expect(v.visibleNeeded).toBeGreaterThan(0);
        expect(v.visibleAvailable).toBe(v.visibleNeeded);
      }
      // Manifests and fragments come from the shard files by byte range.
      const ranged = requests.filter((r) => r.path.endsWith(".shard") && r.status === 206);
      expect(ranged.length).toBeGreaterThan(written.meshed.length);
      for (const r of requests.filter((q) => q.path.endsWith(".shard")))
        expect(written.shards.map((k) => `/multires/mesh/${k}`)).toContain(r.path);
    },
    180_000,
  );
});
