import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { FileBackend } from "./file";
import { clearMemoryStores } from "./memory";
import { openStorage } from "./open";
import { Storage } from "./storage";
import { describeStorageConformance } from "./testing/conformance";
import { StaticFileServer } from "./testing/static-server";

describeStorageConformance(
  "mem://",
  async () => ({
    storage: openStorage("mem://conformance/root"),
    cleanup: async () => clearMemoryStores("conformance"),
  }),
  { metadata: true },
);

describeStorageConformance("file://", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "ngpipe-conf-"));
  return {
    storage: openStorage(`file://${dir}`),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describeStorageConformance(
  "http:// (static server over a file:// tree)",
  async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "ngpipe-http-"));
    const server = await StaticFileServer.start(dir);
    return {
      storage: openStorage(server.url, { retries: 1, retryBaseMs: 1 }),
      writer: new Storage(new FileBackend(dir)),
      cleanup: async () => {
        await server.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  { readOnly: true, list: false, largeBytes: 1024 * 1024 },
);
