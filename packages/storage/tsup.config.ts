import { defineConfig } from "tsup";
import { packageConfig } from "../../tsup.base";

// src/testing/index.ts is the `@ngpipe/storage/testing` subpath (loopback test servers).
export default defineConfig(packageConfig(["src/index.ts", "src/testing/index.ts"]));
