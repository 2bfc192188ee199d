import { defineConfig } from "tsup";
import { packageConfig } from "../../tsup.base";

// kernels.ts is a separate entry: the worker pool loads it by file path.
export default defineConfig(
  packageConfig(["src/index.ts", "src/kernels.ts", "src/labels-kernels.ts"]),
);
