/**
 * What the end-to-end tests run in the browser page: chromium's flags,
 * reading each Neuroglancer layer's load state and errors from the
 * viewer's `window.viewer`, and the log of what the data server answered.
 */
import { rmSync } from "node:fs";
import type { ViewServer } from "@ngpipe/cli";
import { closePool } from "@ngpipe/precomputed";
import type { Browser } from "playwright-core";

/** Headless chromium with WebGL 2 from the software renderer (Neuroglancer needs it), no GPU. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // WebGL 2 (which Neuroglancer needs) from the software renderer, without a GPU.
  "--use-angle=swiftshader",
  "--enable-unsafe-swiftshader",
];

/**
 * The few browser globals the page functions below use (the repository
 * compiles without the DOM library; these functions run in the page).
 */
export interface PageGlobals {
  // biome-ignore lint/suspicious/noExplicitAny: Neuroglancer's viewer object, untyped here
  viewer?: any;
  location: { hash: string };
  document: {
    querySelector(selector: string): object | null;
    querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>;
  };
}

/** What the page tells about one layer (read from Neuroglancer's `window.viewer`). */
export interface LayerProbe {
  name: string;
  ready: boolean;
  sources: number;
  loaded: number;
  errors: string[];
  /** Ids of the data subsources in use (e.g. "default", "bounds", "mesh"). */
  active: string[];
  visibleNeeded: number;
  visibleAvailable: number;
}

/** Runs in the page: each layer's load state, error messages and visible-chunk counts. */
export function probeLayers(): LayerProbe[] | null {
  const viewer = (globalThis as unknown as PageGlobals).viewer;
  if (!viewer) return null;
  // biome-ignore lint/suspicious/noExplicitAny: Neuroglancer's MessageList
  const walk = (list: any, out: string[]) => {
    if (!list) return;
    for (const m of list.messages ?? []) if (m.severity === 2) out.push(String(m.message));
    for (const child of list.children ?? []) walk(child, out);
  };
  // biome-ignore lint/suspicious/noExplicitAny: Neuroglancer's ManagedUserLayer
  return viewer.layerManager.managedLayers.map((managed: any) => {
    const layer = managed.layer;
    const errors: string[] = [];
    const active: string[] = [];
    let loaded = 0;
    let visibleNeeded = 0;
    let visibleAvailable = 0;
    for (const source of layer?.dataSources ?? []) {
      walk(source.messages, errors);
      const state = source.loadState;
      if (state?.error) errors.push(String(state.error.message ?? state.error));
      else if (state) {
        loaded++;
        for (const sub of state.subsources ?? []) {
          walk(sub.messages, errors);
          if (sub.activated !== undefined) active.push(String(sub.subsourceEntry.id));
        }
      }
    }
    for (const render of layer?.renderLayers ?? []) {
      walk(render.messages, errors);
      visibleNeeded += render.layerChunkProgressInfo.numVisibleChunksNeeded;
      visibleAvailable += render.layerChunkProgressInfo.numVisibleChunksAvailable;
    }
    return {
      name: managed.name,
      ready: managed.isReady(),
      sources: layer?.dataSources.length ?? 0,
      loaded,
      errors,
      active,
      visibleNeeded,
      visibleAvailable,
    };
  });
}

/** Every request the data server answered, and whether it is busy. */
export interface RequestLog {
  /** Path (decoded), status, and the Range header of ranged reads. */
  requests: Array<{ path: string; status: number; range?: string }>;
  /** Requests not answered yet. */
  inFlight(): number;
  /** Milliseconds since a request came or was answered. */
  idleMs(): number;
}

/** Starts recording the requests `server` answers (paths decoded). */
export function recordRequests(server: ViewServer["server"]): RequestLog {
  const requests: RequestLog["requests"] = [];
  let inFlight = 0;
  let lastActivity = Date.now();
  server.on("request", (req, res) => {
    inFlight++;
    lastActivity = Date.now();
    res.on("close", () => {
      inFlight--;
      lastActivity = Date.now();
      requests.push({
        path: decodeURIComponent(req.url ?? ""),
        status: res.statusCode,
        ...(req.headers.range && { range: req.headers.range }),
      });
    });
  });
  return { requests, inFlight: () => inFlight, idleMs: () => Date.now() - lastActivity };
}

/**
 * Closes what one end-to-end test opened (browser, worker pool, data and
 * viewer servers) and removes its data directory; parts never opened are
 * skipped.
 */
export async function closeSession(s: {
  browser?: Browser;
  data?: ViewServer;
  viewer?: ViewServer;
  dataDir?: string;
}): Promise<void> {
  await s.browser?.close();
  await closePool();
  await s.data?.close();
  await s.viewer?.close();
  if (s.dataDir) rmSync(s.dataDir, { recursive: true, force: true });
}
