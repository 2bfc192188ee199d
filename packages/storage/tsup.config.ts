import { defineConfig } from "tsup";
import { packageConfig } from "../../tsup.base";

// src/testing/index.ts is the `@ngpipe/storage/testing` subpath (loopback test servers);
// src/compression.ts is `@ngpipe/storage/compression`, which worker threads load
// without the cloud SDKs; src/file-sync.ts is `@ngpipe/storage/file-sync`, the
// synchronous file:// IO of those threads.
export default defineConfig(
  packageConfig({
    index: "src/index.ts",
    compression: "src/compression-entry.ts",
    "file-sync": "src/file-sync.ts",
    "testing/index": "src/testing/index.ts",
  }),
);
