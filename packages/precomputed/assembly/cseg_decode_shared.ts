// compressed_segmentation decoding over an imported shared memory (a large
// output decoded where it will live); the code is in _cseg_decode.ts, which
// says why there are two modules.
// build-wasm: shared-memory

export { decodeSlab, setTables, tablesBytes } from "./_cseg_decode";
