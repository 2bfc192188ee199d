/** @jest-config-loader esbuild-register */
import type { Config } from "jest";

/**
 * One jest config for every package. Tests run from the TypeScript sources
 * (SWC strips types; `npm run typecheck` does the checking), and
 * `@ngpipe/<name>` resolves to `packages/<name>/src`, so no build is needed.
 */
const config: Config = {
  testEnvironment: "node",
  roots: ["<rootDir>/packages", "<rootDir>/examples", "<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.(t|j|mj)sx?$": [
      "@swc/jest",
      {
        jsc: { target: "es2022", parser: { syntax: "typescript" } },
        module: { type: "commonjs" },
      },
    ],
  },
  // ESM-only dependencies are compiled to CommonJS like our own sources.
  transformIgnorePatterns: [
    "/node_modules/(?!(zarrita|@zarrita|h5wasm|numcodecs|reference-spec-reader|unzipit|uint8array-extras|fast-png|iobuffer|lzma1)/)",
  ],
  moduleNameMapper: {
    "^@ngpipe/([a-z]+)$": "<rootDir>/packages/$1/src/index.ts",
    "^@ngpipe/storage/testing$": "<rootDir>/packages/storage/src/testing/index.ts",
    "^@ngpipe/storage/compression$": "<rootDir>/packages/storage/src/compression-entry.ts",
    "^@ngpipe/storage/file-sync$": "<rootDir>/packages/storage/src/file-sync.ts",
    // ESM-only packages offer only an `import` export condition, which jest's
    // CommonJS resolver does not match: point at their entry files (compiled
    // by swc, see transformIgnorePatterns).
    "^zarrita$": "<rootDir>/node_modules/zarrita/dist/src/index.js",
    "^@zarrita/storage$": "<rootDir>/node_modules/@zarrita/storage/dist/src/index.js",
    "^@zarrita/storage/(fetch|fs|ref|zip)$":
      "<rootDir>/node_modules/@zarrita/storage/dist/src/$1.js",
    "^numcodecs/(blosc|lz4|zstd)$": "<rootDir>/node_modules/numcodecs/dist/$1.js",
    "^reference-spec-reader$": "<rootDir>/node_modules/reference-spec-reader/src/index.js",
    "^h5wasm/node$": "<rootDir>/node_modules/h5wasm/dist/node/hdf5_hl.js",
    "^lzma1$": "<rootDir>/node_modules/lzma1/lib/index.js",
  },
  // Silences the AWS SDK's Node-version notice (see the file).
  setupFiles: ["<rootDir>/test/support/env.ts"],
  testTimeout: 60_000,
  maxWorkers: 2,
};

export default config;
