import { defineConfig } from "tsup";
import { packageConfig } from "../../tsup.base";

// src/testing/index.ts is the `@ngpipe/storage/testing` subpath (loopback test servers);
// src/compression.ts is `@ngpipe/storage/compression`, which worker threads load
// without the cloud SDKs.
export default defineConfig(
  packageConfig({
    index: "src/index.ts",
    compression: "src/compression-entry.ts",
    "testing/index": "src/testing/index.ts",
  }),
);
