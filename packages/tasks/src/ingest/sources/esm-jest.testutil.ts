/**
 * Test helper: lets jest (which runs our sources as CommonJS) load the
 * ESM-only packages the source readers import lazily (`zarrita`, `h5wasm/node`
 * and their ESM-only dependencies). Their package.json `exports` offer only an
 * `import` condition, which jest's CommonJS resolver does not match, so each
 * one is registered as a virtual module that loads the real file (compiled by
 * swc thanks to the root `transformIgnorePatterns`).
 *
 * Call it at the top of a test file that opens Zarr or HDF5 sources. It is not
 * needed at run time: Node resolves the packages' `import` entries itself.
 */
import * as path from "node:path";

const NODE_MODULES = path.resolve(__dirname, "../../../../../node_modules");

/** Package specifier -> file (relative to node_modules) of its ESM entry. */
const ENTRIES: Record<string, string> = {
  zarrita: "zarrita/dist/src/index.js",
  "@zarrita/storage": "@zarrita/storage/dist/src/index.js",
  "@zarrita/storage/fetch": "@zarrita/storage/dist/src/fetch.js",
  "@zarrita/storage/fs": "@zarrita/storage/dist/src/fs.js",
  "@zarrita/storage/ref": "@zarrita/storage/dist/src/ref.js",
  "@zarrita/storage/zip": "@zarrita/storage/dist/src/zip.js",
  "numcodecs/blosc": "numcodecs/dist/blosc.js",
  "numcodecs/lz4": "numcodecs/dist/lz4.js",
  "numcodecs/zstd": "numcodecs/dist/zstd.js",
  "reference-spec-reader": "reference-spec-reader/src/index.js",
  "h5wasm/node": "h5wasm/dist/node/hdf5_hl.js",
};

/** Register the ESM-only packages as virtual jest modules (idempotent). */
export function mapEsmOnlyPackagesForJest(): void {
  for (const [name, file] of Object.entries(ENTRIES)) {
    const full = path.join(NODE_MODULES, file);
    jest.mock(name, () => jest.requireActual(full), { virtual: true });
  }
}
