import type { Options } from "tsup";

/** Shared tsup settings: ESM + CJS + .d.ts for every package, Node 20 target. */
export function packageConfig(entry: Options["entry"], extra: Partial<Options> = {}): Options {
  return {
    entry,
    format: ["esm", "cjs"],
    dts: { compilerOptions: { composite: false, paths: {} } },
    sourcemap: true,
    clean: true,
    target: "node20",
    platform: "node",
    shims: true,
    splitting: false,
    tsconfig: "tsconfig.build.json",
    ...extra,
  };
}
